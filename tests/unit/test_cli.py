"""The `localaik` command line: version, help, and settings errors before anything starts."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from localaik import __version__
from localaik.cli import cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_serve() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output


def test_bad_setting_is_one_clear_line_and_exit_2() -> None:
    result = CliRunner().invoke(cli, ["serve"], env={"LK_MAX_BODY_SIZE": "lots"})
    assert result.exit_code == 2
    assert "LK_MAX_BODY_SIZE" in result.output
    assert "Traceback" not in result.output


def test_bad_upstream_flag_names_the_flag() -> None:
    result = CliRunner().invoke(cli, ["serve", "--upstream", "ftp://x"])
    assert result.exit_code == 2
    assert "--upstream" in result.output


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "localaik", "--version"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert __version__ in result.stdout
