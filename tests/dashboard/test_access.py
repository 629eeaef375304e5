"""Nothing of the dashboard without logging in; no state change without the CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest

from botengine.dashboard.auth import COOKIE, DashboardAuth
from botengine.testing.engine import RunningEngine, running_engine
from tests.dashboard.conftest import TOKEN

PAGES = [
    "/",
    "/events",
    "/events/trace%3Aevent%1Fx",
    "/rules",
    "/dlq",
    "/dlq/123-abc",
    "/playground",
    "/handovers",
]
FORM = {"content-type": "application/x-www-form-urlencoded"}
ACTIONS = [
    "/logout",
    "/rules/greet/pause",
    "/rules/greet/resume",
    "/dlq/123-abc/replay",
    "/dlq/123-abc/drop",
    "/dlq/replay-all",
    "/playground",
    "/handovers/resume",
]


def login(bot: RunningEngine) -> httpx.Client:
    client = httpx.Client(base_url=bot.url + "/dashboard", follow_redirects=False)
    answer = client.post("/login", data={"token": TOKEN})
    assert answer.status_code == 303, answer.text
    return client


@pytest.mark.parametrize("page", PAGES)
def test_every_page_sends_strangers_to_the_login(bot: RunningEngine, page: str) -> None:
    answer = httpx.get(bot.url + "/dashboard" + page, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_refuses_strangers_and_forged_forms(bot: RunningEngine, action: str) -> None:
    assert httpx.post(bot.url + "/dashboard" + action, data={"csrf": "x"}).status_code == 401
    client = login(bot)
    assert client.post(action, data={}).status_code == 403  # no CSRF token
    assert client.post(action, data={"csrf": "0" * 40}).status_code == 403  # a wrong one
    client.close()
    assert bot.get("paused:greet") is None


def test_a_forged_or_expired_cookie_is_no_session(bot: RunningEngine) -> None:
    other = DashboardAuth(token="another-token").new_session()
    genuine = DashboardAuth(token=TOKEN).new_session()
    tampered = genuine[:-1] + ("1" if genuine.endswith("0") else "0")  # one hex digit changed
    expired = DashboardAuth(token=TOKEN)
    body = f"1.{'n' * 22}"
    stale = f"{body}.{expired._sign(body)}"
    for cookie in (other, tampered, stale, "garbage"):
        answer = httpx.get(bot.url + "/dashboard/", cookies={COOKIE: cookie}, follow_redirects=False)
        assert answer.status_code == 303, cookie


def test_odd_bytes_in_the_cookie_or_a_form_are_refused_not_a_crash(bot: RunningEngine) -> None:
    genuine = DashboardAuth(token=TOKEN).new_session()
    expires, nonce, _ = genuine.split(".")
    odd = [f"{expires}.{nonce}.é".encode(), "1.é.é".encode(), "²³.n.s".encode(), b"1.n.\xff\xfe"]
    for cookie in odd:
        raw = COOKIE.encode() + b"=" + cookie
        answer = httpx.get(bot.url + "/dashboard/", headers={"cookie": raw}, follow_redirects=False)
        assert answer.status_code == 303, cookie
    client = login(bot)
    for csrf in ("é" * 40, "\U0001f600", "０" * 40):
        answer = client.post("/rules/greet/pause", data={"csrf": csrf})
        assert answer.status_code == 403, csrf
    answer = client.post("/rules/greet/pause", content=b"csrf=%FF%FE%00", headers=FORM)
    assert answer.status_code == 403
    client.close()
    for fields in ({"token": "tökén"}, {"user": "ädmin", "password": "pässword"}):
        assert httpx.post(bot.url + "/dashboard/login", data=fields).status_code == 401
    assert bot.get("paused:greet") is None


def test_wrong_logins_are_refused_then_locked_out(bot: RunningEngine) -> None:
    url = bot.url + "/dashboard/login"
    for _ in range(5):
        answer = httpx.post(url, data={"token": "wrong"})
        assert answer.status_code == 401 and "Wrong" in answer.text, answer.text[-600:]
    locked = httpx.post(url, data={"token": TOKEN})
    assert locked.status_code == 401 and "Too many wrong attempts" in locked.text, locked.text[-700:]


def test_the_session_cookie_is_http_only_and_strict(bot: RunningEngine) -> None:
    answer = httpx.post(bot.url + "/dashboard/login", data={"token": TOKEN})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/dashboard" in cookie


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    """uvicorn's certificate options, and the CA file a client checks them with."""
    import trustme

    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    options = {"ssl_certfile": str(folder / "cert.pem"), "ssl_keyfile": str(folder / "key.pem")}
    return options, str(folder / "ca.pem")


