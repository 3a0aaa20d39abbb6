"""Record, then replay, with the official and unmodified SDKs against `localaik serve` (D3–D8).

The main scenario runs google-genai (v1 and v1beta, sync and async), openai (sync and async),
raw httpx streams and the JS SDKs (tests/js/record_replay.mjs) through a localaik in `record`
mode in front of its own fake llama-server. Then both are stopped, and the same scenario runs
twice against `replay` on the same cassette: once with an upstream where nothing listens,
once with a second fake as the upstream whose request log must stay empty. Every SDK result
(whole dumped objects, every stream chunk) must be identical to the recorded run; only the
HTTP `Date` header an SDK keeps beside the result is left out of the comparison.

The other tests each use their own cassette: misses, the `serve` flags and the CI default,
the `X-Localaik-Cassette` header, the modes, repeats, LK_IGNORE and recorded upstream errors.
Every server gets LK_MODE explicitly, except where the default itself is under test.
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from localaik.cassette.key import (
    ClientRequest,
    canonical,
    canonical_json,
    parse_ignore,
    request_key,
)
from localaik.cassette.recording import Summary
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.store import store_for
from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

GEMINI_MODEL = "gemini-2.5-flash"
OPENAI_MODEL = "gpt-4o-mini"
COMPLETION_MODEL = "gpt-3.5-turbo-instruct"
API_VERSIONS = ("v1", "v1beta")
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
HEADER = "X-Localaik-Cassette"
FOREIGN_ENV_PREFIXES = ("GOOGLE_", "GEMINI_", "OPENAI_", "LOCALAIK_")
JS_DIR = Path(__file__).resolve().parent.parent / "js"
JS_SCRIPT = JS_DIR / "record_replay.mjs"
SCRIPT_TIMEOUT = 60
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather for a city",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "days": types.Schema(type=types.Type.INTEGER),
        },
        required=["city"],
    ),
)
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}
GEMINI_CONFIG = dict(
    temperature=0.2, top_p=0.9, top_k=40, max_output_tokens=64, stop_sequences=["END"], seed=7
)

# The raw requests of the byte-identity checks (recorded in the main scenario).
RAW_GEMINI_PROMPT = "byte identity, gemini"
RAW_OPENAI_PROMPT = "byte identity, openai"


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


# ---------------------------------------------------------------------------------------------
# Helpers


def scrub(value: Any) -> Any:
    """`value` without the HTTP Date header (the one thing that must change between runs)."""
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "headers" and isinstance(item, dict):
            item = {k: v for k, v in item.items() if k.lower() != "date"}
        out[key] = scrub(item)
    return out


def dump(obj: BaseModel) -> Any:
    # warnings off: openai's ParsedChatCompletion types `parsed` loosely and pydantic warns
    return scrub(obj.model_dump(mode="json", warnings=False))


def failure(exc: BaseException) -> dict[str, Any]:
    """What an unexpected exception looked like, for a result that must be compared."""
    return {"raised": type(exc).__name__, "message": str(exc)[:3000]}


def is_failure(result: Any) -> bool:
    return isinstance(result, dict) and set(result) == {"raised", "message"}


def gemini_client(
    url: str,
    version: str = "v1beta",
    headers: dict[str, str] | None = None,
    retry: types.HttpRetryOptions | None = None,
) -> genai.Client:
    return genai.Client(
        api_key="test",
        http_options=types.HttpOptions(
            base_url=url, api_version=version, headers=headers, retry_options=retry
        ),
    )


def generate(
    url: str,
    contents: str,
    *,
    config: types.GenerateContentConfig | None = None,
    headers: dict[str, str] | None = None,
) -> types.GenerateContentResponse:
    """One generateContent through a client of its own (closed afterwards)."""
    client = gemini_client(url, headers=headers)
    try:
        return client.models.generate_content(model=GEMINI_MODEL, contents=contents, config=config)
    finally:
        client.close()


def openai_client(url: str, **kwargs: Any) -> OpenAI:
    kwargs.setdefault("max_retries", 0)
    return OpenAI(api_key="test", base_url=url + "/v1", **kwargs)


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def record_env(cassette: Path, upstream: str, **extra: str) -> dict[str, str]:
    return {"LK_MODE": "record", "LK_UPSTREAM": upstream, "LK_CASSETTE": str(cassette), **extra}


def replay_env(cassette: Path, upstream: str = DEAD_UPSTREAM, **extra: str) -> dict[str, str]:
    return {"LK_MODE": "replay", "LK_UPSTREAM": upstream, "LK_CASSETTE": str(cassette), **extra}


def summaries(path: Path) -> list[Summary]:
    """The recordings of a cassette file, read with the store's own sync API."""
    cassette = store_for(path)
    try:
        assert cassette.open(create=False), f"{path} does not exist"
        return cassette.summaries()
    finally:
        cassette.close()


def access_lines(server: LocalaikProcess, offset: int) -> list[str]:
    return [line for line in server.log()[offset:].splitlines() if "localaik.access" in line]


def settled_access_lines(server: LocalaikProcess, offset: int, at_least: int) -> list[str]:
    """Access-log lines after `offset`: a line is written just after its answer has ended, so
    wait for `at_least` of them, then a moment longer for any extra (a retry) to show up."""
    deadline = time.monotonic() + 3
    while len(access_lines(server, offset)) < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    return access_lines(server, offset)


def chat_requests(fake: FakeLlama) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["path"] == "/v1/chat/completions"]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def node_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV_PREFIXES)}
    env["LOCALAIK_URL"] = url
    return env


