"""The pytest plugin: localaik inside the test session, one cassette per test.

Registered as the `pytest11` entry point `localaik`, so pytest loads it in every run of an
environment where localaik is installed. It is inert until a test asks for it: no server, no
thread, no environment variable, no import of the server's modules. Then:

    localaik_session (fixture, session)  localaik serving in this process on a free port,
                                         the SDKs' base-URL variables pointing at it
    localaik (fixture, function)         this test's cassette made the server's default;
                                         a `Localaik` handle (url, mode, cassette)
    @pytest.mark.localaik(cassette=N,    on a test, class or module: share <dir>/N.db; the
        mode=M, ignore=[P], fault=F)     test's mode, paths added to LK_IGNORE, its faults
                                         (`marker`); the marker alone activates the fixture
    localaik_fault (fixture, function)   sets the test's faults from there on
    --localaik-mode / localaik_mode      record, replay, refresh, once, passthrough (VCR's
                                         new_episodes, none, all); a marker's mode wins
    --localaik-cassette-dir / ini        where cassettes live (default `cassettes`)
    --localaik-fail-unused / ini         fail the session if recordings went unused
    ini localaik_redact                  LK_REDACT's rules, one a line, kept with the project

Why in-process: one server for the whole session, started in well under a second, with
direct access to the `Replayer`. That access is what lets a replay miss fail the test that
caused it even when the code under test caught the SDK's 404 (`Replayer.misses`), and lets
the session name the recordings nobody asked for (`UsageLog.served`).

One server serves the tests one at a time, so switching `Cassettes.default` between tests is
enough to give each test its cassette. Under pytest-xdist each worker runs its own server; the
workers join one usage run, named by the controller (so `cassette prune` after an xdist session
keeps what any worker used), and each sends the controller an account of what it served, which
the controller merges to report the session and check `--localaik-fail-unused`. The bundled
llama-server is the controller's, one for all workers, started when a request first needs it
(`testing.runtime_host`; `--localaik-runtime-per-worker`: one per worker, as without xdist).

This module holds the options, fixtures and hooks; `localaik.testing` the rest: the cassette
names (`names`), the marker (`marker`), the account of the session (`report`), the
misses shown once (`misses`), the server (`server`), which is imported only when a test asks
for localaik, and the xdist session's llama-server (`xdist_runtime`, `runtime_host`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from localaik.cassette.state import FOLDER as STATE_FOLDER
from localaik.config import MODES, MODES_TEXT, Mode, SettingsError, sdk_key_set, values
from localaik.testing import xdist_runtime
from localaik.testing.marker import marked
from localaik.testing.misses import MODE_OPTION, Active, miss_text
from localaik.testing.names import MarkerError, cassette_for
from localaik.testing.report import Account, Report

if TYPE_CHECKING:
    from localaik.testing.server import LocalaikServer

DEFAULT_DIR = "cassettes"
DUMMY_KEY = "localaik-placeholder-key"  # any key works; this one looks like no real one
XDIST_RUN = "localaik_run"  # workerinput: the session's usage run (id, started)
XDIST_ACCOUNT = "localaik_account"  # workeroutput: what the worker's server served


# -- options -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("localaik", "localaik: record and replay LLM API calls")
    group.addoption(
        MODE_OPTION,
        choices=MODES,
        default=None,
        help=f"mode of the localaik fixture's server: {MODES_TEXT}; a marker's mode= wins for "
        "its tests [ini localaik_mode; else env LK_MODE; else replay when CI is true, else "
        "record]",
    )
    group.addoption(
        "--localaik-cassette-dir",
        default=None,
        metavar="DIR",
        help="folder of the per-test cassettes, relative to the current directory "
        "[ini localaik_cassette_dir, relative to the rootdir; default: cassettes]",
    )
    group.addoption(
        "--localaik-fail-unused",
        action="store_true",
        default=None,
        help="fail the session when a cassette the tests used holds recordings that no "
        "request asked for [ini localaik_fail_unused]",
    )
    parser.addini(
        "localaik_mode",
        f"localaik fixture's mode: {MODES_TEXT}",
        default="",
    )
    parser.addini(
        "localaik_cassette_dir", "localaik cassette folder, relative to the rootdir", default=""
    )
    parser.addini(
        "localaik_redact",
        "LK_REDACT's rules for the session, one a line (else env LK_REDACT)",
        type="linelist",
        default=[],
    )
    parser.addini(
        "localaik_fail_unused",
        "fail the session when recordings went unused",
        type="bool",
        default=False,
    )
    xdist_runtime.add_options(group, parser)


@dataclass(frozen=True)
class Options:
    """The plugin's settings, from the command line, then the ini file, then defaults.

    `mode` None leaves the choice to `Settings.load`: LK_MODE, else replay when CI is true.
    """

    mode: Mode | None
    cassette_dir: Path
    fail_unused: bool
    redact: str | None = None  # the ini's LK_REDACT rules; None: the environment's

    @classmethod
    def read(cls, config: pytest.Config) -> Options:
        mode = config.getoption("localaik_mode") or str(config.getini("localaik_mode")).strip()
        if mode and mode.lower() not in MODES:
            raise pytest.UsageError(f"localaik_mode = {mode!r}: expected {MODES_TEXT}")
        option_dir = config.getoption("localaik_cassette_dir")
        ini_dir = str(config.getini("localaik_cassette_dir")).strip()
        if option_dir:
            directory = config.invocation_params.dir / option_dir
        else:
            directory = config.rootpath / (ini_dir or DEFAULT_DIR)
        if STATE_FOLDER in Path(option_dir or ini_dir).parts:
            raise pytest.UsageError(
                f"localaik_cassette_dir = {option_dir or ini_dir!r}: {STATE_FOLDER} is localaik's "
                "own folder (usage notes, ignored by git); cassettes in it are never committed"
            )
        fail = config.getoption("localaik_fail_unused")
        redact = "\n".join(config.getini("localaik_redact")).strip()
        if redact:
            try:
                values.redact_rules(redact, "localaik_redact")
            except SettingsError as exc:
                raise pytest.UsageError(str(exc)) from None
        return cls(
            mode=Mode.of(mode) if mode else None,
            cassette_dir=Path(os.path.normpath(directory)),
            fail_unused=bool(config.getini("localaik_fail_unused") if fail is None else fail),
            redact=redact or None,
        )


# -- the SDKs' environment ---------------------------------------------------------------------


# (the key variables an SDK reads, the one set to a placeholder when none of them is set)
def point_sdks(env: pytest.MonkeyPatch, url: str) -> None:
    """Base URLs for every registered family's official SDKs, and placeholder keys where none
    is set (`Descriptor.sdk`): a key the developer set stays (localaik never stores or forwards
    it)."""
    from localaik.families import Family

    for family in Family.apis():
        sdk = family.sdk
        if sdk is None:
            continue
        env.setenv(sdk.base_url_variable, url + sdk.base_url_suffix)
        if not sdk_key_set(*sdk.key_variables):
            env.setenv(sdk.placeholder_key_variable, DUMMY_KEY)


# -- fixtures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Localaik:
    """What a test gets from the `localaik` fixture."""

    url: str
    mode: Mode
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
class _State:
    options: Options
    report: Report | None = None  # once the session's server has stopped (or, under
    # pytest-xdist, in the controller once every worker has sent its account)
    run: tuple[str, str] | None = None  # pytest-xdist: the session's usage run (id, started)
    worker: bool = False
    accounts: list[Account] = field(default_factory=list)  # the xdist workers'


_STATE = pytest.StashKey[_State]()
_ACTIVE = pytest.StashKey[Active]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "localaik(cassette=None, mode=None, ignore=None, fault=None): run the test with "
        "localaik's cassette, its own (<dir>/<module>/<test>.db) or the named one "
        "(<dir>/<cassette>.db), in this mode (record_mode= also), these paths added to "
        "LK_IGNORE, these faults (as X-Localaik-Fault writes them)",
    )
    state = _State(Options.read(config))
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        state.worker = True
        run = workerinput.get(XDIST_RUN)
        state.run = (str(run[0]), str(run[1])) if run else None
    config.stash[_STATE] = state


# -- pytest-xdist: one usage run for the session, the workers' accounts to the controller ------


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """The controller gives every worker the session's usage run, and its llama-server."""
    state = node.config.stash[_STATE]
    if state.run is None:
        from localaik.cassette.usage import new_run, now

        started = now()
        state.run = (new_run(started), started)
    node.workerinput[XDIST_RUN] = list(state.run)
    xdist_runtime.offer(node, state.options.mode)


