"""`webhook`: an HTTP call to another system (a CRM, an analytics endpoint).

    - webhook:
        url: https://crm.example.com/api/tickets
        headers: {Authorization: "Bearer {{ secrets.CRM_TOKEN }}"}
        json: {from: "{{ sender.id }}", text: "{{ text }}"}
      as: ticket                      # later actions read {{ ticket.json.id }}

Every call carries an `Idempotency-Key` header that is the same on every retry and replay of the
same action, so a receiver that honours it never creates two tickets for one event. Network
errors, timeouts, 5xx and 429 are retried; other 4xx are not (a retry cannot fix them).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import ConfigDict, Field

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.errors import PermanentError, RetryableError
from botengine.types import JSONDict
from botengine.wawp import RETRYABLE_STATUS, retry_after_of

_KEPT_TEXT = 2000  # characters of a non-JSON answer kept for later actions and dead letters


class WebhookParams(Params):
    model_config = ConfigDict(populate_by_name=True)

    url: str = Field(pattern=r"^https?://", description="where to send it (http:// or https://)")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("POST", description="the HTTP method")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    query: dict[str, str] = Field(default_factory=dict, description="query string parameters")
    body: Any = Field(None, alias="json", description="a JSON body (strings inside are templates)")


def _client(ctx: ActionContext) -> httpx.AsyncClient:
    if ctx.services.http is None:
        raise PermanentError("no HTTP client is configured for webhooks")
    return ctx.services.http


async def run_webhook(params: WebhookParams, ctx: ActionContext) -> JSONDict:
    headers = {"Idempotency-Key": ctx.idempotency_key, **params.headers}
    target = f"{params.method} {params.url.split('?')[0]}"  # the query may carry a secret
    try:
        response = await _client(ctx).request(
            params.method,
            params.url,
            headers=headers,
            params=params.query or None,
            json=params.body if params.body is not None else None,
        )
    except httpx.TimeoutException as exc:
        raise RetryableError(f"{target} did not answer in time") from exc
    except httpx.TransportError as exc:
        raise RetryableError(f"cannot reach {target} ({type(exc).__name__}: {exc})") from exc
    result = _result_of(response)
    if response.status_code in RETRYABLE_STATUS:
        raise RetryableError(
            f"{target} answered {response.status_code}", retry_after=retry_after_of(response)
        )
    if response.status_code >= 400:
        raise PermanentError(f"{target} refused the call with {response.status_code}: {result['text'][:300]}")
    return result


def _result_of(response: httpx.Response) -> JSONDict:
    try:
        data = response.json()
    except ValueError:
        data = None
    return {"status": response.status_code, "json": data, "text": response.text[:_KEPT_TEXT]}


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
    timeout=10.0,
    dry_result=dry_result_webhook,
)
