"""Anthropic Message Batches (`/v1/messages/batches`): create, retrieve, list, cancel, results
(JSONL), delete, as the anthropic SDKs call them.

A batch is kept by localaik (`families/kept.py`: deterministic ids and times, status moved by
reads, members run through the normal `messages` path, each recorded or replayed on its own).
Each member is a non-streamed Messages request; a member the Messages checks refuse is a 400 at
create naming it (`requests[1].params: …`). A member that fails when it runs (an upstream
error, a replay miss with its explanation) is an `errored` result with the error's envelope.

`results_url` is a path on this server (`/v1/messages/batches/{id}/results`), which both SDKs
resolve against their base URL: the real API gives an absolute URL of its own host.
"""

from __future__ import annotations

import re
from typing import Any

from localaik.errors import BadRequest
from localaik.families import batching
from localaik.families.anthropic.models import paged
from localaik.families.anthropic.operations import FAMILY, Messages
from localaik.families.batching import Asked, BatchOperation
from localaik.families.kept import Batch, Kept, Member, made_at, rfc3339
from localaik.families.operation import (
    Answer,
    Parsed,
    Request,
    Route,
    json_answer,
)
from localaik.wire import jsontext

KIND = "anthropic.batch"
ROOT = "/v1/messages/batches"
MOST = 100_000  # requests in one batch, as the API allows
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ENDS_AFTER = 60  # seconds from creation to the end, in the made-up times
CANCELED_AFTER = 30
EXPIRES_AFTER = 24 * 3600
MESSAGES = Messages()


class _BatchOperation(BatchOperation):
    family = FAMILY
    kind = KIND
    what = "message batch"

    def shown(self, batch: Batch) -> dict[str, Any]:
        return batch_object(batch)


class CreateBatch(_BatchOperation):
    name = "messages.batches.create"
    routes = (Route("POST", ROOT),)
    takes_body = True

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        body = parsed.context.body
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise BadRequest(
                "requests: a batch needs a non-empty list of requests", param="requests"
            )
        if len(requests) > MOST:
            raise BadRequest(f"requests: at most {MOST} requests in a batch", param="requests")
        members = [_member(i, item, kept) for i, item in enumerate(requests)]
        names = [member.name for member in members]
        if len(set(names)) != len(names):
            twice = next(name for name in names if names.count(name) > 1)
            raise BadRequest(f"requests: custom_id {twice!r} is used twice", param="requests")
        digest = kept.new_id(KIND, requests)
        batch = Batch(f"msgbatch_{digest[:24]}", made_at(digest), members, {})
        kept.add(KIND, batch.id, batch)
        return json_answer(batch_object(batch))


class RetrieveBatch(_BatchOperation):
    name = "messages.batches.retrieve"
    routes = (Route("GET", ROOT + "/{batch}"),)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        await kept.read(batch)
        return json_answer(batch_object(batch))


class ListBatches(_BatchOperation):
    name = "messages.batches.list"
    routes = (Route("GET", ROOT),)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batches: list[Batch] = kept.all(KIND)
        found = [batch_object(batch) for batch in reversed(batches)]  # the newest first
        page = paged(found, parsed.context.query)
        return json_answer(
            {
                "data": page.items,
                "has_more": page.has_more,
                "first_id": page.first_id,
                "last_id": page.last_id,
            }
        )


class CancelBatch(batching.CancelBatch, _BatchOperation):
    name = "messages.batches.cancel"
    routes = (Route("POST", ROOT + "/{batch}/cancel"),)


class BatchResults(_BatchOperation):
    name = "messages.batches.results"
    routes = (Route("GET", ROOT + "/{batch}/results"),)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        if not batch.ended:
            raise BadRequest(
                f"message batch {batch.id!r} has not ended: its results are ready once "
                "retrieve says processing_status 'ended'"
            )
        lines = [jsontext.dumps(line) for line in result_lines(batch)]
        return Answer(200, "application/x-jsonl", ("\n".join(lines) + "\n").encode())


class DeleteBatch(_BatchOperation):
    name = "messages.batches.delete"
    routes = (Route("DELETE", ROOT + "/{batch}"),)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        if not batch.ended:
            raise BadRequest(
                f"message batch {batch.id!r} is still in progress: cancel it, and delete it "
                "once it has ended"
            )
        kept.remove(KIND, batch.id)
        return json_answer({"id": batch.id, "type": "message_batch_deleted"})


OPERATIONS = (
    CreateBatch(),
    RetrieveBatch(),
    ListBatches(),
    CancelBatch(),
    BatchResults(),
    DeleteBatch(),
)


def _member(index: int, item: Any, kept: Kept) -> Member:
    """A batch's request as a Messages request, checked as one (a 400 naming it)."""
    where = f"requests[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where}: expected an object with custom_id and params", param=where)
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
        raise BadRequest(
            f"{where}.custom_id: expected 1 to 64 letters, digits, '_' or '-'",
            param=f"{where}.custom_id",
        )
    params = item.get("params")
    if not isinstance(params, dict):
        raise BadRequest(f"{where}.params: expected a Messages request", param=f"{where}.params")
    if params.get("stream") is True:
        raise BadRequest(f"{where}.params.stream: batch requests are not streamed")
    route = MESSAGES.routes[0]
    request = Request(route.method, route.path, route, {}, {}, {}, params)
    return kept.checked(Member(custom_id, MESSAGES, request), f"{where}.params")


def batch_object(batch: Batch) -> dict[str, Any]:
    """The API's `MessageBatch` for a batch as it stands."""
    total = len(batch.members)
    counts = {"processing": total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    status = "canceling" if batch.canceled else "in_progress"
    if batch.ended:
        status = "ended"
        counts["processing"] = 0
        if batch.outcomes is None:
            counts["canceled"] = total
        else:
            counts["succeeded"] = sum(outcome.ok for outcome in batch.outcomes)
            counts["errored"] = total - counts["succeeded"]
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": status,
        "request_counts": counts,
        "created_at": rfc3339(batch.created),
        "expires_at": rfc3339(batch.at(EXPIRES_AFTER)),
        "ended_at": rfc3339(batch.at(ENDS_AFTER)) if batch.ended else None,
        "cancel_initiated_at": rfc3339(batch.at(CANCELED_AFTER)) if batch.canceled else None,
        "archived_at": None,
        "results_url": f"{ROOT}/{batch.id}/results" if batch.ended else None,
    }


def result_lines(batch: Batch) -> list[dict[str, Any]]:
    """The results file's lines, one per member in the batch's order."""
    if batch.outcomes is None:
        return [{"custom_id": m.name, "result": {"type": "canceled"}} for m in batch.members]
    lines = []
    for member, outcome in zip(batch.members, batch.outcomes, strict=True):
        result = (
            {"type": "succeeded", "message": outcome.body}
            if outcome.ok
            else {"type": "errored", "error": outcome.body}
        )
        lines.append({"custom_id": member.name, "result": result})
    return lines
