"""Opening the backend the settings ask for: the one place that chooses between them."""

from __future__ import annotations

from botengine.config import Settings
from botengine.errors import StorageError
from botengine.storage.base import Storage
from botengine.storage.disk import DiskStorage


def open_storage(settings: Settings, *, existing: bool = False) -> Storage:
    """The backend the settings ask for (the embedded disk store unless told otherwise).

    With `existing`, for tools that read what an engine stored: a data directory that does not
    exist or holds nothing is an error (a mistyped path must not read as "nothing there").
    """
    if existing and not settings.redis_url:
        path = settings.data_dir
        if not path.is_dir() or not any(path.iterdir()):
            raise StorageError(
                f"no engine data in {path}: give the data directory the engine uses "
                "(--data-dir or BOTENGINE_DATA_DIR; .botengine-data in the folder it started in by default)"
            )
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
