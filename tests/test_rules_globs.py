"""Glob-or-exact matching: the one helper behind `on:`, `session:`, JID patterns and `media:`."""

from __future__ import annotations

from botengine.rules.globs import glob_matcher, is_glob


def test_exact_words_and_wildcards() -> None:
    matches = glob_matcher(["message", "group.*", "4474*@c.us", "image/[jp]*"])
    assert matches("message") and not matches("message.any")
    assert matches("group.v2.join") and not matches("groups")
    assert matches("447441429009@c.us") and not matches("447441429009@g.us")
    assert matches("image/png") and matches("image/jpeg") and not matches("image/gif")


def test_a_dot_or_plus_is_taken_literally() -> None:
    matches = glob_matcher(["a.b", "+44*"])
    assert matches("a.b") and not matches("axb")
    assert matches("+447441") and not matches("447441")


def test_is_glob() -> None:
    assert [is_glob(p) for p in ("message", "message.*", "a?", "[ab]")] == [False, True, True, True]


def test_no_patterns_match_nothing() -> None:
    assert not glob_matcher([])("message")
