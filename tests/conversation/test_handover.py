"""Human handover end to end: the real engine over loopback HTTP, the fake Wawp echoing every
message the number sends back as an own message, as a real number does.

A person's own message hands the chat over (the bot goes quiet there), the bot's own messages do
not (even when their echo overtakes Wawp's answer), `resume` and expiry give the chat back, and a
restart keeps it with the person."""

from __future__ import annotations

from typing import Any

from botengine.handover import handover_key
from botengine.sample_events import DEFAULT_SENDER
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine
from tests.actions.conftest import EngineFactory

CUSTOMER = DEFAULT_SENDER
OTHER = "447700900123@c.us"

RULES = """
rules:
  - name: back to the bot
    on: message.any
    if: {from_me: true, equals: "#bot"}
    do: [{resume: {}}]
    stop: true
  - name: you answered
    on: message.any
    if: {human_reply: true}
    do: [{handover: {for: FOR, why: "you answered on the phone"}}]
  - name: hello
    if: {contains: hello}
    do: [{reply: "Hi! How can I help?"}]
  - name: tell the other
    if: {contains: tell}
    do: [{send: {to: "OTHER", text: "Someone asked for you"}}]
"""


def rules(for_: str = "12h") -> str:
    return RULES.replace("FOR", for_).replace("OTHER", OTHER)


def replies(fake: FakeWawp) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.json["chatId"] == CUSTOMER]


def handover(bot: RunningEngine, chat: str = CUSTOMER) -> Any:
    return bot.get(handover_key("default", chat))


def person_writes(text: str, chat: str = CUSTOMER) -> dict[str, Any]:
    """An own message typed on the phone: `message.any`, `fromMe`, an id the bot never sent."""
    return make_event("message.any", text=text, chat=chat, from_me=True)


class Chat:
    """Posts events and waits for each to be processed (the bot's echoes counted too)."""

    def __init__(self, bot: RunningEngine, fake: FakeWawp) -> None:
        self.bot, self.fake, self.done = bot, fake, 0
        fake.echo_to(bot.url + bot.settings.webhook_path)

    def post(self, event: dict[str, Any], *, echoes: int = 0) -> None:
        self.bot.post(event)
        self.done += 1 + echoes
        self.bot.wait_processed(self.done)


