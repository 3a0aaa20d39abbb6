"""localaik serving from a background thread of this process, for one pytest session.

Imported only when a test asks for localaik: it imports the app and uvicorn. The server has the
bundled llama-servers `serve` would have (`runtime.bundled`), and uvicorn's options from
`server.serving`, so a session records what `localaik serve` would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvicorn

from localaik.cassette.miss_text import Reporting
from localaik.cassette.usage import UsageLog
from localaik.config import Mode, Settings
from localaik.errors import BadFault
from localaik.runtime.bundled import bundled_runtimes, needs_bundled
from localaik.runtime.cache import InstallError
from localaik.server.app import create_app, services_of
from localaik.server.faults import parse_fault
from localaik.server.gates import Runtime
from localaik.server.rules import Rules
from localaik.server.serving import uvicorn_server
from localaik.testing.misses import SHOWN_BY, record_with
from localaik.testing.names import MarkerError
from localaik.testing.runtime_host import Offer

SESSION_CASSETTE = "localaik.db"  # requests made while no test's cassette is active
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
# While a test's cassette is active, the plugin shows each miss in that test's report; outside
# (a session fixture's request), the answer and the log carry the whole text, as under `serve`.
IN_TEST = Reporting(record_with(), shown_by=SHOWN_BY)
OUTSIDE_TESTS = Reporting(record_with())


class StartError(Exception):
    """The server could not start; the message says why in one line."""


class LocalaikServer:
    """localaik serving from a background thread of this process, for one test session."""

    def __init__(
        self,
        settings: Settings,
        app: Any,  # the ASGI app `create_app` built
        server: uvicorn.Server,
        thread: threading.Thread,
        url: str,
        cassette_dir: Path,
    ) -> None:
        self.settings = settings
        self.url = url
        self.cassette_dir = cassette_dir
        self.session_cassette = settings.cassette
        self._server = server
        self._thread = thread
        self._loop: asyncio.AbstractEventLoop = server.servers[0].get_loop()
        self.replayer = services_of(app).replayer
        self.pipeline = services_of(app).pipeline
        self.session_rules = self.replayer.rules  # the settings' mode, LK_IGNORE, LK_FAULTS
        self.test_cassettes: dict[Path, None] = {}  # the tests' cassettes, first use first

    @property
    def mode(self) -> Mode:
        return self.settings.mode

    @classmethod
    def start(
        cls,
        mode: Mode | None,
        cassette_dir: Path,
        run: tuple[str, str] | None = None,
        redact: str | None = None,
        shared: Offer | None = None,
    ) -> LocalaikServer:
        """Start serving in `mode` (None: the settings' own, `LK_MODE` or the CI default), the
        session cassette in `cassette_dir`; raises `SettingsError` or `StartError` with a
        one-line reason. `run`: the usage run (id, started) to join, a pytest-xdist
        session's. `redact`: LK_REDACT's rules (None: the environment's). `shared`: the
        llama-server the controller runs for every worker, a pytest-xdist session's."""
        settings = Settings.load(
            mode=mode,
            host="127.0.0.1",
            port=0,
            cassette=str(cassette_dir / SESSION_CASSETTE),
            redact=redact,
        )
        Rules.of(settings)  # a bad LK_FAULTS: SettingsError now, not a server that fails
        lazy = shared is not None and needs_bundled(settings)
        runtime: Runtime | None
        embed_runtime: Runtime | None
        try:
            if shared is not None and lazy:
                runtime, embed_runtime = shared.runtimes()
            else:
                runtime, embed_runtime = bundled_runtimes(settings, logging.getLogger("localaik"))
        except InstallError as exc:
            raise StartError(str(exc)) from None
        app = create_app(
            settings,
            runtime=runtime,
            embed_runtime=embed_runtime,
            lazy_runtime=lazy,
            reporting=OUTSIDE_TESTS,
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # log_config=None: the test session's logging stays as the user configured it.
        server = uvicorn_server(app, log_config=None)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="localaik-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(STOP_TIMEOUT)
                sock.close()
                raise StartError("localaik did not start (see the captured log for why)")
            time.sleep(0.005)
        started = cls(settings, app, server, thread, f"http://127.0.0.1:{port}", cassette_dir)
        if run is not None:  # before any request: nothing is noted yet
            started.replayer.usage = UsageLog(*run)
        return started

    def rules(
        self, mode: Mode | None, ignore: tuple[str, ...] | None, faults: tuple[str, ...] = ()
    ) -> Rules:
        """The session's rules with a test's mode instead, its ignored paths added and its
        faults first (`MarkerError` naming one that cannot be read)."""
        try:
            parsed = [parse_fault(fault, "@pytest.mark.localaik(fault=…)") for fault in faults]
        except BadFault as exc:
            raise MarkerError(exc.message) from None
        return self.session_rules.switched(mode, ignore or (), parsed)

    def set_faults(self, *faults: str) -> None:
        """The faults of the requests from now on, before `LK_FAULTS`'s (`BadFault` naming one
        that cannot be read); their attempts are counted from 1 again."""
        parsed = tuple(parse_fault(f, "localaik_fault") for f in faults)
        rules = dataclasses.replace(
            self.replayer.rules, faults=(*parsed, *self.session_rules.faults)
        )
        self._on_loop(self._set_rules(rules))

    async def _set_rules(self, rules: Rules) -> None:
        self.replayer.rules = rules
        self.pipeline.attempts.clear()

    def use(self, cassette: Path, rules: Rules | None = None) -> None:
        """Make `cassette` the one requests without an `X-Localaik-Cassette` header use, and
        `rules` (default: the session's) the mode and ignored paths of every request.

        The switch happens on the server's own event loop, between two requests, never in
        the middle of one that the server thread is answering. A test's cassette is the
        plugin's to report misses of (`IN_TEST`); the session's is not (`OUTSIDE_TESTS`).
        """
        reporting = OUTSIDE_TESTS if cassette == self.session_cassette else IN_TEST
        self._on_loop(self._switch(cassette, rules or self.session_rules, reporting))

    async def _switch(self, cassette: Path, rules: Rules, reporting: Reporting) -> None:
        await self.replayer.cassettes.select(cassette)
        self.replayer.rules = rules
        self.pipeline.attempts.clear()  # a test's faults count its own attempts
        self.replayer.reporting = reporting

    def release(self, cassette: Path) -> None:
        """Close a test's cassette when the test is done: one thread and connection each."""
        if cassette != self.replayer.cassettes.default:
            self._on_loop(self.replayer.cassettes.release(cassette))

    def _on_loop(self, work: Coroutine[Any, Any, None]) -> None:
        if not self._thread.is_alive():
            work.close()
            return
        asyncio.run_coroutine_threadsafe(work, self._loop).result(STOP_TIMEOUT)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
