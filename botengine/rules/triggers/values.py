"""The types trigger values are written in (pydantic: they validate and make the JSON Schema)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class InList(BaseModel):
    """`{in: vip}`: the entries of the named list file lists/vip.txt, or of the list rules keep
    with `add_to: vip` (people only: sender, chat_id, participant)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    in_: str = Field(
        alias="in", description="name of a list file in lists/ (without .txt), or of a list add_to keeps"
    )


class NotInList(BaseModel):
    """`{not_in: members}`: anyone who is not in the named list (lists/members.txt, or kept by
    `add_to: members`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    not_in: str = Field(description="name of a list file in lists/ (without .txt), or of a list add_to keeps")


class TextPattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pattern: str = Field(description="regular expression searched in the text")
    case_sensitive: bool = False
    backtracking: bool = Field(
        False,
        description="allow lookaround and backreferences: a slower engine, which gives up after 0.1 s "
        "(the message then goes to the dead-letter queue)",
    )


DateEntry = str | date | InList
DateList = DateEntry | list[DateEntry]


class HoursWindow(BaseModel):
    """A weekly time window: `{days: mon-fri, from: "09:00", to: "18:00", tz: Europe/London}`,
    closed on some dates (`closed: ["24-26 Dec", {in: holidays}]`), or open only on some
    (`dates: 2025-12-24`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    days: str | list[str] = Field("mon-sun", description="mon-fri, sat,sun, daily, or a list of days")
    from_: str | int = Field(alias="from", description='start time, "HH:MM" (quote it)')
    to: str | int = Field(description='end time, "HH:MM"; earlier than from = overnight')
    tz: str = Field("UTC", description="IANA time zone, e.g. Europe/London")
    dates: DateList | None = Field(
        None, description='only on these dates (instead of days): 2025-12-24, "31 Dec", "24-26 Dec"'
    )
    closed: DateList | None = Field(
        None, description='not on these dates: holidays, "24-26 Dec", 2026-01-01, or {in: holidays}'
    )


Words = str | list[str]
GroupAction = Literal["join", "leave", "promote", "demote", "update"]
JidMatch = str | list[str] | InList | NotInList
KeywordMatch = str | list[str] | InList
Scalar = str | int | float | bool | None
StateMatch = dict[str, Annotated[Scalar | list[Scalar], Field()]]
