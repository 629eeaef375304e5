"""Every media kind, poll and presence signal, end to end: an event posted to the engine, the
body the fake Wawp received compared field by field (the fake also refuses malformed bodies)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from botengine import polls
from botengine.storage.keys import key, split
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory

SHOP = "447441429009@c.us"
GROUP = "120363025912345678@g.us"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def one_rule(action: str, trigger: str = "{contains: go}") -> str:
    return f"""
    rules:
      - name: media
        if: {trigger}
        do:
          - {action}
    """


def send_one(engine: EngineFactory, fake: FakeWawp, action: str, path: str, **event: object) -> tuple:
    with engine(one_rule(action)) as bot:
        posted = make_event(text="go", sender=SHOP, **event)  # type: ignore[arg-type]
        bot.post(posted)
        [call] = fake.wait_for(1, path)
        assert bot.dead_letters() == []
    assert call.status == 200, call.json
    return posted, call


def test_image_from_a_link_with_caption_and_quote(engine: EngineFactory, fake: FakeWawp) -> None:
    link = "https://shop.example.com/p/{{ sender.number }}.jpg"
    action = f'{{image: {{file: "{link}", caption: "Hi {{{{ sender.name }}}}", quote: true}}}}'
    event, call = send_one(engine, fake, action, "/v2/send/image", name="Alice")
    assert call.json == {
        "chatId": SHOP,
        "file": {
            "mimetype": "image/jpeg",
            "filename": "447441429009.jpg",
            "url": "https://shop.example.com/p/447441429009.jpg",
        },
        "caption": "Hi Alice",
        "reply_to": event["payload"]["id"],
    }


def test_image_from_the_rules_folder_is_uploaded_base64(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path
) -> None:
    (tmp_path / "rules" / "media").mkdir(parents=True)
    (tmp_path / "rules" / "media" / "menu.png").write_bytes(PNG)
    _, call = send_one(engine, fake, "{image: media/menu.png}", "/v2/send/image")
    assert call.json == {
        "chatId": SHOP,
        "file": {"mimetype": "image/png", "filename": "menu.png", "data": base64.b64encode(PNG).decode()},
    }


def test_file_voice_and_video(engine: EngineFactory, fake: FakeWawp, tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "prices.pdf").write_bytes(b"%PDF-1.4 price list")
    (tmp_path / "rules" / "hello.ogg").write_bytes(b"OggS voice")
    rules = f"""
    rules:
      - name: media
        do:
          - file: {{file: prices.pdf, caption: "Our prices", filename: "Prices 2026.pdf"}}
          - voice: hello.ogg
          - video: {{file: "https://cdn.example.com/tour.mp4", caption: Tour, as_note: true, to: "{GROUP}"}}
    """
    with engine(rules) as bot:
        bot.post(make_event(text="x", sender=SHOP))
        [document] = fake.wait_for(1, "/v2/send/pdf")
        [voice] = fake.wait_for(1, "/v2/send/voice")
        [video] = fake.wait_for(1, "/v2/send/video")
    assert document.json == {
        "chatId": SHOP,
        "file": {
            "mimetype": "application/pdf",
            "filename": "Prices 2026.pdf",
            "data": base64.b64encode(b"%PDF-1.4 price list").decode(),
        },
        "caption": "Our prices",
    }
    assert voice.json == {
        "chatId": SHOP,
        "file": {
            "mimetype": "audio/ogg; codecs=opus",
            "filename": "hello.ogg",
            "data": base64.b64encode(b"OggS voice").decode(),
        },
        "convert": True,
    }
    assert video.json == {
        "chatId": GROUP,
        "file": {"mimetype": "video/mp4", "filename": "tour.mp4", "url": "https://cdn.example.com/tour.mp4"},
        "caption": "Tour",
        "convert": True,
        "asNote": True,
    }


def test_location_contact_and_link_preview(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: rich
        do:
          - location: {latitude: 51.5072, longitude: -0.1276, title: "Our shop", address: "1 High St"}
          - contact: {name: "Acme Support", phone: "+44 7441 429009", organization: Acme}
          - link_preview:
              url: https://shop.example.com/sale
              text: "Spring sale: https://shop.example.com/sale"
              title: Spring sale
              description: "-30%"
              thumbnail: https://shop.example.com/sale.jpg
              high_quality: true
    """
    with engine(rules) as bot:
        bot.post(make_event(text="x", sender=SHOP))
        [location] = fake.wait_for(1, "/v2/send/location")
        [contact] = fake.wait_for(1, "/v2/send/contact")
        [link] = fake.wait_for(1, "/v2/send/link-preview")
    assert location.json == {
        "chatId": SHOP,
        "latitude": 51.5072,
        "longitude": -0.1276,
        "title": "Our shop",
        "message": "1 High St",
    }
    assert contact.json == {
        "chatId": SHOP,
        "contacts": [
            {
                "fullName": "Acme Support",
                "phoneNumber": "+44 7441 429009",
                "organization": "Acme",
                "whatsappId": "447441429009",
            }
        ],
    }
    assert link.json == {
        "chatId": SHOP,
        "text": "Spring sale: https://shop.example.com/sale",
        "url": "https://shop.example.com/sale",
        "title": "Spring sale",
        "description": "-30%",
        "thumbnail": "https://shop.example.com/sale.jpg",
        "linkPreviewHighQuality": True,
    }


