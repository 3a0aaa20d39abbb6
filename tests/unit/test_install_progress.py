"""What an install says while it works: the build's output read into counts, the steps numbered,
a counter in place on a terminal and once a tenth in a log; and when a kept build tree may be
built on (its stamp)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.runtime.buildtree import STAMP, BuildTree, can_resume
from localaik.runtime.progress import BuildCounter, Count, Report, parse_build_line


@pytest.mark.parametrize(
    ("line", "total", "count"),
    [
        ("[1/206] Building C object ggml/src/ggml.c.o", None, Count(0, 1, 206)),
        ("[143/310] Building CXX object x.o", None, Count(46, 143, 310)),
        ("[206/206] Linking CXX executable bin/llama-server", 206, Count(100, 206, 206)),
        ("[1/103] Building CXX object y.o", 206, Count(50, 104, 206)),  # resumed: 103 were left
        ("[3/4] Re-running CMake", 2, Count(75, 3, 4)),  # more left than the total: as shown
        ("[ 42%] Building CXX object (make)", None, Count(42)),
        ("[100%] Built target llama-server", 206, Count(100)),
        ("-- Configuring done", None, None),
        ("ninja: build stopped: interrupted by user.", 206, None),
        ("  [1/2] indented is not ninja's", None, None),
    ],
)
def test_build_lines_are_read_into_counts(
    line: str, total: int | None, count: Count | None
) -> None:
    assert parse_build_line(line, total) == count


def test_counts_read_as_steps_or_percent() -> None:
    assert str(Count(46, 143, 310)) == "143/310 (46%)"
    assert str(Count(42)) == "42%"


def test_steps_are_numbered_and_a_log_gets_one_line_per_tenth() -> None:
    lines: list[str] = []
    report = Report(lines.append, steps=5)
    report.step("fetching the llama.cpp sources", "extracted before, in /c/src")
    report.step("configuring")
    report.step("building llama-server")
    counter = BuildCounter(report, total=40)
    for n in range(1, 31):  # resumed with 30 steps left: starts at 11/40
        counter(f"[{n}/30] Building CXX object o{n}.o")
    report.step("fetching smollm2-135m")
    assert lines[:3] == [
        "[1/5] fetching the llama.cpp sources: extracted before, in /c/src",
        "[2/5] configuring…",
        "[3/5] building llama-server…",
    ]
    counts = lines[3:-1]
    assert counts[0] == "[3/5] building llama-server: 11/40 (27%)"
    assert counts[-1] == "[3/5] building llama-server: 40/40 (100%)"
    assert len(counts) == 9  # the tenths 2 to 10, each once
    assert len({line.split("(")[1] for line in counts}) == len(counts)
    assert lines[-1] == "[4/5] fetching smollm2-135m…"


def test_on_a_terminal_the_count_is_updated_in_place() -> None:
    lines: list[str] = []
    raw: list[str] = []
    report = Report(lines.append, steps=2, live=True, write=raw.append)
    report.step("building llama-server")
    for n in (1, 2, 3):
        report.count(Count(100 * n // 3, n, 3))
    report.line("built")
    assert lines == ["[1/2] building llama-server…", "built"]
    assert raw == [
        "\r[1/2] building llama-server: 1/3 (33%)\x1b[K",
        "\r[1/2] building llama-server: 2/3 (66%)\x1b[K",
        "\r[1/2] building llama-server: 3/3 (100%)\x1b[K",
        "\n",  # the counter's line ends before the next line
    ]
    report.end()  # nothing open: nothing written
    assert raw[-1] == "\n" and len(raw) == 4


def test_without_steps_lines_have_no_numbers_and_skip_counts_on() -> None:
    lines: list[str] = []
    report = Report(lines.append)
    report.step("fetching smollm2-135m")
    numbered = Report(lines.append, steps=5)
    numbered.skip(3, "llama-server: built meanwhile by the other install")
    numbered.step("fetching smollm2-135m")
    assert lines == [
        "fetching smollm2-135m…",
        "llama-server: built meanwhile by the other install",
        "[4/5] fetching smollm2-135m…",
    ]


# --- the kept build tree ----------------------------------------------------------------------

WANTED = {
    "llama_cpp_python": "0.3.36",
    "sdist_sha256": "83" * 32,
    "source": "/c/src/llama_cpp_python-0.3.36",
    "cmake_flags": ["-DGGML_NATIVE=OFF"],
    "generator": "Ninja",
    "cmake": ["/usr/bin/cmake", "cmake version 3.25.1"],
    "compiler": ["/usr/bin/c++", "c++ (Debian 12.2.0-14) 12.2.0"],
}


@pytest.mark.parametrize(
    ("change", "configured", "resume"),
    [
        ({}, True, True),
        ({}, False, False),  # stamped, but the generator's file is gone
        ({"llama_cpp_python": "0.3.37"}, True, False),
        ({"cmake_flags": ["-DGGML_NATIVE=ON"]}, True, False),
        ({"generator": "Unix Makefiles"}, True, False),
        ({"compiler": ["/usr/bin/c++", "c++ (Debian 13.1.0) 13.1.0"]}, True, False),
        ({"source": "/elsewhere/src/llama_cpp_python-0.3.36"}, True, False),
    ],
)
def test_a_tree_is_built_on_only_with_the_same_stamp(
    change: dict[str, object], configured: bool, resume: bool
) -> None:
    assert can_resume({**WANTED, **change}, WANTED, configured) is resume


def test_no_stamp_is_no_resume() -> None:
    assert can_resume(None, WANTED, True) is False


def test_prepare_keeps_a_matching_tree_and_clears_anything_else(tmp_path: Path) -> None:
    builds = tmp_path / "build"
    tree = BuildTree(builds / "0.3.36-x86_64-avx2", WANTED)
    old = builds / "llama-server-x86_64-avx2-abc123"  # an older localaik's temporary tree
    old.mkdir(parents=True)
    assert tree.prepare() is False  # nothing to build on: an empty tree
    assert sorted(p.name for p in builds.iterdir()) == ["0.3.36-x86_64-avx2"]

    (tree.path / "build.ninja").write_text("")
    (tree.path / "half-done.o").write_text("")
    assert tree.prepare() is False  # configured but never stamped: the configure did not finish
    assert list(tree.path.iterdir()) == []

    (tree.path / "build.ninja").write_text("")
    (tree.path / "half-done.o").write_text("")
    tree.stamp()
    assert tree.read_stamp() == WANTED
    assert tree.prepare() is True
    assert (tree.path / "half-done.o").is_file()

    other = BuildTree(tree.path, {**WANTED, "cmake_flags": ["-DGGML_NATIVE=ON"]})
    assert other.prepare() is False
    assert list(tree.path.iterdir()) == []
    assert not (tree.path / STAMP).exists()
