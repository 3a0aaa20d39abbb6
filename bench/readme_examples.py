"""How long every README example takes against the bundled model, and whether it finishes.

    .venv/bin/python bench/readme_examples.py [--timeout 300]

Runs `localaik serve` in passthrough (every request reaches the model, nothing is stored) with
the bundled llama-server and the default model, twice: as localaik starts it now, and as it
did before the output cap and the repetition guard (`LK_MAX_OUTPUT_TOKENS=-1
LK_DRY_MULTIPLIER=0`), the baseline. Each example runs against both; the table shows its wall
time, exit status and output size. The examples: the README's curl and quick-start calls, and
every sample in `examples/` whose toolchain is here (Python, curl, Node; Go and Java when
installed). Needs `localaik runtime install` first. Figures from a busy 2-core machine are
noisy: the load average is printed with them and written to bench/results/readme_examples.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "readme_examples.json"
LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")
BEFORE = {"LK_MAX_OUTPUT_TOKENS": "-1", "LK_DRY_MULTIPLIER": "0"}

SAY_HI = '{"contents":[{"parts":[{"text":"Say hi"}]}]}'
QUICK_START = """
import os
from google import genai
from google.genai import types
url = os.environ["LOCALAIK_URL"]
client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=url))
answer = client.models.generate_content(model="gemini-2.5-flash", contents="Say hi")
assert answer.text
print(answer.text)
"""


def examples(url: str) -> list[tuple[str, list[str]]]:
    found = [
        (
            "README curl: Gemini generateContent 'Say hi'",
            ["curl", "-sf", f"{url}/v1beta/models/gemini-2.5-flash:generateContent",
             "-H", "Content-Type: application/json", "-d", SAY_HI],
        ),
        ("README quick start: the plugin test's call", [sys.executable, "-c", QUICK_START]),
        *(
            (f"examples/python/{name}", [sys.executable, f"examples/python/{name}"])
            for name in ("gemini_example.py", "openai_example.py")
        ),
        ("examples/curl/examples.sh", ["bash", "examples/curl/examples.sh"]),
    ]  # fmt: skip
    if shutil.which("node") and (ROOT / "examples" / "js" / "node_modules").is_dir():
        found += [
            (f"examples/js/{name}", ["node", f"examples/js/{name}"])
            for name in ("gemini_example.mjs", "openai_example.mjs")
        ]
    if shutil.which("go"):
        found += [
            (f"examples/go/{name}", ["go", "run", f"./{name}"]) for name in ("gemini", "openai")
        ]
    return found


def serve(extra: dict[str, str], folder: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LK_") or k == "LK_CACHE_DIR"}
    env.update(extra, LK_MODE="passthrough", LK_CASSETTE=str(folder / "unused.db"))
    log = folder / f"serve-{len(list(folder.iterdir()))}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "localaik", "serve", "--port", "0"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        match = LISTENING.search(log.read_text(errors="replace"))
        if match:
            try:
                if httpx.get(match.group(1) + "/health", timeout=5).status_code == 200:
                    return process, match.group(1), log
            except httpx.TransportError:
                pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"localaik did not become healthy:\n{log.read_text(errors='replace')}")


def run_all(extra: dict[str, str], folder: Path, timeout: float) -> dict[str, dict[str, Any]]:
    process, url, _ = serve(extra, folder)
    results: dict[str, dict[str, Any]] = {}
    try:
        for name, argv in examples(url):
            cwd = ROOT / "examples" / "go" if argv[0] == "go" else ROOT
            started = time.monotonic()
            try:
                done = subprocess.run(
                    argv,
                    cwd=cwd,
                    env={**os.environ, "LOCALAIK_URL": url},
                    capture_output=True,
                    timeout=timeout,
                )
                status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
                size = len(done.stdout)
            except subprocess.TimeoutExpired:
                status, size = f"not done in {timeout:g} s", 0
            results[name] = {
                "seconds": round(time.monotonic() - started, 1),
                "status": status,
                "output_bytes": size,
            }
            print(f"  {name:48} {results[name]['seconds']:7.1f} s  {status}", flush=True)
    finally:
        process.terminate()
        process.wait(30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per example")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lk-readme-") as tmp:
        print("now (cap 256 tokens, DRY 0.8):")
        now = run_all({}, Path(tmp), args.timeout)
        print("before (no cap, no repetition guard):")
        before = run_all(BEFORE, Path(tmp), args.timeout)
    print(f"\n{'example':48} {'now':>10} {'before':>18}")
    for name, figures in now.items():
        old = before.get(name, {})
        print(
            f"{name:48} {figures['seconds']:8.1f} s  {old.get('seconds', 0):8.1f} s "
            f"{'' if old.get('status') == 'ok' else old.get('status', '')}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "now": now,
                "before": before,
                "cores": os.cpu_count(),
                "load_before": load_before,
                "load_after": os.getloadavg(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"load average before {load_before}, after {os.getloadavg()}; written to {RESULTS}")


if __name__ == "__main__":
    main()
