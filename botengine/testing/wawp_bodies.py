"""The request bodies the fake Wawp accepts, field by field, as Wawp's docs describe them.

The fake refuses what the real API would refuse (a missing or malformed field: 400 with a
message naming it), and also fields Wawp does not document, so a typo in botengine's client shows
up in a test instead of being silently ignored by Wawp. One model per endpoint; `check(path,
body)` returns the problem in words, or None.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    model_validator,
)

from botengine.wawp import (
    MARK_SEEN,
    MAX_POLL_OPTION,
    MAX_TEXT,
    POLL_OPTIONS,
    SEND_CONTACT,
    SEND_FILE,
    SEND_IMAGE,
    SEND_LINK_PREVIEW,
    SEND_LOCATION,
    SEND_POLL,
    SEND_VIDEO,
    SEND_VOICE,
    START_TYPING,
    STOP_TYPING,
)

_MIMETYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;.*)?$", re.I)


def _jid(value: str) -> str:
    if "@" not in value or any(c.isspace() for c in value):
        raise ValueError("must be a full JID, like 15551234567@c.us")
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http(s) URL Wawp can fetch")
    return value


def _mimetype(value: str) -> str:
    if not _MIMETYPE.match(value):
        raise ValueError("must be a mimetype like image/jpeg")
    return value


def _base64(value: str) -> str:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be base64") from exc
    if not decoded:
        raise ValueError("must not be empty")
    return value


Jid = Annotated[StrictStr, AfterValidator(_jid)]
Url = Annotated[StrictStr, AfterValidator(_url)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=MAX_TEXT)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Chat(_Body):
    chatId: Jid
    reply_to: StrictStr | None = None


class File(_Body):
    mimetype: Annotated[StrictStr, AfterValidator(_mimetype)]
    filename: StrictStr | None = None
    url: Url | None = None
    data: Annotated[StrictStr, AfterValidator(_base64)] | None = None

    @model_validator(mode="after")
    def _url_or_data(self) -> File:
        if (self.url is None) == (self.data is None):
            raise ValueError("file needs url (a link) or data (base64), one of the two")
        return self

    def base(self) -> str:
        return self.mimetype.split(";")[0].strip().lower()


class Image(_Chat):
    file: File
    caption: Text | None = None

    @model_validator(mode="after")
    def _jpeg_or_png(self) -> Image:
        if self.file.base() not in ("image/jpeg", "image/png"):
            raise ValueError("file.mimetype must be image/jpeg or image/png")
        return self


class Pdf(_Chat):
    file: File
    caption: Text | None = None


class Voice(_Chat):
    file: File
    convert: StrictBool | None = None

    @model_validator(mode="after")
    def _audio(self) -> Voice:
        if not self.file.base().startswith("audio/"):
            raise ValueError("file.mimetype must be audio (audio/ogg; codecs=opus)")
        return self


class Video(_Chat):
    file: File
    caption: Text | None = None
    convert: StrictBool | None = None
    asNote: StrictBool | None = None

    @model_validator(mode="after")
    def _video(self) -> Video:
        if not self.file.base().startswith("video/"):
            raise ValueError("file.mimetype must be video (video/mp4)")
        return self


Degrees = Annotated[float, Field(strict=False)]


class Location(_Chat):
    latitude: Annotated[Degrees, Field(ge=-90, le=90)]
    longitude: Annotated[Degrees, Field(ge=-180, le=180)]
    title: StrictStr | None = None
    message: StrictStr | None = None


class Card(_Body):
    fullName: Annotated[StrictStr, Field(min_length=1)]
    phoneNumber: Annotated[StrictStr, Field(min_length=3)]
    organization: StrictStr | None = None
    whatsappId: Annotated[StrictStr, Field(pattern=r"^\d+$")] | None = None


class VCard(_Body):
    vcard: Annotated[StrictStr, Field(pattern=r"^BEGIN:VCARD")]


class ContactCards(_Chat):
    contacts: Annotated[list[Card | VCard], Field(min_length=1)]


class LinkPreview(_Chat):
    text: Text
    url: Url
    title: Annotated[StrictStr, Field(min_length=1)]
    description: StrictStr | None = None
    thumbnail: Url | None = None
    linkPreviewHighQuality: StrictBool | None = None

    @model_validator(mode="after")
    def _link_in_text(self) -> LinkPreview:
        if self.url not in self.text:
            raise ValueError("text must contain the url")
        return self


class PollSpec(_Body):
    name: Annotated[StrictStr, Field(min_length=1)]
    options: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=MAX_POLL_OPTION)]],
        Field(min_length=POLL_OPTIONS[0], max_length=POLL_OPTIONS[1]),
    ]
    multipleAnswers: StrictBool = False

    @model_validator(mode="after")
    def _distinct(self) -> PollSpec:
        if len(set(self.options)) != len(self.options):
            raise ValueError("poll options must be distinct")
        return self


class Poll(_Chat):
    poll: PollSpec


class Seen(_Body):
    chatId: Jid
    messageIds: list[StrictStr] | None = None
    participant: Jid | None = None


class Typing(_Body):
    chatId: Jid


BODIES: dict[str, type[BaseModel]] = {
    SEND_IMAGE: Image,
    SEND_FILE: Pdf,
    SEND_VOICE: Voice,
    SEND_VIDEO: Video,
    SEND_LOCATION: Location,
    SEND_CONTACT: ContactCards,
    SEND_LINK_PREVIEW: LinkPreview,
    SEND_POLL: Poll,
    MARK_SEEN: Seen,
    START_TYPING: Typing,
    STOP_TYPING: Typing,
}
"""Endpoint path → the body it accepts."""

MESSAGE_PATHS = frozenset(BODIES) - {MARK_SEEN, START_TYPING, STOP_TYPING}
"""The endpoints that create a message (and answer with its id)."""


def check(path: str, body: Any) -> str | None:
    """What is wrong with `body` for `path`, in one line; None when Wawp would take it."""
    if not isinstance(body, dict):
        return "expected a JSON object"
    try:
        BODIES[path].model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else first["msg"]
    return None