def run_js(url: str, mode: str) -> dict[str, Any]:
    """`node tests/js/record_replay.mjs MODE`; its one JSON line, or the failure."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node.js 20+, then `npm ci --prefix tests/js`")
    for package in ("@google/genai", "openai"):
        if not (JS_DIR / "node_modules" / package / "package.json").is_file():
            pytest.fail(
                f"the JavaScript SDKs are not installed: run `npm ci --prefix tests/js` "
                f"({package} is missing)"
            )
    done = subprocess.run(
        ["node", str(JS_SCRIPT), mode],
        env=node_env(url),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        return {"raised": "node", "message": f"exit {done.returncode}: {done.stderr[-3000:]}"}
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def weather_tool() -> tuple[Callable[[str], str], list[str]]:
    seen: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        seen.append(city)
        return f"Sunny in {city}"

    return get_weather, seen


class Serve(LocalaikProcess):
    """`localaik serve --port 0 ARGS` with exactly `environ` (LK_MODE is NOT added) in `cwd`."""

    def __init__(self, environ: dict[str, str], args: list[str], cwd: Path) -> None:
        self.log_path = Path(tempfile.mkstemp(prefix="localaik-", suffix=".log")[1])
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localaik", "serve", "--port", "0", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environ,
            cwd=cwd,
        )
        self.url = self._wait_listening()


def bare_environ(**extra: str) -> dict[str, str]:
    """The test's environment without any LK_* setting and without CI."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LK_", *FOREIGN_ENV_PREFIXES)) and k != "CI"
    }
    environ.update(extra)
    return environ


