"""Gemini batch mode with inline requests (`models/{model}:batchGenerateContent`), and
`batches.get`, `list`, `cancel`, `delete` (`/v1beta/batches/…`), as google-genai and
@google/genai call them.

A batch is kept by localaik (`families/kept.py`: deterministic names and times, state moved by
reads, members run through the normal generateContent path, each recorded or replayed on its
own, with the key a plain generateContent request of the same content has). Its answer is the
long-running operation the API gives: `metadata` holds the state and, once the batch ended,
the responses inline (`output.inlinedResponses.inlinedResponses`, in the requests' order), each
a GenerateContentResponse or the error it got (a replay miss's explanation included). A member
the generateContent checks refuse is a 400 at create naming it (`requests[1]: …`).

A batch from an uploaded file (`inputConfig.fileName`: JSON lines `{"key", "request"}`, made
with `files.upload`) runs the same way; once it ends, its answers are a file of their own
(`responsesFile`: lines `{"key", "response"}` or `{"key", "error"}`, in the file's order), an
upload whose name derives from its content, which `files.download` reads (`files.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localaik.errors import BadRequest, NotFound
from localaik.families.gemini.casing import camelize_request
from localaik.families.gemini.files import file_name
from localaik.families.gemini.models import paged, versioned
from localaik.families.gemini.operations import FAMILY, GenerateContent
from localaik.families.gemini.response import model_name
from localaik.families.kept import Batch, Kept, Member, made_at, rfc3339
from localaik.families.operation import (
    Answer,
    ClientRequest,
    Local,
    Parsed,
    Request,
    json_answer,
)
from localaik.families.uploads import FileSession
from localaik.media.parts import stored_uri
from localaik.wire import jsontext

KIND = "gemini.batch"
ROOT = "/batches"
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
MOST = 10_000
ENDS_AFTER = 60  # seconds from creation to the end, in the made-up times
GENERATE = GenerateContent()


@dataclass(frozen=True)
class Asked:
    batch_id: str | None  # the batch's id without `batches/` (None for create and list)
    model: str | None  # create's model
    body: Any
    query: dict[str, str]
    kept: Kept | None
    files: FileSession | None  # the cassette's uploads: a batch's input and results files


class _BatchOperation(Local[Asked]):
    family = FAMILY
    takes_body = False

    def parse(self, request: Request) -> Parsed[Asked]:
        body = camelize_request(request.body) if request.body is not None else None
        model = request.params.get("model")
        asked = Asked(
            request.params.get("batch"),
            model_name(model) if model else None,
            body,
            dict(request.query),
            request.kept,
            request.files,
        )
        return Parsed(ClientRequest(FAMILY, self.name, asked.model, False, body), asked)

    def batch(self, kept: Kept, asked: Asked) -> Batch:
        found: Batch = kept.get(KIND, f"batches/{asked.batch_id}", "batch")
        return found


class CreateBatch(_BatchOperation):
    name = "batchGenerateContent"
    routes = versioned("POST", "/models/{model}:batchGenerateContent")
    takes_body = True

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        asked = parsed.context
        model = asked.model or ""
        body = asked.body
        batch_body = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(batch_body, dict):
            raise BadRequest("batch: expected a GenerateContentBatch object", param="batch")
        source = batch_body.get("inputConfig")
        from_file = isinstance(source, dict) and "fileName" in source
        requests: Any = None
        keys: list[str] = []
        if isinstance(source, dict) and from_file:
            requests, keys = _file_requests(source["fileName"], asked.files)
        elif isinstance(source, dict) and isinstance(source.get("requests"), dict):
            requests = source["requests"].get("requests")
        if not isinstance(requests, list) or not requests:
            raise BadRequest(
                "inputConfig.requests.requests: a batch needs a non-empty list of requests",
                param="inputConfig",
            )
        if len(requests) > MOST:
            raise BadRequest(f"inputConfig: at most {MOST} inline requests", param="inputConfig")
        members = [_member(i, item, model, kept, asked.files) for i, item in enumerate(requests)]
        display = batch_body.get("displayName")
        if display is not None and not isinstance(display, str):
            raise BadRequest("batch.displayName must be a string", param="displayName")
        digest = kept.new_id(KIND, {"model": model, "requests": requests})
        metadata = [item.get("metadata") for item in requests]
        fields = {"model": model, "displayName": display, "metadata": metadata}
        if from_file:
            fields["keys"] = keys
        batch = Batch(f"batches/{digest[:20]}", made_at(digest), members, fields)
        kept.add(KIND, batch.id, batch)
        return json_answer(operation(batch))


class GetBatch(_BatchOperation):
    name = "batches.get"
    routes = versioned("GET", ROOT + "/{batch}")

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        await kept.read(batch)
        await _write_results(batch, parsed.context.files)
        return json_answer(operation(batch))


class ListBatches(_BatchOperation):
    name = "batches.list"
    routes = versioned("GET", ROOT)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batches: list[Batch] = kept.all(KIND)
        found = [operation(batch) for batch in reversed(batches)]  # the newest first
        items, token = paged(found, parsed.context.query)
        page: dict[str, Any] = {"operations": items}
        if token is not None:
            page["nextPageToken"] = token
        return json_answer(page)


class CancelBatch(_BatchOperation):
    name = "batches.cancel"
    routes = versioned("POST", ROOT + "/{batch}:cancel")

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        if not batch.ended:
            batch.canceled = True
            await kept.finish(batch)  # none of its requests run: it is cancelled at once
        return json_answer({})


class DeleteBatch(_BatchOperation):
    name = "batches.delete"
    routes = versioned("DELETE", ROOT + "/{batch}")

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        batch = self.batch(kept, parsed.context)
        kept.remove(KIND, batch.id)
        return json_answer({})


OPERATIONS = (CreateBatch(), GetBatch(), ListBatches(), CancelBatch(), DeleteBatch())


def _member(
    index: int, item: Any, model: str, kept: Kept, files: FileSession | None = None
) -> Member:
    """An inline request as a generateContent request on the batch's model, checked as one."""
    where = f"requests[{index}]"
    inner = item.get("request") if isinstance(item, dict) else None
    if not isinstance(inner, dict):
        raise BadRequest(f"{where}: expected an object with a request", param=where)
    named = inner.get("model")
    if named is not None and (not isinstance(named, str) or model_name(named) != model):
        raise BadRequest(f"{where}.request.model: the batch's model is models/{model}")
    body = {key: value for key, value in inner.items() if key != "model"}
    route = GENERATE.routes[0]
    params = {"model": model}
    request = Request(route.method, route.path, route, params, {}, {}, body, files, kept)
    return kept.checked(Member(str(index), GENERATE, request), where)


