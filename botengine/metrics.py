"""Prometheus metrics: one registry per engine, so several engines can live in one process."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_GAP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)


class BoundedLabel:
    """Caps the distinct values of a label taken from untrusted input (event types, sessions).

    Past `limit` distinct values, new ones are reported as "other", so a sender inventing event
    types cannot grow the metrics without bound.
    """

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return "other"
        self._seen.add(value)
        return value


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.event_type = BoundedLabel()
        self.session = BoundedLabel()
        self.received = Counter(
            "botengine_events_received", "Events accepted by the receiver", ["type", "session"], registry=r
        )
        self.duplicates = Counter(
            "botengine_events_duplicate", "Deliveries of an event already seen", ["type"], registry=r
        )
        self.rejected = Counter(
            "botengine_webhook_rejections", "Requests refused by the receiver", ["reason"], registry=r
        )
        self._received_children: dict[tuple[str, str], Counter] = {}
        self.queue_depth = Gauge("botengine_queue_depth", "Events accepted and not yet processed", registry=r)
        self.processed = Counter(
            "botengine_events_processed", "Events the worker finished", ["type", "outcome"], registry=r
        )
        self.processing_seconds = Histogram(
            "botengine_event_processing_seconds",
            "Time from taking an event off the queue to acknowledging it",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_gap = Histogram(
            "botengine_delivery_gap_seconds",
            "Time between an event's own timestamp and its arrival here",
            buckets=_GAP_BUCKETS,
            registry=r,
        )

        self.rules_reload_success = Gauge(
            "botengine_rules_last_reload_success",
            "1 when the last rules reload loaded, 0 when it failed (the previous set stays live)",
            registry=r,
        )
        self.rules_loaded = Gauge("botengine_rules_loaded", "Rules in the live rule set", registry=r)

        self.actions = Counter(
            "botengine_actions",
            "Actions by kind and outcome (done, skipped, dry-run, retrying, deferred, failed, stopped)",
            ["kind", "status"],
            registry=r,
        )
        self.action_seconds = Histogram(
            "botengine_action_seconds",
            "Time one successful action took (pacing waits included)",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.dead_letters = Counter(
            "botengine_dead_letters", "Entries written to the dead-letter queue", ["kind"], registry=r
        )
        self.follow_ups_cancelled = Counter(
            "botengine_follow_ups_cancelled", "`later` actions cancelled by unless:", ["reason"], registry=r
        )
        self.questions = Counter(
            "botengine_questions",
            "Messages and time limits that met a waiting question (`ask`): answered, asked_again, "
            "gave_up (a wrong answer too many), timed_out, or with_a_person (a handover ended it)",
            ["outcome"],
            registry=r,
        )
        self.store_errors = Counter(
            "botengine_store_errors",
            "Store operations that failed (each is tried again until it works)",
            ["operation"],
            registry=r,
        )
        self.uncertain = Counter(
            "botengine_uncertain_actions",
            "Actions that may or may not have taken effect (a crash or a timeout after the request "
            "left), by what their `uncertain:` policy did: resend, skip, dead_letter",
            ["kind", "policy"],
            registry=r,
        )
        self.quarantined = Counter(
            "botengine_events_quarantined",
            "Events dead-lettered instead of processed: crashed (the engine died twice while "
            "processing it), budget (a rule needed more work than allowed) or raised (an error)",
            ["why"],
            registry=r,
        )
        self.opted_out = Counter(
            "botengine_sends_opted_out",
            "Messages not sent because the person opted out (STOP), by action kind (broadcast for campaigns)",
            ["kind"],
            registry=r,
        )
        self.jobs_run = Counter(
            "botengine_jobs_run", "Scheduled jobs (retries, follow-ups, replays) run", ["type"], registry=r
        )
        self.rule_counter = Counter(
            "botengine_rule_counter", "Counters kept by the count action", ["name", "by"], registry=r
        )
        self._counter_names = BoundedLabel(200)
        self._counter_by = BoundedLabel(500)

    def count_rule_counter(self, name: str, by: str, amount: int) -> None:
        if amount > 0:  # a Prometheus counter only goes up; the stored value is the true total
            self.rule_counter.labels(self._counter_names(name), self._counter_by(by)).inc(amount)

    def count_store_error(self, operation: str) -> None:
        self.store_errors.labels(operation).inc()

    def rules_reloaded(self, success: bool, rules: int) -> None:
        self.rules_reload_success.set(1 if success else 0)
        self.rules_loaded.set(rules)

    def count_received(self, event_type: str, session: str) -> None:
        """The receiver's hot path: label children are looked up once per (type, session) label.

        Keyed by the bounded labels, not the raw values: a sender inventing a session per event
        would otherwise grow this cache without end (200,000 sessions held 45 MB), while the
        series exported stayed capped.
        """
        key = (self.event_type(event_type), self.session(session))
        child = self._received_children.get(key)
        if child is None:
            child = self._received_children[key] = self.received.labels(*key)
        child.inc()

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