@pytest.fixture(scope="module", autouse=True)
def clean_env() -> Iterator[None]:
    """No GOOGLE_* / GEMINI_* / OPENAI_* variable of the developer's shell may steer an SDK."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(FOREIGN_ENV_PREFIXES):
                patch.delenv(name)
        yield


# ---------------------------------------------------------------------------------------------
# The main scenario: every result, keyed by step name


def gemini_prompt(version: str, what: str) -> str:
    return f"{what} ({version})"


def gemini_sync_steps(client: genai.Client, version: str) -> dict[str, Callable[[], Any]]:
    models = client.models
    say = lambda what: gemini_prompt(version, what)  # noqa: E731

    def structured() -> Any:
        response = models.generate_content(
            model=GEMINI_MODEL,
            contents=say("a person"),
            config=types.GenerateContentConfig(
                response_mime_type="application/json", response_schema=Person
            ),
        )
        assert isinstance(response.parsed, Person), response.parsed
        return {"response": dump(response), "parsed": response.parsed.model_dump()}

    def enum_output() -> Any:
        response = models.generate_content(
            model=GEMINI_MODEL,
            contents=say("a colour"),
            config=types.GenerateContentConfig(
                response_mime_type="text/x.enum", response_schema=Colour
            ),
        )
        return {"response": dump(response), "parsed": repr(response.parsed)}

    def afc() -> Any:
        get_weather, seen = weather_tool()
        response = models.generate_content(
            model=GEMINI_MODEL,
            contents=say("weather in Paris?"),
            config=types.GenerateContentConfig(tools=[get_weather]),
        )
        return {"response": dump(response), "calls": seen}

    return {
        "text": lambda: dump(models.generate_content(model=GEMINI_MODEL, contents=say("hello"))),
        "system": lambda: dump(
            models.generate_content(
                model=GEMINI_MODEL,
                contents=say("hello"),
                config=types.GenerateContentConfig(system_instruction="You are terse."),
            )
        ),
        "config": lambda: dump(
            models.generate_content(
                model=GEMINI_MODEL,
                contents=say("configured"),
                config=types.GenerateContentConfig(**GEMINI_CONFIG),
            )
        ),
        "structured": structured,
        "enum": enum_output,
        "function_call": lambda: dump(
            models.generate_content(
                model=GEMINI_MODEL,
                contents=say("weather in Oslo?"),
                config=types.GenerateContentConfig(
                    tools=[types.Tool(function_declarations=[WEATHER])],
                    automatic_function_calling=NO_AFC,
                ),
            )
        ),
        "afc": afc,
        "stream_text": lambda: [
            dump(chunk)
            for chunk in models.generate_content_stream(
                model=GEMINI_MODEL, contents=say("stream me please")
            )
        ],
        "stream_tools": lambda: [
            dump(chunk)
            for chunk in models.generate_content_stream(
                model=GEMINI_MODEL,
                contents=say("stream a call"),
                config=types.GenerateContentConfig(
                    tools=[types.Tool(function_declarations=[WEATHER])],
                    automatic_function_calling=NO_AFC,
                ),
            )
        ],
        "count_tokens": lambda: dump(
            models.count_tokens(model=GEMINI_MODEL, contents=say("one two three four"))
        ),
        "models_list": lambda: [dump(model) for model in models.list()],
        "models_get": lambda: dump(models.get(model=GEMINI_MODEL)),
    }


async def gemini_async_steps(url: str, version: str, results: dict[str, Any]) -> None:
    client = gemini_client(url, version)
    aio = client.aio
    say = lambda what: gemini_prompt(version, "async " + what)  # noqa: E731

    async def text() -> Any:
        return dump(await aio.models.generate_content(model=GEMINI_MODEL, contents=say("hello")))

    async def stream_text() -> Any:
        stream = await aio.models.generate_content_stream(
            model=GEMINI_MODEL, contents=say("stream")
        )
        return [dump(chunk) async for chunk in stream]

    async def stream_tools() -> Any:
        stream = await aio.models.generate_content_stream(
            model=GEMINI_MODEL,
            contents=say("stream a call"),
            config=types.GenerateContentConfig(
                tools=[types.Tool(function_declarations=[WEATHER])],
                automatic_function_calling=NO_AFC,
            ),
        )
        return [dump(chunk) async for chunk in stream]

    async def structured() -> Any:
        response = await aio.models.generate_content(
            model=GEMINI_MODEL,
            contents=say("a person"),
            config=types.GenerateContentConfig(
                response_mime_type="application/json", response_schema=Person
            ),
        )
        assert isinstance(response.parsed, Person), response.parsed
        return {"response": dump(response), "parsed": response.parsed.model_dump()}

    async def afc() -> Any:
        get_weather, seen = weather_tool()
        response = await aio.models.generate_content(
            model=GEMINI_MODEL,
            contents=say("weather in Rome?"),
            config=types.GenerateContentConfig(tools=[get_weather]),
        )
        return {"response": dump(response), "calls": seen}

    async def count_tokens() -> Any:
        return dump(await aio.models.count_tokens(model=GEMINI_MODEL, contents=say("a b c")))

    async def models_get() -> Any:
        return dump(await aio.models.get(model=GEMINI_MODEL))

    async def models_list() -> Any:
        return [dump(model) async for model in await aio.models.list()]

    steps = {
        "text": text,
        "stream_text": stream_text,
        "stream_tools": stream_tools,
        "structured": structured,
        "afc": afc,
        "count_tokens": count_tokens,
        "models_get": models_get,
        "models_list": models_list,
    }
    try:
        for name, step in steps.items():
            try:
                results[f"genai.{version}.aio.{name}"] = await step()
            except Exception as exc:  # noqa: BLE001 - compared, and reported by the step's test
                results[f"genai.{version}.aio.{name}"] = failure(exc)
    finally:
        await aio.aclose()
        client.close()


def openai_sync_steps(client: OpenAI) -> dict[str, Callable[[], Any]]:
    def parse() -> Any:
        answer = client.chat.completions.parse(
            model=OPENAI_MODEL, messages=user("Who is Ada?"), response_format=Person
        )
        parsed = answer.choices[0].message.parsed
        assert isinstance(parsed, Person), parsed
        return {"answer": dump(answer), "parsed": parsed.model_dump()}

    return {
        "chat": lambda: dump(
            client.chat.completions.create(model=OPENAI_MODEL, messages=user("Hello there"))
        ),
        "chat_options": lambda: dump(
            client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=user("Hello with options"),
                temperature=0.5,
                max_tokens=50,
                seed=3,
                n=2,
            )
        ),
        "stream": lambda: [
            dump(chunk)
            for chunk in client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=user("stream me please"),
                stream=True,
                stream_options={"include_usage": True},
            )
        ],
        "parse": parse,
        "tools": lambda: dump(
            client.chat.completions.create(
                model=OPENAI_MODEL, messages=user("Weather in Oslo?"), tools=[WEATHER_TOOL]
            )
        ),  # type: ignore[list-item]
        "stream_tools": lambda: [
            dump(chunk)
            for chunk in client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=user("Weather in Lima?"),
                tools=[WEATHER_TOOL],
                stream=True,
            )
        ],  # type: ignore[call-overload]
        "completions": lambda: dump(
            client.completions.create(model=COMPLETION_MODEL, prompt="Say this")
        ),
        "models_list": lambda: [dump(model) for model in client.models.list()],
        "models_retrieve": lambda: dump(client.models.retrieve(OPENAI_MODEL)),
    }


async def openai_async_steps(url: str, results: dict[str, Any]) -> None:
    async with AsyncOpenAI(api_key="test", base_url=url + "/v1", max_retries=0) as client:
        try:
            results["openai.aio.chat"] = dump(
                await client.chat.completions.create(model=OPENAI_MODEL, messages=user("async hi"))
            )
        except Exception as exc:  # noqa: BLE001
            results["openai.aio.chat"] = failure(exc)
        try:
            stream = await client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=user("async stream"),
                stream=True,
                stream_options={"include_usage": True},
            )
            results["openai.aio.stream"] = [dump(chunk) async for chunk in stream]
        except Exception as exc:  # noqa: BLE001
            results["openai.aio.stream"] = failure(exc)


def raw_gemini_url(url: str) -> str:
    return f"{url}/v1beta/models/{GEMINI_MODEL}:streamGenerateContent"


RAW_GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": RAW_GEMINI_PROMPT}]}]}
RAW_OPENAI_BODY = {
    "model": OPENAI_MODEL,
    "stream": True,
    "messages": [{"role": "user", "content": RAW_OPENAI_PROMPT}],
}


def raw_steps(url: str) -> dict[str, Callable[[], Any]]:
    """Raw HTTP: the exact bytes, status and content type a client receives."""

    def post(target: str, body: Any, **params: str) -> dict[str, Any]:
        response = httpx.post(target, params=params, json=body, timeout=20)
        return {
            "status": response.status_code,
            "content_type": response.headers.get("content-type"),
            "body": response.content.decode("utf-8", errors="replace"),
        }

    return {
        # sse first: it records; the JSON array must then come from that same recording
        "gemini_sse": lambda: post(raw_gemini_url(url), RAW_GEMINI_BODY, alt="sse"),
        "gemini_array": lambda: post(raw_gemini_url(url), RAW_GEMINI_BODY),
        "openai_sse": lambda: post(url + "/v1/chat/completions", RAW_OPENAI_BODY),
    }


def run_scenario(url: str) -> dict[str, Any]:
    """Every step of the scenario against the localaik at `url`; a failing step is a result
    too (compared like the others, and reported by that step's test)."""
    results: dict[str, Any] = {}

    def run(prefix: str, steps: dict[str, Callable[[], Any]]) -> None:
        for name, step in steps.items():
            try:
                results[f"{prefix}.{name}"] = step()
            except Exception as exc:  # noqa: BLE001
                results[f"{prefix}.{name}"] = failure(exc)

    for version in API_VERSIONS:
        client = gemini_client(url, version)
        try:
            run(f"genai.{version}", gemini_sync_steps(client, version))
        finally:
            client.close()

    async def async_side() -> None:
        for version in API_VERSIONS:
            await gemini_async_steps(url, version, results)
        await openai_async_steps(url, results)

    asyncio.run(async_side())
    with openai_client(url) as sdk:
        run("openai", openai_sync_steps(sdk))
    run("raw", raw_steps(url))
    js = run_js(url, "scenario")
    for name in JS_STEPS:
        results[f"js.{name}"] = js if is_failure(js) else scrub(js.get(name))
    return results


JS_STEPS = ("gemini.generate", "gemini.stream", "openai.chat", "openai.stream")
GEMINI_SYNC_STEPS = (
    "text",
    "system",
    "config",
    "structured",
    "enum",
    "function_call",
    "afc",
    "stream_text",
    "stream_tools",
    "count_tokens",
    "models_list",
    "models_get",
)
GEMINI_ASYNC_STEPS = (
    "text",
    "stream_text",
    "stream_tools",
    "structured",
    "afc",
    "count_tokens",
    "models_get",
    "models_list",
)
OPENAI_SYNC_STEPS = (
    "chat",
    "chat_options",
    "stream",
    "parse",
    "tools",
    "stream_tools",
    "completions",
    "models_list",
    "models_retrieve",
)
RAW_STEPS = ("gemini_sse", "gemini_array", "openai_sse")
STEPS = (
    [f"genai.{v}.{name}" for v in API_VERSIONS for name in GEMINI_SYNC_STEPS]
    + [f"genai.{v}.aio.{name}" for v in API_VERSIONS for name in GEMINI_ASYNC_STEPS]
    + [f"openai.{name}" for name in OPENAI_SYNC_STEPS]
    + ["openai.aio.chat", "openai.aio.stream"]
    + [f"raw.{name}" for name in RAW_STEPS]
    + [f"js.{name}" for name in JS_STEPS]
)


@dataclass
class Main:
    cassette: Path
    recorded: dict[str, Any]
    recorder_requests: list[dict[str, Any]]  # what the first fake received while recording
    recorder_stopped: bool
    replayed_dead: dict[str, Any]  # replay, upstream where nothing listens
    replayed_witness: dict[str, Any]  # replay, upstream a second fake
    replay: LocalaikProcess  # the second replay server, still running
    witness: FakeLlama  # its upstream: must never receive a request
    dead_server_log: str


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Main]:
    cassette = tmp_path_factory.mktemp("main") / "c.db"
    recorder = FakeLlama.start()
    try:
        with LocalaikProcess(record_env(cassette, recorder.url + "/v1")) as server:
            recorded = run_scenario(server.url)
        recorder_requests = recorder.requests()
    finally:
        recorder.stop()
    recorder_stopped = recorder.process.poll() is not None

    with LocalaikProcess(replay_env(cassette)) as dead:
        replayed_dead = run_scenario(dead.url)
    witness = FakeLlama.start()
    try:
        replay = LocalaikProcess(replay_env(cassette, witness.url + "/v1"))
    except BaseException:
        witness.stop()
        raise
    try:
        replayed_witness = run_scenario(replay.url)
        yield Main(
            cassette,
            recorded,
            recorder_requests,
            recorder_stopped,
            replayed_dead,
            replayed_witness,
            replay,
            witness,
            dead_server_log=dead.log(),
        )
    finally:
        replay.stop()
        witness.stop()


