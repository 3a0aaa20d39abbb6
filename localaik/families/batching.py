"""What the batch APIs kept by localaik share (OpenAI Batch, Anthropic Message Batches): the
request a batch operation reads, the lookup of the batch it names, and cancel.

A family's batch operations subclass `BatchOperation`, saying which kept objects are theirs
(`kind`), what the API calls one (`what`, for the 404) and how it shows one (`shown`); the
batches themselves, their ids and states, are `kept.py`'s.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from localaik.families.kept import Batch, Kept
from localaik.families.operation import (
    Answer,
    ClientRequest,
    Local,
    Parsed,
    Request,
    json_answer,
)
from localaik.families.uploads import FileSession


@dataclass(frozen=True)
class Asked:
    """What a batch request names: the batch (None for create and list), its body and query,
    and the cassette's uploads (a batch's input and output files, where the API has them)."""

    batch_id: str | None
    body: Any
    query: dict[str, str]
    files: FileSession | None


class BatchOperation(Local[Asked]):
    kind: ClassVar[str]  # the kept objects' kind (`kept.Kept`)
    what: ClassVar[str] = "batch"
    takes_body = False

    def parse(self, request: Request) -> Parsed[Asked]:
        asked = Asked(request.params.get("batch"), request.body, dict(request.query), request.files)
        return Parsed(ClientRequest(self.family, self.name, None, False, request.body), asked)

    def batch(self, kept: Kept, asked: Asked) -> Batch:
        """The batch the request names; NotFound saying `what` it is when there is none."""
        found: Batch = kept.get(self.kind, asked.batch_id or "", self.what)
        return found

    @abstractmethod
    def shown(self, batch: Batch) -> dict[str, Any]:
        """The API's object for `batch` as it stands."""


class CancelBatch(BatchOperation):
    """Cancel: a batch not ended is canceled (it runs none of its requests when it ends)."""

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        if not batch.ended:
            batch.canceled = True
        return json_answer(self.shown(batch))
