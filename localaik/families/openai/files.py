"""OpenAI Files: `files.create` (multipart: `file`, `purpose`), `files.retrieve`, `files.list`,
`files.content`, `files.delete`, and `file_id` in chat completion `file` parts and Responses API
`input_file` / `input_image` parts, resolved to the file's content hash when a request is parsed.

Ids (`file-<24 hex>`) and `created_at` are derived from the content and the order of uploads of
the same bytes in the cassette (`families/uploads.py`), so record and replay give the same ids.
A list is newest first (`order=desc`, the API's default), paged by `after` and `limit`.
"""

from __future__ import annotations

import re
from typing import Any

from localaik.errors import BadRequest, NotFound
from localaik.families.files import FileOperation, FileRequest
from localaik.families.operation import Answer, Route, json_answer
from localaik.families.uploads import CREATED, FileSession, Upload, derived_id, uploaded
from localaik.media.parts import STORED, guess_mime, stored_uri
from localaik.wire.rebuild import rebuilt

FAMILY = "openai"
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_LIST = 10_000
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def file_id(sha256: str, ordinal: int) -> str:
    return "file-" + derived_id(sha256, ordinal, 24)


def openai_file(upload: Upload) -> dict[str, Any]:
    """The API's `FileObject` for an upload."""
    return {
        "id": upload.id,
        "object": "file",
        "bytes": upload.size,
        "created_at": CREATED,
        "filename": upload.display_name,
        "purpose": upload.purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


class CreateFile(FileOperation):
    """`POST /v1/files`: a multipart form with `file` and `purpose`."""

    family = FAMILY
    name = "files.create"
    routes = (Route("POST", "/v1/files"),)

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        fields = _form(request.headers.get("content-type", ""), request.body)
        purpose = fields.get("purpose", (None, b"", ""))[1].decode("utf-8", "replace").strip()
        if not purpose:
            raise BadRequest("purpose: required field of the form", param="purpose")
        if purpose not in PURPOSES:
            raise BadRequest(
                f"purpose: {purpose[:40]!r} is not one of {', '.join(PURPOSES)}", param="purpose"
            )
        if "file" not in fields:
            raise BadRequest("file: required field of the form (a file part)", param="file")
        filename, data, given = fields["file"]
        name = filename or "upload"
        upload = await files.upload(
            FAMILY, data, guess_mime(name, data, given), name, file_id, purpose=purpose
        )
        return json_answer(openai_file(upload))


def _form(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes, str]]:
    """The fields of a multipart/form-data body: name -> (filename, bytes, content type)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadRequest("files.create takes a multipart/form-data body (fields file, purpose)")
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise BadRequest("the multipart/form-data Content-Type has no boundary")
    delimiter = b"--" + found.group(1).encode("latin-1")
    fields: dict[str, tuple[str | None, bytes, str]] = {}
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise BadRequest("the multipart/form-data body is malformed (no closing boundary)")
    for chunk in chunks[1:-1]:
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("the multipart/form-data body is malformed (a part has no headers)")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params = dict(_PARAM.findall(headers.get("content-disposition", "")))
        if "name" in params:
            fields[params["name"]] = (
                params.get("filename"),
                data.removesuffix(b"\r\n"),
                headers.get("content-type", ""),
            )
    return fields


def _found(request: FileRequest, files: FileSession) -> Upload:
    name = request.params["file_id"]
    upload = files.find(FAMILY, name)
    if upload is None:
        raise NotFound(f"No such File object: {name}", param="file_id")
    return upload


class RetrieveFile(FileOperation):
    family = FAMILY
    name = "files.retrieve"
    routes = (Route("GET", "/v1/files/{file_id}"),)

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        return json_answer(openai_file(_found(request, files)))


class DeleteFile(FileOperation):
    family = FAMILY
    name = "files.delete"
    routes = (Route("DELETE", "/v1/files/{file_id}"),)

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        upload = _found(request, files)
        files.delete(FAMILY, upload.id)
        return json_answer({"id": upload.id, "object": "file", "deleted": True})


class FileContent(FileOperation):
    family = FAMILY
    name = "files.content"
    routes = (Route("GET", "/v1/files/{file_id}/content"),)

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        upload = _found(request, files)
        data = files.data(stored_uri(upload.sha256))
        if data is None:
            raise NotFound(f"the bytes of {upload.id} are no longer held by this server")
        return Answer(200, upload.mime_type, data)


class ListFiles(FileOperation):
    family = FAMILY
    name = "files.list"
    routes = (Route("GET", "/v1/files"),)

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        query = request.query
        uploads = files.uploads(FAMILY)
        if query.get("purpose"):
            uploads = [u for u in uploads if u.purpose == query["purpose"]]
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise BadRequest("order: must be asc or desc", param="order")
        if order == "desc":
            uploads.reverse()
        limit_text = query.get("limit", str(MAX_LIST))
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIST:
            raise BadRequest(f"limit: a whole number from 1 to {MAX_LIST}", param="limit")
        after = query.get("after")
        if after:
            ids = [u.id for u in uploads]
            if after not in ids:
                raise BadRequest(f"after: {after[:40]!r} is not a file of this list", param="after")
            uploads = uploads[ids.index(after) + 1 :]
        page = uploads[: int(limit_text)]
        return json_answer(
            {
                "object": "list",
                "data": [openai_file(u) for u in page],
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": len(uploads) > len(page),
            }
        )


def resolve_file_ids(body: Any, files: FileSession | None) -> Any:
    """`body` with each `file_id` of an uploaded file (chat `file` parts, Responses
    `input_file` and `input_image` parts) replaced by its content and type (`stored_uri`); an
    id this server did not give is a 400 naming where it is."""
    return rebuilt(body, lambda node: _part(node, files))


def _part(node: dict[str, Any], files: FileSession | None) -> dict[str, Any]:
    kind = node.get("type")
    if kind == "file" and isinstance(node.get("file"), dict):
        node["file"] = _resolved(node["file"], files, ".file.file_id")
    elif kind in ("input_file", "input_image"):
        node = _resolved(node, files, ".file_id")
    return node


def _resolved(part: dict[str, Any], files: FileSession | None, field: str) -> dict[str, Any]:
    """`part` with its `file_id` resolved; `field`: where the id is, from the object the walk
    is at (`rebuild.py` puts the object's location before it)."""
    ref = part.get("file_id")
    if not isinstance(ref, str) or not ref or ref.startswith(STORED):
        return part
    upload = uploaded(
        files,
        FAMILY,
        ref,
        lambda where: BadRequest(
            f"{where}{field}: {ref[:60]!r} was not uploaded to this server in this session "
            "(upload it with files.create first)",
            param=f"{where}{field}",
        ),
    )
    return {**part, "file_id": stored_uri(upload.sha256, upload.mime_type)}