def _login_cookie(url: str, ca: str | None = None, **headers: str) -> str:
    verify = ssl.create_default_context(cafile=ca) if ca else True
    answer = httpx.post(url + "/dashboard/login", data={"token": TOKEN}, headers=headers, verify=verify)
    assert answer.status_code == 303
    return answer.headers["set-cookie"].lower()


def test_the_cookie_is_secure_over_tls(tmp_path: Path, tls: tuple[dict[str, str], str]) -> None:
    (tmp_path / "rules").mkdir()
    options, ca = tls
    with running_engine(
        tmp_path / "rules", tmp_path / "data", admin_token=TOKEN, server_options=options
    ) as bot:
        assert bot.url.startswith("https://")
        assert "; secure" in _login_cookie(bot.url, ca)


def test_the_cookie_is_secure_behind_a_trusted_tls_proxy_only(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    proxy = ipaddress.ip_network("127.0.0.1/32")
    with running_engine(
        tmp_path / "rules", tmp_path / "data", admin_token=TOKEN, trusted_proxies=(proxy,)
    ) as bot:
        assert "; secure" in _login_cookie(bot.url, **{"x-forwarded-proto": "https"})
        assert "; secure" not in _login_cookie(bot.url, **{"x-forwarded-proto": "http"})
        assert "; secure" not in _login_cookie(bot.url)
    with running_engine(tmp_path / "rules", tmp_path / "data2", admin_token=TOKEN) as bot:
        # nobody vouches for the header: anyone can write it
        assert "; secure" not in _login_cookie(bot.url, **{"x-forwarded-proto": "https"})


def test_a_password_login_works_too(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    password = {"dashboard_user": "ops", "dashboard_password": "correct horse"}
    with running_engine(tmp_path / "rules", tmp_path / "data", **password) as bot:
        url = bot.url + "/dashboard/login"
        assert httpx.post(url, data={"user": "ops", "password": "wrong"}).status_code == 401
        assert httpx.post(url, data={"user": "admin", "password": "correct horse"}).status_code == 401
        assert httpx.post(url, data={"user": "ops", "password": "correct horse"}).status_code == 303


def test_the_dashboard_is_off_without_credentials(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    with running_engine(tmp_path / "rules", tmp_path / "data") as bot:
        assert httpx.get(bot.url + "/dashboard/login").status_code == 404
        assert httpx.post(bot.url + "/dashboard/login", data={"token": ""}).status_code == 404
        assert httpx.get(bot.url + "/dashboard/").status_code == 404


def test_wrong_logins_from_countless_addresses_are_bounded_in_memory() -> None:
    auth = DashboardAuth(token=TOKEN)
    for _ in range(5):
        auth.check("10.9.9.9", token="wrong")
    for n in range(30_000):
        assert not auth.check(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", token="wrong")
    assert len(auth._failures) <= 10_000
    assert auth.locked_out("10.9.9.9")  # those tracked stay locked out for their minute
    assert auth.check("192.0.2.1", token=TOKEN)  # the right token still works for others


def test_a_viewer_s_cookie_is_no_fast_test_of_a_guessed_admin_password(tmp_path: Path) -> None:
    # The session is signed with a key made from the credentials. Made with one SHA-256, a viewer
    # (or anyone who saw a cookie) could test admin password guesses offline at millions a
    # second: the login's five-a-minute limit would not apply. Here the guess is even right.
    admin, viewer = ("maria", "summer2024"), ("auditor", "look-only")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("rules: []\n")
    logins = {"dashboard_user": admin[0], "dashboard_password": admin[1]}
    logins |= {"dashboard_viewer": viewer[0], "dashboard_viewer_password": viewer[1]}
    with running_engine(rules, tmp_path / "data", **logins) as engine:
        client = httpx.Client(base_url=engine.url + "/dashboard")
        assert client.post("/login", data={"user": viewer[0], "password": viewer[1]}).status_code == 303
        cookie = str(client.cookies.get(COOKIE))
        client.close()
    body, signature = cookie.rsplit(".", 1)
    material = "\0".join(("botengine-dashboard", "", *admin, *viewer))  # the guess, as the key used it
    fast_key = hashlib.sha256(material.encode()).digest()
    assert not hmac.compare_digest(hmac.new(fast_key, body.encode(), hashlib.sha256).hexdigest(), signature)
