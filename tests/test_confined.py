"""Files the rules name are read only from inside the rules folder, and never quoted in errors."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import httpx
import pytest

from botengine.rules.loader import load
from botengine.testing.process import serve_process
from tests.rules_helpers import write_rules

ADMIN = "admin-token-0123456789"
SECRETS = {
    "BOTENGINE_SECRET": "webhook-secret-0123456789",
    "BOTENGINE_WAWP_TOKEN": "wawp-token-0123456789",
    "BOTENGINE_ADMIN_TOKEN": ADMIN,
    "BOTENGINE_DASHBOARD_PASSWORD": "dashboard-password-0123456789",
}
GOOD = """
rules:
  - name: hello
    if: {contains: hello}
    do: [{reply: "hi"}]
"""
USES_LIST = """
  - name: vip
    if: {sender: {in: env}}
    do: [{reply: "welcome back"}]
"""


def test_a_list_linked_to_the_process_environment_leaks_nothing(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write_rules(rules, GOOD)
    (rules / "lists").mkdir()
    with serve_process(rules, tmp_path / "data", env=SECRETS) as engine:
        (rules / "lists" / "env.txt").symlink_to("/proc/self/environ")
        write_rules(rules, GOOD + USES_LIST)
        admin = {"authorization": f"Bearer {ADMIN}"}
        reload = httpx.post(f"{engine.url}/-/reload", headers=admin, timeout=10)
        stranger = httpx.get(f"{engine.url}/readyz")
        details = httpx.get(f"{engine.url}/readyz", headers=admin)
    assert reload.status_code == 422
    assert stranger.status_code == 200 and stranger.json() == {"ready": True, "problems": 2}
    errors = details.json()["rules"]["last_error"]
    assert any("'lists/env.txt' leads outside the rules folder" in e for e in errors), errors
    assert any("no list named 'env'" in e for e in errors), errors
    everything = reload.text + stranger.text + details.text + engine.log.read_text(errors="replace")
    for name, value in SECRETS.items():
        assert value not in everything, f"{name} leaked"


def test_links_inside_the_folder_are_fine_links_out_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "members.txt").write_text("secret-member@c.us\n")
    (outside / "shop.yaml").write_text("rules: []\n")
    rules = tmp_path / "rules"
    write_rules(rules, GOOD.replace("contains: hello", "sender: {in: staff}"))
    (rules / "lists").mkdir()
    # deployments keep files in a versioned folder and link to it (Kubernetes ConfigMaps do)
    (rules / "..data").mkdir()
    (rules / "..data" / "staff.txt").write_text("15550001111@c.us\n")
    (rules / "lists" / "staff.txt").symlink_to(rules / "..data" / "staff.txt")
    assert load([rules]).errors == []

    (rules / "lists" / "members.txt").symlink_to(outside / "members.txt")
    (rules / "linked.yaml").symlink_to(outside / "shop.yaml")
    problems = [str(p) for p in load([rules]).errors]
    assert len(problems) == 2, problems
    assert any("members.txt' leads outside the rules folder" in p for p in problems)
    assert any("linked.yaml' leads outside the rules folder" in p for p in problems)
    assert not any("secret-member" in p for p in problems)


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_special_files_are_refused_without_waiting(tmp_path: Path, kind: str) -> None:
    rules = tmp_path / "rules"
    write_rules(rules, GOOD)
    (rules / "lists").mkdir()
    target = rules / "lists" / "odd.txt"
    if kind == "fifo":
        os.mkfifo(target)  # reading it would wait for a writer forever
    elif kind == "folder":
        target.mkdir()
    else:
        try:  # the same device as /dev/zero, whose read never ends
            os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(1, 5))
        except PermissionError:
            pytest.skip("making a device needs root (CI runs as root)")
    started = time.monotonic()
    [problem] = load([rules]).errors
    assert time.monotonic() - started < 10  # a bound against hanging, not a speed figure
    assert "odd.txt" in str(problem)
    assert f"is a {kind}, not a plain file" in str(problem)


def test_a_pool_or_a_test_event_outside_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "environ.json").write_text('{"BOTENGINE_SECRET": "leaked"}')
    rules = tmp_path / "rules"
    (rules / "events").mkdir(parents=True)
    (rules / "events" / "peek.json").symlink_to(tmp_path / "environ.json")
    write_rules(
        rules,
        """
        rules:
          - name: codes
            on: message.reaction
            do: [{discount: {campaign: spring, pool: events/../../environ.json}}]
        tests:
          - name: peeks
            event_file: events/peek.json
            expect: []
        """,
    )
    problems = [str(p) for p in load([rules]).errors]
    assert len(problems) == 2, problems
    assert any("pool: 'events/../../environ.json' leads outside" in p for p in problems)
    assert any("event_file: 'events/peek.json' leads outside" in p for p in problems)
    assert not any("leaked" in p for p in problems)


def test_a_bad_list_entry_is_named_by_its_line_not_quoted(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write_rules(rules, GOOD + USES_LIST.replace("in: env", "in: vip"))
    (rules / "lists").mkdir()
    (rules / "lists" / "vip.txt").write_text("# our best customers\n15550001111@c.us\nhunter2-password\n")
    [problem] = load([rules]).errors
    assert "line 3 of lists/vip.txt is not a full JID" in str(problem)
    assert "hunter2" not in str(problem)


def test_a_folder_swapped_for_a_link_while_a_file_is_opened_leads_nowhere(tmp_path: Path) -> None:
    # Between the check that `lists/vip.txt` lies inside and the open, `lists` becomes a link to
    # another folder (a rules checkout syncing, or someone racing the watcher's reloads). The
    # swap is made at the very moment of the open, by an audit hook on Python's "open" event.
    from botengine import confined
    from botengine.errors import FileRefusedError

    rules, elsewhere = tmp_path / "rules", tmp_path / "elsewhere"
    (rules / "lists").mkdir(parents=True)
    elsewhere.mkdir()
    (rules / "lists" / "vip.txt").write_text("447700900001@c.us\n")
    (elsewhere / "vip.txt").write_text("TOKEN=not-for-rules\n")
    target = str((rules / "lists" / "vip.txt").resolve())
    armed = [True]

    def swap_at_open(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and armed[0] and args and str(args[0]) == target:
            armed[0] = False
            (rules / "lists").rename(rules / "lists-before")
            (rules / "lists").symlink_to(elsewhere, target_is_directory=True)

    sys.addaudithook(swap_at_open)  # cannot be removed: it disarms itself after one swap
    with pytest.raises(FileRefusedError, match="leads outside the rules folder") as refused:
        confined.read(rules, "lists/vip.txt")
    assert not armed[0], "the open was never seen"
    assert "not-for-rules" not in str(refused.value)


def test_a_name_with_a_nul_is_refused_not_a_crash(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write_rules(
        rules,
        'rules:\n  - name: b\n    if: {contains: go}\n    do: [{broadcast: {to: "x\\0.csv", text: hi}}]\n',
    )
    [problem] = load([rules]).errors  # ValueError: embedded null byte, from the checker, before
    assert "NUL" in problem.message, problem
