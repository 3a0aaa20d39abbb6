"""`Cassettes.path_for` keeps names it found valid, and forgets them when the default cassette
moves, since named cassettes sit beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.errors import BadRequest
from localaik.server.cassettes import Cassettes


async def test_a_name_resolves_beside_the_default_cassette_again_after_select(
    tmp_path: Path,
) -> None:
    cassettes = Cassettes(tmp_path / "a" / "main.db")
    assert cassettes.path_for("team") == tmp_path / "a" / "team.db"
    assert cassettes.path_for("team") == tmp_path / "a" / "team.db"  # kept
    await cassettes.select(tmp_path / "b" / "main.db")
    assert cassettes.path_for("team") == tmp_path / "b" / "team.db"


def test_a_bad_name_is_refused_every_time(tmp_path: Path) -> None:
    cassettes = Cassettes(tmp_path / "main.db")
    for _ in range(2):
        with pytest.raises(BadRequest, match="not a valid cassette name"):
            cassettes.path_for("../escape")
