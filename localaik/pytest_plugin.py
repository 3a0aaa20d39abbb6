"""The pytest plugin: localaik inside the test session, one cassette per test.

Registered as the `pytest11` entry point `localaik`, so pytest loads it in every run of an
environment where localaik is installed. It is inert until a test asks for it: no server, no
thread, no environment variable, no import of the server's modules. Then:

    localaik_session (fixture, session)  localaik serving in this process on a free port,
                                         the SDKs' base-URL variables pointing at it
    localaik (fixture, function)         this test's cassette made the server's default;
                                         a `Localaik` handle (url, mode, cassette)
    @pytest.mark.localaik(cassette=N)    on a test, class or module: share <dir>/N.db;
                                         the marker alone also activates the fixture
    --localaik-mode / localaik_mode      record, replay, refresh, passthrough
    --localaik-cassette-dir / ini        where cassettes live (default `cassettes`)
    --localaik-fail-unused / ini         fail the session if recordings went unused

Why in-process: one server for the whole session, started in well under a second, with
direct access to the `Replayer`. That access is what lets a replay miss fail the test that
caused it even when the code under test caught the SDK's 404 (`Replayer.misses`), and lets
the session name the recordings nobody asked for (`UsageLog.served`).

One server serves the tests one at a time (pytest-xdist gives each worker its own server),
so switching `Cassettes.default` between tests is enough to give each test its cassette.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localaik.config import MODES, Settings, SettingsError

DEFAULT_DIR = "cassettes"
SESSION_CASSETTE = "localaik.db"   # requests made while no test's cassette is active
DUMMY_KEY = "localaik-placeholder-key"   # any key works; this one looks like no real one
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
LONGEST_NAME = 100
SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

log = logging.getLogger("localaik.pytest")


# -- options -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("localaik", "localaik: record and replay LLM API calls")
    group.addoption(
        "--localaik-mode", choices=MODES, default=None,
        help="mode of the localaik fixture's server: record, replay, refresh or passthrough "
             "[ini localaik_mode; else env LK_MODE; else replay when CI is true, else record]")
    group.addoption(
        "--localaik-cassette-dir", default=None, metavar="DIR",
        help="folder of the per-test cassettes, relative to the current directory "
             "[ini localaik_cassette_dir, relative to the rootdir; default: cassettes]")
    group.addoption(
        "--localaik-fail-unused", action="store_true", default=None,
        help="fail the session when a cassette the tests used holds recordings that no "
             "request asked for [ini localaik_fail_unused]")
    parser.addini("localaik_mode", "localaik fixture's mode: record, replay, refresh or "
                                   "passthrough", default="")
    parser.addini("localaik_cassette_dir", "localaik cassette folder, relative to the rootdir",
                  default="")
    parser.addini("localaik_fail_unused", "fail the session when recordings went unused",
                  type="bool", default=False)


@dataclass(frozen=True)
class Options:
    """The plugin's settings, from the command line, then the ini file, then defaults.

    `mode` None leaves the choice to `Settings.load`: LK_MODE, else replay when CI is true.
    """

    mode: str | None
    cassette_dir: Path
    fail_unused: bool

    @classmethod
    def read(cls, config: pytest.Config) -> Options:
        mode = config.getoption("localaik_mode") or str(config.getini("localaik_mode")).strip()
        if mode and mode.lower() not in MODES:
            raise pytest.UsageError(f"localaik_mode = {mode!r}: expected one of "
                                    f"{', '.join(MODES)}")
        option_dir = config.getoption("localaik_cassette_dir")
        ini_dir = str(config.getini("localaik_cassette_dir")).strip()
        if option_dir:
            directory = config.invocation_params.dir / option_dir
        else:
            directory = config.rootpath / (ini_dir or DEFAULT_DIR)
        fail = config.getoption("localaik_fail_unused")
        return cls(mode=mode.lower() or None, cassette_dir=Path(os.path.normpath(directory)),
                   fail_unused=bool(config.getini("localaik_fail_unused") if fail is None
                                    else fail))


# -- the server --------------------------------------------------------------------------------


class LocalaikServer:
    """localaik serving from a background thread of this process, for one test session."""

    def __init__(self, settings: Settings, app: Any, server: Any, thread: threading.Thread,
                 url: str, cassette_dir: Path) -> None:
        from localaik.server.app import services_of

        self.settings = settings
        self.url = url
        self.cassette_dir = cassette_dir
        self.session_cassette = settings.cassette
        self._server = server
        self._thread = thread
        self._loop: asyncio.AbstractEventLoop = server.servers[0].get_loop()
        self.replayer = services_of(app).replayer
        self.test_cassettes: dict[Path, None] = {}   # the tests' cassettes, first use first

    @property
    def mode(self) -> str:
        return self.settings.mode

    @classmethod
    def start(cls, options: Options) -> LocalaikServer:
        """Start serving; raises `SettingsError` or `StartError` with a one-line reason."""
        from localaik.runtime.bundled import bundled_runtimes
        from localaik.runtime.cache import InstallError
        from localaik.server.app import create_app
        from localaik.server.serving import uvicorn_server

        settings = Settings.load(mode=options.mode, host="127.0.0.1", port=0,
                                 cassette=str(options.cassette_dir / SESSION_CASSETTE))
        try:
            runtime, embed_runtime = bundled_runtimes(settings, logging.getLogger("localaik"))
        except InstallError as exc:
            raise StartError(str(exc)) from None
        app = create_app(settings, runtime=runtime, embed_runtime=embed_runtime)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # log_config=None: the test session's logging stays as the user configured it.
        server = uvicorn_server(app, log_config=None)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name="localaik-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(STOP_TIMEOUT)
                sock.close()
                raise StartError("localaik did not start (see the captured log for why)")
            time.sleep(0.005)
        return cls(settings, app, server, thread, f"http://127.0.0.1:{port}",
                   options.cassette_dir)

    def use(self, cassette: Path) -> None:
        """Make `cassette` the one requests without an `X-Localaik-Cassette` header use."""
        self.replayer.cassettes.default = cassette

    def release(self, cassette: Path) -> None:
        """Close a test's cassette when the test is done: one thread and connection each."""
        if cassette != self.replayer.cassettes.default and self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(
                self.replayer.cassettes.release(cassette), self._loop)
            future.result(STOP_TIMEOUT)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)


