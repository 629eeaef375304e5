"""The Wawp API client: every endpoint botengine calls lives here, and nowhere else.

Wawp's paths were taken from its public docs (api.wawp.net/en/docs/v2/…, the page of each
endpoint is in docs/actions.md) and not confirmed against a live account, so each is a constant
below and the reaction path, the one the docs leave open, is configurable. Credentials are per
session (one Wawp instance = one WhatsApp number = the `session` of incoming events) and never
appear in rules files or logs.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from botengine.errors import ConfigError, PermanentError, RetryableError, UncertainError
from botengine.outbound import http_client
from botengine.types import JSONDict

DEFAULT_BASE_URL = "https://api.wawp.net"
MAX_TEXT = 4096  # Wawp refuses longer texts; botengine rejects them with a clear error

SEND_TEXT = "/v2/send/text"
SEND_IMAGE = "/v2/send/image"
SEND_FILE = "/v2/send/pdf"  # Wawp's one document endpoint ("Send PDF")
SEND_VOICE = "/v2/send/voice"
SEND_VIDEO = "/v2/send/video"
SEND_LINK_PREVIEW = "/v2/send/link-preview"
SEND_LOCATION = "/v2/send/location"
SEND_POLL = "/v2/send/poll"
SEND_CONTACT = "/v2/send/contact"
MARK_SEEN = "/v2/send/seen"
START_TYPING = "/v2/send/start-typing"
STOP_TYPING = "/v2/send/stop-typing"
GROUP_PARTICIPANTS = "/v2/groups/{group}/participants"
REMOVE_PARTICIPANTS = "/v2/groups/{group}/participants/remove"
DEFAULT_REACTION_PATH = "/v2/send/reaction"

# The endpoints that create a message: their sends are told to the client's `observer`
MESSAGE_PATHS = frozenset(
    {SEND_TEXT, SEND_IMAGE, SEND_FILE, SEND_VOICE, SEND_VIDEO, SEND_LINK_PREVIEW, SEND_LOCATION}
) | {SEND_POLL, SEND_CONTACT}

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

POLL_OPTIONS = (2, 12)  # Wawp: "at least two choices and … not … more than 12"
MAX_POLL_OPTION = 255  # characters, per option


@dataclass(frozen=True)
class MediaFile:
    """A file to send: at a URL Wawp fetches, or its bytes (sent base64 in `file.data`)."""

    mimetype: str
    filename: str
    url: str | None = None
    data: bytes | None = None

    def to_json(self) -> JSONDict:
        body: JSONDict = {"mimetype": self.mimetype, "filename": self.filename}
        if self.url is not None:
            body["url"] = self.url
        else:
            body["data"] = base64.b64encode(self.data or b"").decode("ascii")
        return body


@dataclass(frozen=True)
class Contact:
    """One contact card: Wawp builds the vCard from these fields."""

    full_name: str
    phone: str  # as shown, e.g. "+44 7441 429009"
    organization: str | None = None

    def to_json(self) -> JSONDict:
        body: JSONDict = {"fullName": self.full_name, "phoneNumber": self.phone}
        if self.organization:
            body["organization"] = self.organization
        digits = "".join(c for c in self.phone if c.isdigit())
        if digits:
            body["whatsappId"] = digits  # Wawp: digits only, no + and no @c.us
        return body


@dataclass(frozen=True)
class Credentials:
    instance_id: str
    access_token: str


class CredentialStore:
    """Credentials by session, from the environment or a JSON file.

    - `BOTENGINE_WAWP_TOKEN`: one access token for every session, the session being the
      instance id (the common single-number case);
    - `BOTENGINE_WAWP_TOKEN_<SESSION>`: a token for one session (session upper-cased, non
      alphanumerics as `_`);
    - `BOTENGINE_WAWP_CREDENTIALS`: a JSON file `{"<session>": {"instance_id": …,
      "access_token": …}}` for deployments serving many numbers.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self.by_session: dict[str, Credentials] = {}
        path = self.env.get("BOTENGINE_WAWP_CREDENTIALS")
        if path:
            self.by_session = _read_credentials_file(Path(path))

    def configured(self) -> bool:
        return bool(self.by_session) or any(k.startswith("BOTENGINE_WAWP_TOKEN") for k in self.env)

    def for_session(self, session: str) -> Credentials:
        if session in self.by_session:
            return self.by_session[session]
        own = "BOTENGINE_WAWP_TOKEN_" + "".join(c if c.isalnum() else "_" for c in session).upper()
        token = self.env.get(own) or self.env.get("BOTENGINE_WAWP_TOKEN")
        if not token:
            raise PermanentError(
                f"no Wawp credentials for session {session!r}: set BOTENGINE_WAWP_TOKEN, {own}, "
                "or add the session to the BOTENGINE_WAWP_CREDENTIALS file"
            )
        return Credentials(instance_id=session, access_token=token)


