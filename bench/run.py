"""`make bench`: every benchmark in turn, each in its own process, then what missed its target.

    .venv/bin/python -m bench.run [NAME ...]

Names: replay_hit, stream_replay, live_path, upstream_clients, lookup_scaling, cold_start,
record_overhead, secret_scan, usage_notes, live_runtime, xdist_runtime (the default is all but
the last two, which need the bundled runtime; live_path and upstream_clients need cc and wrk,
which `make bench` installs). Each
prints its table and writes bench/results/NAME.json. A benchmark that missed a target exits 1;
one that broke, 2 or more: this runner goes on to the next either way, and exits non-zero only
when one broke.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import ROOT
from bench.report import RESULTS

DEFAULT = [
    "replay_hit",
    "stream_replay",
    "live_path",
    "upstream_clients",
    "lookup_scaling",
    "cold_start",
    "record_overhead",
    "secret_scan",
    "usage_notes",
]
KNOWN = [*DEFAULT, "live_runtime", "xdist_runtime"]


def main() -> None:
    names = sys.argv[1:] or DEFAULT
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise SystemExit(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(KNOWN)}")
    broken, missed = [], []
    for name in names:
        print(f"\n### bench/{name}.py", flush=True)
        done = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT)
        if done.returncode > 1 or done.returncode < 0:
            broken.append(name)
            continue
        result = RESULTS / f"{name}.json"
        if done.returncode == 1 and result.exists():
            figures = json.loads(result.read_text()).get("figures", [])
            missed += [
                f"{name}: {f['name']} ({f['value']} {f['unit']}, target {f['target']})"
                for f in figures
                if f.get("passed") is False
            ]
    print("\n### summary")
    print("targets not met:" if missed else "every target met")
    for line in missed:
        print(f"  {line}")
    if broken:
        print(f"benchmarks that failed to run: {', '.join(broken)}")
        raise SystemExit(2)


if __name__ == "__main__":
    main()
