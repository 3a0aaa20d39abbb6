"""wire/rebuild.py: a JSON value rebuilt bottom-up, a failure's location told on the way up."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localaik.wire.rebuild import Failed, rebuilt

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
)


def _located(value: Any, where: str = "") -> list[str]:
    """Every object's location, spelled as the error messages spell it (the slow way)."""
    found = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            found += _located(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _located(item, f"{where}.{key}" if where else key)
        found.append(where)
    return found


@given(JSON)
def test_every_object_is_visited_after_its_members_and_nothing_else_changes(value: Any) -> None:
    seen: list[dict[str, Any]] = []

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        seen.append(node)
        return node

    assert rebuilt(value, visit) == value
    assert len(seen) == len(_located(value))


def test_a_visit_replaces_its_object_and_the_copy_is_new() -> None:
    value = {"a": [{"x": 1}, {"y": 2}], "b": {"x": 3}}

    def visit(node: dict[str, Any]) -> Any:
        return {**node, "x": node["x"] * 10} if "x" in node else node

    assert rebuilt(value, visit) == {"a": [{"x": 10}, {"y": 2}], "b": {"x": 30}}
    assert value == {"a": [{"x": 1}, {"y": 2}], "b": {"x": 3}}


@given(JSON, st.data())
def test_a_failure_names_where_its_object_sits(value: Any, data: st.DataObject) -> None:
    locations = _located(value)
    if not locations:
        return
    target = data.draw(st.integers(0, len(locations) - 1))
    count = -1

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        nonlocal count
        count += 1
        if count == target:
            raise Failed(lambda where: ValueError(f"at {where!r}"))
        return node

    with pytest.raises(ValueError) as raised:
        rebuilt(value, visit)
    assert str(raised.value) == f"at {locations[target]!r}"
    assert raised.value.__cause__ is None


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (
            [{"contents": [{"parts": [{"text": "a"}, {"fileData": {}}]}]}],
            "[0].contents[0].parts[1]",
        ),
        # A key follows a dot unless it is the first thing named, empty keys too (hypothesis
        # found "." where the walk said "").
        ({"0": [{}, {}], "": {"": {"fileData": {}}}}, ""),
    ],
)
def test_locations_are_spelled_as_the_errors_always_spelled_them(value: Any, where: str) -> None:
    def visit(node: dict[str, Any]) -> dict[str, Any]:
        if "fileData" in node:
            raise Failed(lambda where: KeyError(where))
        return node

    with pytest.raises(KeyError) as raised:
        rebuilt(value, visit)
    assert raised.value.args == (where,)
    assert where in _located(value)
