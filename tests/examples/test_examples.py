"""The runnable examples in examples/ against `localaik serve --mode replay` and the committed
cassette cassettes/examples.db (recorded from the real bundled model by examples/record.sh).

Every example runs as a user would run it (a subprocess: bash, the venv's python, node, go, mvn)
with only LOCALAIK_URL set, and must exit 0 and print the answer that the cassette holds. The
answers are read from the cassette, never written here, so re-recording needs no test change.
A replay miss makes the SDK raise, so an example whose request drifted from the recording fails
here with localaik's explanation in its output.

Python, JavaScript and curl always run (`make test` installs their SDKs). Go and Java run when
their toolchain is on PATH and can fetch the SDKs; otherwise they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localaik.cassette.key import ClientRequest, canonical, canonical_json, request_key
from localaik.cassette.recording import Recording
from localaik.cassette.secrets import locate_secret
from localaik.cassette.store import store_for
from tests.support import LocalaikProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CASSETTE = ROOT / "cassettes" / "examples.db"
RUN_TIMEOUT = 120  # one example: a few SDK calls against a replaying server
BUILD_TIMEOUT = 600  # fetching Go modules or Maven artifacts, compiling
JS_HINT = "the example SDKs are not installed: run `make js-deps` (npm ci --prefix examples/js)"
# Nothing from the developer's shell may point the SDKs elsewhere or change localaik's mode.
FOREIGN_ENV_PREFIXES = ("LK_", "GOOGLE_", "GEMINI_", "OPENAI_", "LOCALAIK_")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Answers:
    """The text of each recorded answer, as the examples print it."""

    gemini: str
    gemini_stream: str
    openai: str
    openai_stream: str


def recorded_text(recording: Recording) -> str:
    """The model's text in a recording: the upstream is OpenAI-shaped for both APIs."""
    if not recording.stream:
        assert recording.body is not None
        return json.loads(recording.body)["choices"][0]["message"]["content"]  # type: ignore[no-any-return]
    pieces = []
    for frame in recording.frames:
        for line in bytes(frame.data).decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[len("data: ") :]).get("choices", []):
                    pieces.append(choice.get("delta", {}).get("content") or "")
    return "".join(pieces)


def committed_recordings() -> list[Recording]:
    """The committed cassette's recordings, read-only: a test must not touch the file in git."""
    cassette = store_for(CASSETTE, readonly=True)
    assert cassette.open(), f"{CASSETTE} is missing"
    try:
        return list(cassette.recordings())
    finally:
        cassette.close()


def read_answers() -> Answers:
    found: dict[tuple[str, bool], str] = {}
    for recording in committed_recordings():
        slot = (recording.family, recording.stream)
        assert slot not in found, f"two {slot} recordings: the examples make one each"
        found[slot] = recorded_text(recording).strip()
    assert all(found.values()), f"an empty answer: {found}"
    return Answers(
        gemini=found[("gemini", False)],
        gemini_stream=found[("gemini", True)],
        openai=found[("openai", False)],
        openai_stream=found[("openai", True)],
    )


@pytest.fixture(scope="module")
def answers() -> Answers:
    return read_answers()


@pytest.fixture(scope="module")
def replay_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalaikProcess]:
    """localaik replaying a copy of the committed cassette (the copy takes the usage record)."""
    copy = tmp_path_factory.mktemp("examples-cassette") / "examples.db"
    shutil.copyfile(CASSETTE, copy)
    with LocalaikProcess({"LK_MODE": "replay"}, ["--cassette", str(copy)]) as server:
        yield server


def example_env(server: LocalaikProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV_PREFIXES)}
    env["LOCALAIK_URL"] = server.url
    return env


def run(
    command: list[str], server: LocalaikProcess, cwd: Path = ROOT, timeout: float = RUN_TIMEOUT
) -> str:
    """Run one example; its stdout. A failure shows the example's output and the server log."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=example_env(server),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}\nlocalaik log:\n{server.log()[-4000:]}"
    )
    return result.stdout


def assert_sdk_output(output: str, answers: Answers, family: str) -> None:
    """The lines every SDK example prints: one per call, the call's name then the answer."""
    if family == "gemini":
        expected = {
            "generateContent:": answers.gemini,
            "generateContentStream:": answers.gemini_stream,
        }
    else:
        expected = {
            "chat.completions:": answers.openai,
            "chat.completions stream:": answers.openai_stream,
        }
    for label, text in expected.items():
        assert f"{label} {text}" in output, (
            f"{label!r} with the recorded answer {text!r} not in:\n{output}"
        )


# -- the committed cassette ----------------------------------------------------------------------


