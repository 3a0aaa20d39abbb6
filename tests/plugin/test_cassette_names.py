"""Cassette file names the plugin derives from test ids and markers (pure functions)."""

from __future__ import annotations

import pytest

from localaik.testing.marker import marker_cassette
from localaik.testing.names import MarkerError, safe_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test_plain", "test_plain"),
        ("test_x[gemini-v1]", "test_x-gemini-v1"),
        ("test_x[1.5]", "test_x-1.5"),
    ],
)
def test_safe_ids_are_kept_readable(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_unsafe_ids_are_replaced_and_hashed_so_they_cannot_collide() -> None:
    spaced, slashed = safe_name("test_x[a b]"), safe_name("test_x[a/b]")
    assert spaced.startswith("test_x-a_b-") and slashed.startswith("test_x-a_b-")
    assert spaced != slashed != safe_name("test_x[a_b]") == "test_x-a_b"
    for name in ("test_x[../../etc]", "test_x[]", "test_x[" + "é" * 300 + "]"):
        safe = safe_name(name)
        assert "/" not in safe and ".." not in safe and len(safe) <= 120, safe


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (pytest.mark.localaik(cassette="shared"), "shared.db"),
        (pytest.mark.localaik("shared"), "shared.db"),
        (pytest.mark.localaik(cassette="gemini/basic.db"), "gemini/basic.db"),
        (pytest.mark.localaik(), None),
    ],
)
def test_marker_names(marker: pytest.MarkDecorator, expected: str | None) -> None:
    assert marker_cassette(marker.mark) == expected


@pytest.mark.parametrize(
    "marker",
    [
        pytest.mark.localaik(cassette="../escape"),
        pytest.mark.localaik(cassette="/etc/passwd"),
        pytest.mark.localaik(cassette="a//b"),
        pytest.mark.localaik(cassete="typo"),
        pytest.mark.localaik("a", "b"),
    ],
)
def test_marker_names_that_cannot_be_cassettes_are_refused(marker: pytest.MarkDecorator) -> None:
    with pytest.raises(MarkerError, match="@pytest.mark.localaik"):
        marker_cassette(marker.mark)


@pytest.mark.parametrize(
    "name", ["main.db-wal", "main.db-SHM", "shared.db-journal", "a.db-wal/b", "x-mj0123abcd/y.db"]
)
def test_marker_names_of_sqlite_side_files_are_refused(name: str) -> None:
    """`a.db-wal` is where SQLite keeps `a.db`'s log: a cassette (or a folder) of that name
    beside it would be taken over, or would stop `a.db` from keeping one."""
    with pytest.raises(MarkerError, match="SQLite keeps the"):
        marker_cassette(pytest.mark.localaik(cassette=name).mark)
