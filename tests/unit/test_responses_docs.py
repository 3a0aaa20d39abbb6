"""The README's Responses API table cannot drift from the fields the code knows."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.families.openai import responses_wire as protocol

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README.split("### OpenAI Responses API", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    "field",
    sorted(
        (protocol.TRANSLATED | protocol.ACCEPTED | set(protocol.STATEFUL)) - {"model", "stream"}
    ),
)
def test_every_request_field_is_in_the_readme(field: str) -> None:
    assert f"`{field}`" in SECTION or f"`{field}:" in SECTION, (
        f"the README's Responses table does not mention {field}"
    )


def test_the_refused_item_and_include_values_are_in_the_readme() -> None:
    assert "`item_reference`" in SECTION
    assert "output logprobs" in SECTION
