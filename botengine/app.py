"""The composition root: the one place that wires storage, receiver, worker and engine together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import os
import signal
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from botengine.actions import Capability, Services
from botengine.actions.executor import Executor
from botengine.actions.follow_ups import FollowUps
from botengine.auth import Authenticator
from botengine.broadcaster import Broadcaster
from botengine.config import Settings
from botengine.dashboard import Dashboard, DashboardAuth, Timeline, TraceStore
from botengine.errors import StorageError
from botengine.handover import SentMessages
from botengine.keywords import Keywords
from botengine.metrics import Metrics
from botengine.outbound import http_client
from botengine.pacing import Pacer, SharedPacer
from botengine.processing import RuleProcessor
from botengine.receiver import Receiver
from botengine.retry import RetryPolicy
from botengine.rules.live import LiveRules, ReloadState
from botengine.scheduler import Scheduler
from botengine.storage import Storage, open_storage
from botengine.storage.health import StoreHealth
from botengine.ticker import Ticker
from botengine.wawp import CredentialStore, WawpClient
from botengine.worker import Processor, Worker

log = logging.getLogger(__name__)


@dataclass
class Engine:
    """Everything one running botengine holds; `app.state.engine` in the Starlette app."""

    settings: Settings
    storage: Storage
    metrics: Metrics
    worker: Worker
    rules: LiveRules
    processor: RuleProcessor
    scheduler: Scheduler
    services: Services
    ticker: Ticker
    health: StoreHealth
    loop: asyncio.AbstractEventLoop | None = None  # the one the engine runs on, once started
    start_when_listening: bool = False  # set by http_server.Server: it calls start_work() itself
    working: bool = False

    def start_work(self) -> None:
        """Start taking events and running jobs (once; nothing when this node runs no rules)."""
        if self.working or self.settings.role == "receiver":
            return
        self.working = True
        self.worker.start()
        if not self.settings.dry_run:  # a dry run schedules nothing, and must not run what others did
            self.scheduler.start()
            self.ticker.start()

    async def stop_work(self) -> None:
        if self.working:
            await self.ticker.stop()
            await self.worker.stop(self.settings.shutdown_grace)
            await self.scheduler.stop(self.settings.shutdown_grace)


class WebhookFirst:
    """Wawp's POSTs go straight to the receiver, ahead of Starlette's exception handling and
    router (~6 µs of a ~90 µs request, docs/benchmarks.md): the receiver answers every error
    itself. Anything else (another path or method, a mounted prefix) goes through Starlette."""

    def __init__(self, app: ASGIApp, path: str, receiver: ASGIApp) -> None:
        self.app, self.path, self.receiver = app, path, receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            await self.receiver(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _authorized(request: Request, token: str) -> bool:
    if not token:
        return True
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def open_services(settings: Settings, storage: Storage, metrics: Metrics, env: Mapping[str, str]) -> Services:
    """What actions reach: the Wawp client (when credentials are set), an HTTP client, secrets."""
    credentials = CredentialStore(env)
    wawp = None
    if credentials.configured() or settings.dry_run:
        wawp = WawpClient(credentials, base_url=settings.wawp_url, reaction_path=settings.wawp_reaction_path)
    elif not settings.dry_run:
        log.warning("no Wawp credentials (BOTENGINE_WAWP_TOKEN): actions that send will fail")
    http = http_client(httpx.Timeout(10.0, connect=5.0))
    follow_up = FollowUps(storage).schedule  # `later` stores its actions as a job
    return Services(storage=storage, wawp=wawp, http=http, metrics=metrics, env=env, follow_up=follow_up)


def build_app(
    settings: Settings,
    *,
    storage: Storage | None = None,
    processor: Processor | None = None,
    env: Mapping[str, str] | None = None,
) -> Starlette:
    """A ready-to-serve Starlette app; storage opens now, the worker starts with the app.

    `env` is where Wawp credentials and rule secrets are read (default: the process environment).
    Raises RulesError when the rules directory does not load: the engine refuses to start.
    """
    env = os.environ if env is None else env
    metrics = Metrics()

    def reloaded(state: ReloadState) -> None:
        metrics.rules_reloaded(state.success, state.rules)
        ticker.wake()  # a scheduled rule may have come or changed (the ticker is built below)

    rules = LiveRules.open(settings.rules_dir, env=env, listeners=[reloaded])
    storage = storage if storage is not None else open_storage(settings)
    metrics.watch_queue(storage.queue_depth)
    health = StoreHealth(metrics.count_store_error)  # the store as the worker, executor and scheduler meet it
    services = open_services(settings, storage, metrics, env)
    if services.wawp is not None:  # the bot's own sends, told from a person's (rules that hand over)
        services.wawp.observer = SentMessages(
            storage, lambda: Capability.HANDOVER in rules.current.capabilities
        )
    executor = Executor(
        services,
        health=health,
        dry_run=settings.dry_run,
        # several workers share a number's budget only through the store they share
        pacer=SharedPacer(storage, settings.send_rate) if settings.redis_url else Pacer(settings.send_rate),
        default_retry=RetryPolicy(
            policy=settings.retry_policy, retries=settings.retries, delay=settings.retry_delay
        ),
        ledger_ttl=settings.ledger_window,
    )
    traces, timeline = TraceStore(storage, window=settings.trace_window), Timeline()
    # broadcasts share each number's send budget with the replies: the executor's pacer
    broadcaster = Broadcaster(
        storage, lambda: services.wawp, executor.pacer, send_rate=settings.send_rate, metrics=metrics
    )
    rule_processor = RuleProcessor(
        lambda: rules.current,
        storage,
        executor,
        metrics,
        dry_run=settings.dry_run,
        listeners=(traces.record, timeline.record),
        job_listeners=(traces.record_job, timeline.record_job),
        broadcaster=broadcaster,
        debounce=settings.debounce,
        keywords=Keywords.configured(settings),
    )
    scheduler = Scheduler(storage, rule_processor.run_job, health=health)
    auth = Authenticator(
        secrets=settings.secrets,
        hmac_keys=settings.hmac_keys,
        allow=settings.allow_ips,
        trusted_proxies=settings.trusted_proxies,
    )
    dashboard = Dashboard(
        DashboardAuth(
            token=settings.admin_token,
            user=settings.dashboard_user,
            password=settings.dashboard_password,
            viewer=settings.dashboard_viewer,
            viewer_password=settings.dashboard_viewer_password,
        ),
        storage,
        rules,
        traces,
        timeline,
        wake_scheduler=scheduler.wake,
        client_address=auth.client_address,
        over_tls=auth.over_tls,
        webhook_path=settings.webhook_path,
    )
    receiver = Receiver(storage, auth, metrics, max_body=settings.max_body, health=health)
    worker = Worker(
        storage,
        processor or rule_processor,
        metrics,
        concurrency=settings.concurrency,
        log_events=settings.log_events,
        health=health,
    )
    ticker = Ticker(storage, lambda: rules.current)
    engine = Engine(
        settings, storage, metrics, worker, rules, rule_processor, scheduler, services, ticker, health
    )
    metrics.rules_reloaded(True, len(rules.current))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await storage.ping()
            # a ping can pass while writes fail (a full disk still reads): what the store's
            # users met lately counts as much
            checks["storage"] = health.problem or "ok"
        except StorageError as exc:
            checks["storage"] = str(exc)
        # a stopped watcher means saved rules go unnoticed: not ready until it runs again
        checks["rules_watcher"] = f"restarting: {rules.watcher_problem}" if rules.watcher_problem else "ok"
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, object] = {"ready": ready, "checks": checks, "rules": rules.state.as_dict()}
        if not (settings.admin_token and _authorized(request, settings.admin_token)):
            # a load balancer needs "ready or not", nothing more: the details name files,
            # settings and errors, which are for the operator (the admin token, or the log)
            problems = sum(v != "ok" for v in checks.values()) + len(rules.state.problems)
            body = {"ready": ready, "problems": problems}
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
        engine.loop = asyncio.get_running_loop()
        if not engine.start_when_listening:  # served otherwise than by http_server.Server: start now
            engine.start_work()
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
                    "role": settings.role,
                    "dry_run": settings.dry_run,
                    "path": settings.webhook_path,
                }
            },
        )
        try:
            yield
        finally:
            await rules.stop()
            await engine.stop_work()
            if services.wawp is not None:
                await services.wawp.close()
            if services.http is not None:
                await services.http.aclose()
            await storage.close()
            log.info("botengine stopped")

    # A worker-only node still serves health, metrics and the dashboard, but takes no webhooks.
    receives = settings.role in ("all", "receiver")
    webhook = [Route(settings.webhook_path, receiver, methods=["POST"])] if receives else []
    app = Starlette(
        routes=[
            *webhook,
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/-/reload", reload_rules, methods=["POST"]),
            Route("/", dashboard.home),
            dashboard.mount(),
        ],
        middleware=[Middleware(WebhookFirst, path=settings.webhook_path, receiver=receiver)]
        if receives
        else [],
        lifespan=lifespan,
    )
    app.state.engine = engine
    return app