def pytest_unconfigure(config: pytest.Config) -> None:
    xdist_runtime.close(config)  # the controller's llama-server, once the workers are down


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller keeps each worker's account, for the session's report."""
    account = getattr(node, "workeroutput", {}).get(XDIST_ACCOUNT)
    if account is not None:
        node.config.stash[_STATE].accounts.append(Account.from_wire(account))


@pytest.fixture(scope="session")
def localaik_session(request: pytest.FixtureRequest) -> Iterator[LocalaikServer]:
    """localaik serving for this session, the SDKs' base-URL variables pointing at it."""
    from localaik.testing.server import LocalaikServer, StartError

    state = request.config.stash[_STATE]
    try:
        options = state.options
        shared = xdist_runtime.offered(request.config)
        server = LocalaikServer.start(
            options.mode, options.cassette_dir, state.run, options.redact, shared
        )
    except (SettingsError, StartError) as exc:
        pytest.fail(f"localaik: {exc}", pytrace=False)
    env = pytest.MonkeyPatch()
    point_sdks(env, server.url)
    try:
        yield server
    finally:
        env.undo()
        server.stop()
        account = Account.of(server)
        if state.worker:
            request.config.workeroutput[XDIST_ACCOUNT] = account.to_wire()  # type: ignore[attr-defined]
        else:
            state.report = Report.of(account)


