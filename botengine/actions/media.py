"""Actions that send a file: image, file (a document such as a PDF), voice, video.

    - image: menu.jpg                                         # a file beside the rules
    - image: {file: "https://shop.example.com/{{ sku }}.png", caption: "Here it is"}
    - file: {file: prices.pdf, caption: "Our price list", quote: true}
    - voice: {file: welcome.ogg}
    - video: {file: "https://cdn.example.com/tour.mp4", caption: "A tour of the shop"}

`file:` is an http(s) link Wawp downloads, or a path inside the rules folder whose content is
uploaded (base64, in Wawp's `file.data`; see botengine/actions/files.py). The mimetype comes from
the file's name unless `mimetype:` says otherwise, and must suit the kind: Wawp takes JPEG and
PNG images; voice notes are OGG/Opus, or any audio with `convert: true` (the default), which asks
Wawp to transcode; videos are MP4, or any video with `convert: true`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from botengine.actions.base import ActionContext, ActionKind
from botengine.actions.files import guess_mimetype, local_path, media_file, source_problem
from botengine.actions.outgoing import Outgoing, destination, shown_target, wawp_of
from botengine.errors import PermanentError
from botengine.types import JSONDict
from botengine.wawp import MAX_TEXT, MediaFile

_MIMETYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;.*)?$", re.I)
OPUS = "audio/ogg; codecs=opus"


class MediaParams(Outgoing):
    file: str = Field(
        min_length=1, description="an https:// link, or a file in the rules folder (a template)"
    )
    mimetype: str | None = Field(None, description="the file's type, e.g. image/png (default: from its name)")
    filename: str | None = Field(None, max_length=255, description="the name shown (default: the file's)")

    @field_validator("mimetype")
    @classmethod
    def _mimetype_shape(cls, value: str | None) -> str | None:
        if value is not None and not _MIMETYPE.match(value):
            raise ValueError(f"{value!r} is not a mimetype like image/png or application/pdf")
        return value


class ImageParams(MediaParams):
    caption: str | None = Field(None, max_length=MAX_TEXT, description="text under the image (a template)")


class FileParams(MediaParams):
    caption: str | None = Field(None, max_length=MAX_TEXT, description="text under the file (a template)")


class VoiceParams(MediaParams):
    convert: bool = Field(True, description="let Wawp convert other audio (mp3, wav…) to a voice note")


class VideoParams(MediaParams):
    caption: str | None = Field(None, max_length=MAX_TEXT, description="text under the video (a template)")
    convert: bool = Field(True, description="let Wawp re-encode a video WhatsApp would refuse")
    as_note: bool = Field(False, description="send as a round video note")


Send = Callable[[Any, ActionContext, str, MediaFile, "str | None"], Awaitable[JSONDict]]


@dataclass(frozen=True)
class _Media:
    """What differs between the kinds: which mimetypes they take, and the call that sends them."""

    name: str
    accepts: Callable[[str, Any], str | None]  # (mimetype, params) → why not, or None
    send: Send


def _image_types(mimetype: str, params: Any) -> str | None:
    if _base(mimetype) in ("image/jpeg", "image/png"):
        return None
    return f"Wawp sends JPEG and PNG images, not {mimetype}"


def _voice_types(mimetype: str, params: Any) -> str | None:
    base = _base(mimetype)
    if base == "audio/ogg" or (params.convert and base.startswith("audio/")):
        return None
    return f"a voice note is OGG/Opus audio (or any audio with convert: true), not {mimetype}"


def _video_types(mimetype: str, params: Any) -> str | None:
    base = _base(mimetype)
    if base == "video/mp4" or (params.convert and base.startswith("video/")):
        return None
    return f"a video is MP4 (or any video with convert: true), not {mimetype}"


def _any_type(mimetype: str, params: Any) -> str | None:
    return None


def _base(mimetype: str) -> str:
    return mimetype.split(";", 1)[0].strip().lower()


async def _send_image(p: ImageParams, ctx: ActionContext, chat: str, f: MediaFile, q: str | None) -> JSONDict:
    wawp = wawp_of(ctx)
    return await wawp.send_file(ctx.event.session, chat, f, caption=p.caption, reply_to=q, as_image=True)


async def _send_file(p: FileParams, ctx: ActionContext, chat: str, f: MediaFile, q: str | None) -> JSONDict:
    return await wawp_of(ctx).send_file(ctx.event.session, chat, f, caption=p.caption, reply_to=q)


async def _send_voice(p: VoiceParams, ctx: ActionContext, chat: str, f: MediaFile, q: str | None) -> JSONDict:
    return await wawp_of(ctx).send_voice(ctx.event.session, chat, f, convert=p.convert, reply_to=q)


async def _send_video(p: VideoParams, ctx: ActionContext, chat: str, f: MediaFile, q: str | None) -> JSONDict:
    return await wawp_of(ctx).send_video(
        ctx.event.session, chat, f, caption=p.caption, convert=p.convert, as_note=p.as_note, reply_to=q
    )


def mimetype_of(media: _Media, params: MediaParams) -> str:
    """The mimetype to send, or PermanentError saying why this kind cannot send the file."""
    mimetype = params.mimetype or guess_mimetype(params.file)
    if mimetype is None:
        raise PermanentError(f"cannot tell the type of {params.file!r} from its name: add mimetype:")
    if problem := media.accepts(mimetype, params):
        raise PermanentError(problem)
    if media.name == "voice" and _base(mimetype) == "audio/ogg" and ";" not in mimetype:
        return OPUS  # what Wawp's docs ask for a voice note
    return mimetype


def _folder(ctx: ActionContext) -> Path:
    return ctx.spec.rules_folder if ctx.spec is not None else Path(".")


def _runner(media: _Media) -> Callable[[Any, ActionContext], Awaitable[JSONDict]]:
    async def run(params: MediaParams, ctx: ActionContext) -> JSONDict:
        chat, quote = destination(params, ctx)
        mimetype = mimetype_of(media, params)
        file = await media_file(params.file, _folder(ctx), mimetype=mimetype, filename=params.filename)
        return await media.send(params, ctx, chat, file, quote)

    return run


def _previewer(media: _Media) -> Callable[[Any, ActionContext], JSONDict]:
    def preview(params: MediaParams, ctx: ActionContext) -> JSONDict:
        mimetype = mimetype_of(media, params)
        shown: JSONDict = {**shown_target(params, ctx), "file": params.file, "mimetype": mimetype}
        if "://" not in params.file:
            shown["bytes"] = local_path(_folder(ctx), params.file).stat().st_size
        for name in ("caption", "filename"):
            if getattr(params, name, None):
                shown[name] = getattr(params, name)
        return shown

    return preview


def _checker(media: _Media) -> Callable[[Any, Path], list[tuple[str, str]]]:
    """Load-time checks (`botengine check`): the link or the file, and its mimetype."""

    def check(params: MediaParams, folder: Path) -> list[tuple[str, str]]:
        if "{{" in params.file or "{%" in params.file:
            return []  # checked when it renders
        if problem := source_problem(params.file, folder):
            return [(problem, "")]
        try:
            mimetype_of(media, params)
        except PermanentError as exc:
            return [(str(exc), "")]
        return []

    return check


def _kind(media: _Media, params: type[MediaParams], summary: str, example: str) -> ActionKind[MediaParams]:
    return ActionKind(
        name=media.name,
        params=params,
        run=_runner(media),
        preview=_previewer(media),
        summary=summary,
        example=example,
        shorthand="file",
        sends=True,
        timeout=60.0,  # Wawp downloads or receives the file before it answers
        static_check=_checker(media),
    )


IMAGE = _kind(
    _Media("image", _image_types, _send_image),
    ImageParams,
    "Send a picture (JPEG or PNG) from a link or the rules folder, with a caption.",
    'image: {file: "https://shop.example.com/menu.jpg", caption: "Today\'s menu"}',
)
FILE = _kind(
    _Media("file", _any_type, _send_file),
    FileParams,
    "Send a document (a PDF price list, a catalogue) from a link or the rules folder.",
    'file: {file: "https://shop.example.com/prices.pdf", caption: "Our prices", quote: true}',
)
VOICE = _kind(
    _Media("voice", _voice_types, _send_voice),
    VoiceParams,
    "Send a voice note (OGG/Opus, or other audio converted by Wawp).",
    'voice: "https://shop.example.com/welcome.ogg"',
)
VIDEO = _kind(
    _Media("video", _video_types, _send_video),
    VideoParams,
    "Send a video (MP4, or other video converted by Wawp), with a caption.",
    'video: {file: "https://cdn.example.com/tour.mp4", caption: "A tour of the shop"}',
)
