"""Faults on recorded and live answers alike, never stored (D16), with the openai SDK: a stream
cut or ended by an error while it is recorded is still recorded whole; a status fault stores
nothing; in replay the fault applies to the recorded answer, and the SDK's retry gets it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

MODEL = "gpt-4o-mini"
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"  # nothing listens: a replay must not need it
TEXT = "one two three four five six seven"


def serve(mode: str, cassette: Path, upstream: str) -> LocalaikProcess:
    return LocalaikProcess({"LK_MODE": mode, "LK_CASSETTE": str(cassette), "LK_UPSTREAM": upstream})


def sdk(server: LocalaikProcess, fault: str | None = None, max_retries: int = 0) -> OpenAI:
    headers = {"X-Localaik-Fault": fault} if fault else {}
    return OpenAI(
        api_key="test",
        base_url=server.url + "/v1",
        max_retries=max_retries,
        default_headers=headers,
    )


def streamed(client: OpenAI, text: str) -> str:
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def asked(client: OpenAI, text: str) -> str:
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


@pytest.fixture()
def cassette(tmp_path: Path) -> Path:
    return tmp_path / "faults.db"


@pytest.fixture()
def recorder(cassette: Path, fake_llama: FakeLlama) -> Iterator[LocalaikProcess]:
    with serve("record", cassette, fake_llama.url + "/v1") as server:
        yield server


@pytest.mark.parametrize("fault", ["cut-after=2", "error-after=2"])
def test_a_faulted_stream_is_recorded_whole(
    recorder: LocalaikProcess, cassette: Path, fault: str
) -> None:
    with sdk(recorder, fault) as client, pytest.raises(openai.APIError):
        streamed(client, TEXT)
    recorder.stop()
    with serve("replay", cassette, DEAD_UPSTREAM) as replayer, sdk(replayer) as client:
        assert streamed(client, TEXT) == "Echo: " + TEXT


def test_a_status_fault_is_not_recorded(
    recorder: LocalaikProcess, cassette: Path, fake_llama: FakeLlama
) -> None:
    with sdk(recorder, "status=503") as client, pytest.raises(openai.InternalServerError):
        asked(client, "not stored")
    assert fake_llama.requests() == []
    with sdk(recorder) as client:
        assert asked(client, "stored") == "Echo: stored"
    recorder.stop()
    with serve("replay", cassette, DEAD_UPSTREAM) as replayer, sdk(replayer) as client:
        assert asked(client, "stored") == "Echo: stored"
        with pytest.raises(openai.NotFoundError):
            asked(client, "not stored")


def test_faults_apply_to_replayed_answers(recorder: LocalaikProcess, cassette: Path) -> None:
    with sdk(recorder) as client:
        assert streamed(client, TEXT) == "Echo: " + TEXT
        assert asked(client, "hello") == "Echo: hello"
    recorder.stop()
    with serve("replay", cassette, DEAD_UPSTREAM) as replayer:
        with sdk(replayer, "status=503; times=1; retry-after=0", max_retries=1) as client:
            assert asked(client, "hello") == "Echo: hello"
        with sdk(replayer, "status=429", max_retries=0) as client:
            with pytest.raises(openai.RateLimitError):
                asked(client, "hello")
        with sdk(replayer, "cut-after=2") as client, pytest.raises(openai.APIConnectionError):
            streamed(client, TEXT)
        with sdk(replayer) as client:  # the recording is unchanged
            assert streamed(client, TEXT) == "Echo: " + TEXT
            assert asked(client, "hello") == "Echo: hello"


def test_lk_faults_for_a_whole_run(cassette: Path, fake_llama: FakeLlama, tmp_path: Path) -> None:
    rules = tmp_path / "faults.txt"
    rules.write_text(
        "# every other chat request is rate limited\nstatus=429; every=2; family=openai\n"
    )
    with (
        LocalaikProcess({"LK_UPSTREAM": fake_llama.url + "/v1", "LK_FAULTS": str(rules)}) as server,
        sdk(server) as client,
    ):
        assert asked(client, "first") == "Echo: first"
        with pytest.raises(openai.RateLimitError):
            asked(client, "first")
        assert asked(client, "first") == "Echo: first"
        assert asked(client, "other") == "Echo: other"  # its own count


def test_a_bad_lk_faults_stops_the_server_naming_it(fake_llama: FakeLlama) -> None:
    with pytest.raises(RuntimeError, match="LK_FAULTS 'status=99'"):
        LocalaikProcess({"LK_UPSTREAM": fake_llama.url + "/v1", "LK_FAULTS": "status=99"})