@pytest.fixture()
def localaik(
    request: pytest.FixtureRequest, localaik_session: LocalaikServer
) -> Iterator[Localaik]:
    """This test's cassette, active until the test is done; a miss fails the test."""
    item = request.node
    try:
        marker = marked(item)
        rules = localaik_session.rules(marker.mode, marker.ignore, marker.fault or ())
    except MarkerError as exc:
        pytest.fail(str(exc), pytrace=False)
    path = cassette_for(item, marker.cassette, localaik_session.cassette_dir, item.config.rootpath)
    handle = Localaik(localaik_session.url, rules.mode, path, localaik_session)
    misses = localaik_session.replayer.misses
    active = Active(misses, len(misses))
    localaik_session.use(path, rules)
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
        pytest.fail(
            miss_text(new, "while the test's fixtures were set up or torn down"), pytrace=False
        )


@pytest.fixture()
def localaik_fault(localaik: Localaik) -> Callable[..., None]:
    """Sets this test's faults from now on, as `X-Localaik-Fault` writes them (replacing its
    marker's): `localaik_fault("status=429; times=1")`; `localaik_fault()` clears them.
    Attempts are counted from 1 again at each call; a bad fault raises `BadFault`."""
    return localaik.server.set_faults


@pytest.fixture(autouse=True)
def _localaik_marker(request: pytest.FixtureRequest) -> None:
    """The marker alone is enough: a marked test gets the `localaik` fixture."""
    if request.node.get_closest_marker("localaik") is not None:
        request.getfixturevalue("localaik")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that passed although one of its requests missed; show misses of a test
    that failed in a readable section (the SDK's exception carries only their first line)."""
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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """--localaik-fail-unused: a session that passed fails when recordings went unused."""
    state = session.config.stash.get(_STATE, None)
    if state is None or state.worker:
        return
    if state.report is None and state.accounts:
        state.report = Report.of(Account.merged(state.accounts))
    if state.report is None or not state.options.fail_unused:
        return
    if state.report.unused_count and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.report is None:
        return
    report = state.report
    terminalreporter.write_line(report.line())
    for problem in report.unreadable:
        terminalreporter.write_line(f"localaik: could not read {problem}", yellow=True)
    if state.options.fail_unused and report.unused_count:
        count = report.unused_count
        terminalreporter.write_line(
            f"localaik: {count} recording{'s were' if count > 1 else ' was'} not used by this "
            "session (--localaik-fail-unused):",
            red=True,
            bold=True,
        )
        for line in report.unused_lines(config.rootpath):
            terminalreporter.write_line(line)
        folder = state.options.cassette_dir
        if folder.is_relative_to(config.rootpath):
            folder = folder.relative_to(config.rootpath)
        terminalreporter.write_line(
            f"Remove them with `localaik cassette prune {folder}` in {config.rootpath} (it "
            "drops what each cassette's last run did not use), or run the tests that use them."
        )