# ---------------------------------------------------------------------------------------------
# 1. Record then replay: identical results


def test_steps_are_all_run(main: Main) -> None:
    assert sorted(main.recorded) == sorted(STEPS)


@pytest.mark.parametrize("step", STEPS)
def test_replay_gives_the_recorded_result(main: Main, step: str) -> None:
    recorded = main.recorded[step]
    assert not is_failure(recorded), f"{step} failed while recording: {recorded}"
    assert main.replayed_dead[step] == recorded, f"{step}: replay (no upstream) differs"
    assert main.replayed_witness[step] == recorded, f"{step}: replay (witness upstream) differs"


def test_recorded_results_are_real_answers(main: Main) -> None:
    """The comparison above is only worth something if the recorded run really answered."""
    results = main.recorded
    for version in API_VERSIONS:
        text = results[f"genai.{version}.text"]
        assert (
            text["candidates"][0]["content"]["parts"][0]["text"]
            == f"Echo: {gemini_prompt(version, 'hello')}"
        )
        assert text["usage_metadata"]["total_token_count"] > 0
        assert text["response_id"]
        assert results[f"genai.{version}.structured"]["parsed"] == {
            "name": "text",
            "age": 1,
            "tags": ["text"],
        }
        assert results[f"genai.{version}.enum"]["parsed"] == repr(Colour.RED)
        assert results[f"genai.{version}.afc"]["calls"] == ["text"]
        afc_text = results[f"genai.{version}.afc"]["response"]["candidates"][0]["content"]
        assert afc_text["parts"][0]["text"].startswith("Tool said: ")
        call = results[f"genai.{version}.function_call"]["candidates"][0]["content"]["parts"][0]
        assert call["function_call"]["name"] == "get_weather"
        assert len(results[f"genai.{version}.stream_text"]) > 2
        tool_calls = [
            part["function_call"]["name"]
            for chunk in results[f"genai.{version}.stream_tools"]
            for part in (chunk["candidates"] or [{}])[0].get("content", {}).get("parts") or []
            if part.get("function_call")
        ]
        assert tool_calls == ["get_weather"], tool_calls
        assert results[f"genai.{version}.count_tokens"]["total_tokens"] == 5
        assert "models/fake-model" in [m["name"] for m in results[f"genai.{version}.models_list"]]
        assert results[f"genai.{version}.aio.afc"]["calls"] == ["text"]
    stream = results["openai.stream"]
    assert stream[-1]["choices"] == [] and stream[-1]["usage"]["total_tokens"] > 0
    assert results["openai.parse"]["parsed"] == {"name": "text", "age": 1, "tags": ["text"]}
    assert results["openai.tools"]["choices"][0]["message"]["tool_calls"][0]["id"]
    assert results["openai.completions"]["choices"][0]["text"] == "Echo: Say this"
    assert results["openai.models_retrieve"]["id"] == OPENAI_MODEL
    assert results["raw.gemini_sse"]["status"] == 200
    assert results["raw.gemini_sse"]["content_type"].startswith("text/event-stream")
    assert results["raw.gemini_array"]["content_type"].startswith("application/json")
    assert results["raw.openai_sse"]["body"].rstrip().endswith("data: [DONE]")
    assert (
        results["js.gemini.generate"]["candidates"][0]["content"]["parts"][0]["text"]
        == "[sys] Echo: Hello from JS record"
    )
    assert len(results["js.openai.stream"]) > 2
    assert results["js.openai.stream"][-1]["usage"]["total_tokens"] > 0


