"""The README cannot drift from the code: settings, commands and the CI entry point."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from localaik.cli import cli
from localaik.config import settings_table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    rows = [line for line in README.splitlines() if line.startswith("| `LK_") or
            line.startswith("| `PORT")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}
    for env, _default, _help in settings_table():
        for name in env.split(" / "):
            assert name in documented, f"{name} is missing from the README settings table"


def test_readme_settings_table_lists_only_real_settings() -> None:
    known = {name for env, _, _ in settings_table() for name in env.split(" / ")}
    rows = [line for line in README.split("## Settings", 1)[1].split("\n## ", 1)[0].splitlines()
            if line.startswith("| `")]
    for row in rows:
        for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1]):
            assert name in known, f"README documents {name}, which Settings does not have"


def test_readme_gives_make_test_and_ci_runs_it() -> None:
    assert "make test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_serve_flags_in_readme_exist() -> None:
    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    usage = re.search(r"localaik serve (.*)", README)
    assert usage is not None
    for flag in re.findall(r"--[a-z-]+", usage.group(1)):
        assert flag in help_text, f"README shows {flag}, which `localaik serve` does not accept"