def _read_credentials_file(path: Path) -> dict[str, Credentials]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read Wawp credentials from {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected an object of sessions")
    found: dict[str, Credentials] = {}
    for session, entry in raw.items():
        if not isinstance(entry, dict) or not entry.get("access_token"):
            raise ConfigError(f"{path}: session {session!r} needs an access_token")
        found[str(session)] = Credentials(
            instance_id=str(entry.get("instance_id") or session), access_token=str(entry["access_token"])
        )
    return found


def retry_after_of(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# failures that happen before a request is sent: it surely did not arrive
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol,
             httpx.LocalProtocolError, httpx.ProxyError)  # fmt: skip


def transport_failure(exc: httpx.TransportError, target: str) -> RetryableError:
    """A request that failed on the way, as an error: RetryableError when it surely never
    arrived, UncertainError when it left and no answer came (it may have taken effect)."""
    if isinstance(exc, _NOT_SENT):
        return RetryableError(f"cannot reach {target} ({type(exc).__name__}: {exc})")
    if isinstance(exc, httpx.TimeoutException):
        return UncertainError(f"{target} did not answer in time; it may have done it")
    return UncertainError(f"the connection to {target} broke ({type(exc).__name__}); it may have done it")


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body.get("code") or body)[:300]
    return str(body)[:300]


def _is_upstream_error(response: httpx.Response) -> bool:
    # Wawp marks a failure on WhatsApp's side as retryable with this code, whatever the status
    return "wawp_upstream_error" in response.text[:2000]


class SendObserver(Protocol):
    """Told about every message the client sends (botengine/handover.py tells the bot's own
    messages from a person's by them): `sending` before the request leaves, `sent` with Wawp's
    answer. An error of `sending` fails the send; `sent` must not raise (the message left)."""

    async def sending(self, session: str, chat: str, body: JSONDict) -> None: ...

    async def sent(self, session: str, chat: str, answer: JSONDict) -> None: ...