def test_every_upstream_call_was_recorded_once(main: Main) -> None:
    """While recording, an upstream call happens only on a miss, and each one is stored."""
    recordings = summaries(main.cassette)
    assert len(main.recorder_requests) == len(recordings)
    assert len({(s.key, s.ordinal) for s in recordings}) == len(recordings)
    assert {s.ordinal for s in recordings} == {0}


def test_replay_never_reached_an_upstream(main: Main) -> None:
    assert main.recorder_stopped, "the recording fake must be stopped during replay"
    assert main.witness.requests() == []
    assert "not used" in main.dead_server_log
    health = main.replay.get("/health")
    assert health.status_code == 200
    assert health.json()["mode"] == "replay"
    assert "upstream" not in health.json()  # replay shows none: it uses none


# ---------------------------------------------------------------------------------------------
# 2. Byte identity


@pytest.mark.parametrize("form", ["gemini_sse", "gemini_array", "openai_sse"])
def test_replayed_bytes_are_identical_twice(main: Main, form: str) -> None:
    step = raw_steps(main.replay.url)[form]
    first, second = step(), step()
    assert first["status"] == 200
    assert first == second
    assert first == main.recorded[f"raw.{form}"]
    assert main.witness.requests() == []


def test_gemini_sse_and_json_array_share_one_recording(main: Main) -> None:
    recordings = [s for s in summaries(main.cassette) if RAW_GEMINI_PROMPT in s.request]
    assert len(recordings) == 1, recordings
    assert recordings[0].stream and recordings[0].operation == "generateContent"
    forwarded = [
        r for r in main.recorder_requests if RAW_GEMINI_PROMPT in json.dumps(r.get("body"))
    ]
    assert len(forwarded) == 1  # the array form was a hit even while recording

    sse = main.recorded["raw.gemini_sse"]["body"]
    events = [
        json.loads(frame.removeprefix("data: ")) for frame in sse.split("\r\n\r\n") if frame.strip()
    ]
    assert json.loads(main.recorded["raw.gemini_array"]["body"]) == events


# ---------------------------------------------------------------------------------------------
# 3. Misses


def assert_names_the_miss(message: str, cassette: Path, path: str) -> None:
    assert "replay miss" in message
    assert str(cassette) in message
    assert re.search(r"mode:\s+replay", message), message
    assert path in message, message


def test_gemini_miss_on_changed_text(main: Main) -> None:
    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.01)  # retries on: 404 is not one
    offset = len(main.replay.log())
    with (
        gemini_client(main.replay.url, "v1beta", retry=retry) as client,
        pytest.raises(errors.ClientError) as caught,
    ):
        client.models.generate_content(
            model=GEMINI_MODEL, contents=gemini_prompt("v1beta", "hello") + "!"
        )
    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"
    assert_names_the_miss(caught.value.message or "", main.cassette, "contents[0].parts[0].text")
    lines = settled_access_lines(main.replay, offset, 1)
    assert len(lines) == 1 and " 404 " in lines[0], lines
    assert main.witness.requests() == []


def test_gemini_miss_on_changed_config(main: Main) -> None:
    offset = len(main.replay.log())
    with (
        gemini_client(main.replay.url, "v1") as client,
        pytest.raises(errors.ClientError) as caught,
    ):
        client.models.generate_content(
            model=GEMINI_MODEL,
            contents=gemini_prompt("v1", "configured"),
            config=types.GenerateContentConfig(**{**GEMINI_CONFIG, "temperature": 0.3}),
        )
    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"
    assert_names_the_miss(caught.value.message or "", main.cassette, "generationConfig.temperature")
    assert len(settled_access_lines(main.replay, offset, 1)) == 1
    assert main.witness.requests() == []