def test_cassette_is_a_sound_self_contained_file(tmp_path: Path) -> None:
    """Read-only and alone in a folder (no -wal beside it), it still holds every recording."""
    alone = tmp_path / "examples.db"
    shutil.copyfile(CASSETTE, alone)
    cassette = store_for(alone, readonly=True)
    assert cassette.open()
    try:
        assert cassette.check() == []
        recordings = list(cassette.recordings())
    finally:
        cassette.close()
    assert sorted(os.listdir(tmp_path)) == ["examples.db"], "a read-only open wrote beside it"
    assert len(recordings) == 4
    assert CASSETTE.stat().st_size < 256 * 1024, "keep the examples' cassette small"


def test_every_recording_matches_its_key_and_holds_no_secret() -> None:
    for recording in committed_recordings():
        assert request_key(recording.request) == recording.key
        # Still the canonical form under today's rules: a normalisation change shows up here.
        request = json.loads(recording.request)
        again = canonical(
            ClientRequest(
                request["family"],
                request["operation"],
                request["model"],
                request["stream"],
                request["body"],
            )
        )
        assert canonical_json(again) == recording.request
        assert recording.status == 200
        assert locate_secret(recording) is None


def test_the_four_example_requests_are_recorded(answers: Answers) -> None:
    """One plain and one streamed answer per API: what every example asks."""
    assert answers.gemini and answers.gemini_stream and answers.openai and answers.openai_stream


def test_git_holds_the_cassette_without_its_sidecars() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "cassettes"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "cassettes/examples.db" in tracked
    for suffix in ("-wal", "-shm", "-journal"):
        assert f"cassettes/examples.db{suffix}" not in tracked
    assert not [name for name in tracked if "/.localaik/" in name]


# -- the examples, replayed ----------------------------------------------------------------------


def test_curl_script(replay_server: LocalaikProcess, answers: Answers) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not on PATH")
    output = run(["bash", str(EXAMPLES / "curl" / "examples.sh")], replay_server)
    sections: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("# "):
            current = line[2:]
            sections[current] = []
        elif line.strip():
            assert current is not None, output
            sections[current].append(line)

    gemini = json.loads("\n".join(sections["gemini generateContent"]))
    assert gemini["candidates"][0]["content"]["parts"][0]["text"].strip() == answers.gemini
    events = [
        json.loads(line[len("data: ") :])
        for line in sections["gemini streamGenerateContent"]
        if line.startswith("data: ")
    ]
    streamed = "".join(
        part.get("text", "")
        for event in events
        for part in event["candidates"][0]["content"].get("parts", [])
    )
    assert streamed.strip() == answers.gemini_stream

    openai = json.loads("\n".join(sections["openai chat.completions"]))
    assert openai["choices"][0]["message"]["content"].strip() == answers.openai
    chunks = [
        json.loads(line[len("data: ") :])
        for line in sections["openai chat.completions stream"]
        if line.startswith("data: ") and "[DONE]" not in line
    ]
    streamed = "".join(
        choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
    )
    assert streamed.strip() == answers.openai_stream


@pytest.mark.parametrize("family", ["gemini", "openai"])
def test_python_example(family: str, replay_server: LocalaikProcess, answers: Answers) -> None:
    script = EXAMPLES / "python" / f"{family}_example.py"
    assert_sdk_output(run([sys.executable, str(script)], replay_server), answers, family)


@pytest.mark.parametrize("family", ["gemini", "openai"])
def test_js_example(family: str, replay_server: LocalaikProcess, answers: Answers) -> None:
    js = EXAMPLES / "js"
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node.js 20+, then " + JS_HINT)
    for package in ("@google/genai", "openai"):
        if not (js / "node_modules" / package / "package.json").is_file():
            pytest.fail(JS_HINT)
    output = run(["node", f"{family}_example.mjs"], replay_server, cwd=js)
    assert_sdk_output(output, answers, family)


def prepared(command: list[str], cwd: Path, what: str) -> None:
    """Fetch a toolchain's SDKs; skip (with the tool's own first error) when they cannot be had."""
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    if result.returncode != 0:
        lines = ANSI.sub("", result.stderr + result.stdout).strip().splitlines()
        # Maven's first [ERROR] line, or Go's last line; its end says why (an unknown host…).
        why = next((line for line in lines if "[ERROR]" in line), lines[-1] if lines else "")
        pytest.skip(
            f"{what} cannot be fetched here: `{' '.join(command)}` says ...{why.strip()[-160:]}"
        )


