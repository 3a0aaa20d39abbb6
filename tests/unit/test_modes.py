"""Modes by their names and by VCR.py's (`once`, `new_episodes`, `none`, `all`), wherever a mode
is given: LK_MODE, the `--mode` flag, code building `Settings`; bad names name the setting."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from localaik.cli import cli
from localaik.config import MODES, Mode, Settings, SettingsError

ALIASES = [
    ("record", Mode.RECORD),
    ("new_episodes", Mode.RECORD),
    ("replay", Mode.REPLAY),
    ("none", Mode.REPLAY),
    ("refresh", Mode.REFRESH),
    ("all", Mode.REFRESH),
    ("once", Mode.ONCE),
    ("passthrough", Mode.PASSTHROUGH),
    (" None ", Mode.REPLAY),
    ("NEW_EPISODES", Mode.RECORD),
]


@pytest.mark.parametrize(("name", "mode"), ALIASES)
def test_every_name_gives_its_mode(name: str, mode: Mode) -> None:
    assert Mode.of(name) is mode
    assert Settings.load({"LK_MODE": name}).mode is mode
    assert Settings.load({}, mode=name).mode is mode
    assert Settings(mode=name).mode is mode


def test_every_name_is_a_choice_of_the_flags() -> None:
    assert set(MODES) == {name.strip().lower() for name, _ in ALIASES}


def test_vcr_names_of_the_modes() -> None:
    assert {mode: mode.vcr for mode in Mode} == {
        Mode.RECORD: "new_episodes",
        Mode.REPLAY: "none",
        Mode.REFRESH: "all",
        Mode.ONCE: "once",
        Mode.PASSTHROUGH: None,
    }


@pytest.mark.parametrize("name", ["sometimes", "", "new-episodes", "recorded", "vcr"])
def test_a_bad_name_names_the_variable_and_every_choice(name: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.load({"LK_MODE": name})
    message = str(raised.value)
    assert message.startswith(f"LK_MODE={name!r}: expected record, replay, refresh, once")
    assert "new_episodes, none and all" in message
    with pytest.raises(ValueError, match="not a valid Mode"):
        Mode.of(name)


def test_serve_help_lists_once_and_the_vcr_names() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name in ("once", "new_episodes", "none", "all", "passthrough"):
        assert name in text


def test_serve_refuses_a_bad_mode_naming_the_choices() -> None:
    result = CliRunner().invoke(cli, ["serve", "--mode", "sometimes"])
    assert result.exit_code == 2
    assert "'sometimes' is not one of" in result.output
    assert "'once'" in result.output and "'new_episodes'" in result.output
