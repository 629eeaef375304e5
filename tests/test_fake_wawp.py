"""The fake Wawp API over real HTTP on loopback, and our own Wawp client against it."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator

import httpx
import pytest

from botengine.cli import build_parser
from botengine.commands.fake_wawp import run_fake_wawp
from botengine.errors import PermanentError, RetryableError
from botengine.testing import FakeWawp
from botengine.testing.server import free_port
from botengine.wawp import CredentialStore, WawpClient

CREDS = {"instance_id": "default", "access_token": "secret-token"}
GROUP = "120363000000000001@g.us"
ALICE, BOB = "15551234567@c.us", "15557654321@c.us"


@pytest.fixture
def fake() -> FakeWawp:
    return FakeWawp()


@pytest.fixture
def url(fake: FakeWawp) -> Iterator[str]:
    with fake.serve() as base_url:
        yield base_url


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, params=CREDS, timeout=5) as client:
        yield client


def send(http: httpx.Client, message: str = "hi", chat: str = ALICE) -> httpx.Response:
    return http.post("/v2/send/text", json={"chatId": chat, "message": message})


# -- the endpoints ----------------------------------------------------------------------------


def test_send_text_answers_with_a_message_id_and_is_recorded(fake: FakeWawp, http: httpx.Client) -> None:
    response = http.post("/v2/send/text", json={"chatId": ALICE, "message": "hi", "reply_to": "false_x_1"})
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(rf"true_{re.escape(ALICE)}_[0-9A-F]{{20}}", body["id"])
    assert isinstance(body["timestamp"], int)
    assert (body["chatId"], body["message"]) == (ALICE, "hi")
    [call] = fake.calls
    assert (call.method, call.path, call.status) == ("POST", "/v2/send/text", 200)
    assert call.query == CREDS
    assert call.json == {"chatId": ALICE, "message": "hi", "reply_to": "false_x_1"}
    assert call.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("chat", "message"),
    [("15551234567", "hi"), (ALICE, ""), (ALICE, "x" * 4097)],
    ids=["no-@", "empty", "long"],
)
def test_send_text_refuses_a_bad_chat_or_message(http: httpx.Client, chat: str, message: str) -> None:
    response = send(http, message, chat)
    assert response.status_code == 400
    assert response.json()["error"]


def test_send_text_accepts_the_longest_message(http: httpx.Client) -> None:
    assert send(http, "x" * 4096).status_code == 200


def test_reaction_on_the_default_and_a_configured_path(http: httpx.Client) -> None:
    body = {"chatId": ALICE, "messageId": "false_x_1", "reaction": "👍"}
    assert http.put("/v2/send/reaction", json=body).json() == {"ok": True}
    fake = FakeWawp(reaction_path="/api/reaction")
    with fake.serve() as url, httpx.Client(base_url=url, params=CREDS) as other:
        assert other.put("/api/reaction", json=body).json() == {"ok": True}
        assert other.put("/v2/send/reaction", json=body).status_code == 404


def test_remove_participants_updates_the_membership_table(fake: FakeWawp, http: httpx.Client) -> None:
    assert http.get(f"/v2/groups/{GROUP}/participants").json() == []
    fake.groups[GROUP] = [{"id": ALICE, "role": "admin"}, {"id": BOB, "role": "participant"}]
    removed = http.post(f"/v2/groups/{GROUP}/participants/remove", json={"participants": [{"id": BOB}]})
    assert removed.json() == {"removed": [BOB]}
    assert http.get(f"/v2/groups/{GROUP}/participants").json() == [{"id": ALICE, "role": "admin"}]


def test_remove_participants_needs_a_group(http: httpx.Client) -> None:
    response = http.post(f"/v2/groups/{ALICE}/participants/remove", json={"participants": [{"id": BOB}]})
    assert response.status_code == 400


@pytest.mark.parametrize("params", [{}, {"instance_id": "default"}, {"access_token": "t"}])
def test_wawp_endpoints_need_credentials(fake: FakeWawp, url: str, params: dict[str, str]) -> None:
    with httpx.Client(base_url=url) as http:
        response = http.post("/v2/send/text", params=params, json={"chatId": ALICE, "message": "hi"})
    assert response.status_code == 401
    assert response.json() == {"error": "missing credentials"}
    assert [call.status for call in fake.calls] == [401]


def test_a_wrong_token_is_refused_when_tokens_are_set() -> None:
    fake = FakeWawp(tokens={"default": "right"})
    with fake.serve() as url, httpx.Client(base_url=url) as http:
        body = {"chatId": ALICE, "message": "hi"}
        wrong = http.post("/v2/send/text", params={"instance_id": "default", "access_token": "no"}, json=body)
        right = http.post(
            "/v2/send/text", params={"instance_id": "default", "access_token": "right"}, json=body
        )
    assert (wrong.status_code, right.status_code) == (401, 200)


def test_hooks_count_calls_per_name_and_answer_as_configured(fake: FakeWawp, url: str) -> None:
    fake.respond("crm/created", status=201, json={"id": 7})
    with httpx.Client(base_url=url) as http:  # hooks are not Wawp: no credentials needed
        assert http.post("/hooks/crm", json={"a": 1}).json() == {"ok": True, "n": 1}
        assert http.delete("/hooks/crm").json() == {"ok": True, "n": 2}
        assert http.get("/hooks/analytics").json() == {"ok": True, "n": 1}
        created = http.put("/hooks/crm/created", content=b"plain text")
    assert (created.status_code, created.json()) == (201, {"id": 7})
    assert [c.method for c in fake.calls_to("/hooks/crm")] == ["POST", "DELETE", "PUT"]
    assert fake.calls[-1].json == "plain text"


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        ("500", 500, {"error": "internal"}),
        ("upstream", 502, {"code": "wawp_upstream_error", "message": "WhatsApp upstream failed"}),
        ("400", 400, {"error": "bad request"}),
        ("429", 429, {"error": "too many requests"}),
    ],
)
def test_each_failure_mode(
    fake: FakeWawp, http: httpx.Client, mode: str, status: int, body: dict[str, str]
) -> None:
    fake.fail(mode)
    response = send(http)
    assert (response.status_code, response.json()) == (status, body)
    assert fake.calls[0].status == status
    assert send(http).status_code == 200


def test_429_says_when_to_retry(fake: FakeWawp, http: httpx.Client) -> None:
    fake.fail("429")
    fake.fail("429", retry_after=3)
    assert send(http).headers["retry-after"] == "1"
    assert send(http).headers["retry-after"] == "3"


def test_timeout_answers_later_than_a_client_waits(fake: FakeWawp, url: str, http: httpx.Client) -> None:
    fake.fail("timeout", delay=2)
    with httpx.Client(base_url=url, params=CREDS, timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        send(impatient)
    assert send(http).status_code == 200  # the delayed answer does not hold up other requests
    assert [call.status for call in fake.calls] == [200, 200]


def test_failures_are_consumed_in_the_order_given(fake: FakeWawp, http: httpx.Client) -> None:
    fake.fail("500")
    fake.fail("429", times=2)
    assert [send(http).status_code for _ in range(4)] == [500, 429, 429, 200]


def test_failing_every_call_until_cleared(fake: FakeWawp, http: httpx.Client) -> None:
    fake.fail("upstream", times=None)
    assert [send(http).status_code for _ in range(3)] == [502, 502, 502]
    fake.clear_failures()
    assert send(http).status_code == 200


def test_failures_filtered_by_path(fake: FakeWawp, http: httpx.Client) -> None:
    fake.fail("500", path="/hooks/crm")
    assert send(http).status_code == 200
    assert http.post("/hooks/analytics").status_code == 200
    assert http.post("/hooks/crm/contacts").status_code == 500
    assert http.post("/hooks/crm/contacts").status_code == 200


def test_unknown_failure_modes_are_refused(fake: FakeWawp) -> None:
    with pytest.raises(ValueError, match="unknown failure mode"):
        fake.fail("503")


def test_control_over_http(fake: FakeWawp, url: str, http: httpx.Client) -> None:
    assert (
        http.post("/_fake/fail", json={"mode": "upstream", "times": 2, "path": "/v2/send"}).status_code == 200
    )
    assert [send(http).status_code for _ in range(3)] == [502, 502, 200]
    assert http.post("/_fake/fail", json={"mode": "500", "times": None}).status_code == 200
    assert http.post("/_fake/clear").status_code == 200
    assert send(http).status_code == 200
    calls = http.get("/_fake/calls").json()
    assert [(c["path"], c["status"]) for c in calls] == [("/v2/send/text", s) for s in (502, 502, 200, 200)]
    assert calls[0]["json"] == {"chatId": ALICE, "message": "hi"}
    assert http.post("/_fake/fail", json={"mode": "nope"}).status_code == 400
    assert http.post("/_fake/reset").status_code == 200
    assert fake.calls == []
    assert http.get("/_fake/calls").json() == []


def test_reset_forgets_calls_and_failures(fake: FakeWawp, http: httpx.Client) -> None:
    send(http)
    fake.fail("500", times=None)
    fake.reset()
    assert fake.calls == []
    assert send(http).status_code == 200


# -- waiting and logging ----------------------------------------------------------------------


def test_wait_for_returns_calls_made_from_another_thread(fake: FakeWawp, http: httpx.Client) -> None:
    sender = threading.Timer(0.1, lambda: send(http, "later"))
    sender.start()
    try:
        [call] = fake.wait_for(1, path_prefix="/v2/send/text")
    finally:
        sender.join()
    assert call.json["message"] == "later"


def test_wait_for_raises_a_clear_timeout_error(fake: FakeWawp, http: httpx.Client) -> None:
    send(http)
    with pytest.raises(TimeoutError, match=r"expected 2 call\(s\) to /v2/send/text within 0.2s, got 1"):
        fake.wait_for(2, path_prefix="/v2/send/text", timeout=0.2)


def test_calls_are_logged_without_tokens(
    fake: FakeWawp, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="botengine.fake_wawp"):
        send(http, "hello there")
    assert f"POST /v2/send/text → 200 chatId={ALICE} message='hello there'" in caplog.text
    assert "secret-token" not in caplog.text
    assert "secret-token" not in repr(fake.calls[0])


def test_cli_parses_fake_wawp() -> None:
    args = build_parser().parse_args(["fake-wawp", "--port", "9001"])
    assert (args.host, args.port, args.run) == ("127.0.0.1", 9001, run_fake_wawp)


# -- our Wawp client against the fake ---------------------------------------------------------


def client_for(url: str, timeout: float = 5.0) -> WawpClient:
    return WawpClient(CredentialStore(env={"BOTENGINE_WAWP_TOKEN": "t"}), base_url=url, timeout=timeout)


async def test_the_wawp_client_speaks_to_the_fake(fake: FakeWawp, url: str) -> None:
    fake.groups[GROUP] = [{"id": ALICE, "role": "admin"}, {"id": BOB, "role": "participant"}]
    client = client_for(url)
    try:
        sent = await client.send_text("default", ALICE, "hi", reply_to="false_x_1")
        reacted = await client.react("default", ALICE, sent["id"], "👍")
        removed = await client.remove_participants("default", GROUP, [BOB])
        listed = await client.list_participants("default", GROUP)
    finally:
        await client.close()
    assert sent["id"].startswith(f"true_{ALICE}_")
    assert reacted == {"ok": True}
    assert removed == {"removed": [BOB]}
    assert listed == {"data": [{"id": ALICE, "role": "admin"}]}
    assert fake.calls[0].query == {"instance_id": "default", "access_token": "t"}
    assert fake.calls[0].json["reply_to"] == "false_x_1"


@pytest.mark.parametrize(
    ("mode", "error"), [("500", RetryableError), ("upstream", RetryableError), ("400", PermanentError)]
)
async def test_the_wawp_client_classifies_failures(
    fake: FakeWawp, url: str, mode: str, error: type[Exception]
) -> None:
    fake.fail(mode)
    client = client_for(url)
    try:
        with pytest.raises(error):
            await client.send_text("default", ALICE, "hi")
    finally:
        await client.close()


async def test_the_wawp_client_reads_retry_after(fake: FakeWawp, url: str) -> None:
    fake.fail("429", retry_after=7)
    client = client_for(url)
    try:
        with pytest.raises(RetryableError) as raised:
            await client.send_text("default", ALICE, "hi")
    finally:
        await client.close()
    assert raised.value.retry_after == 7.0


async def test_the_wawp_client_retries_a_timeout_and_a_refused_connection(fake: FakeWawp, url: str) -> None:
    fake.fail("timeout", delay=2)
    for client in (client_for(url, timeout=0.5), client_for(f"http://127.0.0.1:{free_port()}")):
        try:
            with pytest.raises(RetryableError):
                await client.send_text("default", ALICE, "hi")
        finally:
            await client.close()


# -- media and rich messages: every body is checked field by field ----------------------------

_IMAGE = {
    "chatId": ALICE,
    "file": {"mimetype": "image/png", "filename": "a.png", "url": "https://x.example/a.png"},
}


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/v2/send/image", {**_IMAGE, "chatId": "15551234567"}, "chatId: Value error, must be a full JID"),
        ("/v2/send/image", {**_IMAGE, "file": {"mimetype": "image/png"}}, "file needs url (a link) or data"),
        ("/v2/send/image", {**_IMAGE, "file": {**_IMAGE["file"], "mimetype": "image/gif"}}, "image/jpeg or"),
        ("/v2/send/image", {**_IMAGE, "file": {"mimetype": "image/png", "data": "%%%"}}, "must be base64"),
        ("/v2/send/image", {**_IMAGE, "captoin": "typo"}, "captoin: Extra inputs are not permitted"),
        ("/v2/send/image", {**_IMAGE, "file": {**_IMAGE["file"], "url": "ftp://x/a.png"}}, "http(s) URL"),
        ("/v2/send/voice", {**_IMAGE, "file": {**_IMAGE["file"], "mimetype": "video/mp4"}}, "must be audio"),
        ("/v2/send/video", {**_IMAGE, "asNote": "yes"}, "asNote: Input should be a valid boolean"),
        (
            "/v2/send/location",
            {"chatId": ALICE, "latitude": 100, "longitude": 0},
            "latitude: Input should be",
        ),
        ("/v2/send/contact", {"chatId": ALICE, "contacts": []}, "contacts: List should have at least 1 item"),
        (
            "/v2/send/link-preview",
            {"chatId": ALICE, "text": "hi", "url": "https://a.b", "title": "T"},
            "text must",
        ),
        ("/v2/send/poll", {"chatId": ALICE, "poll": {"name": "Q", "options": ["a"]}}, "at least 2 items"),
        ("/v2/send/poll", {"chatId": ALICE, "poll": {"name": "Q", "options": ["a", "a"]}}, "distinct"),
        ("/v2/send/seen", {"chatId": ALICE, "messageIds": "m1"}, "messageIds: Input should be a valid list"),
        ("/v2/send/start-typing", {}, "chatId: Field required"),
    ],
)
def test_malformed_bodies_are_refused_with_the_field_named(
    http: httpx.Client, path: str, body: dict[str, object], problem: str
) -> None:
    response = http.post(path, json=body)
    assert response.status_code == 400
    assert problem in response.json()["error"]


async def test_our_client_speaks_every_media_endpoint(fake: FakeWawp, url: str) -> None:
    from botengine.wawp import Contact, MediaFile

    client = WawpClient(CredentialStore({"BOTENGINE_WAWP_TOKEN": "t"}), base_url=url)
    image = MediaFile("image/png", "a.png", data=b"\x89PNG")
    answers = [
        await client.send_file("s", ALICE, image, caption="c", reply_to="false_x_1", as_image=True),
        await client.send_file("s", ALICE, MediaFile("application/pdf", "p.pdf", url="https://x.example/p")),
        await client.send_voice("s", ALICE, MediaFile("audio/ogg; codecs=opus", "v.ogg", data=b"OggS")),
        await client.send_video("s", GROUP, MediaFile("video/mp4", "v.mp4", url="https://x.example/v.mp4")),
        await client.send_location("s", ALICE, 1.5, -2.5, title="t"),
        await client.send_contacts("s", ALICE, [Contact("Bob", "+1 555 765 4321")]),
        await client.send_link_preview("s", ALICE, "see https://x.example", "https://x.example", "X"),
        await client.send_poll("s", GROUP, "Q?", ["a", "b"], multiple=True),
    ]
    assert await client.mark_seen("s", ALICE, ["false_x_1"]) == {"ok": True}
    assert await client.start_typing("s", ALICE) == await client.stop_typing("s", ALICE) == {"ok": True}
    await client.close()
    assert all(a["id"].startswith("true_") for a in answers)
    assert [c.status for c in fake.calls] == [200] * 11
    fake.fail("500", path="/v2/send/poll")
    client = WawpClient(CredentialStore({"BOTENGINE_WAWP_TOKEN": "t"}), base_url=url)
    with pytest.raises(RetryableError):
        await client.send_poll("s", GROUP, "Q?", ["a", "b"])
    await client.close()