class StartError(Exception):
    """The server could not start; the message says why in one line."""


# -- the SDKs' environment ---------------------------------------------------------------------

# (the key variables an SDK reads, the one set to a placeholder when none of them is set)
KEY_VARIABLES = (
    (("GOOGLE_API_KEY", "GEMINI_API_KEY"), "GEMINI_API_KEY"),
    (("OPENAI_API_KEY",), "OPENAI_API_KEY"),
    (("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"), "ANTHROPIC_API_KEY"),
)


def point_sdks(env: pytest.MonkeyPatch, url: str) -> None:
    """Base URLs for the official SDKs, and placeholder keys where none is set.

    google-genai reads GOOGLE_API_KEY before GEMINI_API_KEY, anthropic ANTHROPIC_API_KEY then
    ANTHROPIC_AUTH_TOKEN: a key the developer set stays (localaik never stores or forwards it).
    """
    env.setenv("GOOGLE_GEMINI_BASE_URL", url)
    env.setenv("OPENAI_BASE_URL", url + "/v1")
    env.setenv("ANTHROPIC_BASE_URL", url)
    for read, placeholder in KEY_VARIABLES:
        if not any(os.environ.get(name) for name in read):
            env.setenv(placeholder, DUMMY_KEY)


# -- cassettes per test ------------------------------------------------------------------------


def cassette_for(item: pytest.Item, directory: Path, rootpath: Path) -> Path:
    """`<dir>/<marker's name>.db`, else `<dir>/<module path>/<Class.>test[-params].db`."""
    marker = item.get_closest_marker("localaik")
    name = marker_cassette(marker) if marker is not None else None
    if name is not None:
        return directory / name
    module = item.path
    try:
        relative = module.relative_to(rootpath)
    except ValueError:
        relative = Path(module.name)
    classes = [node.name for node in item.listchain() if isinstance(node, pytest.Class)]
    test = ".".join([*classes, safe_name(item.name)])
    return directory / relative.with_suffix("") / f"{test}.db"


