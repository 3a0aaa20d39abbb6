"""The JavaScript helper (`js/`) under vitest and jest (`tests/js-helpers/`), with the real
@google/genai, openai and @anthropic-ai/sdk clients: its global setup starts `localaik serve`
(found through LOCALAIK_BIN: this checkout's code), each test gets its own cassette named from
its file and title; recorded against the fake upstream, replayed with `CI=true` and no
upstream, and a changed prompt fails its test with the miss text, even where the test swallows
the SDK's error (the helper's check after each test reads `/_localaik/session`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.support import all_recordings

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT = ROOT / "tests" / "js-helpers"
INSTALL_HINT = "the test runners are not installed: run `make js-deps`"
RUN_TIMEOUT = 180
FOREIGN = ("LK_", "GOOGLE_", "GEMINI_", "OPENAI_", "ANTHROPIC_", "LOCALAIK_", "VITEST", "JEST")
TESTS = {
    "a test that swallows the SDK's error still fails on a miss",
    "the three SDKs > openai answers",
    "the three SDKs > gemini answers",
    "the three SDKs > anthropic answers",
}


def require_runners() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node.js 20+, then `make js-deps`")
    for package in ("vitest", "jest", "openai", "@google/genai", "@anthropic-ai/sdk", "localaik"):
        if not (PROJECT / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"{INSTALL_HINT} (tests/js-helpers/node_modules/{package} is missing)")


def localaik_bin(folder: Path) -> Path:
    """A `localaik` command that runs this checkout's code with this interpreter."""
    command = folder / "localaik"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m localaik "$@"\n')
    command.chmod(0o755)
    return command


class Runner:
    """One runner (vitest or jest) over the test project, with the helper's environment."""

    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self.cassettes = tmp / "cassettes"
        self.report = tmp / "report.json"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
        self.env.pop("CI", None)
        self.env.update(
            {
                "LOCALAIK_BIN": str(localaik_bin(tmp)),
                "PYTHONPATH": str(ROOT),
                "LOCALAIK_CASSETTES": str(self.cassettes),
                "OPENAI_API_KEY": "test-openai-key",
                "ANTHROPIC_API_KEY": "test-anthropic-key",
                "GEMINI_API_KEY": "test-gemini-key",
                "NODE_OPTIONS": "--experimental-vm-modules --no-warnings",
            }
        )

    def command(self, *args: str) -> list[str]:
        npx = ["npx", "--no-install"]
        if self.name == "vitest":
            return [*npx, "vitest", "run", "--reporter=json", f"--outputFile={self.report}", *args]
        return [*npx, "jest", "--json", f"--outputFile={self.report}", *args]

    def run(self, *args: str, **env: str) -> dict[str, Any]:
        """Run the runner; each test's status and failure text by its full title."""
        self.report.unlink(missing_ok=True)
        done = subprocess.run(
            self.command(*args),
            cwd=PROJECT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert self.report.is_file(), done.stdout + done.stderr
        results = json.loads(self.report.read_text())
        tests, count = {}, 0
        for suite in results["testResults"]:
            for test in suite["assertionResults"]:
                count += 1
                title = " > ".join([*test["ancestorTitles"], test["title"]])
                text = "\n".join(test["failureMessages"])
                tests[title] = {"status": test["status"], "text": text}
        output = done.stdout + done.stderr
        return {"code": done.returncode, "tests": tests, "count": count, "output": output}


@pytest.fixture(params=["vitest", "jest"])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    require_runners()
    return Runner(request.param, tmp_path)


def project_files(runner: Runner) -> list[str]:
    return ["vitest/sdks.test.js"] if runner.name == "vitest" else ["jest/sdks.test.js"]


def test_record_then_replay_in_ci_then_a_changed_prompt_fails_with_the_miss(
    runner: Runner, fake_llama: FakeLlama
) -> None:
    files = project_files(runner)
    recorded = runner.run(*files, LK_UPSTREAM=fake_llama.url + "/v1", LK_MODE="record")
    assert recorded["code"] == 0, recorded["output"]
    assert set(recorded["tests"]) == TESTS
    cassettes = sorted(runner.cassettes.glob("*.db"))
    # One cassette per test, named from its file and title, one recording in each.
    assert len(cassettes) == 4, cassettes
    assert all(len(all_recordings(path)) == 1 for path in cassettes)
    assert any("the_three_SDKs" in path.name and "gemini" in path.name for path in cassettes)
    asked = len(fake_llama.requests())

    replayed = runner.run(*files, CI="true")  # no upstream at all
    assert replayed["code"] == 0, replayed["output"]
    assert all(test["status"] == "passed" for test in replayed["tests"].values())
    assert len(fake_llama.requests()) == asked

    changed = runner.run(*files, CI="true", PROMPT="Say goodbye")
    assert changed["code"] != 0
    assert all(test["status"] == "failed" for test in changed["tests"].values()), changed
    swallowed = changed["tests"]["a test that swallows the SDK's error still fails on a miss"]
    assert "1 request(s) missed in replay" in swallowed["text"]
    assert "localaik replay miss: no recording matches this openai" in swallowed["text"]
    assert '"Say goodbye (swallowed)" here, "Say hello (swallowed)" recorded' in swallowed["text"]
    gemini = changed["tests"]["the three SDKs > gemini answers"]["text"]
    assert "missed in replay" in gemini and '"Say goodbye" here' in gemini


def test_two_workers_each_use_a_server_of_their_own(runner: Runner, fake_llama: FakeLlama) -> None:
    folder = runner.name
    files = (f"{folder}/sdks.test.js", f"{folder}/more.test.js", "--maxWorkers=2")
    if runner.name == "vitest":
        files = (*files, "--minWorkers=2")
    recorded = runner.run(*files, LK_UPSTREAM=fake_llama.url + "/v1", LK_MODE="record")
    assert recorded["code"] == 0, recorded["output"]
    # Each test's requests went into its own cassette, though two files ran at once.
    names = sorted(path.name for path in runner.cassettes.glob("*.db"))
    assert len(names) == 5 and any(name.startswith(f"{folder}_more.test.js") for name in names)
    assert all(len(all_recordings(runner.cassettes / name)) == 1 for name in names)
    replayed = runner.run(*files, CI="true")
    assert replayed["code"] == 0, replayed["output"]


@pytest.mark.parametrize("workers", [1, 2])
def test_fifty_replayed_calls(
    fake_llama: FakeLlama, tmp_path: Path, workers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's figure: a vitest suite of 50 replayed openai calls (5 files of 10 tests),
    with one server (files one after another) and with one server per worker (2 workers)."""
    require_runners()
    runner = Runner("vitest", tmp_path)
    args = ("bench/", f"--maxWorkers={workers}", f"--minWorkers={workers}")
    recorded = runner.run(*args, LK_UPSTREAM=fake_llama.url + "/v1", LK_MODE="record")
    assert recorded["code"] == 0, recorded["output"]
    started = time.monotonic()
    replayed = runner.run(*args, CI="true")
    took = time.monotonic() - started
    assert replayed["code"] == 0, replayed["output"]
    assert replayed["count"] == 50
    with capsys.disabled():
        print(f"\n50 replayed calls, {workers} worker(s): {took:.2f} s (whole `vitest run`)")


def test_a_localaik_that_cannot_run_stops_the_run_saying_so(runner: Runner) -> None:
    done = subprocess.run(
        runner.command(*project_files(runner)),
        cwd=PROJECT,
        env={**runner.env, "LOCALAIK_BIN": "/nonexistent/localaik"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert "could not run /nonexistent/localaik" in done.stdout + done.stderr
