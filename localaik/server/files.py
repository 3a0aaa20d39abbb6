"""The files this server was given, per cassette: what the families' file operations and the
requests that refer to an uploaded file use (`families/files.py`).

An upload is answered from its content alone, in every mode: the server keeps, in memory, the
uploads made in each cassette this run (their ids, names and hashes) and the bytes of the
files, by hash, shared between cassettes and bounded (`BYTES`, the least recently used go
first). A request that refers to a file whose bytes were let go is a 400 that says so. When the
request's mode records, the bytes are kept in the cassette too (`CassetteStore.save_file`), so
`cassette show`/`export`/`verify` see them. Every file is scanned for keys before it is kept
anywhere (`cassette/files.py`): one that holds a key is refused whole, in replay as in record,
so a test gets the same answer both ways.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from localaik.cassette.files import StoredFile, refuse_secret_file
from localaik.families.uploads import Draft, Upload
from localaik.media.parts import STORED, stored_parts
from localaik.server.cassettes import Cassettes

BYTES = 512 * 1024 * 1024  # file bytes held in memory, all cassettes together
DRAFTS = 64  # resumable uploads in progress at once (the oldest are dropped)
UPLOADS = 10_000  # uploads remembered per cassette
CASSETTES = 1024  # cassettes whose uploads are remembered (the pytest plugin's: one per test)


class _Drafts(OrderedDict[str, Draft]):
    """Resumable uploads in progress: the oldest is dropped past `DRAFTS`."""

    def __setitem__(self, key: str, value: Draft) -> None:
        super().__setitem__(key, value)
        while len(self) > DRAFTS:
            self.popitem(last=False)


@dataclass
class _Cassette:
    uploads: OrderedDict[tuple[str, str], Upload] = field(default_factory=OrderedDict)
    made: Counter[tuple[str, str]] = field(default_factory=Counter)  # (family, sha256) uploads


class FileRegistry:
    """Every cassette's uploads this run, and the bytes they hold."""

    def __init__(self, cassettes: Cassettes) -> None:
        self.cassettes = cassettes
        self.blobs: OrderedDict[str, bytes] = OrderedDict()
        self.size = 0
        self.drafts: MutableMapping[str, Draft] = _Drafts()
        self._cassettes: OrderedDict[Path, _Cassette] = OrderedDict()

    def session(self, path: Path, *, storing: bool) -> Session:
        """The uploads of the cassette at `path`; kept in it too when `storing`."""
        held = self._cassettes.get(path)
        if held is None:
            held = self._cassettes[path] = _Cassette()
            while len(self._cassettes) > CASSETTES:
                self._cassettes.popitem(last=False)
        self._cassettes.move_to_end(path)
        return Session(self, path, storing, held)

    def hold(self, sha256: str, data: bytes) -> None:
        if sha256 in self.blobs:
            self.blobs.move_to_end(sha256)
            return
        self.blobs[sha256] = data
        self.size += len(data)
        while self.size > BYTES and len(self.blobs) > 1:
            _, dropped = self.blobs.popitem(last=False)
            self.size -= len(dropped)

    def bytes_of(self, sha256: str) -> bytes | None:
        data = self.blobs.get(sha256)
        if data is not None:
            self.blobs.move_to_end(sha256)
        return data


class Session:
    """`families.files.FileSession` for one cassette."""

    def __init__(self, registry: FileRegistry, path: Path, storing: bool, held: _Cassette) -> None:
        self.registry = registry
        self.path = path
        self.storing = storing
        self.held = held
        self.drafts = registry.drafts

    async def upload(
        self,
        family: str,
        data: bytes,
        mime_type: str,
        display_name: str,
        make_id: Callable[[str, int], str],
        purpose: str = "",
    ) -> Upload:
        file = StoredFile.of(data, mime_type, display_name)
        refuse_secret_file(file, str(self.path))
        if self.storing:
            entry = await self.registry.cassettes.get(self.path, create=True)
            await entry.cassette.save_file(file)
        self.registry.hold(file.sha256, data)
        ordinal = self.held.made[(family, file.sha256)]
        self.held.made[(family, file.sha256)] += 1
        upload = Upload(
            family,
            make_id(file.sha256, ordinal),
            file.sha256,
            mime_type,
            display_name,
            len(data),
            ordinal,
            purpose,
        )
        uploads = self.held.uploads
        uploads[(family, upload.id)] = upload
        while len(uploads) > UPLOADS:
            uploads.popitem(last=False)
        return upload

    def find(self, family: str, file_id: str) -> Upload | None:
        return self.held.uploads.get((family, file_id))

    def uploads(self, family: str) -> list[Upload]:
        return [upload for (owner, _), upload in self.held.uploads.items() if owner == family]

    def delete(self, family: str, file_id: str) -> bool:
        return self.held.uploads.pop((family, file_id), None) is not None

    def data(self, uri: str) -> bytes | None:
        if not uri.startswith(STORED):
            return None
        return self.registry.bytes_of(stored_parts(uri)[0])