def marker_cassette(marker: pytest.Mark) -> str | None:
    """The marker's cassette as a path below the cassette folder (validated), or None."""
    unknown = set(marker.kwargs) - {"cassette"}
    if unknown or len(marker.args) > 1 or (marker.args and "cassette" in marker.kwargs):
        raise MarkerError("@pytest.mark.localaik takes one argument, cassette=NAME; got "
                          f"{marker.args!r} {marker.kwargs!r}")
    name = marker.kwargs.get("cassette", marker.args[0] if marker.args else None)
    if name is None:
        return None
    text = str(name)
    segments = text.replace("\\", "/").split("/")
    if not all(SAFE_SEGMENT.match(part) for part in segments):   # no "..", no absolute
        raise MarkerError(f"@pytest.mark.localaik(cassette={text!r}): a cassette name is "
                          "letters, digits, '.', '_' and '-', with '/' between folders")
    return "/".join(segments) + ("" if text.endswith(".db") else ".db")


class MarkerError(Exception):
    """A `localaik` marker with arguments that cannot name a cassette."""


def safe_name(name: str) -> str:
    """A test name as a file name: `test_x[gemini-v1]` -> `test_x-gemini-v1`.

    Characters outside [A-Za-z0-9._-] become `_`; when that (or shortening) could make two
    ids collide, a hash of the original id is added.
    """
    base, bracket, params = name.partition("[")
    params = params[:-1] if bracket and params.endswith("]") else params
    plain = UNSAFE.sub("_", base).strip("._-") or "test"
    if not bracket:
        return plain
    safe = UNSAFE.sub("_", params).strip("._-")
    text = f"{plain}-{safe}" if safe else plain
    if safe != params or len(text) > LONGEST_NAME:
        digest = hashlib.sha256(params.encode()).hexdigest()[:8]
        text = f"{text[:LONGEST_NAME]}-{digest}"
    return text


# -- fixtures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Localaik:
    """What a test gets from the `localaik` fixture."""

    url: str
    mode: str
    cassette: Path
    server: LocalaikServer = field(repr=False)

    @property
    def gemini_base_url(self) -> str:
        return self.url

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url


@dataclass
class _Active:
    """A test whose cassette is active: how many of the session's misses were reported."""

    misses: list[str]
    checked: int

    def new_misses(self) -> list[str]:
        new = self.misses[self.checked:]
        self.checked += len(new)
        return new


@dataclass
class _State:
    options: Options
    report: Report | None = None   # once the session's server has stopped


_STATE = pytest.StashKey[_State]()
_ACTIVE = pytest.StashKey[_Active]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "localaik(cassette=None): run the test with localaik's cassette, its own "
                   "(<dir>/<module>/<test>.db) or the named one (<dir>/<cassette>.db)")
    config.stash[_STATE] = _State(Options.read(config))


@pytest.fixture(scope="session")
def localaik_session(request: pytest.FixtureRequest) -> Iterator[LocalaikServer]:
    """localaik serving for this session, the SDKs' base-URL variables pointing at it."""
    state = request.config.stash[_STATE]
    try:
        server = LocalaikServer.start(state.options)
    except (SettingsError, StartError) as exc:
        pytest.fail(f"localaik: {exc}", pytrace=False)
    env = pytest.MonkeyPatch()
    point_sdks(env, server.url)
    try:
        yield server
    finally:
        env.undo()
        server.stop()
        state.report = Report.of(server)


@pytest.fixture()
def localaik(request: pytest.FixtureRequest,
             localaik_session: LocalaikServer) -> Iterator[Localaik]:
    """This test's cassette, active until the test is done; a miss fails the test."""
    item = request.node
    try:
        path = cassette_for(item, localaik_session.cassette_dir, request.config.rootpath)
    except MarkerError as exc:
        pytest.fail(str(exc), pytrace=False)
    handle = Localaik(localaik_session.url, localaik_session.mode, path, localaik_session)
    misses = localaik_session.replayer.misses
    active = _Active(misses, len(misses))
    localaik_session.use(path)
    localaik_session.test_cassettes.setdefault(path, None)
    item.stash[_ACTIVE] = active
    try:
        yield handle
    finally:
        del item.stash[_ACTIVE]
        localaik_session.use(localaik_session.session_cassette)
        localaik_session.release(path)
    new = active.new_misses()
    if new:
        pytest.fail(miss_text(new, "while the test's fixtures were set up or torn down"),
                    pytrace=False)


@pytest.fixture(autouse=True)
def _localaik_marker(request: pytest.FixtureRequest) -> None:
    """The marker alone is enough: a marked test gets the `localaik` fixture."""
    if request.node.get_closest_marker("localaik") is not None:
        request.getfixturevalue("localaik")


