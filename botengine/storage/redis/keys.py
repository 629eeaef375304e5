"""Every Redis key of a store, built in one place (the layout is drawn in the package docstring)."""

from __future__ import annotations

import re


class RedisKeys:
    """Every Redis key of one namespace."""

    def __init__(self, namespace: str) -> None:
        self.prefix = namespace + ":"
        self.depth = self.prefix + "queue:depth"
        self.workers = self.prefix + "queue:workers"
        self.partitions = self.prefix + "queue:partitions"
        self.inflight = self.prefix + "queue:inflight"
        self.crashes = self.prefix + "queue:crashes"
        self.dlq = self.prefix + "dlq"
        self.jobs = self.prefix + "jobs"
        self.jobs_due = self.prefix + "jobs:due"
        self.jobs_leased = self.prefix + "jobs:leased"
        self.kv_prefix = self.prefix + "kv:"

    def seen(self, dedupe_key: str) -> str:
        return f"{self.prefix}seen:{dedupe_key}"

    def stream(self, partition: int) -> str:
        return f"{self.prefix}queue:{partition}"

    def owner(self, partition: int) -> str:
        return f"{self.prefix}queue:{partition}:owner"

    def kv(self, key: str) -> str:
        return self.kv_prefix + key

    def pattern(self, prefix: str = "") -> str:
        """A SCAN MATCH pattern for the keys starting with `<namespace>:<prefix>`."""
        return glob_escape(self.prefix + prefix) + "*"


def glob_escape(text: str) -> str:
    """`text` with the glob characters of SCAN MATCH (`*?[]\\`) taken literally."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)