def test_a_person_answering_silences_the_bot_and_resume_brings_it_back(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(rules()) as bot:
        chat = Chat(bot, fake)
        chat.post(make_event(text="hello"), echoes=1)  # the bot's reply comes back as an own message
        assert replies(fake) == ["Hi! How can I help?"]
        assert handover(bot) is None  # its own reply did not hand the chat over
        chat.post(person_writes("Hi, this is Sam from the shop, I'll sort it out"))
        record = handover(bot)
        assert record["why"] == "you answered on the phone" and record["by"] == "you answered"
        chat.post(make_event(text="hello?"))
        assert replies(fake) == ["Hi! How can I help?"]  # quiet while Sam answers
        chat.post(person_writes("#bot"))
        assert handover(bot) is None
        chat.post(make_event(text="hello again"), echoes=1)
    assert replies(fake) == ["Hi! How can I help?", "Hi! How can I help?"]


def test_an_echo_that_overtakes_wawps_answer_is_still_the_bots(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(rules()) as bot:
        chat = Chat(bot, fake)
        fake.hold()  # Wawp answers the send only after its echo went through the engine
        bot.post(make_event(text="tell Sam"))  # sends to OTHER; its echo is in OTHER's chat
        bot.wait_processed(1)  # the echo (the event that sent it is still waiting for its answer)
        assert handover(bot, OTHER) is None
        fake.release()
        chat.done = 2
        bot.wait_processed(2)
        chat.post(person_writes("I'm here", chat=OTHER))  # the same chat, a person: handed over
        assert handover(bot, OTHER) is not None


def test_a_handover_ends_by_itself(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(rules(for_="1s")) as bot:
        chat = Chat(bot, fake)
        chat.post(person_writes("I'll take this one"))
        assert handover(bot) is not None
        bot.wait_until(lambda: handover(bot) is None, what="the handover's end")
        chat.post(make_event(text="hello"), echoes=1)
    assert replies(fake) == ["Hi! How can I help?"]


def test_a_restart_keeps_the_chat_with_the_person(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(rules()) as bot:
        Chat(bot, fake).post(person_writes("I'll take this one"))
    with engine(rules()) as bot:
        chat = Chat(bot, fake)
        chat.post(make_event(text="hello"))
        assert handover(bot) is not None
        chat.post(person_writes("#bot"))
        chat.post(make_event(text="hello"), echoes=1)
    assert replies(fake) == ["Hi! How can I help?"]


def test_a_rule_that_says_handover_any_can_branch_on_it(engine: EngineFactory, fake: FakeWawp) -> None:
    branching = rules().replace(
        """  - name: hello
    if: {contains: hello}
    do: [{reply: "Hi! How can I help?"}]""",
        """  - name: hello
    if: {contains: hello, handover: any}
    do:
      - if: {handover: true}
        then: [{reply: "A colleague has your message."}]
        else: [{reply: "Hi! How can I help?"}]""",
    )
    with engine(branching) as bot:
        chat = Chat(bot, fake)
        chat.post(person_writes("Sam here"))
        chat.post(make_event(text="hello"), echoes=1)
        chat.post(person_writes("#bot"))
        chat.post(make_event(text="hello"), echoes=1)
    assert replies(fake) == ["A colleague has your message.", "Hi! How can I help?"]


def test_a_chat_or_reason_made_from_what_someone_wrote_cannot_do_harm(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    staff = """
rules:
  - name: hand over by command
    if: {text: '^handover (?P<who>.+?)(?: because|$)'}
    do: [{handover: {chat: "{{ who }}", why: "{{ text }}"}, retry: {retries: 0}}]
"""
    long_reason = "handover 447441429009@c.us " + "because " * 1000
    with engine(staff) as bot:
        chat = Chat(bot, fake)
        chat.post(make_event(text="handover 4474 41429009@c.us"))  # a space: no JID
        chat.post(make_event(text="handover 447441429009@c.us\x1fsecond"))  # a key separator
        chat.post(make_event(text=long_reason))
        letters = bot.dead_letters()
        record = handover(bot, "447441429009@c.us")
    assert len(letters) == 2 and all("is not a chat" in str(entry) for _, entry in letters)
    assert record["why"] == long_reason[:200]


def test_a_handover_of_a_chat_named_by_its_lid_silences_that_chat(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    """`chat: "{{ chat.id }}"` in an @lid chat whose phone is known: the handover is kept where the
    chat's events look for it, so the bot is quiet there and `resume` with the same words ends it."""
    lid, phone = "215966617264284@lid", "447700900001@c.us"
    written = """
rules:
  - name: person
    if: {equals: person}
    do: [{handover: {chat: "{{ chat.id }}", for: 1h}}]
  - name: back
    if: {equals: bot, handover: any}
    do: [{resume: {chat: "{{ chat.id }}"}}]
  - name: hello
    if: {equals: hello}
    do: [{reply: "Hi"}]
"""
    with engine(written) as bot:
        for done, text in enumerate(("person", "hello", "bot", "hello"), start=1):
            bot.post(make_event(text=text, sender=lid, payload={"fromAlt": phone}))
            bot.wait_processed(done)
        fake.wait_for(1, "/v2/send/text")
        kept = handover(bot, phone)
    assert [c.json["message"] for c in fake.calls_to("/v2/send/text")] == ["Hi"]
    assert kept is None  # resumed


LATER = """
rules:
  - name: you answered
    on: message.any
    if: {human_reply: true}
    do: [{handover: {for: 1h}}]
  - name: order
    if: {equals: order}
    do:
      - reply: "Thanks for your order"
      - later: {after: 2s, do: [{reply: "How was your order?"}]}
"""


def test_a_follow_up_that_falls_due_while_a_person_has_the_chat_is_not_sent(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(LATER) as bot:
        bot.post(make_event(text="order"))
        fake.wait_for(1, "/v2/send/text")
        bot.post(person_writes("Sam here, I'll take it"))
        bot.wait_until(lambda: handover(bot) is not None, what="the handover")
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the follow-up's time")
    assert replies(fake) == ["Thanks for your order"]


def test_a_handover_started_before_the_chats_phone_was_known_still_holds(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    """Sam answered in an @lid chat whose phone was not known yet (kept under the lid); the
    customer's next message says which phone it is: the bot stays quiet, and #bot resumes."""
    lid, phone = "215966617264284@lid", "447700900001@c.us"
    with engine(rules()) as bot:
        chat = Chat(bot, fake)
        chat.post(person_writes("Sam here", chat=lid))
        assert handover(bot, lid) is not None
        chat.post(make_event(text="hello", sender=lid, payload={"fromAlt": phone}))
        assert fake.calls_to("/v2/send/text") == []
        chat.post(person_writes("#bot", chat=lid))
        chat.post(make_event(text="hello", sender=lid, payload={"fromAlt": phone}), echoes=1)
    assert [c.json["message"] for c in fake.calls_to("/v2/send/text")] == ["Hi! How can I help?"]


AGENT = """
rules:
  - name: agent
    if: {equals: agent}
    retry: {retries: 3, delay: 1s}
    do:
      - handover: {for: 1h, notify: {to: "120363000000000001@g.us", text: "someone wants a person"}}
      - reply: "A person will answer you here"
"""


def test_a_handover_whose_notification_is_retried_still_tells_the_team_and_the_customer(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    """The rule's own handover does not hold back its own retry (the chat is with a person because
    of it): the team hears of it and the customer gets the reply, once each."""
    fake.fail("429", times=1, retry_after=0.1)
    with engine(AGENT) as bot:
        bot.post(make_event(text="agent"))
        fake.wait_for(3, "/v2/send/text")
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the retry to run")
    sent = [(c.json["chatId"], c.json["message"], c.status) for c in fake.calls_to("/v2/send/text")]
    assert sent[1:] == [
        ("120363000000000001@g.us", "someone wants a person", 200),
        (CUSTOMER, "A person will answer you here", 200),
    ]
