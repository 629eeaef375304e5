"""Rich messages without a file: location, contact card, link preview, poll.

    - location: {latitude: 51.5072, longitude: -0.1276, title: "Our shop", address: "1 High St"}
    - contact: {name: "Acme Support", phone: "+44 7441 429009", organization: Acme}
    - link_preview: {url: "https://shop.example.com/sale", title: "Spring sale", description: "-30%"}
    - poll: {question: "Which branch?", options: [North, South], multiple: false}

A poll is remembered under its message id (botengine/polls.py), so the `poll` trigger can match
the votes by question and option.
"""

from __future__ import annotations

import logging
import re

from pydantic import Field, field_validator, model_validator

from botengine import polls
from botengine.actions.base import ActionContext, ActionKind
from botengine.actions.files import url_problem
from botengine.actions.outgoing import Outgoing, destination, shown_target, wawp_of
from botengine.errors import StorageError
from botengine.types import JSONDict
from botengine.wawp import MAX_POLL_OPTION, MAX_TEXT, POLL_OPTIONS, Contact, message_id_of

log = logging.getLogger("botengine.actions")

_PHONE = re.compile(r"^\+?[\d\s().-]{6,30}$")

# -- location ----------------------------------------------------------------------------------


class LocationParams(Outgoing):
    latitude: float = Field(ge=-90, le=90, description="degrees north (negative: south), e.g. 51.5072")
    longitude: float = Field(ge=-180, le=180, description="degrees east (negative: west), e.g. -0.1276")
    title: str | None = Field(None, max_length=256, description="the place's name")
    address: str | None = Field(None, max_length=1024, description="its address, shown under the name")


async def run_location(params: LocationParams, ctx: ActionContext) -> JSONDict:
    chat, quote = destination(params, ctx)
    return await wawp_of(ctx).send_location(
        ctx.event.session,
        chat,
        params.latitude,
        params.longitude,
        title=params.title,
        address=params.address,
        reply_to=quote,
    )


def preview_location(params: LocationParams, ctx: ActionContext) -> JSONDict:
    where = {"latitude": params.latitude, "longitude": params.longitude}
    return {**shown_target(params, ctx), **where, "title": params.title, "address": params.address}


LOCATION = ActionKind(
    name="location",
    params=LocationParams,
    run=run_location,
    preview=preview_location,
    summary="Send a map pin: the shop's address, a meeting point.",
    example='location: {latitude: 51.5072, longitude: -0.1276, title: "Our shop", address: "1 High St"}',
    sends=True,
)

# -- contact card ------------------------------------------------------------------------------


class ContactParams(Outgoing):
    name: str = Field(min_length=1, max_length=256, description="the contact's full name")
    phone: str = Field(description="the phone number with country code, e.g. +44 7441 429009")
    organization: str | None = Field(None, max_length=256, description="company or team")

    @field_validator("phone")
    @classmethod
    def _a_phone_number(cls, value: str) -> str:
        if not _PHONE.match(value) or sum(c.isdigit() for c in value) < 6:
            raise ValueError(f"{value!r} is not a phone number like +44 7441 429009")
        return value


async def run_contact(params: ContactParams, ctx: ActionContext) -> JSONDict:
    chat, quote = destination(params, ctx)
    card = Contact(full_name=params.name, phone=params.phone, organization=params.organization)
    return await wawp_of(ctx).send_contacts(ctx.event.session, chat, [card], reply_to=quote)


def preview_contact(params: ContactParams, ctx: ActionContext) -> JSONDict:
    card = {"name": params.name, "phone": params.phone, "organization": params.organization}
    return {**shown_target(params, ctx), **card}


CONTACT = ActionKind(
    name="contact",
    params=ContactParams,
    run=run_contact,
    preview=preview_contact,
    summary="Send a contact card (vCard): hand a customer over to a person.",
    example='contact: {name: "Acme Support", phone: "+44 7441 429009", organization: Acme}',
    sends=True,
)

# -- link preview ------------------------------------------------------------------------------


