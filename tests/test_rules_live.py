"""Hot reload in a live loop: valid saves go live, invalid ones keep the last good set."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from botengine.errors import RulesError
from botengine.rules.live import LiveRules
from botengine.testing import eventually_async, make_event
from tests.rules_helpers import view

ONE = "rules:\n  - name: one\n    do: [{reply: one}]\n"
TWO = "rules:\n  - name: one\n    do: [{reply: one}]\n  - name: two\n    do: [{reply: two}]\n"
BROKEN = "rules:\n  - name: one\n    do: [{replly: one}]\n"


async def test_reload_under_load(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(ONE)
    live = LiveRules.open(tmp_path)
    await live.start()
    event = view(make_event(text="x", sender="447441429009@c.us"))  # on the vip list written below
    seen: set[tuple[str, ...]] = set()
    stop = asyncio.Event()

    async def traffic() -> None:
        # events keep flowing while files change; each sees one whole version
        while not stop.is_set():
            rules = live.current
            result = await rules.evaluate(event, None, dry_run=True)
            seen.add(tuple(run.rule for run in result.matches))
            await asyncio.sleep(0.001)

    flow = asyncio.create_task(traffic())
    try:
        (tmp_path / "r.yaml").write_text(TWO)
        await eventually_async(lambda: len(live.current) == 2)
        assert live.state.success
        good = live.current.version

        (tmp_path / "r.yaml").write_text(BROKEN)
        await eventually_async(lambda: not live.state.success)
        assert live.current.version == good
        assert "unknown action 'replly'" in live.state.problems[0]
        assert live.state.problems[0].startswith(f"{tmp_path}/r.yaml:3:")

        (tmp_path / "lists").mkdir()
        (tmp_path / "r.yaml").write_text(ONE.replace("do:", "if: {sender: {in: vip}}\n    do:"))
        await eventually_async(
            lambda: not live.state.success and "no list named 'vip'" in live.state.problems[0]
        )
        (tmp_path / "lists" / "vip.txt").write_text("447441429009@c.us\n")  # a list file change reloads too
        await eventually_async(lambda: live.state.success and live.current.version != good)
    finally:
        stop.set()
        await flow
        await live.stop()
    assert seen <= {("one",), ("one", "two")}
    assert ("one", "two") in seen


async def test_reload_call_and_state(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(ONE)
    live = LiveRules.open(tmp_path)
    (tmp_path / "r.yaml").write_text(BROKEN)
    state = live.reload()
    assert not state.success
    assert state.as_dict()["last_reload_success"] is False
    assert len(live.current) == 1


def test_refuses_to_start_on_invalid_rules(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(BROKEN)
    with pytest.raises(RulesError, match="unknown action 'replly'"):
        LiveRules.open(tmp_path)
    with pytest.raises(RulesError, match="does not exist"):
        LiveRules.open(tmp_path / "missing")


async def test_reload_endpoint_needs_the_admin_token_and_engine_refuses_bad_rules(tmp_path: Path) -> None:
    import httpx

    from botengine.app import build_app
    from botengine.config import Settings

    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "r.yaml").write_text(ONE)
    settings = Settings(data_dir=tmp_path / "data", rules_dir=rules_dir, admin_token="sesame")
    app = build_app(settings)
    token = {"Authorization": "Bearer sesame"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://local") as client:
        assert (await client.post("/-/reload")).status_code == 401
        (rules_dir / "r.yaml").write_text(TWO)
        answer = await client.post("/-/reload", headers=token)
        assert answer.status_code == 200
        assert answer.json()["rules"] == 2
        (rules_dir / "r.yaml").write_text(BROKEN)
        answer = await client.post("/-/reload", headers=token)
        assert answer.status_code == 422
        assert answer.json()["rules"] == 2
    await app.state.engine.storage.close()
    with pytest.raises(RulesError):
        build_app(Settings(data_dir=tmp_path / "data2", rules_dir=rules_dir))


async def test_the_watcher_restarts_after_its_directory_is_deleted(tmp_path: Path) -> None:
    import shutil

    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "r.yaml").write_text(ONE)
    live = LiveRules.open(rules_dir)
    await live.start()
    try:
        first = live.current.version
        shutil.rmtree(rules_dir)  # a deploy that replaces the folder, an operator's slip
        await eventually_async(lambda: live.watcher_problem, what="the watcher to notice")
        assert "the rules directory" in live.watcher_problem
        assert live.current.version == first  # the last good rules stay live meanwhile

        rules_dir.mkdir()
        (rules_dir / "r.yaml").write_text(TWO)
        await eventually_async(lambda: not live.watcher_problem and len(live.current) == 2, timeout=20)
        back = live.current.version
        (rules_dir / "r.yaml").write_text(TWO.replace("reply: two", "reply: three"))  # later saves
        await eventually_async(lambda: live.current.version != back, timeout=10, what="a later save")
    finally:
        await live.stop()


async def test_a_load_that_crashes_keeps_the_last_good_rules_and_the_watcher(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(ONE)
    live = LiveRules.open(tmp_path)
    await live.start()
    try:
        # a template Jinja used to compute while loading (19 s, then a crash that killed the watcher)
        heavy = TWO.replace("reply: two", "reply: '{{ 10**(10**7) }}'")
        (tmp_path / "r.yaml").write_text(heavy)
        await eventually_async(lambda: len(live.current) == 2, what="the heavy rule to load")
        assert live.state.success and not live.watcher_problem
        heavy_version = live.current.version
        (tmp_path / "r.yaml").write_text(TWO)
        await eventually_async(lambda: live.current.version != heavy_version, what="a later save to reload")
    finally:
        await live.stop()
