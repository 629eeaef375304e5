"""`webhook`: an HTTP call to another system (a CRM, an analytics endpoint).

    - webhook:
        url: https://crm.example.com/api/tickets
        headers: {Authorization: "Bearer {{ secrets.CRM_TOKEN }}"}
        json: {from: "{{ sender.id }}", text: "{{ text }}"}
      as: ticket                      # later actions read {{ ticket.json.id }}

The URL's scheme and host are written out in the rule; templates may fill in its path and query,
and each value is percent-encoded there (`/`, `?`, `&`, `#`… included), so a message's text can
neither leave its path segment nor point the call at another host (botengine/urls.py).

Every call carries an `Idempotency-Key` header that is the same on every retry and replay of the
same action, so a receiver that honours it never creates two tickets for one event. Network
errors, timeouts, 5xx and 429 are retried; other 4xx are not (a retry cannot fix them).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
from pydantic import ConfigDict, Field

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.errors import PermanentError, RetryableError
from botengine.types import JSONDict
from botengine.wawp import RETRYABLE_STATUS, retry_after_of, transport_failure

_KEPT_TEXT = 2000  # bytes of an answer's text kept for later actions and dead letters
_KEPT_BODY = 256 * 1024  # a larger answer is not read further (nor parsed): it would bloat the store


class WebhookParams(Params):
    model_config = ConfigDict(populate_by_name=True)

    url: str = Field(
        pattern=r"^https?://",
        description="where to send it: scheme and host written out (https://crm.example.com/…); "
        "{{ values }} in the path or query are percent-encoded, each kept to its segment",
    )
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("POST", description="the HTTP method")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    query: dict[str, str] = Field(default_factory=dict, description="query string parameters")
    body: Any = Field(None, alias="json", description="a JSON body (strings inside are templates)")


def _client(ctx: ActionContext) -> httpx.AsyncClient:
    if ctx.services.http is None:
        raise PermanentError("no HTTP client is configured for webhooks")
    return ctx.services.http


def _target(method: str, url: str) -> str:
    """The call as errors show it: no user:password@, no query (either may carry a secret)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return method
    return f"{method} {parsed.scheme}://{parsed.host}{f':{parsed.port}' if parsed.port else ''}{parsed.path}"


async def run_webhook(params: WebhookParams, ctx: ActionContext) -> JSONDict:
    headers = {"Idempotency-Key": ctx.idempotency_key, **params.headers}
    target = _target(params.method, params.url)
    request = _client(ctx).build_request(
        params.method,
        params.url,
        headers=headers,
        params=params.query or None,
        json=params.body if params.body is not None else None,
    )
    try:
        response = await _client(ctx).send(request, stream=True)
        try:
            body = await _read_capped(response)
        finally:
            await response.aclose()
    except httpx.LocalProtocolError as exc:  # the request itself is malformed: no retry mends it
        raise PermanentError(
            f"{target}: a header holds a line break or another character HTTP does not allow"
        ) from exc
    except httpx.TransportError as exc:  # it may have arrived: the Idempotency-Key lets it tell
        raise transport_failure(exc, target) from exc
    result = _result_of(response, body)
    if response.status_code in RETRYABLE_STATUS:
        raise RetryableError(
            f"{target} answered {response.status_code}", retry_after=retry_after_of(response)
        )
    if response.status_code >= 400:
        raise PermanentError(f"{target} refused the call with {response.status_code}: {result['text'][:300]}")
    return result


async def _read_capped(response: httpx.Response) -> bytes:
    """The answer's body, at most _KEPT_BODY bytes: it is kept in the ledger and dead letters."""
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > _KEPT_BODY:
            return body[: _KEPT_BODY + 1]  # one byte more: marks it as cut
    return body


def _result_of(response: httpx.Response, body: bytes) -> JSONDict:
    data = None
    if len(body) <= _KEPT_BODY:  # a cut answer is no JSON
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
    text = body[:_KEPT_TEXT].decode(response.encoding or "utf-8", "replace")
    return {"status": response.status_code, "json": data, "text": text}


def preview_webhook(params: WebhookParams, ctx: ActionContext) -> JSONDict:
    shown: JSONDict = {"method": params.method, "url": params.url}
    if params.headers:
        shown["headers"] = params.headers
    if params.query:
        shown["query"] = params.query
    if params.body is not None:
        shown["json"] = params.body
    return shown


def dry_result_webhook(params: WebhookParams, ctx: ActionContext) -> JSONDict:
    return {"status": 200, "json": {}, "text": "", "dry_run": True}


WEBHOOK = ActionKind(
    name="webhook",
    params=WebhookParams,
    run=run_webhook,
    preview=preview_webhook,
    summary="Call another system over HTTP (CRM, analytics); its answer is {{ webhook.status }} "
    "and {{ webhook.json }} for later actions.",
    example='webhook: {url: "https://crm.example.com/tickets", json: {from: "{{ sender.id }}"}}',
    shorthand="url",
    result_var="webhook",
    uses_secrets=True,
    url_params=("url",),
    timeout=10.0,
    dry_result=dry_result_webhook,
)
