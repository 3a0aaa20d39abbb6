"""The README cannot drift from the code: settings, commands and the CI entry point."""

from __future__ import annotations

import re
from pathlib import Path

import click
from click.testing import CliRunner

from localaik.cli import cli
from localaik.config import settings_table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    rows = [
        line
        for line in README.splitlines()
        if line.startswith("| `LK_") or line.startswith("| `PORT")
    ]
    documented = {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}
    for env, _default, _help in settings_table():
        for name in env.split(" / "):
            assert name in documented, f"{name} is missing from the README settings table"


def test_readme_settings_table_lists_only_real_settings() -> None:
    known = {name for env, _, _ in settings_table() for name in env.split(" / ")}
    rows = [
        line
        for line in README.split("## Settings", 1)[1].split("\n## ", 1)[0].splitlines()
        if line.startswith("| `")
    ]
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


def test_readme_miss_example_is_what_localaik_says() -> None:
    """The README's miss example, rebuilt from its own requests, comes out word for word."""
    from localaik.cassette.key import ClientRequest, canonical, canonical_json, request_key
    from localaik.cassette.miss import NearestIndex
    from localaik.cassette.miss_text import miss_message
    from localaik.cassette.recording import Summary

    example = README.split("```text\nlocalaik replay miss:", 1)[1].split("```", 1)[0]
    example = "localaik replay miss:" + example

    def gem(text: str, stream: bool = False, **extra: object) -> dict[str, object]:
        body = {"contents": [{"parts": [{"text": text}]}], **extra}
        return canonical(
            ClientRequest("gemini", "generateContent", "gemini-2.5-flash", stream, body)
        )

    recorded = [
        (gem("Name three colours"), "2026-11-25T14:20:09.176Z"),
        (gem("Say hi", stream=True), "2026-11-25T14:20:09.202Z"),
    ]
    summaries = [
        Summary(
            id=i,
            key=request_key(canonical_json(c)),
            ordinal=0,
            family="gemini",
            operation="generateContent",
            model="gemini-2.5-flash",
            stream=c["stream"],
            recorded_at=at,
            request=canonical_json(c),
        )
        for i, (c, at) in enumerate(recorded, 1)
    ]
    query = gem("Name four colours", generationConfig={"temperature": 0.5})
    text = miss_message(
        cassette="cassettes/localaik.db",
        key=request_key(canonical_json(query)),
        mode="replay",
        canon=query,
        nearest=NearestIndex(summaries).nearest(query),
    )
    assert text.strip() == example.strip()


def _commands(group: click.Group, prefix: str) -> dict[str, click.Command]:
    """Every visible leaf command under `group`, by its full name (`cassette ls`)."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


def test_readme_command_reference_matches_the_cli() -> None:
    """Every command is in the README's reference, with only options it really takes."""
    block = README.split("## Command line", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    lines = [line.removeprefix("localaik ") for line in block.strip().splitlines()]
    commands = _commands(cli, "")
    for name, command in commands.items():
        shown = [line for line in lines if line == name or line.startswith(name + " ")]
        assert shown, f"`localaik {name}` is missing from the README's command reference"
        accepted = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", shown[0][len(name) :]):
            assert flag in accepted, f"README shows `localaik {name} {flag}`, not accepted"
    for line in lines:
        if line.startswith("-"):
            continue
        assert any(line == n or line.startswith(n + " ") for n in commands), (
            f"README documents `localaik {line}`, which is not a command"
        )