async def test_gemini_async_stream_miss(main: Main) -> None:
    client = gemini_client(main.replay.url, "v1beta")
    offset = len(main.replay.log())
    try:
        with pytest.raises(errors.ClientError) as caught:
            stream = await client.aio.models.generate_content_stream(
                model=GEMINI_MODEL, contents=gemini_prompt("v1beta", "async stream?")
            )
            async for _ in stream:
                pass
    finally:
        await client.aio.aclose()
        client.close()
    assert caught.value.code == 404
    assert_names_the_miss(caught.value.message or "", main.cassette, "contents[0].parts[0].text")
    assert len(settled_access_lines(main.replay, offset, 1)) == 1


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"messages": user("Hello there!")}, "messages[0].content"),
        ({"temperature": 0.3}, "temperature"),
    ],
)
def test_openai_miss_is_not_found_and_not_retried(
    main: Main, change: dict[str, Any], path: str
) -> None:
    client = OpenAI(api_key="test", base_url=main.replay.url + "/v1")  # default max_retries=2
    assert client.max_retries == 2
    offset = len(main.replay.log())
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            **{"model": OPENAI_MODEL, "messages": user("Hello there"), **change}
        )
    assert caught.value.status_code == 404
    body = caught.value.body
    assert isinstance(body, dict)
    assert_names_the_miss(str(body.get("message")), main.cassette, path)
    lines = settled_access_lines(main.replay, offset, 1)
    assert len(lines) == 1 and "POST /v1/chat/completions 404" in lines[0], lines
    assert main.witness.requests() == []


def test_openai_stream_miss_raises_before_any_chunk(main: Main) -> None:
    client = OpenAI(api_key="test", base_url=main.replay.url + "/v1")
    offset = len(main.replay.log())
    with pytest.raises(openai.NotFoundError) as caught:
        for _ in client.chat.completions.create(
            model=OPENAI_MODEL, stream=True, messages=user("stream me please!")
        ):
            pass
    assert_names_the_miss(
        str(caught.value.body.get("message")),  # type: ignore[union-attr]
        main.cassette,
        "messages[0].content",
    )
    assert len(settled_access_lines(main.replay, offset, 1)) == 1


def test_js_sdks_raise_on_a_miss_after_one_request(main: Main) -> None:
    offset = len(main.replay.log())
    result = run_js(main.replay.url, "miss")
    assert not is_failure(result), result
    for family in ("gemini", "openai"):
        outcome = result[family]
        assert outcome["raised"] is True, outcome
        assert outcome["status"] == 404, outcome
        assert "replay miss" in outcome["message"]
        assert (
            "messages[0].content" in outcome["message"]
            or "contents[0].parts[0].text" in outcome["message"]
        )
    lines = settled_access_lines(main.replay, offset, 2)
    assert [line.split()[1:5] for line in lines] == [
        ["gemini", "POST", f"/v1beta/models/{GEMINI_MODEL}:generateContent", "404"],
        ["openai", "POST", "/v1/chat/completions", "404"],
    ]
    assert main.witness.requests() == []


# ---------------------------------------------------------------------------------------------
# 4. `serve --mode replay` and the CI default


def test_serve_mode_flag_replays_with_no_model_and_no_network(main: Main, tmp_path: Path) -> None:
    environ = bare_environ(LK_UPSTREAM=DEAD_UPSTREAM)
    with Serve(environ, ["--mode", "replay", "--cassette", str(main.cassette)], tmp_path) as server:
        health = server.get("/health")
        assert health.status_code == 200
        assert health.json()["mode"] == "replay"
        assert health.json()["cassette"] == str(main.cassette)
        answer = generate(server.url, gemini_prompt("v1beta", "hello"))
        assert dump(answer) == main.recorded["genai.v1beta.text"]
        with openai_client(server.url) as oclient:
            chat = oclient.chat.completions.create(model=OPENAI_MODEL, messages=user("Hello there"))
        assert dump(chat) == main.recorded["openai.chat"]
    assert "mode replay" in server.log()
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(("ci", "mode"), [("true", "replay"), (None, "record")])
def test_default_mode_follows_ci(
    tmp_path: Path, fake_llama: FakeLlama, ci: str | None, mode: str
) -> None:
    environ = bare_environ(LK_UPSTREAM=fake_llama.url + "/v1")
    if ci is not None:
        environ["CI"] = ci
    # The committed cassette (replay refuses to start without one).
    committed = SQLiteStore(tmp_path / "cassettes" / "localaik.db")
    committed.open(create=True)
    committed.close()
    with Serve(environ, [], tmp_path) as server:
        health = server.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["mode"] == mode
    assert health.json()["cassette"] == str(Path("cassettes/localaik.db"))
    assert f"mode {mode}" in server.log()


# ---------------------------------------------------------------------------------------------
# 5. The cassette chosen by header


def test_cassette_header_records_into_its_own_file_and_replays(
    tmp_path: Path, fake_llama: FakeLlama
) -> None:
    folder = tmp_path / "cassettes"
    default = folder / "default.db"
    team = folder / "team-a.db"
    with LocalaikProcess(record_env(default, fake_llama.url + "/v1")) as server:
        assert not team.exists()
        recorded_gemini = dump(generate(server.url, "for team a", headers={HEADER: "team-a"}))
        assert team.is_file()
        with openai_client(server.url, default_headers={HEADER: "team-a"}) as oclient:
            recorded_openai = dump(
                oclient.chat.completions.create(model=OPENAI_MODEL, messages=user("for team a"))
            )
    assert not default.exists()
    assert sorted((s.family, s.operation) for s in summaries(team)) == [
        ("gemini", "generateContent"),
        ("openai", "chat.completions"),
    ]
    assert len(chat_requests(fake_llama)) == 2

    with LocalaikProcess(replay_env(default)) as server:
        assert (
            dump(generate(server.url, "for team a", headers={HEADER: "team-a"})) == recorded_gemini
        )
        with openai_client(server.url, default_headers={HEADER: "team-a"}) as oclient:
            assert (
                dump(
                    oclient.chat.completions.create(model=OPENAI_MODEL, messages=user("for team a"))
                )
                == recorded_openai
            )
        with pytest.raises(errors.ClientError) as caught:  # no header: the default cassette
            generate(server.url, "for team a")
    assert caught.value.code == 404
    assert str(default) in (caught.value.message or "")
    assert not default.exists()


