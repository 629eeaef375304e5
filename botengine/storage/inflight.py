"""Which events a process of the embedded store is processing, kept where its death leaves a trace.

    <data-dir>/inflight/<instance>.log    "+<seq>" when an event's processing begins,
                                          "-<seq>" when it is acknowledged, one a line

Each process that opens the store writes its own file, append-only and without fsync (a write
reaches the kernel at once, so it survives the death of the process, which is all it is for:
a power cut loses nothing that matters here). The process holds an exclusive lock (flock) on its
file while it lives, so a file that can be locked belongs to a dead process. When the store
opens, the files of dead processes say which events were being processed when they died: each of
those counts one crash (the journal's `crashes`), and the worker sets aside an event with too
many. The same lock answers "is this instance alive?" for the executor's claims.

Two small writes per event (a begin and an ack line) are the whole cost on the hot path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterable
from pathlib import Path

from botengine.errors import StorageError

_LINE = re.compile(rb"([+-])(\d+)\n")  # a line cut short by a full disk is not one
_ROTATE_AT = 1 << 20  # bytes: past this, the file is rewritten with just what is in flight


class InFlightLog:
    """This process's file of events begun and not yet acknowledged (see the module docstring)."""

    def __init__(self, directory: Path, instance: str) -> None:
        self.directory = directory
        self.path = directory / f"{instance}.log"
        self._open: set[int] = set()
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
            self._fd = _locked(self.path)
        except OSError as exc:
            raise StorageError(f"cannot open {self.path}: {exc.strerror}") from exc
        self._size = 0

    def begin(self, seq: int) -> None:
        self._write(b"+%d\n" % seq)
        self._open.add(seq)

    def end(self, seqs: Iterable[int]) -> None:
        done = [seq for seq in seqs if seq in self._open]
        if done:
            self._write(b"".join(b"-%d\n" % seq for seq in done))
            self._open.difference_update(done)

    def _write(self, line: bytes) -> None:
        try:
            os.write(self._fd, line)
        except OSError as exc:
            raise StorageError(f"cannot write {self.path}: {exc.strerror}") from exc
        self._size += len(line)
        if self._size > _ROTATE_AT:
            self._rotate()

    def _rotate(self) -> None:
        """Start the file again with only the events still in flight (locked before it is visible)."""
        fresh = self.path.with_suffix(".new")
        fd = _locked(fresh)
        try:
            os.write(fd, b"".join(b"+%d\n" % seq for seq in sorted(self._open)))
            os.replace(fresh, self.path)
        except OSError:
            os.close(fd)
            raise
        os.close(self._fd)
        self._fd, self._size = fd, 0

    def close(self, *, clean: bool = True) -> None:
        """A clean stop: nothing this process began is a crash (`clean=False`: as if it died)."""
        if self._fd < 0:
            return
        if clean:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)
        self._fd = -1


def alive(directory: Path, instance: str) -> bool:
    """Whether the process of `instance` still holds its file (the store is open there)."""
    path = directory / f"{instance}.log"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False  # closed cleanly, or its crashes were counted and the file removed
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def dead_processes(directory: Path) -> tuple[list[Path], set[int]]:
    """The files of processes that died, and the events they had begun and not acknowledged."""
    files: list[Path] = []
    begun: set[int] = set()
    for path in sorted(directory.glob("*.log")):
        if alive(directory, path.stem):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        files.append(path)
        open_here: set[int] = set()
        for sign, seq in _LINE.findall(data):
            (open_here.add if sign == b"+" else open_here.discard)(int(seq))
        begun |= open_here
    return files, begun


def _locked(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd
