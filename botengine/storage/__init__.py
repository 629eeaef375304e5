"""Where the engine keeps events and state: one interface (`Storage`, by role), several backends."""

from __future__ import annotations

from botengine.storage.base import (
    DeadLetters,
    Delivery,
    EventQueue,
    Incoming,
    Job,
    JobStore,
    KeyValue,
    Lifecycle,
    Storage,
)
from botengine.storage.factory import open_storage

__all__ = [
    "DeadLetters",
    "Delivery",
    "EventQueue",
    "Incoming",
    "Job",
    "JobStore",
    "KeyValue",
    "Lifecycle",
    "Storage",
    "open_storage",
]