@pytest.fixture(scope="module")
def go_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/go with its go.sum, or a skip when Go or its modules are missing."""
    if shutil.which("go") is None:
        pytest.skip("go is not on PATH: the Go examples run when it is")
    work = tmp_path_factory.mktemp("go") / "go"
    shutil.copytree(EXAMPLES / "go", work)
    prepared(["go", "mod", "tidy"], work, "the Go SDK modules")
    return work


# The first of these tests also sets up go_module: a fetch and a build, each up to BUILD_TIMEOUT.
@pytest.mark.timeout(2 * BUILD_TIMEOUT + 300)
@pytest.mark.parametrize("family", ["gemini", "openai"])
def test_go_example(
    family: str, go_module: Path, replay_server: LocalaikProcess, answers: Answers
) -> None:
    output = run(["go", "run", f"./{family}"], replay_server, cwd=go_module, timeout=BUILD_TIMEOUT)
    assert_sdk_output(output, answers, family)


@pytest.fixture(scope="module")
def java_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/java with its dependencies resolved, or a skip."""
    if shutil.which("mvn") is None or shutil.which("java") is None:
        pytest.skip("mvn and java are not on PATH: the Java examples run when they are")
    work = tmp_path_factory.mktemp("java") / "java"
    shutil.copytree(EXAMPLES / "java", work, ignore=shutil.ignore_patterns("target"))
    prepared(["mvn", "-B", "-q", "dependency:resolve"], work, "the Java SDKs")
    return work


# As test_go_example: java_project's fetch, then Maven's compile and run.
@pytest.mark.timeout(2 * BUILD_TIMEOUT + 300)
@pytest.mark.parametrize(
    "family,main", [("gemini", "examples.GeminiExample"), ("openai", "examples.OpenAIExample")]
)
def test_java_example(
    family: str, main: str, java_project: Path, replay_server: LocalaikProcess, answers: Answers
) -> None:
    output = run(
        ["mvn", "-B", "-q", "compile", "exec:java", f"-Dexec.mainClass={main}"],
        replay_server,
        cwd=java_project,
        timeout=BUILD_TIMEOUT,
    )
    assert_sdk_output(output, answers, family)


# -- the GitHub Actions workflow example -----------------------------------------------------------

# "Your tests" in the workflow: the SDKs configured by the job's environment alone, asking what
# the Python examples ask (so the examples' cassette answers).
WORKFLOW_TESTS = """
import sys
sys.path.insert(0, sys.argv[1])
import gemini_example, openai_example
from google import genai
from openai import OpenAI
client = genai.Client()  # kept in a name: a collected client closes its connections
gemini = client.models.generate_content(
    model=gemini_example.MODEL, contents=gemini_example.PROMPT, config=gemini_example.CONFIG)
print("gemini:", gemini.text)
chat = OpenAI().chat.completions.create(model=openai_example.MODEL,
    messages=openai_example.MESSAGES, max_tokens=openai_example.MAX_TOKENS)
print("openai:", chat.choices[0].message.content)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_group(pgid: int) -> None:
    """Stop the process group the workflow step left running (its background localaik)."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)


def test_github_actions_workflow_steps_replay(tmp_path: Path, answers: Answers) -> None:
    """The workflow's own start step and job environment, run as written (on a free port)."""
    yaml = pytest.importorskip("yaml")
    job = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())["jobs"]["test"]
    runs = [step.get("run", "") for step in job["steps"]]
    # not on a package index: installed from its git repository
    assert any(run.startswith('pip install "localaik @ git+') for run in runs)
    start = next(run for run in runs if "localaik serve --mode replay" in run)

    port = str(free_port())
    (tmp_path / "cassettes").mkdir()
    shutil.copyfile(CASSETTE, tmp_path / "cassettes" / "localaik.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV_PREFIXES)}
    env.update({name: str(value).replace("8090", port) for name, value in job["env"].items()})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = "true"
    env["LK_PORT"] = port  # the step relies on the default port, 8090; here a free one
    step = subprocess.Popen(
        ["bash", "-e", "-c", start.replace("8090", port)],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    try:
        assert step.wait(timeout=60) == 0, (tmp_path / "localaik.log").read_text()
        result = subprocess.run(
            [sys.executable, "-c", WORKFLOW_TESTS, str(EXAMPLES / "python")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    finally:
        stop_group(step.pid)
    log = (tmp_path / "localaik.log").read_text()
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\nlocalaik log:\n{log}"
    assert f"gemini: {answers.gemini}" in result.stdout
    assert f"openai: {answers.openai}" in result.stdout
    assert "replay miss" not in log


def yaml_block_after(heading: str) -> str:
    """The first ```yaml block in README.md after `heading`."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```yaml\n", readme.index(heading)) + len("```yaml\n")
    return readme[start : readme.index("```", start)]


def test_readme_shows_the_workflow_and_the_compose_file_as_they_are() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    assert yaml.safe_load(yaml_block_after("## GitHub Actions with pip")) == workflow
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert yaml.safe_load(yaml_block_after("### Docker Compose")) == compose
