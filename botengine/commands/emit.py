"""`botengine emit`: fire a test event at a running engine, signed the way it expects.

Like Stripe's `stripe trigger`: people try their rules without the real sender.

    botengine emit --text "hi"                               # a private message from a test number
    botengine emit --event message.reaction --emoji "❤️"
    botengine emit --file examples/events/message-text-group.json

The secret and HMAC key come from the same variables the engine reads (BOTENGINE_SECRET,
BOTENGINE_HMAC_KEY), so an emit from the engine's shell is accepted as Wawp's would be.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx

from botengine.auth import sign
from botengine.config import setting
from botengine.errors import BotengineError
from botengine.sample_events import DEFAULT_SENDER, load_event, make_event, new_event_id

EXPLAIN = {
    200: "accepted",
    400: "the body is not valid JSON",
    401: "missing or wrong secret/signature: set BOTENGINE_SECRET (or --secret) as the engine has it",
    403: "this address is not on the engine's allowlist (BOTENGINE_ALLOW_IPS)",
    413: "the event is larger than the engine's limit (BOTENGINE_MAX_BODY)",
    415: "not sent as JSON",
    422: "the envelope is invalid",
    503: "the engine's queue is full or its storage is down; Wawp would retry",
}


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    emit = sub.add_parser("emit", help="post a test event to a running engine")
    emit.add_argument(
        "--url",
        help="the engine's webhook URL, or just its address (http://host:port: the webhook path is added)",
    )
    emit.add_argument(
        "--port", type=int, help="the engine's port on this machine (default: $BOTENGINE_PORT or 8080)"
    )
    emit.add_argument("--file", help="post this event file (given a fresh id unless --keep-id)")
    emit.add_argument("--keep-id", action="store_true", help="keep the file's event id (test dedupe)")
    emit.add_argument("--event", default="message", help="event type (default message)")
    emit.add_argument(
        "--from",
        dest="sender",
        default=DEFAULT_SENDER,
        help=f"sender JID (default {DEFAULT_SENDER}, on no list)",
    )
    emit.add_argument("--chat", help="chat JID (default: the sender; a …@g.us JID for a group)")
    emit.add_argument("--text", help="message text")
    emit.add_argument("--name", help="sender display name")
    emit.add_argument("--emoji", help="reaction emoji (message.reaction)")
    emit.add_argument("--ack", type=int, help="ack level (message.ack): 1 sent, 2 delivered, 3 read")
    emit.add_argument("--session", default="default", help="Wawp session (instance id)")
    emit.add_argument("--from-me", action="store_true", help="the account's own message")
    emit.add_argument("--group-action", choices=["join", "leave", "promote", "demote"])
    emit.add_argument("--participant", action="append", help="group participant JID (repeatable)")
    emit.add_argument("--id", dest="event_id", help="event id (default: a fresh one)")
    emit.add_argument("--secret", help="webhook secret (default: first of $BOTENGINE_SECRET)")
    emit.add_argument("--hmac-key", help="HMAC key (default: first of $BOTENGINE_HMAC_KEY)")
    emit.add_argument("--print", dest="print_only", action="store_true", help="print the event, send nothing")
    emit.set_defaults(run=run_emit)


def build_event(args: argparse.Namespace) -> dict[str, Any]:
    if args.file:
        event = load_event(args.file)
        if not args.keep_id:
            event["id"] = args.event_id or new_event_id()
        return event
    event_type = args.event
    if args.group_action and not event_type.startswith("group"):
        event_type = "group.v2.participants"
    return make_event(
        event_type,
        text=args.text,
        sender=args.sender,
        chat=args.chat,
        session=args.session,
        name=args.name,
        from_me=args.from_me,
        event_id=args.event_id,
        emoji=args.emoji,
        ack=args.ack,
        group_action=args.group_action,
        participants=args.participant,
    )


def _first(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",")[0].strip() or None


def webhook_url(url: str | None = None, port: int | None = None) -> str:
    """Where to post: `url` (its webhook path added when it names only the address), else this
    machine's engine on `port`; the engine's own variables fill in what is not given."""
    path: str = setting("webhook_path")
    if url:
        if httpx.URL(url).path in ("", "/"):
            return url.rstrip("/") + path
        return url
    return f"http://127.0.0.1:{port or setting('port')}{path}"


def run_emit(args: argparse.Namespace) -> int:
    event = build_event(args)
    body = json.dumps(event, ensure_ascii=False).encode()
    if args.print_only:
        print(body.decode())
        return 0
    headers = {"content-type": "application/json"}
    secret = args.secret or _first(os.environ.get("BOTENGINE_SECRET"))
    key = args.hmac_key or _first(os.environ.get("BOTENGINE_HMAC_KEY"))
    params = {"secret": secret} if secret else {}
    if key:
        headers["x-webhook-hmac"] = sign(body, key)
        headers["x-webhook-hmac-algorithm"] = "sha512"
    if args.url and args.port:
        raise BotengineError("give --url or --port, not both")
    url = webhook_url(args.url, args.port)
    try:
        response = httpx.post(url, content=body, headers=headers, params=params, timeout=10)
    except httpx.HTTPError as exc:
        print(f"botengine emit: cannot reach {url}: {exc} (is `botengine serve` running?)", file=sys.stderr)
        return 1
    status = response.status_code
    print(f"{status} {response.text}")
    meaning = EXPLAIN.get(status, "unexpected answer")
    print(f"event {event['id']} ({event['event']}): {meaning}", file=sys.stderr)
    if status == 200 and response.json().get("status") == "duplicate":
        print("the engine has seen this event id before: it was not processed again", file=sys.stderr)
    return 0 if status == 200 else 1
