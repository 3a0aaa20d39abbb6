"""OpenAI Batch (`/v1/batches`): create over an uploaded JSONL file, retrieve, cancel, list, as
the openai SDKs call them; the output and error files read back through `files.content`.

A batch is kept by localaik (`families/kept.py`: deterministic ids and times, status moved by
reads, members run through the normal path of their endpoint, each recorded or replayed on its
own). Its input is a file uploaded with `purpose="batch"` (`files.py`): one JSON line per
request, `{"custom_id", "method": "POST", "url", "body"}`, every `url` the batch's `endpoint`
(`/v1/chat/completions`, `/v1/responses` or `/v1/embeddings`). A line the endpoint's checks
refuse is a 400 at create naming it (`line 2: …`), as the real API fails validation.

Statuses: `validating` when made, `in_progress` while reads remain (`LK_BATCH_POLLS`), then
`completed`; `cancelling`, then `cancelled`. When it ends, its answers become two uploaded files
(ids derived from their content): the output file holds the 2xx answers, the error file the
others (a replay miss with its explanation among them), each line as the API writes it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from localaik.errors import BadRequest, NotFound
from localaik.families import batching
from localaik.families.batching import Asked, BatchOperation
from localaik.families.kept import Batch, Kept, Member, Outcome, made_at
from localaik.families.openai.files import FAMILY, file_id
from localaik.families.openai.operations import ChatCompletions, Embeddings, Responses
from localaik.families.operation import (
    Answer,
    Operation,
    Parsed,
    Request,
    Route,
    json_answer,
)
from localaik.families.uploads import FileSession
from localaik.media.parts import stored_uri
from localaik.wire import jsontext

KIND = "openai.batch"
ROOT = "/v1/batches"
ENDPOINTS: dict[str, Operation[Any]] = {
    "/v1/chat/completions": ChatCompletions(),
    "/v1/responses": Responses(),
    "/v1/embeddings": Embeddings(),
}
MOST = 50_000  # requests in one batch, as the API allows
MAX_LIST = 100
# Seconds from creation, in the made-up times.
IN_PROGRESS_AFTER, DONE_AFTER, EXPIRES_AFTER = 1, 60, 24 * 3600


class _BatchOperation(BatchOperation):
    family = FAMILY
    kind = KIND

    def shown(self, batch: Batch) -> dict[str, Any]:
        return batch_object(batch)


def _uploads(asked: Asked) -> FileSession:
    if asked.files is None:
        raise AssertionError("the server gives every request its cassette's uploads")
    return asked.files


class CreateBatch(_BatchOperation):
    name = "batches.create"
    routes = (Route("POST", ROOT),)
    takes_body = True

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        body = parsed.context.body
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        endpoint = body.get("endpoint")
        if endpoint not in ENDPOINTS:
            raise BadRequest(
                f"endpoint: {str(endpoint)[:60]!r} is not one of {', '.join(ENDPOINTS)}",
                param="endpoint",
            )
        if body.get("completion_window") != "24h":
            raise BadRequest("completion_window: must be '24h'", param="completion_window")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest("metadata: must be an object", param="metadata")
        files = _uploads(parsed.context)
        input_id = body.get("input_file_id")
        upload = files.find(FAMILY, input_id) if isinstance(input_id, str) else None
        if upload is None:
            raise NotFound(f"No such File object: {str(input_id)[:60]}", param="input_file_id")
        data = files.data(stored_uri(upload.sha256))
        if data is None:
            raise NotFound(f"the bytes of {upload.id} are no longer held by this server")
        members = _members(data, endpoint, files, kept)
        digest = kept.new_id(KIND, {"endpoint": endpoint, "input": upload.sha256})
        fields = {"endpoint": endpoint, "input_file_id": upload.id, "metadata": metadata}
        batch = Batch(f"batch_{digest[:24]}", made_at(digest), members, fields)
        kept.add(KIND, batch.id, batch)
        return json_answer(batch_object(batch))


class RetrieveBatch(_BatchOperation):
    name = "batches.retrieve"
    routes = (Route("GET", ROOT + "/{batch}"),)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        await kept.read(batch)
        await _write_files(batch, _uploads(parsed.context))
        return json_answer(batch_object(batch))


class CancelBatch(batching.CancelBatch, _BatchOperation):
    name = "batches.cancel"
    routes = (Route("POST", ROOT + "/{batch}/cancel"),)


class ListBatches(_BatchOperation):
    name = "batches.list"
    routes = (Route("GET", ROOT),)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        query = parsed.context.query
        batches: list[Batch] = list(reversed(kept.all(KIND)))  # the newest first
        limit = query.get("limit", "20")
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIST:
            raise BadRequest(f"limit: a whole number from 1 to {MAX_LIST}", param="limit")
        after = query.get("after")
        if after:
            ids = [batch.id for batch in batches]
            if after not in ids:
                raise BadRequest(f"after: {after[:40]!r} is not a batch of this list")
            batches = batches[ids.index(after) + 1 :]
        page = batches[: int(limit)]
        return json_answer(
            {
                "object": "list",
                "data": [batch_object(batch) for batch in page],
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": len(batches) > len(page),
            }
        )


OPERATIONS = (CreateBatch(), RetrieveBatch(), CancelBatch(), ListBatches())


def _members(data: bytes, endpoint: str, files: FileSession, kept: Kept) -> list[Member]:
    """The input file's lines as requests of `endpoint`, each checked as one (a 400 naming the
    line when it is not a request the endpoint takes)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("input_file_id: the input file is not UTF-8 text") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise BadRequest("input_file_id: the input file has no requests", param="input_file_id")
    if len(lines) > MOST:
        raise BadRequest(f"input_file_id: at most {MOST} requests in a batch")
    operation = ENDPOINTS[endpoint]
    route = operation.routes[0]
    members, seen = [], set()
    for number, line in lines:
        where = f"line {number}"
        try:
            item = jsontext.parse_body(line.encode())
        except BadRequest as exc:
            raise BadRequest(f"{where}: {exc.message}") from None
        if not isinstance(item, dict):
            raise BadRequest(f"{where}: not a JSON object")
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise BadRequest(f"{where}: custom_id must be a non-empty string")
        if custom_id in seen:
            raise BadRequest(f"{where}: custom_id {custom_id[:64]!r} is used twice")
        seen.add(custom_id)
        if item.get("method") != "POST" or item.get("url") != endpoint:
            raise BadRequest(f"{where}: method must be POST and url the batch's {endpoint}")
        body = item.get("body")
        if not isinstance(body, dict):
            raise BadRequest(f"{where}: body must be a JSON object")
        if body.get("stream") is True:
            raise BadRequest(f"{where}.body.stream: batch requests are not streamed")
        request = Request(route.method, route.path, route, {}, {}, {}, body, files=files)
        members.append(kept.checked(Member(custom_id, operation, request), f"{where}.body"))
    return members