def _file_requests(name: Any, files: FileSession | None) -> tuple[list[Any], list[str]]:
    """The requests of an uploaded batch file (`{"key", "request"}` lines) and their keys."""
    found = None
    if files is not None and isinstance(name, str):
        found = files.find(FAMILY, name.removeprefix("files/"))
    data = files.data(stored_uri(found.sha256)) if files is not None and found else None
    if data is None:
        raise NotFound(f"inputConfig.fileName: {str(name)[:60]!r} was not uploaded to this server")
    requests, keys = [], []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = jsontext.parse_body(line.encode())
        except BadRequest as exc:
            raise BadRequest(f"inputConfig.fileName line {number}: {exc.message}") from None
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or key in keys:
            raise BadRequest(f"inputConfig.fileName line {number}: a key of its own is needed")
        requests.append({"request": item.get("request")})
        keys.append(key)
    return requests, keys


async def _write_results(batch: Batch, files: FileSession | None) -> None:
    """Once a batch from a file has ended, its answers as a file of their own, once."""
    keys = batch.fields.get("keys")
    if keys is None or not batch.ended or batch.outcomes is None or files is None:
        return
    if "responsesFile" in batch.fields:
        return
    lines = [{"key": key, **line} for key, line in zip(keys, _lines(batch), strict=True)]
    data = "".join(jsontext.dumps(line) + "\n" for line in lines).encode()
    name = batch.id.replace("/", "-") + "-results.jsonl"
    upload = await files.upload(
        FAMILY, data, "application/jsonl", name, file_name, purpose="batch_output"
    )
    batch.fields["responsesFile"] = f"files/{upload.id}"


def operation(batch: Batch) -> dict[str, Any]:
    """The long-running operation the API answers for a batch as it stands."""
    total = len(batch.members)
    fields = batch.fields
    state, done = "BATCH_STATE_PENDING" if batch.reads == 0 else "BATCH_STATE_RUNNING", False
    stats: dict[str, str] = {"requestCount": str(total), "pendingRequestCount": str(total)}
    metadata: dict[str, Any] = {
        "@type": BATCH_TYPE,
        "model": f"models/{fields['model']}",
        "createTime": rfc3339(batch.created),
        "updateTime": rfc3339(batch.at(ENDS_AFTER) if batch.ended else batch.created),
    }
    if fields["displayName"] is not None:
        metadata["displayName"] = fields["displayName"]
    if batch.ended:
        done = True
        metadata["endTime"] = rfc3339(batch.at(ENDS_AFTER))
        if batch.outcomes is None:
            state = "BATCH_STATE_CANCELLED"
            stats = {"requestCount": str(total), "pendingRequestCount": str(total)}
        else:
            state = "BATCH_STATE_SUCCEEDED"
            ok = sum(outcome.ok for outcome in batch.outcomes)
            stats = {
                "requestCount": str(total),
                "successfulRequestCount": str(ok),
                "failedRequestCount": str(total - ok),
            }
            results = fields.get("responsesFile")
            output: dict[str, Any] = {"@type": OUTPUT_TYPE}
            if results is not None:
                output["responsesFile"] = results
            else:
                output["inlinedResponses"] = _responses(batch)
            metadata["output"] = output
    metadata["state"] = state
    metadata["batchStats"] = stats
    answer: dict[str, Any] = {"name": batch.id, "metadata": metadata, "done": done}
    if "output" in metadata:
        answer["response"] = metadata["output"]
    return answer


def _lines(batch: Batch) -> list[dict[str, Any]]:
    """Each member's answer: `{"response": …}`, or `{"error": …}` (a miss's explanation)."""
    return [
        {"response": outcome.body} if outcome.ok else {"error": outcome.body.get("error")}
        for outcome in batch.outcomes or []
    ]


def _responses(batch: Batch) -> dict[str, Any]:
    responses = []
    for line, metadata in zip(_lines(batch), batch.fields["metadata"], strict=True):
        if metadata is not None:
            line["metadata"] = metadata
        responses.append(line)
    return {"inlinedResponses": responses}
