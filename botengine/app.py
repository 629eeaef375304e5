"""The composition root: the one place that wires storage, receiver, worker and engine together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from botengine.auth import Authenticator
from botengine.config import Settings
from botengine.errors import StorageError
from botengine.metrics import Metrics
from botengine.receiver import Receiver
from botengine.rules.live import LiveRules
from botengine.storage import Storage
from botengine.storage.disk import DiskStorage
from botengine.worker import Processor, Worker, log_processor

log = logging.getLogger(__name__)


def open_storage(settings: Settings) -> Storage:
    """The backend the settings ask for (the embedded disk store unless told otherwise)."""
    return DiskStorage(
        settings.data_dir,
        dedupe_window=settings.dedupe_window,
        max_depth=settings.max_queue,
        sync=settings.sync,
    )


@dataclass
class Engine:
    """Everything one running botengine holds; `app.state.engine` in the Starlette app."""

    settings: Settings
    storage: Storage
    metrics: Metrics
    worker: Worker
    extras: dict[str, object] = field(default_factory=dict)


def _authorized(request: Request, token: str) -> bool:
    if not token:
        return True
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def build_app(
    settings: Settings,
    *,
    storage: Storage | None = None,
    processor: Processor | None = None,
    rules: LiveRules | None = None,
) -> Starlette:
    """A ready-to-serve Starlette app; storage opens now, the worker starts with the app.

    Raises RulesError when the rules directory does not load: the engine refuses to start.
    """
    rules = rules if rules is not None else LiveRules.open(settings.rules_dir)
    storage = storage if storage is not None else open_storage(settings)
    metrics = Metrics()
    metrics.watch_queue(storage.queue_depth)
    auth = Authenticator(
        secrets=settings.secrets,
        hmac_keys=settings.hmac_keys,
        allow=settings.allow_ips,
        trusted_proxies=settings.trusted_proxies,
    )
    receiver = Receiver(storage, auth, metrics, max_body=settings.max_body)
    worker = Worker(storage, processor or log_processor, metrics, concurrency=settings.concurrency)
    engine = Engine(settings, storage, metrics, worker)
    engine.extras["rules"] = rules
    rules.listeners.append(lambda state: metrics.rules_reloaded(state.success, state.rules))
    metrics.rules_reloaded(True, len(rules.current))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await storage.ping()
            checks["storage"] = "ok"
        except StorageError as exc:
            checks["storage"] = str(exc)
        ready = all(v == "ok" for v in checks.values())
        body = {"ready": ready, "checks": checks, "rules": rules.state.as_dict()}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def reload_rules(request: Request) -> Response:
        if not settings.admin_token or not _authorized(request, settings.admin_token):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        state = await asyncio.to_thread(rules.reload)
        return JSONResponse(state.as_dict(), status_code=200 if state.success else 422)

    async def metrics_endpoint(request: Request) -> Response:
        if not _authorized(request, settings.admin_token):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker.start()
        await rules.start()
        with contextlib.suppress(RuntimeError, NotImplementedError, ValueError):  # not the main thread
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, rules.reload)
        # Everything allocated so far lives as long as the process: keep the garbage collector
        # from walking it again and again (a full collection otherwise stalls requests for ms).
        gc.collect()
        gc.freeze()
        log.info(
            "botengine ready",
            extra={
                "fields": {
                    "storage": storage.name,
                    "dry_run": settings.dry_run,
                    "path": settings.webhook_path,
                }
            },
        )
        try:
            yield
        finally:
            await rules.stop()
            await worker.stop(settings.shutdown_grace)
            await storage.close()
            log.info("botengine stopped")

    app = Starlette(
        routes=[
            Route(settings.webhook_path, receiver, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/-/reload", reload_rules, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    return app