class WawpClient:
    """Wawp's v2 API over the outbound HTTP client (botengine/outbound.py): pooled, with timeouts."""

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        reaction_path: str = DEFAULT_REACTION_PATH,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.reaction_path = reaction_path
        self.http = http_client(
            httpx.Timeout(timeout, connect=5.0), base_url=self.base_url, transport=transport
        )
        self._queries: dict[Credentials, str] = {}
        self.observer: SendObserver | None = None  # set by the composition root (app.py)

    async def close(self) -> None:
        await self.http.aclose()

    def _url(self, path: str, creds: Credentials) -> str:
        """The whole URL, query included: httpx parses a URL once this way, three times when
        given a path and parameters to join (most of a call's CPU, docs/benchmarks.md)."""
        query = self._queries.get(creds)
        if query is None:
            query = self._queries[creds] = str(
                httpx.QueryParams({"instance_id": creds.instance_id, "access_token": creds.access_token})
            )
        return f"{self.base_url}{path}?{query}"

    async def _call(self, method: str, path: str, session: str, body: JSONDict | None = None) -> JSONDict:
        chat = body.get("chatId") if body is not None and path in MESSAGE_PATHS else None
        if self.observer is None or not isinstance(chat, str) or body is None:
            return await self._request(method, path, session, body)
        await self.observer.sending(session, chat, body)
        answer = await self._request(method, path, session, body)
        await self.observer.sent(session, chat, answer)
        return answer

    async def _request(self, method: str, path: str, session: str, body: JSONDict | None) -> JSONDict:
        creds = self.credentials.for_session(session)
        try:
            response = await self.http.request(method, self._url(path, creds), json=body)
        except httpx.TransportError as exc:
            raise transport_failure(exc, f"Wawp ({method} {path})") from exc
        if response.status_code in RETRYABLE_STATUS or _is_upstream_error(response):
            raise RetryableError(
                f"Wawp answered {response.status_code} to {method} {path}: {_error_text(response)}",
                retry_after=retry_after_of(response),
            )
        if response.status_code >= 400:
            raise PermanentError(
                f"Wawp refused {method} {path} with {response.status_code}: {_error_text(response)}"
            )
        try:
            data: Any = response.json()
        except ValueError:
            data = {"text": response.text[:1000]}
        return data if isinstance(data, dict) else {"data": data}

    async def send_text(
        self, session: str, chat_id: str, text: str, *, reply_to: str | None = None
    ) -> JSONDict:
        if len(text) > MAX_TEXT:
            raise PermanentError(f"the message is {len(text)} characters; Wawp accepts at most {MAX_TEXT}")
        body: JSONDict = {"chatId": chat_id, "message": text}
        if reply_to:
            body["reply_to"] = reply_to
        return await self._call("POST", SEND_TEXT, session, body)

    async def _send(
        self, path: str, session: str, chat_id: str, body: JSONDict, reply_to: str | None
    ) -> JSONDict:
        payload: JSONDict = {"chatId": chat_id, **{k: v for k, v in body.items() if v is not None}}
        if reply_to:
            payload["reply_to"] = reply_to
        return await self._call("POST", path, session, payload)

    async def send_file(
        self,
        session: str,
        chat_id: str,
        file: MediaFile,
        *,
        caption: str | None = None,
        reply_to: str | None = None,
        as_image: bool = False,
    ) -> JSONDict:
        """A document (Wawp's "Send PDF"), or with `as_image` a picture ("Send Image")."""
        body: JSONDict = {"file": file.to_json(), "caption": caption}
        return await self._send(SEND_IMAGE if as_image else SEND_FILE, session, chat_id, body, reply_to)

    async def send_voice(
        self,
        session: str,
        chat_id: str,
        file: MediaFile,
        *,
        convert: bool = True,
        reply_to: str | None = None,
    ) -> JSONDict:
        body: JSONDict = {"file": file.to_json(), "convert": convert}
        return await self._send(SEND_VOICE, session, chat_id, body, reply_to)

    async def send_video(
        self,
        session: str,
        chat_id: str,
        file: MediaFile,
        *,
        caption: str | None = None,
        convert: bool = True,
        as_note: bool = False,
        reply_to: str | None = None,
    ) -> JSONDict:
        body: JSONDict = {"file": file.to_json(), "caption": caption, "convert": convert, "asNote": as_note}
        return await self._send(SEND_VIDEO, session, chat_id, body, reply_to)

    async def send_location(
        self,
        session: str,
        chat_id: str,
        latitude: float,
        longitude: float,
        *,
        title: str | None = None,
        address: str | None = None,
        reply_to: str | None = None,
    ) -> JSONDict:
        body: JSONDict = {"latitude": latitude, "longitude": longitude, "title": title, "message": address}
        return await self._send(SEND_LOCATION, session, chat_id, body, reply_to)

    async def send_contacts(
        self, session: str, chat_id: str, contacts: list[Contact], *, reply_to: str | None = None
    ) -> JSONDict:
        body: JSONDict = {"contacts": [c.to_json() for c in contacts]}
        return await self._send(SEND_CONTACT, session, chat_id, body, reply_to)

    async def send_link_preview(
        self,
        session: str,
        chat_id: str,
        text: str,
        url: str,
        title: str,
        *,
        description: str | None = None,
        thumbnail: str | None = None,
        high_quality: bool = False,
        reply_to: str | None = None,
    ) -> JSONDict:
        if len(text) > MAX_TEXT:
            raise PermanentError(f"the message is {len(text)} characters; Wawp accepts at most {MAX_TEXT}")
        body: JSONDict = {
            "text": text,
            "url": url,
            "title": title,
            "description": description,
            "thumbnail": thumbnail,
            "linkPreviewHighQuality": high_quality,
        }
        return await self._send(SEND_LINK_PREVIEW, session, chat_id, body, reply_to)

    async def send_poll(
        self,
        session: str,
        chat_id: str,
        question: str,
        options: list[str],
        *,
        multiple: bool = False,
        reply_to: str | None = None,
    ) -> JSONDict:
        poll: JSONDict = {"name": question, "options": options, "multipleAnswers": multiple}
        return await self._send(SEND_POLL, session, chat_id, {"poll": poll}, reply_to)

    async def mark_seen(
        self, session: str, chat_id: str, message_ids: list[str], *, participant: str | None = None
    ) -> JSONDict:
        body: JSONDict = {"chatId": chat_id, "messageIds": message_ids}
        if participant:
            body["participant"] = participant
        return await self._call("POST", MARK_SEEN, session, body)

    async def start_typing(self, session: str, chat_id: str) -> JSONDict:
        return await self._call("POST", START_TYPING, session, {"chatId": chat_id})

    async def stop_typing(self, session: str, chat_id: str) -> JSONDict:
        return await self._call("POST", STOP_TYPING, session, {"chatId": chat_id})

    async def react(self, session: str, chat_id: str, message_id: str, emoji: str) -> JSONDict:
        body: JSONDict = {"chatId": chat_id, "messageId": message_id, "reaction": emoji}
        return await self._call("PUT", self.reaction_path, session, body)

    async def remove_participants(self, session: str, group_id: str, participants: list[str]) -> JSONDict:
        body: JSONDict = {"participants": [{"id": p} for p in participants]}
        return await self._call("POST", REMOVE_PARTICIPANTS.format(group=group_id), session, body)

    async def list_participants(self, session: str, group_id: str) -> JSONDict:
        return await self._call("GET", GROUP_PARTICIPANTS.format(group=group_id), session)


def message_id_of(answer: JSONDict) -> str | None:
    """The id of the message a send created, from Wawp's answer (engines shape it differently)."""
    found = answer.get("id")
    if isinstance(found, dict):  # WEBJS: {"id": {"_serialized": "true_…", …}}
        found = found.get("_serialized") or found.get("id")
    if not found and isinstance(answer.get("key"), dict):  # NOWEB: {"key": {"id": …}}
        found = answer["key"].get("id")
    return found if isinstance(found, str) and found else None
