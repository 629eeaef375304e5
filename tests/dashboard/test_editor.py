"""The rules editor over HTTP: only plain rules files inside the rules folder, a read-only login
that can look and try but not change, the as-you-type check, versions and rollback, deletes."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from botengine.testing import make_event
from botengine.testing.engine import RunningEngine, running_engine
from tests.dashboard.conftest import TOKEN

VIEWER = {"dashboard_viewer": "auditor", "dashboard_viewer_password": "look-only"}
ADMIN = {"dashboard_user": "maria", "dashboard_password": "s3cret-admin"}


Login = Callable[..., tuple[httpx.Client, str]]


@pytest.fixture
def login() -> Iterator[Login]:
    """login(bot, **fields): a logged-in client, and the CSRF token its pages carry."""
    clients: list[httpx.Client] = []

    def sign_in(bot: RunningEngine, **fields: str) -> tuple[httpx.Client, str]:
        client = _login(bot, **fields)
        clients.append(client[0])
        return client

    yield sign_in
    for client in clients:
        client.close()


def _login(bot: RunningEngine, **fields: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=bot.url + "/dashboard", follow_redirects=False)
    answer = client.post("/login", data=fields or {"token": TOKEN})
    assert answer.status_code == 303, answer.text[-500:]
    page = client.get("/editor")
    [csrf] = re.findall(r'name="csrf" value="([0-9a-f]+)"', page.text)[:1]
    return client, csrf


def digest_of(client: httpx.Client, name: str) -> str:
    [base] = re.findall(r'name="base" value="([0-9a-f]*)"', client.get(f"/editor/{name}").text)
    return base


@pytest.fixture
def team(tmp_path: Path) -> Iterator[RunningEngine]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "shop.yaml").write_text("rules:\n  - name: greet\n    do: [{reply: Hello}]\n")
    (tmp_path / "secret.yaml").write_text("rules: []  # outside the rules folder\n")
    with running_engine(rules, tmp_path / "data", admin_token=TOKEN, **ADMIN, **VIEWER) as bot:
        yield bot


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fsecret.yaml",
        "secret.txt",
        ".hidden.yaml",
        "lists%2Fvip.txt",
        "shop.yaml.bak",
        "a b.yaml",
        "link.yaml",
    ],
)
def test_only_plain_rules_files_in_the_folder(
    login: Login, team: RunningEngine, tmp_path: Path, name: str
) -> None:
    os.symlink(tmp_path / "secret.yaml", tmp_path / "rules" / "link.yaml")  # a link leading out
    client, csrf = login(team)
    opened = client.get(f"/editor/{name}")
    assert opened.status_code in (400, 404), opened.text[-300:]
    assert "outside the rules folder" not in opened.text  # the other file's text is never shown
    saved = client.post(
        f"/editor/{name}", data={"csrf": csrf, "verb": "save", "text": "rules: []\n", "base": ""}
    )
    assert saved.status_code in (400, 404)
    assert (tmp_path / "secret.yaml").read_text() == "rules: []  # outside the rules folder\n"
    assert sorted(p.name for p in (tmp_path / "rules").iterdir()) == ["link.yaml", "shop.yaml"]


def test_the_live_check_names_each_problem_by_its_line(login: Login, team: RunningEngine) -> None:
    client, csrf = login(team)
    text = "rules:\n  - name: greet\n    do: [{replly: Hello}]\n  - name: bye\n\tdo: x\n"
    answer = client.post("/editor/shop.yaml/check", data={"csrf": csrf, "text": text})
    assert answer.status_code == 200
    [problem] = answer.json()["problems"]
    assert (problem["line"], problem["severity"]) == (5, "error") and "tab" in problem["message"]
    fixed = client.post(
        "/editor/shop.yaml/check",
        data={"csrf": csrf, "text": text.replace("\tdo: x", "    do: [{reply: Bye}]")},
    )
    assert [(p["line"], "replly" in p["message"]) for p in fixed.json()["problems"]] == [(3, True)]
    assert client.post("/editor/shop.yaml/check", data={"text": text}).status_code == 403  # no CSRF token


def test_a_viewer_can_look_check_test_and_try_but_not_change(
    login: Login, team: RunningEngine, tmp_path: Path
) -> None:
    client, csrf = login(team, user="auditor", password="look-only")
    page = client.get("/editor/shop.yaml")
    assert page.status_code == 200 and "readonly" in page.text and 'id="save"' not in page.text
    assert "read-only" in page.text
    for verb in ("check", "test", "try"):
        form = {"csrf": csrf, "verb": verb, "text": "rules: []\n", "base": "", "message": "hi"}
        assert client.post("/editor/shop.yaml", data=form).status_code == 200, verb
    base = digest_of(client, "shop.yaml")
    refused = {
        "/editor/shop.yaml": {"verb": "save", "text": "rules: []\n", "base": base},
        "/editor/new": {"name": "x.yaml"},
        "/rules/greet/pause": {},
        "/dlq/bulk": {"verb": "drop-every"},
    }
    for path, form in refused.items():
        assert client.post(path, data={"csrf": csrf, **form}).status_code == 403, path
    assert (
        client.post("/editor/shop.yaml", data={"csrf": csrf, "verb": "delete", "base": base}).status_code
        == 403
    )
    assert (tmp_path / "rules" / "shop.yaml").exists() and not (tmp_path / "rules" / "x.yaml").exists()


def test_every_save_is_a_version_with_who_and_when_and_any_can_be_put_back(
    login: Login, team: RunningEngine, tmp_path: Path
) -> None:
    path = tmp_path / "rules" / "shop.yaml"
    original = path.read_text()
    client, csrf = login(team, user="maria", password="s3cret-admin")
    for answer in ("Hi", "Good morning"):
        text = original.replace("Hello", answer)
        saved = client.post(
            "/editor/shop.yaml",
            data={"csrf": csrf, "verb": "save", "text": text, "base": digest_of(client, "shop.yaml")},
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/dashboard/editor/shop.yaml?saved=1"
        assert path.read_text() == text
    page = client.get("/editor/shop.yaml").text
    versions = re.findall(
        r'versions/(\d+)">([^<]+)</a><span class="sub">[^<]*<time[^>]*>[^<]*</time> · ([^<]+)<', page
    )
    assert [(action, who) for _, action, who in versions] == [
        ("saved", "maria"),
        ("saved", "maria"),
        ("as found", "(on disk)"),
    ]
    found = versions[-1][0]
    diff = client.get(f"/editor/shop.yaml/versions/{versions[0][0]}").text
    assert "-    do: [{reply: Hi}]" in diff and "+    do: [{reply: Good morning}]" in diff
    back = client.post(
        f"/editor/shop.yaml/versions/{found}/rollback",
        data={"csrf": csrf, "base": digest_of(client, "shop.yaml")},
    )
    assert back.status_code == 303 and path.read_text() == original
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left
    # a rollback with a stale base is a conflict, not an overwrite
    path.write_text(original.replace("Hello", "Changed on the server"))
    stale = client.post(f"/editor/shop.yaml/versions/{found}/rollback", data={"csrf": csrf, "base": "0" * 16})
    assert stale.status_code == 409 and "Changed on the server" in path.read_text()


def test_a_deleted_file_can_be_put_back(login: Login, team: RunningEngine, tmp_path: Path) -> None:
    path = tmp_path / "rules" / "shop.yaml"
    text = path.read_text()
    client, csrf = login(team)
    deleted = client.post(
        "/editor/shop.yaml", data={"csrf": csrf, "verb": "delete", "base": digest_of(client, "shop.yaml")}
    )
    assert deleted.status_code == 303 and not path.exists()
    team.wait_until(lambda: team.engine.rules.current.rule("greet") is None, what="the rule gone")
    listing = client.get("/editor").text
    assert "Deleted files" in listing and "shop.yaml" in listing
    latest = client.get("/editor/shop.yaml/versions/latest").text
    [(before, _)] = re.findall(r'versions/(\d+)">(as found)<', latest)
    assert (
        client.post(
            f"/editor/shop.yaml/versions/{before}/rollback", data={"csrf": csrf, "base": ""}
        ).status_code
        == 303
    )
    assert path.read_text() == text


def test_create_refuses_an_existing_or_odd_name(login: Login, team: RunningEngine, tmp_path: Path) -> None:
    client, csrf = login(team)
    assert (
        client.post("/editor/new", data={"csrf": csrf, "name": "prices"})
        .headers["location"]
        .endswith("/editor/prices.yaml")
    )
    assert "name: prices" in (tmp_path / "rules" / "prices.yaml").read_text()
    client.post("/editor/new", data={"csrf": csrf, "name": "greet"})  # a rule greet exists already
    assert "name: greet-2" in (tmp_path / "rules" / "greet.yaml").read_text()
    team.wait_until(lambda: team.engine.rules.current.rule("greet-2"), what="the new file loaded")
    assert team.engine.rules.state.success  # a new file never breaks the set
    again = client.post("/editor/new", data={"csrf": csrf, "name": "prices.yaml"})
    assert again.status_code == 400 and "exists already" in again.text
    odd = client.post("/editor/new", data={"csrf": csrf, "name": "../escape"})
    assert odd.status_code == 400 and "is not a rules file name" in odd.text
    assert not (tmp_path / "escape.yaml").exists()


def test_try_unsaved_rules_on_a_recent_event(login: Login, team: RunningEngine) -> None:
    team.post(make_event(text="hello there", name="Dana", sender="15550400001@c.us"))
    team.wait_processed(1)
    client, csrf = login(team)
    page = client.get("/editor/shop.yaml").text
    [recent] = re.findall(r'<option value="(trace:[^"]+)"', page)
    text = "rules:\n  - name: greet\n    do: [{reply: 'Welcome back, {{ sender.name }}'}]\n"
    tried = client.post(
        "/editor/shop.yaml",
        data={"csrf": csrf, "verb": "try", "mode": "recent", "recent": html.unescape(recent), "text": text},
    ).text
    assert "Welcome back, Dana" in tried and "Nothing was sent" in tried
    assert "Welcome back" not in (team.engine.rules.paths[0] / "shop.yaml").read_text()  # tried, not saved


SECRET_RULES = """rules:
  - name: crm
    if: {contains: order}
    do:
      - webhook:
          url: https://crm.example.com/orders
          headers:
            X-Plain: "{{ secrets.CRM_TOKEN }}"
            X-Reversed: "{{ secrets.CRM_TOKEN | reverse }}"
            X-Cut: "{{ secrets.CRM_TOKEN[1:] }}"
            X-Spelled: "{{ secrets.CRM_TOKEN | join(' ') }}"
