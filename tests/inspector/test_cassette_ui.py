"""`localaik cassette ui`: the inspector alone, on loopback, printing its URL; no API beside it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import clean_environ

URL = re.compile(r"localaik inspector on (http://127\.0\.0\.1:\d+/_localaik/)")


def test_ui_serves_the_cassettes_of_a_folder_alone(recorded_cassette: Path, tmp_path: Path) -> None:
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localaik",
                "cassette",
                "ui",
                str(recorded_cassette.parent),
                "--port",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_environ(),
        )
    try:
        deadline = time.monotonic() + 20
        while not (found := URL.search(log.read_text())) and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
        assert found, log.read_text()
        url = found.group(1)
        page = httpx.get(url)
        assert page.status_code == 200 and "recorded.db: 4 of 4 recordings" in page.text
        assert "This run" not in page.text  # no run to show
        assert "content-security-policy" in page.headers
        base = url.removesuffix("/_localaik/")
        assert httpx.post(base + "/v1/chat/completions", json={}).status_code == 404
        assert httpx.get(url + "run").status_code == 404
    finally:
        process.terminate()
        process.wait(10)


def test_ui_refuses_paths_that_name_no_cassette(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localaik", "cassette", "ui", str(tmp_path / "missing.db")],
        capture_output=True,
        text=True,
        env=clean_environ(),
        timeout=30,
    )
    assert done.returncode == 2
    assert "missing.db" in done.stderr and "Traceback" not in done.stderr
