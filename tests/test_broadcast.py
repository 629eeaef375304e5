"""Broadcast campaigns: templated per person from a CSV, opt-outs honoured, paced, paused,
resumed and cancelled, and resumed after a crash without sending anyone twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from botengine import broadcasts
from botengine.audience import jid_of, read_audience
from botengine.cli import main
from botengine.errors import PermanentError
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine
from botengine.testing.server import free_port
from botengine.testing.waiting import eventually

PEOPLE = 20
Capture = pytest.CaptureFixture[str]


def number(n: int) -> str:
    return f"4477009{n:05d}"


def write_rules(folder: Path, rule: str, people: int = PEOPLE, optout: tuple[int, ...] = (3, 7)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["Phone,First name,Code"] + [f"+{number(n)},Person {n},C{n:04d}" for n in range(people)]
    (folder / "customers.csv").write_text("\n".join(rows) + "\n")
    (folder / "lists").mkdir(exist_ok=True)
    (folder / "lists" / "optout.txt").write_text("".join(f"+{number(n)}\n" for n in optout))
    (folder / "rules.yaml").write_text(textwrap.dedent(rule))


RULES = """
rules:
  - name: start-offer
    if: {equals: send the offer, from_me: true}
    do:
      - broadcast:
          to: customers.csv
          text: "Hi {{ person.first_name }}, your code is {{ person.code }}"
          session: shop
  - name: stop
    if: {equals: stop}
    do: [{opt_out: sender}, {reply: "Done"}]
