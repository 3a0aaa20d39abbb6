"""The server's uploads (`server/files.py`): ids by content and order, per cassette; bytes held
within their bound; resumable drafts bounded; a file with a key refused before anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.errors import SecretRefused
from localaik.families.uploads import Draft, derived_id
from localaik.media.parts import stored_uri
from localaik.server import files
from localaik.server.cassettes import Cassettes
from localaik.server.files import FileRegistry


def make_id(sha256: str, ordinal: int) -> str:
    return derived_id(sha256, ordinal, 12)


@pytest.fixture()
def registry(tmp_path: Path) -> FileRegistry:
    return FileRegistry(Cassettes(tmp_path / "default.db"))


async def test_ids_follow_content_and_order_per_cassette(
    registry: FileRegistry, tmp_path: Path
) -> None:
    one = registry.session(tmp_path / "a.db", storing=False)
    first = await one.upload("gemini", b"data", "text/plain", "a", make_id)
    again = await one.upload("gemini", b"data", "text/plain", "b", make_id)
    other = await one.upload("openai", b"data", "text/plain", "c", make_id)
    elsewhere = await registry.session(tmp_path / "b.db", storing=False).upload(
        "gemini", b"data", "text/plain", "a", make_id
    )
    assert (first.ordinal, again.ordinal, other.ordinal) == (0, 1, 0)
    assert first.id != again.id and first.id == other.id == elsewhere.id
    assert [u.id for u in one.uploads("gemini")] == [first.id, again.id]
    assert one.find("gemini", again.id) == again and one.find("gemini", "nope") is None
    assert one.data(stored_uri(first.sha256, "text/plain")) == b"data"
    assert one.delete("gemini", first.id) and not one.delete("gemini", first.id)
    assert [u.id for u in one.uploads("gemini")] == [again.id]
    assert not (tmp_path / "a.db").exists()  # not storing: nothing written


async def test_bytes_drafts_and_cassettes_are_bounded(
    registry: FileRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "BYTES", 10)
    monkeypatch.setattr(files, "CASSETTES", 2)
    session = registry.session(tmp_path / "a.db", storing=False)
    old = await session.upload("gemini", b"123456", "text/plain", "", make_id)
    new = await session.upload("gemini", b"abcdef", "text/plain", "", make_id)
    assert session.data(stored_uri(old.sha256)) is None  # let go: over the bound
    assert session.data(stored_uri(new.sha256)) == b"abcdef"
    for n in range(files.DRAFTS + 5):
        session.drafts[str(n)] = Draft(session, "text/plain", "", None)
    assert len(session.drafts) == files.DRAFTS and "0" not in session.drafts
    registry.session(tmp_path / "b.db", storing=False)
    registry.session(tmp_path / "c.db", storing=False)
    again = registry.session(tmp_path / "a.db", storing=False)
    assert again.uploads("gemini") == []  # forgotten: the oldest of three cassettes


async def test_a_file_with_a_key_is_refused_and_kept_nowhere(
    registry: FileRegistry, tmp_path: Path
) -> None:
    session = registry.session(tmp_path / "a.db", storing=True)
    key = b"sk-proj-" + b"A1b2C3d4" * 6
    with pytest.raises(SecretRefused):
        await session.upload("openai", key, "text/plain", "k", make_id)
    assert session.uploads("openai") == [] and registry.blobs == {}
    assert not (tmp_path / "a.db").exists()
