"""Usage notes: what noting a served recording costs when the journal is full.

    .venv/bin/python -m bench.usage_notes [--runs 20] [--notes 1400]

A run notes each recording it serves once in the cassette's usage journal
(`localaik/cassette/usage.py`). The journal is filled as `--runs` runs of `--notes` recordings
each leave it (by default 20 runs of a 1,400-recording suite: the journal keeps the newest 20
runs), then a new run notes `--notes` recordings, timed one by one. The baseline is the same
run beside an empty journal. Before the journal was one file per run, a note rewrote the
whole usage file once it passed 4 MiB: 444 ms median per note at 20 x 1,400 on this machine
(801 ms in the report that found it), about 19 minutes per 1,400-recording run.

Targets: the median note ≤ 1.5× the baseline (constant time: the size of the journal does not
show); the run's first note, which forgets the runs beyond the newest 20, ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.report import Report, percentile
from localaik.cassette import usage


def fill(cassette: Path, runs: int, notes: int) -> None:
    for run in range(runs):
        log = usage.UsageLog(started=f"2026-01-01T00:{run // 60:02d}:{run % 60:02d}.000Z")
        for note in range(notes):
            log.used(cassette, f"{note:064x}", 0)


def timed_run(cassette: Path, notes: int) -> list[float]:
    """Milliseconds per note of a new run noting `notes` recordings."""
    log = usage.UsageLog()
    times = []
    for note in range(notes):
        started = time.perf_counter()
        log.used(cassette, f"{note:064x}", 0)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=usage.KEEP_RUNS)
    parser.add_argument("--notes", type=int, default=1400)
    options = parser.parse_args()
    report = Report("usage_notes")
    with tempfile.TemporaryDirectory(prefix="bench-usage-") as tmp:
        empty = timed_run(Path(tmp) / "empty.db", options.notes)
        full = Path(tmp) / "full.db"
        started = time.perf_counter()
        fill(full, options.runs, options.notes)
        report.details["fill_s"] = round(time.perf_counter() - started, 2)
        size = sum(p.stat().st_size for p in usage.usage_path(full).iterdir())
        report.details["journal_bytes"] = size
        times = timed_run(full, options.notes)
    later, base = statistics.median(times[1:]), statistics.median(empty[1:])
    report.add(
        f"note, median, journal of {options.runs} runs x {options.notes:,} notes",
        later,
        base,
        "ms",
        "≤ 1.5× empty journal",
        later <= 1.5 * base,
        note=f"p99 {percentile(times[1:], 99):.3f} ms; journal {size / 2**20:.1f} MiB; "
        f"a whole run of {options.notes:,} notes {sum(times):.0f} ms",
    )
    report.add(
        "first note of a run (forgets old runs)",
        times[0],
        empty[0],
        "ms",
        "≤ 20 ms",
        times[0] <= 20,
    )
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