"""


@pytest.fixture
def fake() -> Iterator[FakeWawp]:
    wawp = FakeWawp()
    with wawp.serve():
        yield wawp


def texts(fake: FakeWawp) -> Counter[str]:
    return Counter(c.json["chatId"] for c in fake.calls_to("/v2/send/text") if c.status == 200)


def start(bot: RunningEngine) -> str:
    bot.post(make_event(text="send the offer", from_me=True, session="shop"))
    [(stored, _)] = bot.wait_until(
        lambda: bot.call(lambda e: e.storage.scan("broadcast:campaign\x1f")), what="a campaign"
    )
    return stored.rsplit("\x1f", 1)[-1]


def settled(bot: RunningEngine, fake: FakeWawp, cid: str, state: str) -> broadcasts.Progress:
    """The campaign in `state` with every send counted, and nothing more sent for a moment."""
    seen: list[int] = []

    def still() -> broadcasts.Progress | None:
        now = progress(bot, cid)
        seen.append(len(texts(fake)) if now.state == state and len(texts(fake)) == now.sent else -1)
        return now if len(seen) >= 3 and seen[-1] >= 0 and seen[-3:] == [seen[-1]] * 3 else None

    return eventually(still, 15, f"the campaign {state}, its counts settled", every=0.25)


def progress(bot: RunningEngine, cid: str) -> broadcasts.Progress:
    found = bot.call(lambda e: broadcasts.progress(e.storage, cid))
    assert found is not None
    return found


def test_a_csv_broadcast_reaches_everyone_once_but_who_opted_out(tmp_path: Path, fake: FakeWawp) -> None:
    write_rules(tmp_path / "rules", RULES)
    with running_engine(tmp_path / "rules", tmp_path / "data", wawp_url=fake.url, send_rate=6000) as bot:
        stopper = f"{number(11)}@c.us"
        bot.post(make_event(text="stop", sender=stopper, session="shop"))  # opts out in the store
        bot.wait_until(lambda: fake.calls_to("/v2/send/text"), what="the STOP answered")
        fake.reset()
        cid = start(bot)
        done = bot.wait_until(lambda: progress(bot, cid).state == "done" and progress(bot, cid), what="done")
    sent = texts(fake)
    opted_out = {f"{number(n)}@c.us" for n in (3, 7, 11)}
    assert set(sent) == {f"{number(n)}@c.us" for n in range(PEOPLE)} - opted_out
    assert set(sent.values()) == {1}
    first = next(c for c in fake.calls_to("/v2/send/text") if c.json["chatId"] == f"{number(0)}@c.us")
    assert first.json["message"] == "Hi Person 0, your code is C0000"
    assert first.query["instance_id"] == "shop"
    assert (done.sent, done.skipped, done.failed, done.uncertain, done.left) == (17, 3, 0, 0, 0)


@pytest.mark.parametrize(("option", "policy"), [("", "skip"), ("uncertain: resend", "resend")])
def test_the_actions_uncertain_option_decides_for_each_person(
    tmp_path: Path, fake: FakeWawp, option: str, policy: str
) -> None:
    rules = RULES.replace("          session: shop\n", f"          session: shop\n        {option}\n")
    write_rules(tmp_path / "rules", rules, people=2, optout=())
    with running_engine(tmp_path / "rules", tmp_path / "data", wawp_url=fake.url, send_rate=6000) as bot:
        cid = start(bot)
        campaign = bot.call(lambda e: broadcasts.load(e.storage, cid))
    assert campaign is not None and campaign.uncertain == policy


def test_pause_resume_and_cancel(tmp_path: Path, fake: FakeWawp) -> None:
    write_rules(tmp_path / "rules", RULES, people=60, optout=())
    with running_engine(tmp_path / "rules", tmp_path / "data", wawp_url=fake.url, send_rate=600) as bot:
        cid = start(bot)  # 10 a second: 6 s for everyone
        bot.wait_until(lambda: len(texts(fake)) >= 5, what="a few sent")
        assert bot.call(lambda e: broadcasts.pause(e.storage, cid))
        paused = settled(bot, fake, cid, "paused")
        assert 5 <= paused.sent < 60 and paused.left == 60 - paused.sent
        assert not bot.call(lambda e: broadcasts.pause(e.storage, cid))  # paused already
        assert bot.call(lambda e: broadcasts.resume(e.storage, cid))
        bot.wait_until(lambda: len(texts(fake)) >= paused.sent + 5, what="sending again")
        assert bot.call(lambda e: broadcasts.cancel(e.storage, cid))
        cancelled = settled(bot, fake, cid, "cancelled")
        assert not bot.call(lambda e: broadcasts.resume(e.storage, cid))  # a cancelled one stays so
    assert cancelled.left > 0
    assert set(texts(fake).values()) == {1}


def test_wawp_down_pauses_the_campaign_instead_of_failing_everyone(tmp_path: Path, fake: FakeWawp) -> None:
    write_rules(tmp_path / "rules", RULES, people=40, optout=())
    fake.fail("400", times=None, path="/v2/send/text")
    with running_engine(tmp_path / "rules", tmp_path / "data", wawp_url=fake.url, send_rate=6000) as bot:
        cid = start(bot)
        paused = bot.wait_until(lambda: (p := progress(bot, cid)).state == "paused" and p, what="paused")
    assert paused.failed == 10 and paused.sent == 0 and paused.left == 30
    assert "10 sends in a row failed" in paused.reason


def test_audiences_from_lists_and_csv(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "vip.txt").write_text("+44 7441 429009\n447441429009@c.us  # again\nnot a number\n")
    vip = read_audience(tmp_path, "vip")
    assert [p.to for p in vip.people] == ["447441429009@c.us"]
    assert vip.problems == ["'not a number' is not a phone number or JID"]
    (tmp_path / "c.csv").write_text("Name,Mobile\nAnn,+1 555 000 1111\nBob,\n")
    csv = read_audience(tmp_path, "c.csv")
    assert [(p.to, p.fields) for p in csv.people] == [("15550001111@c.us", {"name": "Ann"})]
    assert csv.problems == ["c.csv:3: '' is not a phone number or JID"]
    (tmp_path / "bad.csv").write_text("Name,Email\nAnn,a@example.com\n")
    with pytest.raises(PermanentError, match="no column says who"):
        read_audience(tmp_path, "bad.csv")
    assert jid_of("120363025912345678@g.us") == "120363025912345678@g.us"
    assert jid_of("12") is None


# -- a crash halfway through ---------------------------------------------------------------------

TOTAL = 2000
RATE = 6000  # a minute: 100 a second, so the test takes seconds, not the 66 minutes of 30/min


def spawn(rules: Path, data: Path, port: int, log: Path, wawp_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTENGINE_")}
    env.update(BOTENGINE_WAWP_TOKEN="test-token", BOTENGINE_LOG_JSON="true")
    command = [sys.executable, "-m", "botengine", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += [
        "--rules",
        str(rules),
        "--data-dir",
        str(data),
        "--wawp-url",
        wawp_url,
        "--send-rate",
        str(RATE),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    eventually(lambda: _healthy(port), 20, "the engine to answer /healthz", every=0.05)
    return process


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200
    except httpx.TransportError:
        return False


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["broadcast", *args]) == 0
    return capsys.readouterr().out.strip()


@pytest.mark.slow
def test_sigkill_halfway_resumes_and_sends_each_person_once(
    tmp_path: Path, fake: FakeWawp, capsys: pytest.CaptureFixture[str]
) -> None:
    rules, data = tmp_path / "rules", tmp_path / "data"
    write_rules(rules, "rules: []\n", people=TOTAL, optout=tuple(range(0, TOTAL, 20)))
    port = free_port()
    engine = spawn(rules, data, port, tmp_path / "engine.log", fake.url)
    try:
        text = "Hi {{ person.first_name }}: {{ person.code }}"
        cid = cli(
            capsys,
            "--data-dir",
            str(data),
            "start",
            "--to",
            "customers.csv",
            "--text",
            text,
            "--session",
            "shop",
            "--rules",
            str(rules),
        )
        eventually(lambda: len(fake.calls_to("/v2/send/text")) >= TOTAL // 2, 60, "half sent")
        engine.send_signal(signal.SIGKILL)
        engine.wait()
        before = len(fake.calls_to("/v2/send/text"))
        engine = spawn(rules, data, port, tmp_path / "engine.log", fake.url)
        status = eventually(
            lambda: (
                (s := json.loads(cli(capsys, "--data-dir", str(data), "status", cid, "--json")))["state"]
                == "done"
                and s
            ),
            90,
            "the campaign done",
        )
    finally:
        engine.kill()
        engine.wait()
    calls = [c for c in fake.calls_to("/v2/send/text") if c.status == 200]
    received = Counter(c.json["chatId"] for c in calls)
    opted_out = {f"{number(n)}@c.us" for n in range(0, TOTAL, 20)}
    wanted = {f"{number(n)}@c.us" for n in range(TOTAL)} - opted_out
    duplicates = sum(n - 1 for n in received.values())
    lost = wanted - set(received)
    print(
        f"\nsent before the kill {before}, after {len(calls) - before}, duplicates {duplicates}, "
        f"lost {len(lost)}, uncertain {status['uncertain']}"
    )
    assert duplicates == 0
    assert not set(received) & opted_out
    assert len(lost) <= 1 and len(lost) <= status["uncertain"]  # only the one in flight at the kill
    assert status["skipped"] == len(opted_out)
    assert status["sent"] + status["uncertain"] + status["skipped"] == TOTAL
    assert status["failed"] == 0 and status["left"] == 0
    burst = RATE // 6  # the pacer lets ten seconds' worth go at once, then RATE a minute
    for start, end in ((0, before), (before, len(calls))):
        span = calls[end - 1].at - calls[start].at
        assert end - start - burst <= RATE / 60 * span * 1.05 + 1, "sent faster than the send rate"


def test_the_dashboard_shows_progress_and_pauses_resumes_and_cancels(tmp_path: Path, fake: FakeWawp) -> None:
    write_rules(tmp_path / "rules", RULES, people=200, optout=())
    settings = {"wawp_url": fake.url, "send_rate": 300, "admin_token": "t0ken"}  # 5 a second
    with running_engine(tmp_path / "rules", tmp_path / "data", **settings) as bot:
        cid = start(bot)
        with httpx.Client(base_url=bot.url + "/dashboard") as client:
            assert client.post("/login", data={"token": "t0ken"}).status_code == 303
            page = client.get("/broadcasts").text
            assert f'id="broadcast-{cid}"' in page and "start-offer" in page
            csrf = page.split('name="csrf" value="')[1].split('"')[0]
            assert client.post(f"/broadcasts/{cid}/pause", data={"csrf": "0" * 40}).status_code == 403
            assert client.post(f"/broadcasts/{cid}/pause", data={"csrf": csrf}).status_code == 303
            paused = bot.wait_until(lambda: (p := progress(bot, cid)).state == "paused" and p, what="paused")
            assert '<span class="badge paused">paused</span>' in client.get("/broadcasts").text
            assert client.post(f"/broadcasts/{cid}/resume", data={"csrf": csrf}).status_code == 303
            bot.wait_until(lambda: progress(bot, cid).sent > paused.sent, what="sending again")
            assert client.post(f"/broadcasts/{cid}/cancel", data={"csrf": csrf}).status_code == 303
            cancelled = settled(bot, fake, cid, "cancelled")
            page = client.get("/broadcasts").text
    assert f'<td data-label="left" class="left">{cancelled.left}</td>' in page
    assert cancelled.left > 0


def test_the_command_line_starts_lists_and_steers_campaigns(tmp_path: Path, capsys: Capture) -> None:
    write_rules(tmp_path / "rules", "rules: []\n", people=5, optout=(1,))
    data = ["--data-dir", str(tmp_path / "data")]
    start = ["start", "--to", "customers.csv", "--text", "Hi", "--session", "shop"]
    cid = cli(capsys, *data, *start, "--rules", str(tmp_path / "rules"))
    status = json.loads(cli(capsys, *data, "status", cid, "--json"))
    assert (status["state"], status["total"], status["left"]) == ("running", 5, 5)
    assert cid in cli(capsys, *data, "list")
    cli(capsys, *data, "pause", cid)
    assert json.loads(cli(capsys, *data, "status", cid, "--json"))["state"] == "paused"
    cli(capsys, *data, "resume", cid)
    cli(capsys, *data, "cancel", cid)
    assert main(["broadcast", *data, "pause", cid]) == 1
    assert f"cannot pause {cid}: it is cancelled" in capsys.readouterr().err
