"""pytest-xdist in record mode with the bundled model: one llama-server for the session, against
one per worker (`--localaik-runtime-per-worker`, the way before), in the same run.

    .venv/bin/python -m bench.xdist_runtime [--tests 8] [--workers 2] [--max-tokens 24]

A throwaway project of N tests, each asking the bundled model one question through the openai
SDK (`max_tokens` bounds each answer) and writing the answer down, is run:

1. without xdist (the reference: one server, requests one after another);
2. `-n W --localaik-runtime-per-worker`, empty cassettes: every test records (the baseline);
3. `-n W`, empty cassettes: every test records through the shared llama-server;
4. and 5. the same two again with the cassettes of 2 and 3 in place: every request replays.

For each: wall time, how many llama-server processes the session started (the session's
descendants, sampled every 100 ms, so another program's llama-server does not count), and the
peak RSS of the session's whole process tree and of its llama-servers. The answers of 2 and 3
are compared with 1's: `-np 1` and no prompt cache should make them identical. Needs
`localaik runtime install`. A busy 2-core machine moves the times: the load average is
recorded with them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import clean_env
from bench.report import Report

PROMPTS = [
    "Name a colour.",
    "Name a fruit.",
    "Say hello.",
    "Count to three.",
    "Name an animal.",
    "Name a city.",
    "Say goodbye.",
    "Name a planet.",
]

TEST = """
import os
from pathlib import Path

from openai import OpenAI


def test_{index}(localaik):
    with OpenAI() as client:
        answer = client.chat.completions.create(
            model="localaik",
            messages=[{{"role": "user", "content": {prompt!r}}}],
            max_tokens={max_tokens},
        )
    text = answer.choices[0].message.content
    Path(os.environ["BENCH_ANSWERS"], "{index}.txt").write_text(text)
"""


@dataclass
class Session:
    """What one pytest session cost."""

    seconds: float
    llama_servers: int
    peak_rss_mib: float  # the whole process tree: pytest, its workers, llama-servers
    peak_llama_rss_mib: float
    answers: dict[str, str]
    passed: bool


def descendants(root: int) -> dict[int, tuple[str, int]]:
    """pid -> (command line, RSS in KiB) of `root` and every process below it."""
    table: dict[int, tuple[int, str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        rss = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
        table[int(entry.name)] = (ppid, cmdline, rss)
    found = {root}
    grew = True
    while grew:
        below = {pid for pid, (ppid, _, _) in table.items() if ppid in found} - found
        grew = bool(below)
        found |= below
    return {pid: (table[pid][1], table[pid][2]) for pid in found if pid in table}


def session(project: Path, answers: Path, *args: str) -> Session:
    for old in answers.glob("*.txt"):
        old.unlink()
    env = clean_env(BENCH_ANSWERS=str(answers))
    env.pop("CI", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    llama: set[int] = set()
    peaks = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree = descendants(process.pid)
            servers = {pid: rss for pid, (cmd, rss) in tree.items() if "llama-server" in cmd}
            llama.update(servers)
            peaks[0] = max(peaks[0], sum(rss for _, rss in tree.values()))
            peaks[1] = max(peaks[1], sum(servers.values()))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate(timeout=1800)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        print(output.decode(errors="replace")[-3000:], file=sys.stderr)
    return Session(
        seconds=round(seconds, 1),
        llama_servers=len(llama),
        peak_rss_mib=round(peaks[0] / 1024, 1),
        peak_llama_rss_mib=round(peaks[1] / 1024, 1),
        answers={p.stem: p.read_text() for p in sorted(answers.glob("*.txt"))},
        passed=process.returncode == 0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=24)
    options = parser.parse_args()
    report = Report("xdist_runtime")
    xdist = ("-n", str(options.workers))
    per_worker = (*xdist, "--localaik-runtime-per-worker")
    with tempfile.TemporaryDirectory(prefix="localaik-bench-") as folder:
        root = Path(folder)
        project, answers = root / "project", root / "answers"
        project.mkdir()
        answers.mkdir()
        for index in range(options.tests):
            prompt = PROMPTS[index % len(PROMPTS)] + (
                f" ({index})" if index >= len(PROMPTS) else ""
            )
            (project / f"test_{index}.py").write_text(
                TEST.format(index=index, prompt=prompt, max_tokens=options.max_tokens)
            )
        plan = {
            "sequential": ("c1",),
            "per_worker": ("c2", *per_worker),
            "shared": ("c3", *xdist),
            "per_worker_replaying": ("c2", *per_worker),  # the cassettes recorded above
            "shared_replaying": ("c3", *xdist),
        }
        runs: dict[str, Session] = {}
        for name, (cassettes, *args) in plan.items():
            print(f"{name}: pytest {' '.join(args)}", flush=True)
            runs[name] = session(
                project,
                answers,
                "--localaik-mode=record",
                f"--localaik-cassette-dir={cassettes}",
                *args,
            )
            run = runs[name]
            print(
                f"  {run.seconds} s, {run.llama_servers} llama-server(s), peak RSS "
                f"{run.peak_rss_mib} MiB (llama-servers {run.peak_llama_rss_mib} MiB), "
                f"{'passed' if run.passed else 'FAILED'}",
                flush=True,
            )
    before, after = runs["per_worker"], runs["shared"]
    w = options.workers
    report.add(
        f"llama-servers started, {options.tests} tests recording, -n {w}",
        after.llama_servers,
        before.llama_servers,
        "processes",
        "1",
        after.llama_servers == 1,
    )
    report.add(
        "llama-servers started, every request replaying (record mode)",
        runs["shared_replaying"].llama_servers,
        runs["per_worker_replaying"].llama_servers,
        "processes",
        "0",
        runs["shared_replaying"].llama_servers == 0,
    )
    report.add("wall time, recording", after.seconds, before.seconds, "s", "", None)
    report.add(
        "wall time, replaying",
        runs["shared_replaying"].seconds,
        runs["per_worker_replaying"].seconds,
        "s",
        "",
        None,
    )
    report.add(
        "peak RSS of the session, recording",
        after.peak_rss_mib,
        before.peak_rss_mib,
        "MiB",
        "",
        None,
    )
    report.add(
        "peak RSS of its llama-servers, recording",
        after.peak_llama_rss_mib,
        before.peak_llama_rss_mib,
        "MiB",
        "",
        None,
    )
    reference = runs["sequential"].answers
    same = sum(after.answers.get(k) == v for k, v in reference.items())
    same_before = sum(before.answers.get(k) == v for k, v in reference.items())
    report.add(
        "answers identical to a run without xdist",
        same,
        same_before,
        f"of {len(reference)}",
        f"all {options.tests}",
        same == options.tests == len(reference),
    )
    report.details = {
        "sessions": {name: vars(run) for name, run in runs.items()},
        "sequential_seconds": runs["sequential"].seconds,
    }
    ok = report.finish() and all(run.passed for run in runs.values())
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
