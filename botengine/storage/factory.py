"""Opening the backend the settings ask for: the one place that chooses between them."""

from __future__ import annotations

from botengine.config import Settings
from botengine.storage.base import Storage
from botengine.storage.disk import DiskStorage


def open_storage(settings: Settings) -> Storage:
    """The backend the settings ask for (the embedded disk store unless told otherwise)."""
    if settings.redis_url:
        from botengine.storage.redis import RedisStorage  # an extra: imported only when asked for

        return RedisStorage(
            settings.redis_url,
            dedupe_window=settings.dedupe_window,
            max_depth=settings.max_queue,
            namespace=settings.redis_namespace,
            lease=settings.redis_lease,
        )
    return DiskStorage(
        settings.data_dir,
        dedupe_window=settings.dedupe_window,
        max_depth=settings.max_queue,
        sync=settings.sync,
    )
