"""Every version of a rules file saved from the dashboard: who, when, what changed; any one can be
put back.

Versions live in the engine's store (`history` namespace), so they survive restarts and every
node of a scaled-out engine sees them. The file as it was before its first save from the
dashboard is kept too ("as found"), and so is a version someone saved on disk in between, so a
rollback can reach every version the dashboard saw. At most KEEP versions a file are kept.

    history = RulesHistory(storage)
    await history.record("shop.yaml", text, who="admin", action="saved")
    versions = await history.versions("shop.yaml")          # newest first
    print(versions[0].diff(versions[1]))                    # a unified diff
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass

from botengine.rules.folder import digest_of
from botengine.storage import Storage
from botengine.storage.keys import key, split
from botengine.types import JSONDict

KEEP = 50


@dataclass(frozen=True)
class Version:
    file: str
    id: str  # nanoseconds since the epoch, zero-padded: versions sort by id
    at: float
    who: str
    action: str  # "as found", "saved", "created", "deleted", "rolled back to …", "changed on disk"
    text: str
    deleted: bool = False  # the file did not exist after this version

    @property
    def digest(self) -> str:
        return "" if self.deleted else digest_of(self.text)

    def diff(self, before: Version | None) -> str:
        """What this version changed, as a unified diff against `before` (None: the empty file)."""
        old = "" if before is None or before.deleted else before.text
        new = "" if self.deleted else self.text
        lines = difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{self.file} before",
            tofile=f"{self.file} {self.action}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def as_json(self) -> JSONDict:
        return {
            "at": self.at,
            "who": self.who,
            "action": self.action,
            "text": self.text,
            "deleted": self.deleted,
        }


def _slot(file: str, version_id: str = "") -> str:
    return key("history", file, version_id)


class RulesHistory:
    def __init__(self, storage: Storage, *, keep: int = KEEP) -> None:
        self.storage = storage
        self.keep = keep

    async def record(self, file: str, text: str, *, who: str, action: str, deleted: bool = False) -> Version:
        """Keep a version; the oldest go past `keep`."""
        version = Version(file, f"{time.time_ns():020d}", time.time(), who, action, text, deleted)
        await self.storage.put(_slot(file, version.id), version.as_json())
        kept = await self.storage.scan(_slot(file))
        for old_key, _ in kept[: max(0, len(kept) - self.keep)]:
            await self.storage.delete(old_key)
        return version

    async def versions(self, file: str) -> list[Version]:
        """Newest first."""
        found = [_version(file, k, v) for k, v in await self.storage.scan(_slot(file))]
        return [v for v in reversed(found) if v is not None]

    async def get(self, file: str, version_id: str) -> Version | None:
        if not version_id.isdigit():
            return None
        return _version(file, _slot(file, version_id), await self.storage.get(_slot(file, version_id)))

    async def before_saving(self, file: str, on_disk: str, exists: bool, *, who: str = "(on disk)") -> None:
        """Keep what the file holds now if no version has it yet (as found, or changed on disk);
        `who` is unknown: whoever wrote the file on the server."""
        versions = await self.versions(file)
        latest = versions[0] if versions else None
        now = digest_of(on_disk) if exists else ""
        if latest is not None and latest.digest == now:
            return
        if latest is None and not exists:
            return  # a new file: nothing to keep
        action = "as found" if latest is None else "changed on disk"
        await self.record(
            file, on_disk, who="(on disk)" if latest else who, action=action, deleted=not exists
        )

    async def files(self) -> list[str]:
        """Files with a history, deleted ones included (they can be restored)."""
        return sorted({split(k)[0] for k, _ in await self.storage.scan(key("history", ""))})


def _version(file: str, slot: str, value: object) -> Version | None:
    if not isinstance(value, dict):
        return None
    return Version(
        file,
        split(slot)[-1],
        float(value.get("at", 0)),
        str(value.get("who", "")),
        str(value.get("action", "")),
        str(value.get("text", "")),
        bool(value.get("deleted", False)),
    )