tests:
  - name: shows what it sends when it fails
    event: {text: order 42}
    expect:
      - webhook: {url: https://crm.example.com/elsewhere}
"""


def test_a_viewer_trying_rules_never_sees_a_secret_however_a_rule_bends_it(
    login: Login, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Redaction finds a secret as written; a rule typed into the editor (by a read-only login)
    # could print it reversed or cut and read it in the try's output. Dry runs never have it.
    token = "crm-7d41c0e9b2"
    env = {"BOTENGINE_RULE_SECRETS": "CRM_TOKEN", "CRM_TOKEN": token}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the engine's own environment: dry runs read it
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "shop.yaml").write_text("rules:\n  - name: greet\n    do: [{reply: Hello}]\n")
    with running_engine(rules, tmp_path / "data", admin_token=TOKEN, env=env, **VIEWER) as bot:
        client, csrf = login(bot, user="auditor", password="look-only")
        for verb in ("try", "test"):
            form = {"csrf": csrf, "verb": verb, "text": SECRET_RULES, "base": "", "message": "order 42"}
            page = client.post("/editor/shop.yaml", data=form)
            assert page.status_code == 200, page.text[-500:]
            shown = html.unescape(page.text)
            assert "«secret CRM_TOKEN»" in shown, (verb, shown[-3000:])
            for spelling in (token, token[::-1], token[1:], " ".join(token)):
                assert spelling not in shown, (verb, spelling)


def test_the_live_check_answers_a_file_made_to_blow_up(login: Login, team: RunningEngine) -> None:
    # anyone who may look (a viewer) may check: the checker must survive what a browser can send
    client, csrf = login(team, user="auditor", password="look-only")
    hook = "rules:\n  - name: x\n    if: {contains: hi}\n    do:\n      - webhook:\n          url: https://x.example/h\n"
    laughs = "          json:\n            - &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha]\n" + "".join(
        f"            - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 7)
    )
    for text, words in (
        (hook + "          json: " + "[" * 300 + "]" * 300 + "\n", "nested more than 64 levels deep"),
        (hook + laughs, "aliases here repeat what they refer to"),
    ):
        answer = client.post("/editor/shop.yaml/check", data={"csrf": csrf, "text": text})
        assert answer.status_code == 200, answer.text[-300:]
        [problem] = answer.json()["problems"]
        assert words in problem["message"], problem


def test_a_file_turned_into_a_link_after_its_versions_is_refused_not_a_500(
    login: Login, team: RunningEngine, tmp_path: Path
) -> None:
    client, csrf = login(team)
    shop = tmp_path / "rules" / "shop.yaml"
    form = {
        "csrf": csrf,
        "verb": "save",
        "text": shop.read_text() + "# saved\n",
        "base": digest_of(client, "shop.yaml"),
    }
    assert client.post("/editor/shop.yaml", data=form).status_code == 303
    shop.unlink()
    shop.symlink_to(tmp_path / "secret.yaml")  # someone on the server swaps it for a link out
    page = client.get("/editor/shop.yaml/versions/latest")
    assert page.status_code == 400 and "is a link" in html.unescape(page.text)
    assert "outside the rules folder" not in page.text  # what the link leads to is never shown
