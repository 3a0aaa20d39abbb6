"""The Go helper (`go/localaiktest`) under `go test`, its tests calling the three APIs in their
wire formats with plain net/http: recorded through a running localaik (`LOCALAIK_URL`) against
the fake upstream, one cassette per test and parallel subtest; replayed by a server the helper
starts itself (`LOCALAIK_BIN`) in CI with no upstream; a changed prompt fails each test with
the miss text, also the test that ignores the answer. Skipped when no Go toolchain is
installed (`make system-deps` installs Debian's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

ROOT = Path(__file__).resolve().parent.parent.parent
MODULE = ROOT / "go"
RUN_TIMEOUT = 300
FOREIGN = ("LK_", "LOCALAIK_", "GOOGLE_", "OPENAI_", "ANTHROPIC_")
TESTS = [
    "TestAnthropicMessages",
    "TestGeminiGenerateContent",
    "TestOpenAIChat",
    "TestParallelSubtests_first",
    "TestParallelSubtests_second",
    "TestParallelSubtests_third",
    "TestSwallowedMiss",
]

pytestmark = pytest.mark.skipif(
    shutil.which("go") is None,
    reason="no Go toolchain: `make system-deps` installs Debian's golang-go",
)


def go_test(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    environ.pop("CI", None)
    environ.update(env)
    return subprocess.run(
        ["go", "test", "-count=1", "-v", "./..."],
        cwd=MODULE,
        env=environ,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def localaik_bin(folder: Path) -> Path:
    command = folder / "localaik"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m localaik "$@"\n')
    command.chmod(0o755)
    return command


@pytest.fixture()
def recorded(fake_llama: FakeLlama, tmp_path: Path) -> Any:
    cassettes = tmp_path / "cassettes"
    env = {
        "LK_UPSTREAM": fake_llama.url + "/v1",
        "LK_MODE": "record",
        "LK_CASSETTE": str(cassettes / "localaik.db"),
    }
    with LocalaikProcess(env) as server:
        done = go_test({"LOCALAIK_URL": server.url})
    assert done.returncode == 0, done.stdout + done.stderr
    return cassettes


def test_each_test_records_into_its_own_cassette_through_a_running_localaik(
    recorded: Path,
) -> None:
    assert sorted(path.stem for path in recorded.glob("*.db")) == TESTS
    assert all(len(all_recordings(recorded / f"{name}.db")) == 1 for name in TESTS)


def test_the_helpers_own_server_replays_in_ci_and_a_changed_prompt_fails_with_the_miss(
    recorded: Path, fake_llama: FakeLlama, tmp_path: Path
) -> None:
    asked = len(fake_llama.requests())
    env = {
        "LOCALAIK_BIN": str(localaik_bin(tmp_path)),
        "PYTHONPATH": str(ROOT),
        "LOCALAIK_CASSETTES": str(recorded),
        "CI": "true",
    }
    replayed = go_test(env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "--- PASS: TestParallelSubtests/second" in replayed.stdout
    assert len(fake_llama.requests()) == asked  # no upstream: everything replayed

    changed = go_test({**env, "PROMPT": "Say goodbye"})
    assert changed.returncode != 0
    for name in ("TestOpenAIChat", "TestGeminiGenerateContent", "TestSwallowedMiss"):
        assert f"--- FAIL: {name}" in changed.stdout, changed.stdout
    assert "--- PASS: TestCassetteName" in changed.stdout
    # TestSwallowedMiss logs nothing itself: its failure, with the miss text, is the helper's.
    assert "1 request(s) missed in replay" in changed.stdout
    assert '"Say goodbye (swallowed)" here, "Say hello (swallowed)" recorded' in changed.stdout
    assert not list(recorded.glob("*.db-journal"))


def test_a_localaik_that_cannot_run_fails_the_tests_saying_so() -> None:
    done = go_test({"LOCALAIK_BIN": "/nonexistent/localaik"})
    assert done.returncode != 0
    assert "localaiktest: could not run /nonexistent/localaik" in done.stdout
    assert "--- PASS: TestCassetteName" in done.stdout
