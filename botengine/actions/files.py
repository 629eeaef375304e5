"""Where a file an action sends comes from: a URL Wawp fetches, or a file beside the rules.

    image: https://shop.example.com/menu.jpg    Wawp downloads it (file.url)
    image: menu.jpg                             read from the rules folder, sent base64 (file.data)

A local file must lie inside the rules folder: the path is relative, and once every link in it is
resolved it must still be inside (a link pointing elsewhere is refused, so a rule cannot send
/etc/passwd). Files past MAX_UPLOAD are refused with the advice to serve them from a URL.
"""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from botengine import confined
from botengine.errors import FileRefusedError, PermanentError
from botengine.wawp import MediaFile

MAX_UPLOAD = 16 * 1024 * 1024  # WhatsApp's limit for media; Wawp's docs say the same for video
_SCHEMES = ("http", "https")


def is_url(source: str) -> bool:
    """True for anything with a scheme (`https://…`, also `ftp:` or `file:`, which are refused)."""
    return "://" in source or source.lower().startswith(("data:", "file:"))


def url_problem(url: str) -> str | None:
    """Why Wawp could not fetch `url`, in words; None when it looks fetchable."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"{url!r} is not a URL: {exc}"
    if parts.scheme.lower() not in _SCHEMES:
        return f"{url!r}: only http:// and https:// links can be sent (Wawp downloads the file)"
    if not parts.hostname:
        return f"{url!r} names no host"
    if any(c.isspace() for c in url):
        return f"{url!r} contains spaces: encode them as %20"
    if parts.username or parts.password:
        return f"{url!r} holds a user name or password: Wawp would see it; use a link without one"
    return None


def name_of(source: str) -> str:
    """The file name a source ends with (`menu.jpg`), '' when it has none."""
    path = urlsplit(source).path if is_url(source) else source
    return PurePosixPath(path).name


def guess_mimetype(source: str) -> str | None:
    """The mimetype the source's extension says (`.jpg` → image/jpeg), None when unknown."""
    guessed, _ = mimetypes.guess_type(name_of(source), strict=False)
    return guessed


def local_path(folder: Path, relative: str) -> Path:
    """The file `relative` names inside `folder`; PermanentError when it is not a readable file there."""
    if "\x00" in relative or PurePosixPath(relative).is_absolute() or Path(relative).is_absolute():
        raise PermanentError(f"{relative!r}: give a path relative to the rules folder, like media/menu.jpg")
    try:
        found = confined.find(folder, relative)  # inside the folder, and a plain file
    except FileRefusedError as exc:
        raise PermanentError(str(exc)) from exc
    path, size = found.path, found.size
    if size > MAX_UPLOAD:
        raise PermanentError(
            f"{relative!r} is {size / 1048576:.1f} MiB; files up to {MAX_UPLOAD // 1048576} MiB are "
            "uploaded: put a bigger one on a web server and give its https:// link"
        )
    if size == 0:
        raise PermanentError(f"{relative!r} is empty")
    return path


def source_problem(source: str, folder: Path) -> str | None:
    """What is wrong with a file source, for `botengine check`; None when it is fine."""
    if is_url(source):
        return url_problem(source)
    try:
        local_path(folder, source)
    except PermanentError as exc:
        return str(exc)
    return None


async def media_file(source: str, folder: Path, *, mimetype: str, filename: str | None) -> MediaFile:
    """The file to hand to Wawp: a URL as it is, a local file read (and later sent base64)."""
    name = filename or name_of(source) or "file"
    if is_url(source):
        if problem := url_problem(source):
            raise PermanentError(problem)
        return MediaFile(mimetype=mimetype, filename=name, url=source)
    local_path(folder, source)  # the checks, with the advice on size
    try:
        data = await asyncio.to_thread(confined.read, folder, source)
    except FileRefusedError as exc:
        raise PermanentError(str(exc)) from exc
    if len(data) > MAX_UPLOAD:  # it grew since it was checked
        raise PermanentError(f"{source!r} is larger than {MAX_UPLOAD // 1048576} MiB")
    return MediaFile(mimetype=mimetype, filename=name, data=data)
