"""The rules folder as the dashboard's editor sees it: its rules files, read, checked, saved.

Only `*.yaml` / `*.yml` files directly in the folder, named plainly, and never a link (a link
could lead anywhere on the machine). A save is atomic (a temporary file beside it, flushed to
disk, then renamed over the file), so the engine's watcher only ever sees the old file or the
new one, and it reloads as for any save (keep-last-good included). A save names the version it
started from: when the file changed on disk since, nothing is written (ConflictError).

    folder = RulesFolder(Path("rules"))
    opened = folder.read("shop.yaml")                       # text and digest
    loaded = folder.check("shop.yaml", edited_text)          # problems, as `botengine check` says them
    folder.write("shop.yaml", edited_text, expected=opened.digest)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from botengine.errors import ConflictError, EditError
from botengine.rules.loader import Loaded, load

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\.ya?ml$")
MAX_TEXT = 1 << 20  # a rules file past a mebibyte is not typed in a browser


def digest_of(text: str) -> str:
    """What a version of a file is known by (a file that does not exist: "")."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def normalized(text: str) -> str:
    """Text as saved: line breaks as \\n (a browser sends \\r\\n), ending with one when not empty."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if not text or text.endswith("\n") else text + "\n"


@dataclass(frozen=True)
class RulesFile:
    name: str
    text: str
    exists: bool = True

    @property
    def digest(self) -> str:
        return digest_of(self.text) if self.exists else ""


class RulesFolder:
    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = Path(root)
        self.env = env
        self._lock = threading.Lock()  # one save at a time: a conflict check and its write go together

    def names(self) -> list[str]:
        """The rules files the editor may open, sorted."""
        if not self.root.is_dir():
            return []
        found = (p for p in self.root.iterdir() if NAME.fullmatch(p.name))
        return sorted(p.name for p in found if p.is_file() and not p.is_symlink())

    def path(self, name: str) -> Path:
        """The file's path, refused unless it is a plain rules file name directly in the folder."""
        if not NAME.fullmatch(name):  # `match` and `$` let a name end in a line break
            raise EditError(
                f"{name!r} is not a rules file name: letters, digits, - and _, ending in .yaml "
                "(no folders, no other extensions)"
            )
        path = self.root / name
        if path.is_symlink():
            raise EditError(f"{name} is a link: the editor opens only plain files inside the rules folder")
        if path.exists() and not path.is_file():
            raise EditError(f"{name} is not a plain file")
        return path

    def read(self, name: str) -> RulesFile:
        """The file as it is on disk (an empty, non-existent one when there is none).

        Opened without following a link and without waiting on a fifo, and looked at once open:
        `path` checked the name a moment before, and a link or a fifo may have been put there since.
        """
        path = self.path(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return RulesFile(name, "", exists=False)
        except OSError as exc:
            why = "it became a link" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
            raise EditError(f"{name}: cannot read it ({why})") from exc
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise EditError(f"{name} is not a plain file")
            data = file.read(MAX_TEXT + 1)
        if len(data) > MAX_TEXT:
            raise EditError(f"{name}: larger than {MAX_TEXT >> 10} KiB, too large to edit here")
        return RulesFile(name, data.decode("utf-8", errors="replace"))

    def load(self) -> Loaded:
        """The folder as saved, checked (for a listing: rules, tests and problems per file)."""
        return load([self.root], self.env)

    def check(self, name: str, text: str) -> Loaded:
        """Every problem of the folder with `text` in place of the file (nothing is written)."""
        return load([self.root], self.env, unsaved={self.path(name): normalized(text)})

    def write(self, name: str, text: str, *, expected: str) -> RulesFile:
        """Save `text` atomically, unless the file changed since the version `expected` (its digest;
        "" for a file that must not exist yet): then ConflictError, and nothing is written."""
        text = normalized(text)
        if len(text.encode()) > MAX_TEXT:
            raise EditError(f"{name}: larger than {MAX_TEXT >> 10} KiB")
        path = self.path(name)
        with self._lock:
            self._unchanged(name, expected)
            temporary = self.root / f".{name}.{secrets.token_hex(4)}.tmp"  # not *.yaml: never loaded
            try:
                with open(temporary, "x", encoding="utf-8") as file:
                    file.write(text)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, path)
                _sync_folder(self.root)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                raise EditError(
                    f"{name}: cannot save it ({exc.strerror or exc}); the file is as it was"
                ) from exc
        return RulesFile(name, text)

    def delete(self, name: str, *, expected: str) -> RulesFile:
        """Remove the file (its rules leave the engine), unless it changed since `expected`."""
        path = self.path(name)
        with self._lock:
            gone = self._unchanged(name, expected)
            try:
                path.unlink()
                _sync_folder(self.root)
            except OSError as exc:
                raise EditError(f"{name}: cannot delete it ({exc.strerror or exc})") from exc
        return gone

    def _unchanged(self, name: str, expected: str) -> RulesFile:
        current = self.read(name)
        if current.digest != expected:
            what = "was created" if not expected else ("was deleted" if not current.exists else "changed")
            raise ConflictError(f"{name} {what} on disk since you opened it: nothing was saved", current.text)
        return current


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry of a renamed file, so a power cut cannot bring the old one back."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