class LinkPreviewParams(Outgoing):
    url: str = Field(min_length=1, description="the https:// link the card opens (a template)")
    title: str = Field(min_length=1, max_length=256, description="the card's title")
    text: str | None = Field(
        None, max_length=MAX_TEXT, description="the message; must hold the link (default: it)"
    )
    description: str | None = Field(None, max_length=1024, description="a line under the title")
    thumbnail: str | None = Field(None, description="an https:// link to the card's picture (JPEG or PNG)")
    high_quality: bool = Field(False, description="a large picture instead of a small square")

    @field_validator("url", "thumbnail")
    @classmethod
    def _fetchable(cls, value: str | None) -> str | None:
        if value is not None and "{{" not in value and (problem := url_problem(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _text_holds_the_link(self) -> LinkPreviewParams:
        templated = "{{" in self.url or "{{" in (self.text or "")
        if self.text is not None and not templated and self.url not in self.text:
            raise ValueError("text: must contain the link (WhatsApp previews a link in the message)")
        return self


async def run_link_preview(params: LinkPreviewParams, ctx: ActionContext) -> JSONDict:
    chat, quote = destination(params, ctx)
    return await wawp_of(ctx).send_link_preview(
        ctx.event.session,
        chat,
        params.text or params.url,
        params.url,
        params.title,
        description=params.description,
        thumbnail=params.thumbnail,
        high_quality=params.high_quality,
        reply_to=quote,
    )


def preview_link_preview(params: LinkPreviewParams, ctx: ActionContext) -> JSONDict:
    card = {"text": params.text or params.url, "url": params.url, "title": params.title}
    return {**shown_target(params, ctx), **card, "description": params.description}


LINK_PREVIEW = ActionKind(
    name="link_preview",
    params=LinkPreviewParams,
    run=run_link_preview,
    preview=preview_link_preview,
    summary="Send a link with a preview card (title, description, picture) you choose.",
    example='link_preview: {url: "https://shop.example.com/sale", title: "Spring sale", description: "-30%"}',
    sends=True,
)

# -- poll --------------------------------------------------------------------------------------


class PollParams(Outgoing):
    question: str = Field(min_length=1, max_length=MAX_POLL_OPTION, description="the question (a template)")
    options: list[str] = Field(
        min_length=POLL_OPTIONS[0], max_length=POLL_OPTIONS[1], description="2 to 12 answers to choose from"
    )
    multiple: bool = Field(False, description="let people choose several answers")

    @field_validator("options")
    @classmethod
    def _distinct_options(cls, value: list[str]) -> list[str]:
        for option in value:
            if not option.strip() or len(option) > MAX_POLL_OPTION:
                raise ValueError(f"each option is 1 to {MAX_POLL_OPTION} characters")
        folded = [o.strip().casefold() for o in value]
        if len(set(folded)) != len(folded):
            raise ValueError("options must differ from each other (votes are matched by option)")
        return value


async def run_poll(params: PollParams, ctx: ActionContext) -> JSONDict:
    chat, quote = destination(params, ctx)
    answer = await wawp_of(ctx).send_poll(
        ctx.event.session, chat, params.question, params.options, multiple=params.multiple, reply_to=quote
    )
    message_id = message_id_of(answer)
    if message_id is None:  # sent all the same: a resend would ask twice
        log.warning("Wawp's answer to a poll names no message id: its votes match by option only")
        return answer
    poll = polls.SentPoll(params.question, tuple(params.options), chat, params.multiple)
    try:
        await polls.remember(ctx.services.storage, ctx.event.session, message_id, poll)
    except StorageError as exc:  # the poll is out: failing now would send it again on the retry
        log.error("poll %s sent but not recorded (its votes match by option only): %s", message_id, exc)
    return answer


def preview_poll(params: PollParams, ctx: ActionContext) -> JSONDict:
    asked = {"question": params.question, "options": params.options, "multiple": params.multiple}
    return {**shown_target(params, ctx), **asked}


POLL = ActionKind(
    name="poll",
    params=PollParams,
    run=run_poll,
    preview=preview_poll,
    summary="Ask a question with 2 to 12 answers; `on: poll.vote` rules match the votes.",
    example='poll: {question: "Which branch?", options: [North, South, Online]}',
    sends=True,
)
