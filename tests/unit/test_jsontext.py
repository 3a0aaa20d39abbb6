"""jsontext's compact encoders, made once, write the same text as `json.dumps` with the same
options (the cassette key and every answer's bytes depend on it) and fail the same way."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localaik.wire.jsontext import compact_encoder, dumps

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # any code point, lone surrogates included
)
values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def reference(value: Any, **options: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, **options)


@given(values)
def test_the_same_text_as_json_dumps(value: Any) -> None:
    assert dumps(value) == reference(value)
    assert compact_encoder(sort_keys=True)(value) == reference(value, sort_keys=True)
    assert compact_encoder(allow_nan=False)(value) == reference(value, allow_nan=False)


def test_edge_values() -> None:
    for value in ("\ud800", 1e-05, 1e16, -0.0, 2**70, {"b": [1, {"a": None}], "a": "é"}, "x"):
        assert dumps(value) == reference(value)
        assert compact_encoder(sort_keys=True)(value) == reference(value, sort_keys=True)
    assert dumps(math.inf) == "Infinity"  # as json.dumps writes it (allow_nan on)


def test_the_same_errors_and_nothing_kept_after_one() -> None:
    strict = compact_encoder(allow_nan=False)
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        strict({"t": math.nan})
    shared = {"x": 1}
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        dumps([shared, {1, 2}])
    assert dumps([shared, shared]) == '[{"x":1},{"x":1}]'  # a failed call leaves no state
    assert strict({"t": 1.5}) == '{"t":1.5}'
