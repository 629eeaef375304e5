"""Where the engine keeps events and state: one interface (`Storage`), several backends."""

from __future__ import annotations

from botengine.storage.base import Delivery, Incoming, Job, Storage
from botengine.storage.factory import open_storage

__all__ = ["Delivery", "Incoming", "Job", "Storage", "open_storage"]
