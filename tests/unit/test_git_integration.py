"""`localaik cassette git-setup`, the merge driver and the diff driver, with real git.

Each test works in a fresh repository in a temporary folder, with no global or system git
config (GIT_CONFIG_GLOBAL=/dev/null), and runs git and localaik as the user would: as commands.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from localaik.cassette.gitsetup import DEFAULT_PATTERN
from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings
from tests.unit.test_verify import chat, record_cassette

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

CASSETTE = "cassettes/localaik.db"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


def run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LK_", "GIT_"))}
    env.update(GIT_ENV)
    done = subprocess.run(
        list(args), cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(repo, "git", *args, check=check)


def localaik(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(repo, sys.executable, "-m", "localaik", *args, check=check)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def prompts(path: Path) -> list[str]:
    """The question of every recording in the cassette (the fake answers "Echo: <question>")."""
    found = []
    for recording in all_recordings(path):
        messages = json.loads(recording.request)["body"]["messages"]
        found.append(messages[-1]["content"])
    return sorted(found)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository set up for cassettes, with one recording committed on `main`."""
    top = tmp_path / "project"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    setup = localaik(top, "cassette", "git-setup")
    assert f"added {DEFAULT_PATTERN} -text diff=localaik merge=localaik" in setup.stdout
    record_cassette(top / CASSETTE, [chat("base question")])
    commit(top, "base")
    return top


def record_with_server(repo: Path, fake: FakeLlama, *questions: str) -> None:
    """Record through a real `localaik serve` process in record mode."""
    env = {
        "LK_MODE": "record",
        "LK_UPSTREAM": fake.url + "/v1",
        "LK_CASSETTE": str(repo / CASSETTE),
    }
    with LocalaikProcess(env) as server:
        for question in questions:
            response = httpx.post(
                server.url + "/v1/chat/completions",
                json=chat(question)[2],
                headers={"authorization": "Bearer test"},
                timeout=30,
            )
            assert response.status_code == 200, response.text


