"""Supervising llama-server (`runtime.LlamaServer`) with the fake executable
(`tests/fakes/fake_llama_server_bin.py`): loading, readiness, one restart, stop, no orphans."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from localaik.runtime.llama import LlamaServer, RuntimeStartError, free_port

ROOT = Path(__file__).resolve().parents[2]
LOGGER = "localaik.test.llama"


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return not stat.parent.parent.is_dir()  # no /proc: trust kill(0)


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


async def states_until(server: LlamaServer, final: set[str], timeout: float = 10.0) -> list[str]:
    """The states the server goes through (consecutive repeats dropped) until one in `final`."""
    seen = [server.state]
    deadline = time.monotonic() + timeout
    while seen[-1] not in final:
        assert time.monotonic() < deadline, f"stuck after states {seen}"
        await asyncio.sleep(0.005)
        if server.state != seen[-1]:
            seen.append(server.state)
    return seen


@pytest.fixture()
async def make_server(fake_bin: Path) -> AsyncIterator[Callable[..., LlamaServer]]:
    """`make_server(**kwargs)`: a LlamaServer on the fake and a free port; stopped afterwards."""
    servers: list[LlamaServer] = []

    def make(
        binary: Path = fake_bin, extra: list[str] | None = None, ready_timeout: float = 15
    ) -> LlamaServer:
        port = free_port()
        args = [
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "-m",
            "model.gguf",
            "--jinja",
            *(extra or []),
        ]
        server = LlamaServer(
            binary, args, port, log=logging.getLogger(LOGGER), ready_timeout=ready_timeout
        )
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop(timeout=2)


async def test_start_loading_then_ready(
    make_server: Callable[..., LlamaServer],
    argv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_LOAD_SECONDS", "0.4")
    caplog.set_level(logging.INFO, logger=LOGGER)
    server = make_server(extra=["--seed", "42", "--alias", "has space", "--api-key", "sekrit"])
    assert server.state == "stopped"
    assert server.url == f"http://127.0.0.1:{server.port}/v1"

    await server.start()
    watching = asyncio.create_task(states_until(server, {"ready", "failed"}))
    await server.wait_ready()
    assert await watching == ["starting", "loading", "ready"]

    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(server.url + "/models")
    assert response.status_code == 200
    assert json.loads(argv_file.read_text()) == server.args  # exactly our argv, no shell
    lines = [r.getMessage() for r in caplog.records]
    [command] = [line for line in lines if line.startswith("starting llama-server: ")]
    assert command.endswith("--alias 'has space' --api-key '***'")
    assert "llama-server: main: loading model 'model.gguf'" in lines
    assert "llama-server: main: model loaded" in lines


async def test_a_crash_is_restarted_once_then_the_server_is_failed(
    make_server: Callable[..., LlamaServer],
    argv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_CRASH_AFTER", "0.3")  # every start crashes once ready
    caplog.set_level(logging.INFO, logger=LOGGER)
    server = make_server()
    await server.start()
    await server.wait_ready()
    first_pid = server.pid
    assert first_pid is not None

    assert await states_until(server, {"failed"}) == ["ready", "restarting", "ready", "failed"]
    assert len(argv_file.read_text().splitlines()) == 2  # one restart, no more
    assert server.pid is None
    assert wait_gone(first_pid)
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "exited unexpectedly (code 3); restarting it (restart 1 of 1)" in messages
    assert "exited again (code 3); not restarting it" in messages
    assert "llama-server: fake llama-server: crashing on purpose" in messages
    await asyncio.sleep(0.3)
    assert server.state == "failed"  # and it stays failed


async def test_a_restarted_server_serves_again(
    make_server: Callable[..., LlamaServer], argv_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_CRASH_AFTER", "0.2,")  # only the first start crashes
    server = make_server()
    await server.start()
    await server.wait_ready()
    first_pid = server.pid

    await states_until(server, {"restarting"})
    assert await states_until(server, {"ready", "failed"}) == ["restarting", "ready"]
    assert server.pid not in (None, first_pid)
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(server.url + "/models")).status_code == 200
    assert server.restarts == 1


async def test_stop_ends_the_whole_process_group(
    make_server: Callable[..., LlamaServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_pid_file = tmp_path / "child.pid"
    monkeypatch.setenv("FAKE_LLAMA_CHILD_PID_FILE", str(child_pid_file))
    server = make_server()
    await server.stop()  # before start: nothing to do
    await server.start()
    await server.wait_ready()
    pid, child_pid = server.pid, int(child_pid_file.read_text())
    assert pid is not None and alive(pid) and alive(child_pid)
    assert os.getpgid(pid) == pid != os.getpgid(0)  # its own group

    await server.stop()
    assert server.state == "stopped"
    assert not alive(pid)
    assert wait_gone(child_pid)  # its child too: the whole group is signalled
    await server.stop()  # idempotent
    assert server.state == "stopped"


async def test_stop_kills_a_server_that_ignores_sigterm(
    make_server: Callable[..., LlamaServer],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_IGNORE_SIGTERM", "1")
    caplog.set_level(logging.INFO, logger=LOGGER)
    server = make_server()
    await server.start()
    await server.wait_ready()
    while "llama-server: fake llama-server: ignoring SIGTERM" not in caplog.messages:
        await asyncio.sleep(0.01)
    pid = server.pid
    assert pid is not None

    started = time.monotonic()
    await server.stop(timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 3
    assert not alive(pid)
    assert "llama-server ignored SIGTERM for 0.5 s; killing it" in caplog.messages


async def test_stop_while_loading(
    make_server: Callable[..., LlamaServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_LOAD_SECONDS", "60")
    server = make_server()
    await server.start()
    waiting = asyncio.create_task(server.wait_ready())
    await states_until(server, {"loading"})
    pid = server.pid
    assert pid is not None

    await server.stop()
    assert server.state == "stopped"
    assert not alive(pid)
    with pytest.raises(RuntimeStartError, match="before it was ready"):
        await waiting
    assert server.state == "stopped"


async def test_exit_at_once_raises_with_its_output(
    make_server: Callable[..., LlamaServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_FAIL", "error: invalid argument: --flash-attn")
    server = make_server()
    await server.start()
    with pytest.raises(RuntimeStartError) as caught:
        await server.wait_ready()
    assert "exited with code 1 before it was ready" in str(caught.value)
    assert "error: invalid argument: --flash-attn" in str(caught.value)
    assert caught.value.output[-1] == "error: invalid argument: --flash-attn"
    assert server.state == "failed"
    await asyncio.sleep(0.1)
    assert server.state == "failed"  # not restarted: it was never ready


async def test_ready_timeout_kills_it_and_raises(
    make_server: Callable[..., LlamaServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_LOAD_SECONDS", "60")
    server = make_server(ready_timeout=1.5)
    await server.start()
    pid = server.pid
    assert pid is not None
    with pytest.raises(RuntimeStartError) as caught:
        await server.wait_ready()
    assert "did not become ready within 1.5 s" in str(caught.value)
    assert "main: loading model 'model.gguf'" in str(caught.value)
    assert server.state == "failed"
    assert not alive(pid)


async def test_a_missing_binary_is_a_start_error(
    make_server: Callable[..., LlamaServer], tmp_path: Path
) -> None:
    server = make_server(binary=tmp_path / "no-such-llama-server")
    with pytest.raises(RuntimeStartError, match="cannot run .*no-such-llama-server"):
        await server.start()
    assert server.state == "failed"


# -------------------------------------------------------------------------------------------
# No orphans: a Python process that supervises the fake dies in various ways
# -------------------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import asyncio, logging, signal, sys
    from pathlib import Path
    from localaik.runtime.llama import LlamaServer, free_port

    SERVER = None

    async def main(binary, mode):
        global SERVER
        port = free_port()
        SERVER = LlamaServer(Path(binary), ["--port", str(port), "-m", "m.gguf"], port,
                             log=logging.getLogger("child"), ready_timeout=15)
        await SERVER.start()
        await SERVER.wait_ready()
        if mode == "exit-without-stop":
            print("pid", SERVER.pid, flush=True)
            sys.stdin.readline()  # until the parent has seen llama-server running
            return
        stopping = asyncio.Event()
        if mode == "handlers":
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stopping.set)
        print("pid", SERVER.pid, flush=True)
        await stopping.wait()
        await SERVER.stop()
        print("stopped", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def run_child(tmp_path: Path, fake_bin: Path, mode: str) -> tuple[subprocess.Popen[str], int, int]:
    """The supervisor child, llama-server's pid, and the pid of a process llama-server started."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    grandchild_pid_file = tmp_path / "grandchild.pid"
    child = subprocess.Popen(
        [sys.executable, str(script), str(fake_bin), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FAKE_LLAMA_CHILD_PID_FILE": str(grandchild_pid_file),
        },
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("pid "), f"child said {line!r}"
    pid, grandchild_pid = int(line.split()[1]), int(grandchild_pid_file.read_text())
    assert alive(pid) and alive(grandchild_pid)
    return child, pid, grandchild_pid


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_supervisor_stops_llama_server(
    tmp_path: Path, fake_bin: Path, signum: int
) -> None:
    child, pid, grandchild_pid = run_child(tmp_path, fake_bin, "handlers")
    child.send_signal(signum)
    out, _ = child.communicate(timeout=15)
    assert child.returncode == 0
    assert out == "stopped\n"  # its handler ran stop()
    assert wait_gone(pid)
    assert wait_gone(grandchild_pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
def test_a_killed_supervisor_leaves_no_llama_server(tmp_path: Path, fake_bin: Path) -> None:
    child, pid, grandchild_pid = run_child(tmp_path, fake_bin, "no-handlers")
    child.kill()  # SIGKILL: no handler, no atexit, no finalizer; the parent-death signal acts
    child.wait(timeout=5)
    assert wait_gone(pid)
    os.kill(grandchild_pid, signal.SIGKILL)  # out of reach: the real llama-server has no children


def test_a_supervisor_exiting_without_stop_leaves_no_llama_server(
    tmp_path: Path, fake_bin: Path
) -> None:
    child, pid, grandchild_pid = run_child(tmp_path, fake_bin, "exit-without-stop")
    child.communicate("go\n", timeout=15)
    assert child.returncode == 0
    assert wait_gone(pid)
    assert wait_gone(grandchild_pid)  # only a kill of the whole group (the finalizer) does this
