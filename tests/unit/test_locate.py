"""`cassette/locate.py`: files, folders and globs to cassettes, the same for every command.

The cassettes are real SQLite cassettes (made through the store), the side files and the
`.localaik/` state real files beside them, as a plugin session leaves them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.cassette.locate import NothingFound, default_location, expand, is_pattern
from localaik.cassette.store import store_for
from localaik.cassette.usage import UsageLog


def cassette(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    store = store_for(path)
    store.open(create=True)
    store.close()
    return path


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project's cassettes/ as serve and the plugin leave it, plus what is not a cassette."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "cassettes"
    for name in ("localaik.db", "shared.db", "tests/test_a/test_one.db", "tests/test_a/T.t-x.db"):
        cassette(root / name)
    cassette(root / "header.sqlite")  # an X-Localaik-Cassette name with its own suffix
    UsageLog().used(root / "tests/test_a/test_one.db", "k" * 32, 0)  # .localaik/ beside it
    (root / "tests/test_a/.localaik/stray.db").write_bytes(b"")  # localaik's state: skipped
    (root / "tests/test_a/test_one.db-wal").write_bytes(b"")
    (root / "tests/test_a/test_one.db-journal").write_bytes(b"x")
    (root / ".shared.db.42.tmp").write_bytes(b"")  # a merge's temporary cassette
    (root / "README.md").write_text("our cassettes")
    (root / "broken.db").write_text("<<<<<<< HEAD\n")  # a damaged cassette is still one
    hidden = root / ".git" / "x.db"
    hidden.parent.mkdir()
    hidden.write_text("")
    return root


def names(paths: list[Path]) -> list[str]:
    return [str(path) for path in paths]


def test_a_folder_is_every_cassette_below_it(tree: Path) -> None:
    assert names(expand(["cassettes"])) == [
        "cassettes/broken.db",
        "cassettes/header.sqlite",
        "cassettes/localaik.db",
        "cassettes/shared.db",
        "cassettes/tests/test_a/T.t-x.db",
        "cassettes/tests/test_a/test_one.db",
    ]
    assert (tree / "tests/test_a/.localaik/test_one.db.used.d").is_dir()


def test_globs_are_expanded_here(tree: Path) -> None:
    assert names(expand(["cassettes/**/test_*.db"])) == ["cassettes/tests/test_a/test_one.db"]
    assert names(expand(["cassettes/*.db"])) == [
        "cassettes/broken.db",
        "cassettes/localaik.db",
        "cassettes/shared.db",
    ]
    # A folder the pattern matches is every cassette below it; side files are never cassettes.
    assert names(expand(["cassettes/tes?s", "cassettes/tests/test_a/*"])) == [
        "cassettes/tests/test_a/T.t-x.db",
        "cassettes/tests/test_a/test_one.db",
    ]
    assert expand([str(tree / "**" / "T.*.db")]) == [tree / "tests/test_a/T.t-x.db"]


def test_files_are_themselves_in_the_order_given_each_once(tree: Path) -> None:
    found = expand(["cassettes/shared.db", "cassettes/README.md", "cassettes", "./cassettes"])
    assert names(found[:2]) == ["cassettes/shared.db", "cassettes/README.md"]
    assert len(found) == 7  # the folder's six, the shared one not twice
    assert expand([str(tree / "shared.db"), "cassettes/shared.db"]) == [tree / "shared.db"]


def test_a_file_whose_name_looks_like_a_glob_is_itself(tree: Path) -> None:
    odd = cassette(tree / "odd[1].db")
    assert expand([str(odd)]) == [odd]
    assert not is_pattern(str(odd)) and is_pattern("cassettes/*.db")


@pytest.mark.parametrize(
    ("argument", "reason"),
    [
        ("nothing/here.db", "no such file or folder"),
        ("cassettes/*.json", "no cassette matches this pattern"),
        ("cassettes/**/*.db-wal", "no cassette matches this pattern"),
        ("cassettes/tests/test_a/.localaik", "no cassettes in this folder (nor below it)"),
    ],
)
def test_an_argument_naming_nothing_is_an_error(tree: Path, argument: str, reason: str) -> None:
    with pytest.raises(NothingFound) as raised:
        expand(["cassettes/shared.db", argument])
    assert str(raised.value) == f"{argument}: {reason}"
    assert raised.value.argument == argument and raised.value.reason == reason


def test_a_side_file_or_localaiks_state_named_outright_is_refused(tree: Path) -> None:
    for argument in ("cassettes/tests/test_a/test_one.db-wal", "cassettes/x.db-shm"):
        with pytest.raises(NothingFound) as raised:
            expand([argument])
        assert str(raised.value).startswith(f"{argument!r} cannot be a cassette: SQLite keeps")
    with pytest.raises(NothingFound, match="localaik's own folder"):
        expand(["cassettes/tests/test_a/.localaik/stray.db"])


def test_the_default_is_the_configured_cassette_else_its_folder() -> None:
    assert default_location(Path("cassettes/localaik.db"), configured=False) == Path("cassettes")
    assert default_location(Path("ci/main.db"), configured=True) == Path("ci/main.db")