def test_setup_is_idempotent_and_outside_a_repository_is_an_error(
    repo: Path, tmp_path: Path
) -> None:
    attributes = (repo / ".gitattributes").read_text()
    ignore = (repo / ".gitignore").read_text()
    again = localaik(repo, "cassette", "git-setup")
    assert ".gitattributes and .gitignore already had their lines" in again.stdout
    assert (repo / ".gitattributes").read_text() == attributes
    assert ignore.splitlines() == ["*.db-wal", "*.db-shm"]
    assert (repo / ".gitignore").read_text() == ignore
    driver = git(repo, "config", "--get", "merge.localaik.driver").stdout.strip()
    assert driver.endswith("-m localaik cassette merge-driver %O %A %B %P")
    assert (
        localaik(repo, "cassette", "git-setup", "--check").stdout == "git is set up for cassettes\n"
    )
    for path in (CASSETTE, "cassettes/test_mod/test_one.db", "tests/cassettes/a.db"):
        assert git(repo, "check-attr", "merge", "--", path).stdout == f"{path}: merge: localaik\n"
    assert git(repo, "check-attr", "merge", "--", "data/app.db").stdout.endswith("unspecified\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    failed = localaik(outside, "cassette", "git-setup", check=False)
    assert failed.returncode == 1
    assert failed.stderr == (
        "Error: not inside a git repository (run it in your project's work tree)\n"
    )


def test_check_names_what_is_missing(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    checked = localaik(tmp_path, "cassette", "git-setup", "--check", check=False)
    assert checked.returncode == 1
    assert "git config merge.localaik.driver is not set" in checked.stdout
    assert ".gitignore lacks *.db-shm" in checked.stdout


def test_two_branches_that_recorded_different_requests_merge(
    repo: Path, fake_llama: FakeLlama
) -> None:
    git(repo, "checkout", "-q", "-b", "feature-a")
    record_with_server(repo, fake_llama, "question from a")
    commit(repo, "record a")
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "feature-b")
    record_with_server(repo, fake_llama, "question from b", "another from b")
    commit(repo, "record b")
    git(repo, "checkout", "-q", "feature-a")
    merged = git(repo, "merge", "--no-edit", "feature-b", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    verified = localaik(repo, "cassette", "verify", CASSETTE)
    assert verified.stdout == "4 recordings, 0 problems\n"
    assert git(repo, "status", "--porcelain").stdout == ""  # merged, committed, unchanged
    assert prompts(repo / CASSETTE) == [
        "another from b",
        "base question",
        "question from a",
        "question from b",
    ]
    # The merged cassette replays both branches' requests.
    env = {"LK_MODE": "replay", "LK_CASSETTE": str(repo / CASSETTE)}
    with LocalaikProcess(env) as server:
        for question in ("question from a", "question from b"):
            response = httpx.post(
                server.url + "/v1/chat/completions",
                json=chat(question)[2],
                headers={"authorization": "Bearer test"},
                timeout=30,
            )
            assert response.json()["choices"][0]["message"]["content"] == f"Echo: {question}"


def test_a_recording_deleted_on_one_branch_stays_deleted(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "pruned")
    record_cassette(repo / CASSETTE, [chat("question from pruned")])
    localaik(repo, "cassette", "prune", "--yes", CASSETTE)
    assert prompts(repo / CASSETTE) == ["question from pruned"]
    commit(repo, "prune")
    git(repo, "checkout", "-q", "main")
    record_cassette(repo / CASSETTE, [chat("question from main")])
    commit(repo, "record on main")
    merged = git(repo, "merge", "--no-edit", "pruned", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert prompts(repo / CASSETTE) == ["question from main", "question from pruned"]


def test_a_cassette_created_on_both_branches_merges(tmp_path: Path) -> None:
    """No common ancestor (git hands the driver an empty base file): the union all the same."""
    top = tmp_path / "fresh"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    localaik(top, "cassette", "git-setup")
    commit(top, "set up")
    git(top, "checkout", "-q", "-b", "feature-a")
    record_cassette(top / CASSETTE, [chat("first on a")])
    commit(top, "a")
    git(top, "checkout", "-q", "main")
    record_cassette(top / CASSETTE, [chat("first on main")])
    commit(top, "main")
    merged = git(top, "merge", "--no-edit", "feature-a", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert prompts(top / CASSETTE) == ["first on a", "first on main"]


def change_answer(path: Path, old: str, new: str) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        for row_id, body in conn.execute("SELECT id, body FROM recordings").fetchall():
            if body and old.encode() in body:
                conn.execute(
                    "UPDATE recordings SET body = ? WHERE id = ?",
                    (body.replace(old.encode(), new.encode()), row_id),
                )


def test_the_same_request_answered_differently_is_a_conflict(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature-a")
    record_cassette(repo / CASSETTE, [chat("shared question"), chat("only a")])
    commit(repo, "record a")
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "feature-b")
    record_cassette(repo / CASSETTE, [chat("shared question")])
    change_answer(repo / CASSETTE, "Echo: shared question", "Echo: a different answer")
    commit(repo, "record b")
    git(repo, "checkout", "-q", "feature-a")
    merged = git(repo, "merge", "--no-edit", "feature-b", check=False)
    assert merged.returncode != 0
    assert f"CONFLICT (content): Merge conflict in {CASSETTE}" in merged.stdout
    assert "body differs" in merged.stderr and "(kept ours)" in merged.stderr
    assert f"{CASSETTE}: 1 recordings were recorded differently on both branches" in merged.stderr
    # The work tree holds the union, ours kept for the conflict.
    assert prompts(repo / CASSETTE) == ["base question", "only a", "shared question"]
    bodies = b"".join(r.body or b"" for r in all_recordings(repo / CASSETTE))
    assert b"Echo: shared question" in bodies and b"a different answer" not in bodies
    # The resolution the message suggests works.
    theirs = repo / "theirs.db"
    theirs.write_bytes(_blob(repo, f":3:{CASSETTE}"))
    localaik(repo, "cassette", "merge", "--prefer", "theirs", CASSETTE, "theirs.db")
    bodies = b"".join(r.body or b"" for r in all_recordings(repo / CASSETTE))
    assert b"a different answer" in bodies and b"Echo: shared question" not in bodies
    theirs.unlink()
    git(repo, "add", CASSETTE)
    git(repo, "commit", "-q", "--no-edit")
    assert localaik(repo, "cassette", "verify", CASSETTE).returncode == 0


def _blob(repo: Path, name: str) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    return subprocess.run(
        ["git", "show", name], cwd=repo, env=env, capture_output=True, check=True
    ).stdout


def test_git_diff_and_log_show_the_answers(repo: Path) -> None:
    if localaik(repo, "cassette", "textconv", "--help", check=False).returncode != 0:
        pytest.skip("`localaik cassette textconv` does not exist yet")
    record_cassette(repo / CASSETTE, [chat("what is new")])
    diff = git(repo, "diff").stdout
    assert "Binary files" not in diff
    added = [line for line in diff.splitlines() if line.startswith("+")]
    assert any("Echo: what is new" in line for line in added), diff
    assert not any("base question" in line for line in added)
    commit(repo, "record more")
    log = git(repo, "log", "-p", "-1").stdout
    assert any(line.startswith("+") and "Echo: what is new" in line for line in log.splitlines()), (
        log
    )
