"""The `localaik` command line: version, help, and settings errors before anything starts."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from click.testing import CliRunner

from localaik import __version__
from localaik.cli import cli
from tests.support import clean_environ


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


def serve_at_start(
    args: list[str], env: dict[str, str], cwd: Any = None
) -> tuple[int, list[str], str]:
    """`localaik serve ARGS` that should exit before serving: its exit status, the non-blank
    lines of its stderr, and the whole stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "localaik", "serve", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()], done.stderr


def test_serve_on_a_busy_port_exits_with_one_line_naming_it(tmp_path: Any) -> None:
    """A port another program listens on: one line naming the port and how to choose another,
    exit 1, before any model starts (it was uvicorn's `[Errno 98]` after the bundled model
    had started)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_environ()
        for how, extra_env, args in (
            ("flag", {}, ["--port", str(port)]),
            ("LK_PORT", {"LK_PORT": str(port)}, []),
        ):
            status, lines, stderr = serve_at_start(
                ["--mode", "replay", *args],
                {**env, **extra_env, "LK_CASSETTE": str(tmp_path / "c.db")},
            )
            assert status == 1, (how, stderr)
            assert len(lines) == 1, (how, stderr)
            assert f"port {port}" in lines[0] and "LK_PORT" in lines[0], lines
            assert "Errno" not in stderr and "Traceback" not in stderr


def test_replay_without_its_cassette_fails_at_start_naming_the_path(tmp_path: Any) -> None:
    """Every request would miss: one line naming the path (absolute too, since a relative one
    depends on where the server runs), exit 1, instead of a healthy server and a miss later."""
    for where in ("folder", "no-folder"):
        cassette = tmp_path / where / "cassettes" / "localaik.db"
        (tmp_path / where).mkdir()
        if where == "folder":
            cassette.parent.mkdir(parents=True)
            (cassette.parent / "notes.txt").write_text("not a cassette")
        status, lines, stderr = serve_at_start(
            ["--mode", "replay", "--port", "0"],
            {**clean_environ(), "LK_CASSETTE": "cassettes/localaik.db"},
            cwd=tmp_path / where,
        )
        assert status == 1, (where, stderr)
        assert len(lines) == 1, (where, stderr)
        assert f"cassettes/localaik.db ({cassette})" in lines[0], lines
        assert "LK_CASSETTE" in lines[0] and "Traceback" not in stderr


def test_replay_without_its_cassette_starts_when_others_lie_beside_it(tmp_path: Any) -> None:
    """Cassettes chosen per request (`X-Localaik-Cassette`) can be all a replay needs: it
    starts, says the default one is missing, and /health shows it."""
    from localaik.cassette.sqlite import SQLiteStore
    from tests.support import LocalaikProcess

    store = SQLiteStore(tmp_path / "per-test.db")
    store.open(create=True)
    store.close()
    with LocalaikProcess(
        {"LK_MODE": "replay", "LK_CASSETTE": str(tmp_path / "localaik.db")}
    ) as server:
        health = server.get("/health").json()
        assert health["status"] == "ok" and health["cassette_found"] is False
        assert "no cassette at" in server.log() and "X-Localaik-Cassette" in server.log()
    with LocalaikProcess(
        {"LK_MODE": "replay", "LK_CASSETTE": str(tmp_path / "per-test.db")}
    ) as server:
        assert server.get("/health").json()["cassette_found"] is True
