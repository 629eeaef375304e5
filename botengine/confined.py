"""Files beside the rules (rules files, lists, code pools, test events): read only from inside
the rules folder, and only plain files.

Whoever may write rules must not thereby read the rest of the machine: a link in `lists/` to
`/proc/self/environ` once put every secret of the engine into an error message. So a name is
resolved (links followed) and must land inside the folder, a link that leads out is refused,
and so is anything that is not a regular file: a fifo (its read blocks forever), a device, and
the kernel's pseudo-files under /proc and /sys, which look regular. The check is made again on
what was actually opened (the kernel's name for the open file), so a folder swapped for a link
between the check and the open leads nowhere. Errors name the file and say why, never what it
holds.

    path = inside(rules_dir, "lists/vip.txt")   # the resolved path, or FileRefusedError
    found = find(rules_dir, "media/menu.jpg")   # …and its size, when it may be read
    data = read(rules_dir, "lists/vip.txt")     # its bytes, under the same checks
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from botengine.errors import FileRefusedError

MAX_BYTES = 16 << 20  # a list, pool or media file past this is a mistake (or a trick)
_PSEUDO_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass(frozen=True)
class Found:
    path: Path  # resolved: every link followed
    size: int


def inside(folder: Path | str, name: Path | str) -> Path:
    """The real path of `name` (relative to `folder`), refused unless it lies inside `folder`."""
    root = Path(folder).resolve()
    shown = str(name)
    if "\0" in shown:
        raise FileRefusedError(f"{shown!r}: a file name cannot hold a NUL character")
    try:
        path = (root / name).resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise FileRefusedError(f"{shown!r}: its links go round in a loop") from exc
    _refuse_outside(root, path, shown)
    return path


def _refuse_outside(root: Path, path: Path, shown: str, *, why: str = "through a link or ..") -> None:
    if not path.is_relative_to(root):
        raise FileRefusedError(f"{shown!r} leads outside the rules folder ({why})")
    if any(path.is_relative_to(pseudo) for pseudo in _PSEUDO_ROOTS):
        raise FileRefusedError(f"{shown!r} is a system file under /{path.parts[1]}, not a rules file")


def find(folder: Path | str, name: Path | str) -> Found:
    """Where `name` is and its size, when it is a plain file inside `folder` (not read: the
    caller judges the size)."""
    fd, found = _open(folder, name)
    os.close(fd)
    return found


def read(folder: Path | str, name: Path | str) -> bytes:
    """The bytes of `name` inside `folder` (see the module docstring); FileRefusedError says why not."""
    fd, found = _open(folder, name)
    if found.size > MAX_BYTES:
        os.close(fd)
        raise FileRefusedError(f"{str(name)!r} is larger than {MAX_BYTES >> 20} MiB")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(MAX_BYTES + 1)
        except OSError as exc:
            raise FileRefusedError(f"cannot read {str(name)!r}: {exc.strerror or exc}") from exc
    if len(data) > MAX_BYTES:  # it grew since it was opened
        raise FileRefusedError(f"{str(name)!r} is larger than {MAX_BYTES >> 20} MiB")
    return data


def _open(folder: Path | str, name: Path | str) -> tuple[int, Found]:
    path = inside(folder, name)
    shown = str(name)
    try:
        # O_NONBLOCK: opening a fifo must not wait for a writer; O_NOFOLLOW: the name was resolved
        # just now, so a link here means it was swapped in since
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise FileRefusedError(f"no file {shown!r} in the rules folder") from exc
    except OSError as exc:
        raise FileRefusedError(f"cannot read {shown!r}: {exc.strerror or exc}") from exc
    try:
        opened = _opened(fd)
        if opened is not None:  # a folder on the way may have become a link since `inside`
            _refuse_outside(Path(folder).resolve(), opened, shown, why="a folder became a link meanwhile")
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefusedError(f"{shown!r} is {_kind(info.st_mode)}, not a plain file")
    except BaseException:
        os.close(fd)
        raise
    return fd, Found(path, info.st_size)


def _opened(fd: int) -> Path | None:
    """What the kernel says the descriptor is open on; None where it does not say (no /proc)."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"
