"""The table and JSON file every benchmark ends with.

Every figure is printed beside a baseline measured in the same run on the same machine, with
the ratio and the target (pass/fail), and written to bench/results/<name>.json with a note on
the machine (cores, load average before and after: a busy 2-core machine skews everything).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------------------------
# Servers


@dataclass
class Figure:
    """One line of a benchmark's table."""

    name: str
    value: float
    baseline: float | None
    unit: str
    target: str  # what passing means, in words ("≥ 0.6× baseline")
    passed: bool | None  # None: informational, no target
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return round(self.value / self.baseline, 2)


@dataclass
class Report:
    name: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    machine_before: dict[str, Any] = field(default_factory=machine)

    def add(self, *args: Any, **kwargs: Any) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        return figure

    def finish(self) -> bool:
        """Print the table, write the JSON; True when every target passed."""
        rows = [("figure", "value", "baseline", "ratio", "target", "")]
        for f in self.figures:
            rows.append(
                (
                    f.name,
                    f"{_num(f.value)} {f.unit}",
                    "-" if f.baseline is None else f"{_num(f.baseline)} {f.unit}",
                    "-" if f.ratio is None else f"{f.ratio:g}×",
                    f.target or "-",
                    {True: "pass", False: "FAIL", None: ""}[f.passed],
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        print(f"\n== {self.name} ==")
        for i, row in enumerate(rows):
            print(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
            if i == 0:
                print("  ".join("-" * width for width in widths))
        for f in self.figures:
            if f.note:
                print(f"  note: {f.name}: {f.note}")
        after = machine()
        print(
            f"  machine: {after['cpus']} cores, load average {self.machine_before['loadavg']}"
            f" before, {after['loadavg']} after"
        )
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        path.write_text(
            json.dumps(
                {
                    "benchmark": self.name,
                    "machine": {**self.machine_before, "loadavg_after": after["loadavg"]},
                    "figures": [{**asdict(f), "ratio": f.ratio} for f in self.figures],
                    "details": self.details,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"  written to {path.relative_to(ROOT)}")
        return all(f.passed is not False for f in self.figures)


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)
