"""Files beside the rules (rules files, lists, code pools, test events): read only from inside
the rules folder, and only plain files.

Whoever may write rules must not thereby read the rest of the machine: a link in `lists/` to
`/proc/self/environ` once put every secret of the engine into an error message. So a name is
resolved (links followed) and must land inside the folder, a link that leads out is refused,
and so is anything that is not a regular file: a fifo (its read blocks forever), a device, and
the kernel's pseudo-files under /proc and /sys, which look regular. Errors name the file and
say why, never what it holds.

    path = inside(rules_dir, "lists/vip.txt")   # the resolved path, or FileRefusedError
    data = read(rules_dir, "lists/vip.txt")     # its bytes, under the same checks
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from botengine.errors import FileRefusedError

MAX_BYTES = 16 << 20  # a list or pool past this is a mistake (or a trick), not a list
_PSEUDO_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def inside(folder: Path | str, name: Path | str) -> Path:
    """The real path of `name` (relative to `folder`), refused unless it lies inside `folder`."""
    root = Path(folder).resolve()
    shown = Path(name)
    try:
        path = (root / shown).resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a link loop
        raise FileRefusedError(f"{shown}: cannot follow its links ({exc})") from exc
    if not path.is_relative_to(root):
        raise FileRefusedError(
            f"{shown} leads outside the rules folder {root}: files the rules use must be inside it"
        )
    if any(path.is_relative_to(pseudo) for pseudo in _PSEUDO_ROOTS):
        raise FileRefusedError(f"{shown} is a system file under {path.parts[1]}, not a rules file")
    return path


def read(folder: Path | str, name: Path | str) -> bytes:
    """The bytes of `name` inside `folder` (see `inside`); FileRefusedError says why not."""
    path = inside(folder, name)
    shown = Path(name)
    try:
        # O_NONBLOCK: opening a fifo must not wait for a writer; O_NOFOLLOW: the name was resolved
        # just now, so a link here means it was swapped in since
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise FileRefusedError(f"{shown}: no such file") from exc
    except OSError as exc:
        raise FileRefusedError(f"{shown}: cannot read it ({exc.strerror or exc})") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise FileRefusedError(f"{shown} is {_kind(mode)}, not a plain file")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(MAX_BYTES + 1)
        except OSError as exc:
            raise FileRefusedError(f"{shown}: cannot read it ({exc.strerror or exc})") from exc
    if len(data) > MAX_BYTES:
        raise FileRefusedError(f"{shown} is larger than {MAX_BYTES >> 20} MiB")
    return data


def check(folder: Path | str, name: Path | str) -> Path:
    """The resolved path when `read` would succeed (for files read later, e.g. test events)."""
    read(folder, name)
    return inside(folder, name)


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
