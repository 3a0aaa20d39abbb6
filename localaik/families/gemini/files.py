"""Gemini Files: `files.upload` (the resumable upload protocol of google-genai and
@google/genai), `files.get`, `files.list`, `files.delete`, and `fileData.fileUri` naming an
uploaded file, resolved to its content hash when a request is parsed.

The upload protocol, as both SDKs speak it: `POST /upload/v1beta/files` with
`X-Goog-Upload-Protocol: resumable` and `X-Goog-Upload-Command: start` (the size and type in
`X-Goog-Upload-Header-Content-Length` / `-Type`, the `File` in the JSON body) is answered with
an `X-Goog-Upload-URL`, this same path with an `upload_id`; the SDKs send the bytes there, in
chunks, each with `X-Goog-Upload-Command: upload` and its `X-Goog-Upload-Offset`, the last
with `upload, finalize`, answered with `X-Goog-Upload-Status: final` and `{"file": File}`.
Names (`files/<12 hex>`), URIs (the real API's, so they are the same on any machine) and
timestamps are derived from the content (`families/uploads.py`).
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from localaik.errors import BadRequest, NotFound, PayloadTooLarge
from localaik.families.files import FileOperation, FileRequest
from localaik.families.gemini.models import versioned
from localaik.families.operation import JSON_TYPE, Answer, Route, json_answer
from localaik.families.uploads import CREATED, Draft, FileSession, Upload, derived_id, uploaded
from localaik.media.parts import stored_uri
from localaik.wire.rebuild import rebuilt

FAMILY = "gemini"
API = "https://generativelanguage.googleapis.com/v1beta/"
UPLOAD_PATH = "/upload/v1beta/files"
DEFAULT_PAGE = 10
MAX_PAGE = 100
_CREATED = datetime.fromtimestamp(CREATED, UTC)
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def file_name(sha256: str, ordinal: int) -> str:
    return derived_id(sha256, ordinal, 12)


def gemini_file(upload: Upload) -> dict[str, Any]:
    """The API's `File` for an upload: every field derived from its content and ordinal. A
    file localaik made (a batch's results) is `GENERATED`, with the `downloadUri` the SDKs
    require before `files.download`."""
    generated = upload.purpose == "batch_output"
    made = {"source": "GENERATED", "downloadUri": f"{API}files/{upload.id}:download?alt=media"}
    return {
        "name": f"files/{upload.id}",
        "displayName": upload.display_name,
        "mimeType": upload.mime_type,
        "sizeBytes": str(upload.size),
        "createTime": _CREATED.strftime(_TIME),
        "updateTime": _CREATED.strftime(_TIME),
        "expirationTime": (_CREATED + timedelta(hours=48)).strftime(_TIME),
        "sha256Hash": base64.b64encode(upload.sha256.encode()).decode(),
        "uri": f"{API}files/{upload.id}",
        "state": "ACTIVE",
        "source": "UPLOADED",
        **(made if generated else {}),
    }


def _header(request: FileRequest, name: str) -> str:
    return request.headers.get(name, "").strip()


class UploadFile(FileOperation):
    """`POST /upload/v1beta/files`: the resumable upload's start, then its chunks."""

    family = FAMILY
    name = "files.upload"
    routes = (Route("POST", UPLOAD_PATH), Route("POST", "/upload/v1/files"))
    # The SDKs send a chunk again, after a pause, while its answer has no upload status.
    error_headers = {"X-Goog-Upload-Status": "final"}

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        commands = {c.strip().lower() for c in _header(request, "x-goog-upload-command").split(",")}
        if "start" in commands:
            return self._start(request, files)
        upload_id = request.query.get("upload_id", "")
        draft = files.drafts.get(upload_id)
        if draft is None:
            raise NotFound(
                "no upload in progress has this upload_id: start it with "
                "X-Goog-Upload-Protocol: resumable and X-Goog-Upload-Command: start"
            )
        if "query" in commands:
            return _status("active", {"X-Goog-Upload-Size-Received": str(len(draft.data))})
        if "upload" not in commands:
            raise BadRequest(
                "X-Goog-Upload-Command must be start, upload, 'upload, finalize' or query"
            )
        offset = _header(request, "x-goog-upload-offset")
        if offset and offset != str(len(draft.data)):
            raise BadRequest(
                f"X-Goog-Upload-Offset is {offset[:20]}, but {len(draft.data)} bytes were "
                "received so far"
            )
        if len(draft.data) + len(request.body) > request.limit:
            del files.drafts[upload_id]
            raise PayloadTooLarge(
                f"the uploaded file is larger than LK_MAX_BODY_SIZE ({request.limit} bytes)"
            )
        draft.data += request.body
        if "finalize" not in commands:
            return _status("active")
        del files.drafts[upload_id]
        if draft.declared is not None and draft.declared != len(draft.data):
            raise BadRequest(
                f"the upload announced {draft.declared} bytes (X-Goog-Upload-Header-"
                f"Content-Length) but sent {len(draft.data)}"
            )
        # Kept where the upload started: a chunk need not carry the headers its start had.
        upload = await draft.session.upload(
            FAMILY, bytes(draft.data), draft.mime_type, draft.display_name, file_name
        )
        answer = json_answer({"file": gemini_file(upload)})
        answer.headers["X-Goog-Upload-Status"] = "final"
        return answer

    def _start(self, request: FileRequest, files: FileSession) -> Answer:
        protocol = _header(request, "x-goog-upload-protocol").lower()
        if protocol != "resumable":
            raise BadRequest(
                f"X-Goog-Upload-Protocol {protocol or '(none)'!r} is not supported: localaik "
                "serves the resumable upload protocol (what google-genai and @google/genai use)"
            )
        described = _described(request.body)
        declared_text = _header(request, "x-goog-upload-header-content-length")
        declared = _size(declared_text or described.get("sizeBytes"))
        if declared is not None and declared > request.limit:
            raise PayloadTooLarge(
                f"the file to upload ({declared} bytes) is larger than LK_MAX_BODY_SIZE "
                f"({request.limit} bytes)"
            )
        mime = _header(request, "x-goog-upload-header-content-type") or described.get("mimeType")
        if not isinstance(mime, str) or not mime:
            raise BadRequest("the file's MIME type is required (X-Goog-Upload-Header-Content-Type)")
        display = described.get("displayName") or _header(request, "x-goog-upload-file-name")
        upload_id = secrets.token_urlsafe(16)  # never stored: it only joins the chunks
        files.drafts[upload_id] = Draft(files, mime.strip(), str(display or ""), declared)
        host = request.headers.get("host", "localhost")
        query = urllib.parse.urlencode({"upload_id": upload_id, "upload_protocol": "resumable"})
        url = f"http://{host}{request.path}?{query}"
        return _status("active", {"X-Goog-Upload-URL": url}, body=b"{}")


def _described(body: bytes) -> dict[str, Any]:
    """The `File` a start request describes (its body may be empty)."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise BadRequest("the upload's start request body must be JSON") from None
    file = value.get("file") if isinstance(value, dict) else None
    if file is None:
        return {}
    if not isinstance(file, dict):
        raise BadRequest("file: expected an object")
    # Proto JSON: google-genai (Python) sends snake_case, @google/genai camelCase.
    return {_camel(key): value for key, value in file.items()}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _size(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        size = int(str(value))
    except ValueError:
        raise BadRequest(
            f"the file's size must be a whole number, not {str(value)[:20]!r}"
        ) from None
    if size < 0:
        raise BadRequest("the file's size must not be negative")
    return size


def _status(status: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
    answer = Answer(200, JSON_TYPE, body)
    answer.headers["X-Goog-Upload-Status"] = status
    answer.headers.update(headers or {})
    return answer


def _found(request: FileRequest, files: FileSession) -> Upload:
    name = request.params["file"]
    upload = files.find(FAMILY, name)
    if upload is None:
        raise NotFound(f"File files/{name} was not uploaded to this server (or was deleted)")
    return upload


class GetFile(FileOperation):
    family = FAMILY
    name = "files.get"
    routes = versioned("GET", "/files/{file}")

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        return json_answer(gemini_file(_found(request, files)))


class DownloadFile(FileOperation):
    """`GET /v1beta/files/{name}:download?alt=media`: a file's bytes (`files.download`)."""

    family = FAMILY
    name = "files.download"
    routes = versioned("GET", "/files/{file}:download")

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        upload = _found(request, files)
        data = files.data(stored_uri(upload.sha256))
        if data is None:
            raise NotFound(f"the bytes of files/{upload.id} are no longer held by this server")
        return Answer(200, upload.mime_type, data)


class DeleteFile(FileOperation):
    family = FAMILY
    name = "files.delete"
    routes = versioned("DELETE", "/files/{file}")

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        files.delete(FAMILY, _found(request, files).id)
        return json_answer({})


class ListFiles(FileOperation):
    """`GET /v1beta/files`: pages of `pageSize` (at most 100), `pageToken` the next offset."""

    family = FAMILY
    name = "files.list"
    routes = versioned("GET", "/files")

    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        size = _size(request.query.get("pageSize")) or DEFAULT_PAGE
        token = request.query.get("pageToken", "")
        if token and not token.isdigit():
            raise BadRequest(f"pageToken {token[:40]!r} is not one this server gave")
        start = int(token) if token else 0
        uploads = files.uploads(FAMILY)
        end = start + min(size, MAX_PAGE)
        page: dict[str, Any] = {"files": [gemini_file(u) for u in uploads[start:end]]}
        if end < len(uploads):
            page["nextPageToken"] = str(end)
        return json_answer(page)


def resolve_files(body: Any, files: FileSession | None) -> Any:
    """`body` with each `fileData` naming a file uploaded to this server (`files/<name>`, or its
    URI) naming its content instead (`stored_uri`); a name of this API that was not uploaded is
    a 400 naming where it is. Other URIs are left as they are."""
    return rebuilt(body, lambda node: _resolved(node, files))


def _resolved(node: dict[str, Any], files: FileSession | None) -> dict[str, Any]:
    ref = node.get("fileData")
    if not isinstance(ref, dict) or not isinstance(ref.get("fileUri"), str):
        return node
    name = _uploaded_name(ref["fileUri"])
    if name is None:
        return node
    upload = uploaded(
        files,
        FAMILY,
        name,
        lambda where: BadRequest(
            f"{where}.fileData.fileUri: files/{name} was not uploaded to this server "
            "in this session (upload it with files.upload first)"
        ),
    )
    node["fileData"] = {
        **ref,
        "fileUri": stored_uri(upload.sha256),
        "mimeType": ref.get("mimeType") or upload.mime_type,
    }
    return node


def _uploaded_name(uri: str) -> str | None:
    """The file name in `files/<name>` or a URI whose path is `/v1beta/files/<name>`."""
    if uri.startswith("files/"):
        path = "/v1beta/" + uri
    else:
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme not in ("http", "https"):
            return None
        path = parts.path
    segments = path.strip("/").split("/")
    if len(segments) == 3 and segments[0] in ("v1beta", "v1") and segments[1] == "files":
        return segments[2] if segments[2] and ":" not in segments[2] else None
    return None
