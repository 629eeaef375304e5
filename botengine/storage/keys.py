"""Every storage key the engine writes, built in one place.

A key is `<namespace>:<rest>`. The namespace tells a backend where the key lives (the disk backend
keeps one diskcache per namespace so listings never scan unrelated keys; Redis prefixes it), so a
namespace is always one of the names below, never user input. The rest is joined with \\x1f, a
character no session, event id, JID or rule name can hold.
"""

from __future__ import annotations

NAMESPACES = (
    "ledger",  # actions done, per (session, event, rule, action index)
    "state",  # conversation state set by `set` / read by the `state` trigger
    "cooldown",  # rule cooldown per chat
    "discount",  # discount codes issued and pools
    "counter",  # named counters (`count` action)
    "paused",  # rules paused from the dashboard
    "dlq",  # dead letters
    "meta",  # engine bookkeeping (rules version, last seen activity)
    "trace",  # recent evaluation traces for the dashboard
    "activity",  # per-chat facts that cancel follow-ups (last inbound message, read receipts)
    "poll",  # polls the bot sent, by message id, so votes can be matched by question
    "identity",  # a person's @lid and phone-number JID, each to the other (botengine/identities.py)
    "history",  # every version of a rules file saved from the dashboard's editor
    "broadcast",  # campaigns: their record, recipients, per-recipient ledger and counters
    "optout",  # people who asked not to get broadcasts (`opt_out`), per session
    "quiet",  # quiet windows (`debounce:`): the bursts of messages held, their slots and locks
    "list",  # people on lists rules keep in the store (`add_to`, `remove_from`), per session
    "handover",  # chats handed to a person: the bot stays quiet there until it expires or resumes
    "sent",  # ids of the messages the bot sent, and sends in flight, to tell them from a person's
    "ask",  # questions waiting for their answer (`ask`), and which message answered which
)

_SEP = "\x1f"


def key(namespace: str, *parts: str) -> str:
    """Build a storage key; `namespace` must be one of NAMESPACES."""
    if namespace not in NAMESPACES:
        raise ValueError(f"unknown storage namespace {namespace!r}")
    return namespace + ":" + _SEP.join(parts)


def namespace_of(storage_key: str) -> str:
    namespace, sep, _ = storage_key.partition(":")
    if not sep or namespace not in NAMESPACES:
        raise ValueError(f"storage key {storage_key!r} has no known namespace")
    return namespace


def split(storage_key: str) -> list[str]:
    """The parts after the namespace, as given to `key`."""
    return storage_key.partition(":")[2].split(_SEP)