def miss_text(misses: list[str], when: str) -> str:
    count = f"{len(misses)} request{'s' if len(misses) > 1 else ''} had no recording"
    return (f"localaik: {count} {when} (a replay miss fails the test even when the code under "
            "test caught the SDK's error):\n\n" + "\n\n".join(misses))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that passed although one of its requests missed; show misses of a test
    that failed in a readable section (the SDK's exception shows them escaped)."""
    active = item.stash.get(_ACTIVE, None)
    if active is None:
        return (yield)
    try:
        result = yield
    except BaseException:
        new = active.new_misses()
        if new:
            item.add_report_section("call", "localaik misses", "\n\n".join(new))
        raise
    new = active.new_misses()
    if new:
        pytest.fail(miss_text(new, "during the test or its setup"), pytrace=False)
    return result


# -- the session's account ---------------------------------------------------------------------


@dataclass
class Report:
    """What the session's server did, per recording, over the cassettes the tests used."""

    mode: str
    cassettes: int = 0
    replayed: int = 0
    recorded: int = 0
    misses: int = 0
    unused: dict[Path, list[Any]] = field(default_factory=dict)   # path -> [Summary]
    unreadable: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, server: LocalaikServer) -> Report:
        from localaik.cassette.store import Cassette
        from localaik.errors import Error

        usage = server.replayer.usage
        report = cls(server.mode, misses=len(server.replayer.misses))
        if server.mode == "passthrough":
            return report
        # The session cassette (requests made outside any test's cassette) counts only when
        # it served something: it may be an old `localaik serve` cassette the tests ignore.
        paths = list(server.test_cassettes)
        if usage.served(server.session_cassette) and server.session_cassette not in paths:
            paths.append(server.session_cassette)
        for path in paths:
            if not path.exists():
                continue
            cassette = Cassette(path)
            try:
                cassette.open_sync(readonly=True)
                summaries = cassette.summaries_sync()
            except Error as exc:
                report.unreadable.append(f"{path}: {exc}")
                continue
            finally:
                cassette.close_sync()
            served = usage.served(path)
            report.cassettes += 1
            for summary in summaries:
                if (summary.key, summary.ordinal) not in served:
                    report.unused.setdefault(path, []).append(summary)
                elif summary.recorded_at >= usage.started:
                    report.recorded += 1
                else:
                    report.replayed += 1
        return report

    @property
    def unused_count(self) -> int:
        return sum(len(summaries) for summaries in self.unused.values())

    def line(self) -> str:
        if self.mode == "passthrough":
            return "localaik: mode passthrough (nothing replayed or recorded)"
        misses = f"{self.misses} miss{'es' if self.misses != 1 else ''}"
        return (f"localaik: mode {self.mode}, {self.cassettes} cassette"
                f"{'s' if self.cassettes != 1 else ''}: {self.replayed} replayed, "
                f"{self.recorded} recorded, {misses}, {self.unused_count} unused")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """--localaik-fail-unused: a session that passed fails when recordings went unused."""
    state = session.config.stash.get(_STATE, None)
    if state is None or state.report is None or not state.options.fail_unused:
        return
    if state.report.unused_count and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if state.report is None:
        if state.options.fail_unused and getattr(config.option, "numprocesses", None):
            terminalreporter.write_line("localaik: --localaik-fail-unused is not checked with "
                                        "pytest-xdist (each worker sees only its own tests)")
        return
    report = state.report
    terminalreporter.write_line(report.line())
    for problem in report.unreadable:
        terminalreporter.write_line(f"localaik: could not read {problem}", yellow=True)
    if state.options.fail_unused and report.unused_count:
        count = report.unused_count
        terminalreporter.write_line(
            f"localaik: {count} recording{'s were' if count > 1 else ' was'} not used by this "
            "session (--localaik-fail-unused):", red=True, bold=True)
        for path, summaries in report.unused.items():
            for s in summaries:
                ordinal = f" #{s.ordinal}" if s.ordinal else ""
                stream = " stream" if s.stream else ""
                terminalreporter.write_line(
                    f"  {_shown(path, config.rootpath)}: {s.key[:12]}{ordinal} {s.family} "
                    f"{s.operation} {s.model or ''}{stream}, recorded {s.recorded_at}")
        terminalreporter.write_line(
            "Remove them with `localaik cassette prune CASSETTE` (it drops what the last run "
            "did not use), or run the tests that use them.")


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