def test_a_poll_is_sent_and_remembered_for_its_votes(engine: EngineFactory, fake: FakeWawp) -> None:
    action = '{poll: {question: "Which branch?", options: [North, South, Online], multiple: true}}'
    with engine(one_rule(action)) as bot:
        bot.post(make_event(text="go", sender=SHOP, session="acme"))
        [call] = fake.wait_for(1, "/v2/send/poll")
        [(stored_key, _)] = bot.wait_until(
            lambda: bot.call(lambda e: e.storage.scan(key("poll", "acme"))), what="the poll recorded"
        )
        message_key = split(stored_key)[-1]
        # a vote names the poll by its full id: the record is found from either form
        remembered = bot.call(lambda e: polls.recall(e.storage, "acme", f"true_{SHOP}_{message_key}"))
    assert call.json == {
        "chatId": SHOP,
        "poll": {"name": "Which branch?", "options": ["North", "South", "Online"], "multipleAnswers": True},
    }
    assert remembered == polls.SentPoll("Which branch?", ("North", "South", "Online"), SHOP, True)


def test_mark_read_and_typing(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: human
        do:
          - mark_read: message
          - typing: 0.2s
          - reply: "Let me check"
    """
    with engine(rules) as bot:
        event = make_event(text="x", sender="15550001111@c.us", chat=GROUP)
        bot.post(event)
        fake.wait_for(1, "/v2/send/text")
    paths = [c.path for c in fake.calls]
    assert paths == ["/v2/send/seen", "/v2/send/start-typing", "/v2/send/stop-typing", "/v2/send/text"]
    seen, start, stop, _ = fake.calls
    assert seen.json == {
        "chatId": GROUP,
        "messageIds": [event["payload"]["id"]],
        "participant": "15550001111@c.us",
    }
    assert start.json == stop.json == {"chatId": GROUP}
    assert stop.at - start.at >= 0.2


def test_a_link_out_of_the_rules_folder_is_refused(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "menu.png").write_bytes(PNG)
    with engine(one_rule("{image: menu.png}")) as bot:
        # swapped for a link once the rules loaded: the read itself must refuse it
        (tmp_path / "rules" / "menu.png").unlink()
        os.symlink(secret, tmp_path / "rules" / "menu.png")
        bot.post(make_event(text="go", sender=SHOP))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "'menu.png' leads outside the rules folder" in letter["errors"][-1]["error"]
    assert fake.calls_to("/v2/send/image") == []


def test_wawp_refusing_a_body_is_a_permanent_failure(engine: EngineFactory, fake: FakeWawp) -> None:
    # image/gif passes nothing at load because the type is given as a template; the fake refuses it
    action = '{image: {file: "https://x.example.com/a.gif", mimetype: "{{ \'image/gif\' }}"}}'
    with engine(one_rule(action)) as bot:
        bot.post(make_event(text="go", sender=SHOP))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "Wawp sends JPEG and PNG images, not image/gif" in letter["errors"][-1]["error"]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("{image: ftp://x.example.com/a.jpg}", "only http:// and https:// links can be sent"),
        ("{image: https://x.example.com/a.gif}", "Wawp sends JPEG and PNG images, not image/gif"),
        ("{image: missing.jpg}", "no file 'missing.jpg' in the rules folder"),
        ("{image: /etc/hosts}", "give a path relative to the rules folder"),
        ("{image: ../outside.png}", "leads outside the rules folder"),
        ("{image: https://x.example.com/photo}", "cannot tell the type of"),
        ("{voice: {file: https://x.example.com/a.mp3, convert: false}}", "a voice note is OGG/Opus audio"),
        ("{poll: {question: Q, options: [a]}}", "options: List should have at least 2 items"),
        ("{poll: {question: Q, options: [a, A]}}", "options must differ from each other"),
        ("{location: {latitude: 91, longitude: 0}}", "latitude: Input should be less than or equal to 90"),
        ("{contact: {name: X, phone: call me}}", "is not a phone number"),
        (
            "{link_preview: {url: https://a.example.com, title: T, text: hello}}",
            "text: must contain the link",
        ),
        ("{typing: 2m}", "must be more than 0 and at most 30s"),
        ("{image: {file: a.jpg, quote: true, to: '1@c.us'}}", "quote: only works in the event's own chat"),
    ],
)
def test_check_reports_bad_media_at_their_line(tmp_path: Path, action: str, expected: str) -> None:
    from botengine.rules.loader import load

    (tmp_path / "outside.png").write_bytes(PNG)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "r.yaml").write_text(f"rules:\n  - name: m\n    do:\n      - {action}\n")
    [problem] = load([rules_dir]).errors
    assert str(problem).startswith(f"{rules_dir}/r.yaml:4:")
    assert expected in str(problem)
