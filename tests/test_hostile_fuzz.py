"""Odd bytes everywhere a stranger can put them, against a whole engine: never a 5xx.

The webhook with odd envelope values (times, numbers, texts, shapes), then every dashboard page
and form with odd cookies, paths, queries and form bodies, and finally the pages that show what
those events did (traces, charts, metrics): observers must not fail on what was let in.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botengine.dashboard.auth import COOKIE, DashboardAuth
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine
from tests.rules_helpers import write_rules

TOKEN = "fuzz-admin-token"
RULES = """
rules:
  - name: greet
    if: {contains: hello}
    do: [{reply: "Hello {{ sender.name or 'there' }}, you said {{ text }}"}]
  - name: crm
    if: {contains: order}
    do: [{webhook: "WAWP/hooks/crm/{{ text }}?from={{ sender.id }}"}]
"""
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
accepted: list[str] = []
# One client for every request: a new one per request loads the CA bundle each time (tens of ms
# on a loaded machine, hundreds of examples), which pushed the fuzz tests past their time limit.
_HTTP = httpx.Client(timeout=10)
failures: list[logging.LogRecord] = []


class _Failures(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            failures.append(record)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    root: Path = tmp_path_factory.mktemp("hostile")
    fake = FakeWawp()
    with fake.serve() as wawp_url:
        write_rules(root / "rules", RULES.replace("WAWP", wawp_url))
        handler = _Failures()
        logging.getLogger("botengine").addHandler(handler)
        try:
            with running_engine(
                root / "rules", root / "data", wawp_url=wawp_url, admin_token=TOKEN
            ) as engine:
                yield engine
        finally:
            logging.getLogger("botengine").removeHandler(handler)


def _session() -> tuple[str, str]:
    auth = DashboardAuth(token=TOKEN)  # the engine's key comes from the same credentials
    cookie = auth.new_session()
    session = auth.session(cookie)
    assert session is not None
    return cookie, auth.csrf_token(session)


odd_text = st.text(max_size=80) | st.sampled_from(
    [
        "hello \x00",
        "order ../../admin?x=1#f",
        "hello {{ 7*7 }}",
        "order \u202e\ufeff",
        "hello" * 400,
        "\ud800",
    ]
)
odd_number = (
    st.integers(min_value=-(2**80), max_value=2**1400) | st.floats() | st.sampled_from([0, -1, 2**63])
)
# mostly times the edge lets in, so the worker and the pages behind it see odd events too
sane_time = st.integers(min_value=0, max_value=4_102_444_799_999)
envelopes = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["message", "message.any", "message.reaction", "group.v2.join", "x.y"]),
        "session": st.text(min_size=1, max_size=20),
        "timestamp": sane_time | sane_time | odd_number,
        "payload": st.fixed_dictionaries(
            {"body": odd_text, "from": odd_text | st.just("15550001111@c.us")},
            optional={"timestamp": odd_number, "fromMe": st.booleans() | odd_text, "ack": odd_number},
        ),
    },
    optional={"id": st.text(max_size=40) | odd_number, "me": st.just({"id": "1@c.us", "pushName": "\x00"})},
)


JSON = {"content-type": "application/json"}


def _request(method: str, url: str, **options: Any) -> httpx.Response:
    """A request with only the headers given: no cookie an earlier answer set is sent along."""
    _HTTP.cookies.clear()
    return _HTTP.request(method, url, **options)


def _dumps(value: object) -> bytes:
    try:
        return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")
    except (ValueError, OverflowError):
        return b"{}"


@FUZZ
@given(envelope=envelopes)
def test_the_webhook_never_answers_5xx(bot: RunningEngine, envelope: dict[str, object]) -> None:
    answer = _request("POST", bot.url + "/webhook/whatsapp", content=_dumps(envelope), headers=JSON)
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200 and answer.json()["status"] == "accepted":
        accepted.append(str(envelope.get("id", "")))


header_bytes = st.binary(max_size=120).filter(lambda b: not any(c in b for c in b"\r\n\x00"))
paths = st.text(max_size=40).map(lambda t: quote(t, safe="/%"))


@FUZZ
@given(cookie=header_bytes, path=paths, query=st.text(max_size=40))
def test_dashboard_pages_take_any_cookie_path_or_query(
    bot: RunningEngine, cookie: bytes, path: str, query: str
) -> None:
    valid, _ = _session()
    for given_cookie in (COOKIE.encode() + b"=" + cookie, f"{COOKIE}={valid}".encode() + b"; x=" + cookie):
        headers = {"cookie": given_cookie}
        headers["authorization"] = b"Bearer " + cookie
        for page in (f"/dashboard/events/{path}", f"/dashboard/dlq/{path}", "/dashboard/events", "/readyz"):
            try:
                answer = _request("GET", bot.url + page, params={"q": query}, headers=headers)
            except httpx.LocalProtocolError:
                continue  # httpx refused to send it: nothing reached the engine
            assert answer.status_code < 500, (page, answer.text[-300:])


@FUZZ
@given(form=st.binary(max_size=300), field=st.text(max_size=60), path=paths)
def test_dashboard_forms_take_any_bytes(bot: RunningEngine, form: bytes, field: str, path: str) -> None:
    cookie, csrf = _session()
    client = httpx.Client(base_url=bot.url + "/dashboard", timeout=10, cookies={COOKIE: cookie})
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    with client:
        answers = [
            client.post("/login", content=form, headers=form_type),
            client.post("/login", data={"token": field, "user": field, "password": field}),
            client.post("/rules/greet/pause", content=form, headers=form_type),
            client.post(f"/rules/{path or 'x'}/resume", data={"csrf": csrf}),
            client.post(f"/dlq/{path or 'x'}/replay", data={"csrf": csrf}),
            client.post("/playground", data={"csrf": csrf, "event": field}),
            client.post(
                "/playground", content=b"csrf=" + csrf.encode() + b"&event=" + form, headers=form_type
            ),
        ]
    for answer in answers:
        assert answer.status_code < 500, (answer.request.url, answer.text[-300:])


# Odd values the edge must let in, posted whatever the random draw was: without them the pages
# behind the edge would be tested on however few events hypothesis happened to get accepted (and
# on none when this test runs alone); bodies without an id that repeat are duplicates, not events.
ODD_BUT_VALID = [
    {"body": body, "from": sender, "timestamp": stamp, "fromMe": from_me, "ack": ack}
    for body, sender, stamp, from_me, ack in [
        ("hello \x00", "15550001111@c.us", 2**1400, "yes", -1),
        ("order ../../admin?x=1#f", "order ../../admin?x=1#f", -(2**80), False, 2**63),
        ("hello {{ 7*7 }}", "15550001111@c.us", 1e308, True, 0.5),
        ("order \u202e\ufeff", "\u202e@c.us", -1, "", 99),
        ("hello" * 400, "x" * 80, 0, None, "read"),
        ("", "", 1.5, 1, -(2**80)),
    ]
]


def _post_odd_but_valid(bot: RunningEngine) -> None:
    stamps = [0, 1, 4_102_444_799_999, 1_700_000_000_000, 2**31]
    events = ["message", "message.any", "message.reaction", "group.v2.join", "x.y"]
    for number, (payload, event) in enumerate((p, e) for p in ODD_BUT_VALID for e in events):
        envelope = {
            "id": f"odd-{number}",
            "event": event,
            "session": "odd \u202e session",
            "timestamp": stamps[number % len(stamps)],
            "payload": payload,
        }
        answer = _request("POST", bot.url + "/webhook/whatsapp", content=_dumps(envelope), headers=JSON)
        assert answer.status_code == 200, (envelope, answer.text)
        if answer.json()["status"] == "accepted":
            accepted.append(envelope["id"])


def test_what_the_fuzzing_let_in_shows_everywhere(bot: RunningEngine) -> None:
    _post_odd_but_valid(bot)
    assert len(accepted) >= 20, "the edge let too few odd events in to test what is behind it"
    event = make_event(text="hello after the fuzzing")
    assert bot.post(event).json() == {"status": "accepted"}
    bot.wait_processed(len(accepted) + 1, timeout=60)
    # the engine's own errors, not the ones it reports about the world (a CRM call that failed)
    crashes = [r for r in failures if r.exc_info is not None]
    assert crashes == [], [r.getMessage() for r in crashes]
    cookie, _ = _session()
    with httpx.Client(base_url=bot.url, timeout=10, cookies={COOKIE: cookie}) as client:
        pages = ["/dashboard/", "/dashboard/events", "/dashboard/rules", "/dashboard/dlq", "/readyz"]
        for page in pages:
            answer = client.get(page)
            assert answer.status_code == 200, (page, answer.text[-300:])
        listing = client.get("/dashboard/events").text
        for key in sorted(set(_trace_links(listing)))[:100]:
            answer = client.get(key)
            assert answer.status_code == 200, (key, answer.text[-300:])
        metrics = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code == 200 and "botengine_delivery_gap_seconds" in metrics.text


def _trace_links(html: str) -> list[str]:
    marker = 'href="/dashboard/events/'
    links = []
    for part in html.split(marker)[1:]:
        links.append("/dashboard/events/" + part.split('"', 1)[0])
    return links


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    root: Path = tmp_path_factory.mktemp("guarded")
    (root / "rules").mkdir()
    proxy = ipaddress.ip_network("127.0.0.1/32")
    options = {"secrets": ("fuzz-secret",), "hmac_keys": ("fuzz-key",), "trusted_proxies": (proxy,)}
    with running_engine(root / "rules", root / "data", allow_ips=(proxy,), **options) as engine:
        yield engine


@FUZZ
@given(secret=header_bytes, signature=header_bytes, forwarded=header_bytes, query=st.binary(max_size=60))
def test_odd_credentials_are_refused_not_a_crash(
    guarded: RunningEngine, secret: bytes, signature: bytes, forwarded: bytes, query: bytes
) -> None:
    headers = {
        "content-type": "application/json",
        "x-webhook-secret": secret,
        "x-webhook-hmac": signature,
        "x-webhook-hmac-algorithm": signature[:10],
        "x-forwarded-for": forwarded,
    }
    target = guarded.url + "/webhook/whatsapp?secret=" + quote(query)
    try:
        answer = _request("POST", target, content=_dumps(make_event()), headers=headers)
    except httpx.LocalProtocolError:
        return  # httpx refused to send it: nothing reached the engine
    # 400 from the HTTP parser (a control byte in a header), else refused by the checks
    assert answer.status_code in (400, 401, 403), answer.text
