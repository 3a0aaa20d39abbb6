"""The live-path benchmark's original Go localaik (bench/original-localaik/): built offline by
the system's Go once per source, and answering the benchmark's routes through the no-op
upstream, so the benchmark compares like with like. Skipped without go or cc."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from bench import noop, original
from bench.live_routes import ROUTES
from localaik.wire.sse import EventParser

needs_go = pytest.mark.skipif(
    shutil.which("go") is None or shutil.which("cc") is None, reason="no go or no cc"
)


@needs_go
def test_the_original_builds_once_and_answers_every_route(tmp_path: Path) -> None:
    binary = original.build(original.SOURCE, tmp_path)
    assert binary.parent == tmp_path / "bench" and binary.stat().st_mode & 0o100
    stamp = binary.stat().st_mtime_ns
    assert original.build(original.SOURCE, tmp_path) == binary
    assert binary.stat().st_mtime_ns == stamp
    with (
        noop.upstream(6, 0, noop.build(noop.SOURCE, tmp_path)) as upstream,
        original.serve(upstream.url + "/v1", binary) as theirs,
        httpx.Client(base_url=theirs.url) as client,
    ):
        for route in ROUTES:
            body = route.json().replace(b"{unique}", b"1")
            headers = {"content-type": "application/json", **route.headers}
            for _ in range(3):  # one kept connection: every request read whole
                answer = client.post(route.path, content=body, headers=headers)
                assert answer.status_code == 200, (route.label, answer.text)
            if route.stream:
                assert answer.headers["content-type"].startswith("text/event-stream")
                assert len(EventParser().feed(answer.content)) >= 3, route.label
            else:
                assert "localaik noop" in answer.text, route.label


def test_no_go_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(original.BuildError, match=r"`go` is not on PATH.*golang-go") as failed:
        original.build(original.SOURCE, tmp_path)
    assert "\n" not in str(failed.value)


def test_a_source_that_does_not_build_is_one_line(tmp_path: Path) -> None:
    if shutil.which("go") is None:
        pytest.skip("no go")
    source = tmp_path / "src"
    shutil.copytree(original.SOURCE, source)
    main = source / "cmd" / "localaik" / "main.go"
    main.write_text(main.read_text() + "\nfunc broken( {\n")
    with pytest.raises(original.BuildError, match="go could not build") as failed:
        original.build(source, tmp_path)
    assert "\n" not in str(failed.value)
    assert not list((tmp_path / "bench").glob("original_localaik-*"))