@pytest.fixture(scope="module")
def header_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("header") / "cassettes"


@pytest.fixture(scope="module")
def header_server(header_folder: Path, fake_llama_process: FakeLlama) -> Iterator[LocalaikProcess]:
    with LocalaikProcess(
        record_env(header_folder / "default.db", fake_llama_process.url + "/v1")
    ) as server:
        yield server


@pytest.mark.parametrize("name", ["../team-a", "team/a", "team a", "..", "a..b", "/abs"])
def test_invalid_cassette_name_is_400_and_creates_nothing(
    header_server: LocalaikProcess, header_folder: Path, fake_llama: FakeLlama, name: str
) -> None:
    root = header_folder.parent
    before = files_under(root)
    with pytest.raises(errors.ClientError) as caught:
        generate(header_server.url, "bad name", headers={HEADER: name})
    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    assert HEADER in (caught.value.message or "")
    with openai_client(header_server.url, default_headers={HEADER: name}) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model=OPENAI_MODEL, messages=user("bad name"))
    assert refused.value.status_code == 400
    assert HEADER in str(refused.value.body.get("message"))  # type: ignore[union-attr]
    assert files_under(root) == before
    assert not Path("/abs.db").exists()
    assert fake_llama.requests() == []


# ---------------------------------------------------------------------------------------------
# 6. Modes and repeats


def test_refresh_forwards_on_a_hit_and_overwrites(tmp_path: Path, fake_llama: FakeLlama) -> None:
    cassette = tmp_path / "refresh.db"
    env = {
        "LK_MODE": "refresh",
        "LK_UPSTREAM": fake_llama.url + "/v1",
        "LK_CASSETTE": str(cassette),
    }
    with (
        LocalaikProcess(env) as server,
        openai_client(server.url) as client,
        gemini_client(server.url) as gemini,
    ):
        first = client.chat.completions.create(model=OPENAI_MODEL, messages=user("refresh me"))
        first_g = gemini.models.generate_content(model=GEMINI_MODEL, contents="refresh me")
        second = client.chat.completions.create(model=OPENAI_MODEL, messages=user("refresh me"))
        second_g = gemini.models.generate_content(model=GEMINI_MODEL, contents="refresh me")
    assert len(chat_requests(fake_llama)) == 4  # every request forwarded, hits included
    assert first.id != second.id
    assert first_g.response_id != second_g.response_id
    recordings = summaries(cassette)
    assert len(recordings) == 2 and {s.ordinal for s in recordings} == {0}

    with LocalaikProcess(replay_env(cassette)) as server, openai_client(server.url) as client:
        replayed = client.chat.completions.create(model=OPENAI_MODEL, messages=user("refresh me"))
        replayed_g = generate(server.url, "refresh me")
    assert dump(replayed) == dump(second)
    assert replayed_g.response_id == second_g.response_id
    assert dump(replayed_g) == dump(second_g)


def test_passthrough_stores_nothing(tmp_path: Path, fake_llama: FakeLlama) -> None:
    folder = tmp_path / "cassettes"
    env = {
        "LK_MODE": "passthrough",
        "LK_UPSTREAM": fake_llama.url + "/v1",
        "LK_CASSETTE": str(folder / "c.db"),
    }
    with LocalaikProcess(env) as server, openai_client(server.url) as client:
        for _ in range(2):
            client.chat.completions.create(model=OPENAI_MODEL, messages=user("pass me"))
            list(
                client.chat.completions.create(
                    model=OPENAI_MODEL, messages=user("pass me"), stream=True
                )
            )
            generate(server.url, "pass me")
    assert len(chat_requests(fake_llama)) == 6
    cassette = folder / "c.db"
    assert not cassette.exists() or summaries(cassette) == []


@pytest.fixture(scope="module")
def sequence_cassette(
    tmp_path_factory: pytest.TempPathFactory, fake_llama_process: FakeLlama
) -> tuple[Path, list[str], list[str]]:
    """Three identical Gemini and three identical OpenAI requests, recorded in sequence."""
    fake_llama = fake_llama_process
    fake_llama.reset()
    cassette = tmp_path_factory.mktemp("sequence") / "sequence.db"
    env = record_env(cassette, fake_llama.url + "/v1", LK_REPEATS="sequence")
    with (
        LocalaikProcess(env) as server,
        openai_client(server.url) as client,
        gemini_client(server.url) as gemini,
    ):
        gemini_ids = [
            gemini.models.generate_content(model=GEMINI_MODEL, contents="again").response_id or ""
            for _ in range(3)
        ]
        openai_ids = [
            client.chat.completions.create(model=OPENAI_MODEL, messages=user("again")).id
            for _ in range(3)
        ]
    assert len(set(gemini_ids)) == 3 and len(set(openai_ids)) == 3
    assert len(chat_requests(fake_llama)) == 6
    assert sorted(s.ordinal for s in summaries(cassette)) == [0, 0, 1, 1, 2, 2]
    return cassette, gemini_ids, openai_ids


