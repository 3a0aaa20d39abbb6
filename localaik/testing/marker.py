"""The `localaik` marker: which cassette a test uses, in which mode, with which ignored paths
and faults.

    @pytest.mark.localaik(cassette="shared", mode="replay", ignore=["$.generationConfig.seed"])
    @pytest.mark.localaik(fault="status=429; times=1")

On a test, class or module (`pytestmark`); for each keyword the closest marker that sets it
wins, as pytest-recording merges its `vcr` markers: a module's `cassette=` and a test's
`mode=` both hold for that test. `record_mode=` is `mode=` spelled as VCR.py users write it;
modes take VCR's names too (`none`, `new_episodes`, `all`, `once`). `ignore` (a list of paths,
or one string of comma-separated paths as `LK_IGNORE` takes them) adds to `LK_IGNORE` for the
test's requests. `fault` (one fault as `X-Localaik-Fault` takes it, or a list) holds for the
test's requests, before `LK_FAULTS`'s (the server reads it: `server/faults.py`). A marker's
mode wins over `--localaik-mode` for its tests, as a marker's `record_mode` wins over
pytest-recording's `--record-mode`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from localaik.config import MODES_TEXT, Mode
from localaik.testing.names import MarkerError, cassette_name
from localaik.wire.jsonpath import parse_ignore

KEYWORDS = ("cassette", "mode", "record_mode", "ignore", "fault")


@dataclass(frozen=True)
class Marked:
    """What a test's markers ask for; None where none of them says."""

    cassette: str | None = None  # below the cassette folder, ending in `.db`
    mode: Mode | None = None
    ignore: tuple[str, ...] | None = None
    fault: tuple[str, ...] | None = None


def marked(item: pytest.Item) -> Marked:
    """The markers of `item`, merged: per keyword, the closest one that sets it. Raises
    `MarkerError` naming the test and the bad value."""
    try:
        return merged(parse_mark(mark) for mark in item.iter_markers("localaik"))
    except MarkerError as exc:
        raise MarkerError(f"{item.nodeid}: {exc}") from None


def merged(marks: Iterable[Marked]) -> Marked:
    """Markers, closest first, as one: per keyword, the first that sets it."""
    cassette, mode, ignore, fault = None, None, None, None
    for mark in marks:
        cassette = cassette if cassette is not None else mark.cassette
        mode = mode if mode is not None else mark.mode
        ignore = ignore if ignore is not None else mark.ignore
        fault = fault if fault is not None else mark.fault
    return Marked(cassette, mode, ignore, fault)


def parse_mark(mark: pytest.Mark) -> Marked:
    """One `localaik` marker's arguments, each checked."""
    kwargs = mark.kwargs
    unknown = set(kwargs) - set(KEYWORDS)
    if (
        unknown
        or len(mark.args) > 1
        or (mark.args and "cassette" in kwargs)
        or ("mode" in kwargs and "record_mode" in kwargs)
    ):
        raise MarkerError(
            "@pytest.mark.localaik takes cassette=NAME (or NAME), mode= (or record_mode=), "
            f"ignore=[PATH, ...] and fault=FAULT; got {mark.args!r} {kwargs!r}"
        )
    cassette = kwargs.get("cassette", mark.args[0] if mark.args else None)
    keyword = "record_mode" if "record_mode" in kwargs else "mode"
    return Marked(
        cassette_name(str(cassette)) if cassette is not None else None,
        _mode(keyword, kwargs.get(keyword)),
        _ignore(kwargs.get("ignore")),
        _fault(kwargs.get("fault")),
    )


def marker_cassette(mark: pytest.Mark) -> str | None:
    """The marker's cassette as a path below the cassette folder (validated), or None."""
    return parse_mark(mark).cassette


def _mode(keyword: str, value: object) -> Mode | None:
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return Mode.of(value)
    except ValueError:
        pass
    raise MarkerError(f"@pytest.mark.localaik({keyword}={value!r}): expected {MODES_TEXT}")


def _texts(keyword: str, value: object, expected: str) -> list[str]:
    """A marker argument that is one string or a list of them."""
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list | tuple) or not all(isinstance(t, str) for t in texts):
        raise MarkerError(f"@pytest.mark.localaik({keyword}={value!r}): expected {expected}")
    return list(texts)


def _ignore(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    paths = _texts("ignore", value, "a list of JSON paths such as ['$.generationConfig.seed']")
    try:
        rules = [rule for path in paths for rule in parse_ignore(path)]
    except ValueError as exc:
        raise MarkerError(f"@pytest.mark.localaik(ignore={value!r}): {exc}") from None
    return tuple(rule.text for rule in rules)


def _fault(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    expected = "a fault such as 'status=429; times=1', or a list of them"
    return tuple(_texts("fault", value, expected))