def status_of(batch: Batch) -> str:
    if batch.ended:
        return "cancelled" if batch.outcomes is None else "completed"
    if batch.canceled:
        return "cancelling"
    return "in_progress" if batch.reads else "validating"


def batch_object(batch: Batch) -> dict[str, Any]:
    """The API's `Batch` for a batch as it stands."""
    created = int(batch.created.timestamp())
    status = status_of(batch)
    outcomes = batch.outcomes or []
    failed = sum(not outcome.ok for outcome in outcomes)
    fields = batch.fields
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": fields["endpoint"],
        "errors": None,
        "input_file_id": fields["input_file_id"],
        "completion_window": "24h",
        "status": status,
        "output_file_id": fields.get("output_file_id"),
        "error_file_id": fields.get("error_file_id"),
        "created_at": created,
        "in_progress_at": created + IN_PROGRESS_AFTER if status != "validating" else None,
        "expires_at": created + EXPIRES_AFTER,
        "finalizing_at": created + DONE_AFTER if status == "completed" else None,
        "completed_at": created + DONE_AFTER if status == "completed" else None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": created + IN_PROGRESS_AFTER if batch.canceled else None,
        "cancelled_at": created + DONE_AFTER if status == "cancelled" else None,
        "request_counts": {
            "total": len(batch.members),
            "completed": len(outcomes) - failed,
            "failed": failed,
        },
        "metadata": fields.get("metadata"),
    }


async def _write_files(batch: Batch, files: FileSession) -> None:
    """Once `batch` has ended, its answers as the output and error files (uploads, so
    `files.content` reads them), once."""
    if not batch.ended or batch.outcomes is None or "output_file_id" in batch.fields:
        return
    done: list[str] = []
    errors: list[str] = []
    for member, outcome in zip(batch.members, batch.outcomes, strict=True):
        (done if outcome.ok else errors).append(jsontext.dumps(_line(batch, member, outcome)))
    for key, lines, suffix in (
        ("output_file_id", done, "output"),
        ("error_file_id", errors, "error"),
    ):
        if not lines:
            batch.fields[key] = None
            continue
        data = ("\n".join(lines) + "\n").encode()
        name = f"{batch.id}_{suffix}.jsonl"
        upload = await files.upload(
            FAMILY, data, "application/jsonl", name, file_id, purpose="batch_output"
        )
        batch.fields[key] = upload.id


def _line(batch: Batch, member: Member, outcome: Outcome) -> dict[str, Any]:
    """One request's line of the output or error file."""
    seed = f"{batch.id}\n{member.name}".encode()
    digest = hashlib.sha256(seed).hexdigest()
    return {
        "id": f"batch_req_{digest[:32]}",
        "custom_id": member.name,
        "response": {
            "status_code": outcome.status,
            "request_id": digest[32:64],
            "body": outcome.body if outcome.body is not None else {},
        },
        "error": None,
    }