@pytest.mark.parametrize("repeats", ["sequence", "first"])
def test_repeats_replay(sequence_cassette: tuple[Path, list[str], list[str]], repeats: str) -> None:
    cassette, gemini_ids, openai_ids = sequence_cassette
    with (
        LocalaikProcess(replay_env(cassette, LK_REPEATS=repeats)) as server,
        openai_client(server.url) as client,
        gemini_client(server.url) as gemini,
    ):
        replayed_gemini = [
            gemini.models.generate_content(model=GEMINI_MODEL, contents="again").response_id
            for _ in range(5)
        ]
        replayed_openai = [
            client.chat.completions.create(model=OPENAI_MODEL, messages=user("again")).id
            for _ in range(5)
        ]
    if repeats == "sequence":  # in order, then the last one repeats
        assert replayed_gemini == gemini_ids + [gemini_ids[-1]] * 2
        assert replayed_openai == openai_ids + [openai_ids[-1]] * 2
    else:
        assert replayed_gemini == [gemini_ids[0]] * 5
        assert replayed_openai == [openai_ids[0]] * 5


# ---------------------------------------------------------------------------------------------
# 7. LK_IGNORE


IGNORE = "generationConfig.seed, seed, metadata"


def test_ignored_fields_leave_the_key(tmp_path: Path, fake_llama: FakeLlama) -> None:
    cassette = tmp_path / "ignore.db"
    gemini_config = types.GenerateContentConfig(temperature=0.5, seed=1)
    with (
        LocalaikProcess(record_env(cassette, fake_llama.url + "/v1", LK_IGNORE=IGNORE)) as server,
        openai_client(server.url) as client,
    ):
        recorded_g = dump(generate(server.url, "seeded", config=gemini_config))
        recorded_o = dump(
            client.chat.completions.create(
                model=OPENAI_MODEL, messages=user("seeded"), seed=1, metadata={"run": "1"}
            )
        )

    with (
        LocalaikProcess(replay_env(cassette, LK_IGNORE=IGNORE)) as server,
        openai_client(server.url) as client,
        gemini_client(server.url) as gemini,
    ):
        replayed_g = dump(
            gemini.models.generate_content(
                model=GEMINI_MODEL,
                contents="seeded",
                config=types.GenerateContentConfig(temperature=0.5, seed=2),
            )
        )
        replayed_o = dump(
            client.chat.completions.create(
                model=OPENAI_MODEL, messages=user("seeded"), seed=2, metadata={"run": "2"}
            )
        )
        with pytest.raises(errors.ClientError) as caught:  # a field not ignored still counts
            gemini.models.generate_content(
                model=GEMINI_MODEL,
                contents="seeded",
                config=types.GenerateContentConfig(temperature=0.6, seed=1),
            )
    assert replayed_g == recorded_g
    assert replayed_o == recorded_o
    assert caught.value.code == 404
    assert "generationConfig.temperature" in (caught.value.message or "")


def test_without_the_rule_the_seed_is_in_the_key() -> None:
    """The control for the test above: the seeds only match because of LK_IGNORE."""

    def key(seed: int, rules: str) -> str:
        request = ClientRequest(
            "gemini",
            "generateContent",
            GEMINI_MODEL,
            False,
            {
                "contents": [{"role": "user", "parts": [{"text": "seeded"}]}],
                "generationConfig": {"temperature": 0.5, "seed": seed},
            },
        )
        return request_key(canonical_json(canonical(request, parse_ignore(rules))))

    assert key(1, "") != key(2, "")
    assert key(1, IGNORE) == key(2, IGNORE)


# ---------------------------------------------------------------------------------------------
# 8. Upstream errors: 4xx recorded and replayed, 5xx never recorded


def test_upstream_4xx_is_replayed_and_5xx_is_not_recorded(
    tmp_path: Path, fake_llama: FakeLlama
) -> None:
    cassette = tmp_path / "errors.db"

    def provoke(url: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with openai_client(url) as client, gemini_client(url) as gemini:
            for code in (400, 500):
                with pytest.raises(errors.APIError) as g:
                    gemini.models.generate_content(
                        model=GEMINI_MODEL, contents=f"bad [[error:{code}]]"
                    )
                with pytest.raises(openai.APIStatusError) as o:
                    client.chat.completions.create(
                        model=OPENAI_MODEL, messages=user(f"bad [[error:{code}]]")
                    )
                out[f"gemini {code}"] = (
                    type(g.value).__name__,
                    g.value.code,
                    g.value.status,
                    g.value.message,
                )
                out[f"openai {code}"] = (type(o.value).__name__, o.value.status_code, o.value.body)
        return out

    with LocalaikProcess(record_env(cassette, fake_llama.url + "/v1")) as server:
        recorded = provoke(server.url)
    assert recorded["gemini 400"][:3] == ("ClientError", 400, "INVALID_ARGUMENT")
    assert recorded["openai 400"][:2] == ("BadRequestError", 400)
    assert recorded["gemini 500"][:2] == ("ServerError", 500)
    assert recorded["openai 500"][:2] == ("InternalServerError", 500)
    assert len(chat_requests(fake_llama)) == 4
    stored = summaries(cassette)
    assert len(stored) == 2 and all("error:400" in s.request for s in stored)

    with LocalaikProcess(replay_env(cassette)) as server:
        replayed = provoke(server.url)
    assert replayed["gemini 400"] == recorded["gemini 400"]
    assert replayed["openai 400"] == recorded["openai 400"]
    assert replayed["gemini 500"][:3] == ("ClientError", 404, "NOT_FOUND")
    assert "replay miss" in replayed["gemini 500"][3]
    assert replayed["openai 500"][:2] == ("NotFoundError", 404)
