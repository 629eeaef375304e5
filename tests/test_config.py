"""Settings: one table of options (config.OPTIONS) is the only place a default is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from botengine.config import Settings, setting
from botengine.errors import ConfigError
from botengine.options import OPTIONS


def test_every_setting_is_an_option_and_every_option_a_setting() -> None:
    settings = {f.name for f in dataclasses.fields(Settings)} - {"extra"}
    assert settings == {option.name for option in OPTIONS}


def test_the_defaults_are_the_options_defaults() -> None:
    assert Settings() == Settings.load(env={})
    assert Settings().port == 8080 and Settings().data_dir == Path(".botengine-data")
    assert Settings().dedupe_window == 7 * 86400 and Settings().secrets == ()


def test_flag_then_environment_then_default() -> None:
    env = {"BOTENGINE_PORT": "9000", "BOTENGINE_RETRY_DELAY": "1m"}
    assert Settings.load({"port": 7000}, env).port == 7000
    assert Settings.load({}, env).port == 9000
    assert Settings.load({}, env).retry_delay == 60.0
    assert Settings.load({}, {}).port == 8080


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(ConfigError, match="BOTENGINE_PORT"):
        Settings.load({}, {"BOTENGINE_PORT": "eighty"})


def test_one_setting_for_a_command_comes_from_the_same_table() -> None:
    assert setting("port", {}) == 8080
    assert setting("port", {"BOTENGINE_PORT": "9001"}) == 9001
    assert setting("webhook_path", {}) == Settings().webhook_path
    with pytest.raises(ConfigError, match="BOTENGINE_PORT"):
        setting("port", {"BOTENGINE_PORT": "eighty"})
