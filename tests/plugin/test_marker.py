"""The `localaik` marker's arguments (pure): per keyword the closest marker that sets it wins;
modes by any of their names; ignore paths checked as `LK_IGNORE` checks them."""

from __future__ import annotations

import pytest

from localaik.config import Mode
from localaik.testing.marker import Marked, merged, parse_mark
from localaik.testing.names import MarkerError


def parsed(marker: pytest.MarkDecorator) -> Marked:
    return parse_mark(marker.mark)


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (pytest.mark.localaik(mode="replay"), Marked(mode=Mode.REPLAY)),
        (pytest.mark.localaik(mode="none"), Marked(mode=Mode.REPLAY)),
        (pytest.mark.localaik(record_mode="new_episodes"), Marked(mode=Mode.RECORD)),
        (pytest.mark.localaik(record_mode="once"), Marked(mode=Mode.ONCE)),
        (pytest.mark.localaik("s", mode="All"), Marked("s.db", Mode.REFRESH)),
        (
            pytest.mark.localaik(ignore=["$.seed", "metadata.*"]),
            Marked(ignore=("$.seed", "metadata.*")),
        ),
        (pytest.mark.localaik(ignore="a.b, c[*].d"), Marked(ignore=("a.b", "c[*].d"))),
        (pytest.mark.localaik(ignore=[]), Marked(ignore=())),
        (pytest.mark.localaik(), Marked()),
    ],
)
def test_marker_arguments(marker: pytest.MarkDecorator, expected: Marked) -> None:
    assert parsed(marker) == expected


def test_the_closest_marker_that_sets_a_keyword_wins() -> None:
    test = parsed(pytest.mark.localaik(mode="replay"))
    cls = parsed(pytest.mark.localaik(ignore=["$.seed"], mode="record"))
    module = parsed(pytest.mark.localaik(cassette="module", ignore=["$.user"]))
    assert merged([test, cls, module]) == Marked("module.db", Mode.REPLAY, ("$.seed",))
    # An empty list is a setting: it drops the paths of markers further out.
    assert merged([parsed(pytest.mark.localaik(ignore=[])), module]).ignore == ()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (pytest.mark.localaik(mode="sometimes"), "(mode='sometimes'): expected record, replay"),
        (pytest.mark.localaik(record_mode=None), None),
        (pytest.mark.localaik(record_mode=3), "(record_mode=3): expected record"),
        (pytest.mark.localaik(mode="replay", record_mode="none"), "takes cassette=NAME"),
        (pytest.mark.localaik(ignore=["a..b"]), "LK_IGNORE path 'a..b' is not valid"),
        (pytest.mark.localaik(ignore=[1]), "(ignore=[1]): expected a list of JSON paths"),
        (pytest.mark.localaik(ignore={"a": 1}), "expected a list of JSON paths"),
        (pytest.mark.localaik(ignored=["a"]), "takes cassette=NAME"),
    ],
)
def test_bad_marker_arguments(marker: pytest.MarkDecorator, message: str | None) -> None:
    if message is None:  # None is "not set"
        assert parsed(marker) == Marked()
        return
    with pytest.raises(MarkerError) as raised:
        parsed(marker)
    assert message in str(raised.value)
    assert str(raised.value).startswith("@pytest.mark.localaik")
