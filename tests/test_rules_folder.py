"""The rules folder as the editor uses it (rules/folder.py) and the versions of its files
(rules/history.py): plain files only, atomic conflict-checked saves, unsaved text checked in place."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from botengine.errors import ConflictError, EditError
from botengine.rules.folder import RulesFolder, normalized
from botengine.rules.history import RulesHistory
from botengine.storage.memory import MemoryStorage

GREET = "rules:\n  - name: greet\n    do: [{reply: Hello}]\n"


@pytest.fixture
def folder(tmp_path: Path) -> RulesFolder:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.yaml").write_text(GREET)
    return RulesFolder(tmp_path / "rules")


def test_a_save_names_the_version_it_started_from(folder: RulesFolder) -> None:
    opened = folder.read("shop.yaml")
    folder.write("shop.yaml", GREET.replace("Hello", "Hi"), expected=opened.digest)
    with pytest.raises(ConflictError) as caught:  # the same starting point again: the file moved on
        folder.write("shop.yaml", GREET.replace("Hello", "Hey"), expected=opened.digest)
    assert "changed on disk since you opened it" in str(caught.value)
    assert caught.value.current == GREET.replace("Hello", "Hi")
    assert folder.read("shop.yaml").text == GREET.replace("Hello", "Hi")


def test_create_and_delete_are_conflict_checked_too(folder: RulesFolder) -> None:
    with pytest.raises(ConflictError, match="was created"):
        folder.write("shop.yaml", "rules: []\n", expected="")  # it exists: "new" is stale
    made = folder.write("new.yaml", "rules: []", expected="")
    assert made.text == "rules: []\n"  # a final line break, always
    with pytest.raises(ConflictError):
        folder.delete("new.yaml", expected="0" * 16)
    folder.delete("new.yaml", expected=made.digest)
    assert not (folder.root / "new.yaml").exists()
    with pytest.raises(ConflictError, match="was deleted"):
        folder.write("new.yaml", "rules: []\n", expected=made.digest)


def test_an_empty_file_and_no_file_are_not_the_same_version(folder: RulesFolder) -> None:
    (folder.root / "empty.yaml").write_text("")
    empty = folder.read("empty.yaml")
    assert empty.exists and empty.digest != folder.read("missing.yaml").digest == ""


@pytest.mark.parametrize(
    "name", ["../shop.yaml", "lists/vip.txt", "shop.txt", ".shop.yaml", "x.yaml/..", "", "x.yaml\n"]
)
def test_only_plain_rules_file_names(folder: RulesFolder, name: str) -> None:
    with pytest.raises(EditError, match="is not a rules file name"):
        folder.read(name)


def test_links_are_refused_even_inside_the_folder(folder: RulesFolder, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text("rules: []\n")
    os.symlink(tmp_path / "elsewhere.yaml", folder.root / "out.yaml")
    os.symlink(folder.root / "shop.yaml", folder.root / "in.yaml")
    for name in ("out.yaml", "in.yaml"):
        with pytest.raises(EditError, match="is a link"):
            folder.write(name, "rules: []\n", expected="")
    assert folder.names() == ["shop.yaml"]
    assert (tmp_path / "elsewhere.yaml").read_text() == "rules: []\n"


def test_a_name_ending_in_a_line_break_is_never_written(folder: RulesFolder) -> None:
    # `^…\.ya?ml$` with `match` let "x.yaml\n" through: a file the engine never loads
    with pytest.raises(EditError, match="is not a rules file name"):
        folder.write("x.yaml\n", "rules: []\n", expected="")
    assert sorted(p.name for p in folder.root.iterdir()) == ["shop.yaml"]


def test_a_link_put_in_place_as_the_file_is_read_is_not_followed(folder: RulesFolder, tmp_path: Path) -> None:
    # `path()` looks at the name, then the file is opened: swap in a link at the very moment of
    # the open (an audit hook on Python's "open" event) and the read must not follow it
    (tmp_path / "elsewhere.yaml").write_text("TOKEN=not-for-the-editor\n")
    shop = folder.root / "shop.yaml"
    armed = [True]

    def swap_at_open(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and armed[0] and args and str(args[0]) == str(shop):
            armed[0] = False
            shop.unlink()
            shop.symlink_to(tmp_path / "elsewhere.yaml")

    sys.addaudithook(swap_at_open)  # cannot be removed: it disarms itself after one swap
    with pytest.raises(EditError, match="became a link") as refused:
        folder.read("shop.yaml")
    assert not armed[0] and "not-for-the-editor" not in str(refused.value)


def test_unsaved_text_is_checked_in_place_beside_the_other_files(folder: RulesFolder) -> None:
    (folder.root / "other.yaml").write_text("rules:\n  - name: other\n    do: [{reply: x}]\n")
    loaded = folder.check("shop.yaml", GREET.replace("name: greet", "name: other"))
    [problem] = loaded.errors
    assert problem.path.endswith("shop.yaml") and "already used" in problem.message
    fresh = folder.check("fresh.yaml", "rules:\n  - name: fresh\n    do: [{replly: x}]\n")
    assert [p.path.rsplit("/", 1)[-1] for p in fresh.errors] == ["fresh.yaml"]
    assert not (folder.root / "fresh.yaml").exists()  # checked, never written
    assert folder.read("shop.yaml").text == GREET


def test_a_browser_s_line_breaks_are_saved_as_the_file_s(folder: RulesFolder) -> None:
    assert normalized("rules:\r\n  - a\r\n") == "rules:\n  - a\n"
    assert normalized("") == ""


async def test_versions_newest_first_with_a_diff_and_a_cap() -> None:
    history = RulesHistory(MemoryStorage(), keep=3)
    await history.before_saving("shop.yaml", GREET, True)
    await history.record("shop.yaml", GREET.replace("Hello", "Hi"), who="maria", action="saved")
    await history.before_saving("shop.yaml", GREET.replace("Hello", "Hi"), True)  # nothing new: no version
    versions = await history.versions("shop.yaml")
    assert [(v.action, v.who) for v in versions] == [("saved", "maria"), ("as found", "(on disk)")]
    assert "-    do: [{reply: Hello}]\n+    do: [{reply: Hi}]\n" in versions[0].diff(versions[1])
    await history.before_saving("shop.yaml", "changed by hand\n", True)
    assert (await history.versions("shop.yaml"))[0].action == "changed on disk"
    for n in range(3):
        await history.record("shop.yaml", f"v{n}\n", who="maria", action="saved")
    kept = await history.versions("shop.yaml")
    assert [v.text for v in kept] == ["v2\n", "v1\n", "v0\n"]  # the oldest went
    assert await history.get("shop.yaml", kept[1].id) == kept[1]
    assert await history.get("shop.yaml", "../x") is None
    assert await history.files() == ["shop.yaml"]
