"""The Gemini API (Generative Language, `generativelanguage.googleapis.com`), as google-genai
and @google/genai call it: generateContent and its stream, countTokens, embeddings, models, files.

    casing.py      request bodies in one key spelling (camelCase)
    request.py     GenerateContentRequest -> chat completions request
    generation.py  generationConfig, tools, toolConfig -> chat completions fields
    schema.py      Gemini's Schema dialect -> JSON Schema
    counting.py    the text countTokens counts
    response.py    chat completions answers and streams -> GenerateContentResponse
    embeddings.py  embedContent / batchEmbedContents <-> /embeddings
    models.py      models.list / models.get
    files.py       files.upload / get / list / delete, fileData naming an uploaded file
    batches.py     batch mode with inline requests, kept by localaik, run as generateContent
    caches.py      cached contents, kept by localaik, expanded into the requests naming them
    operations.py  the operations the pipeline calls
    errors.py      the error envelope
    wire.py        the API's wire types, and wire facts (finish reasons)
"""

from __future__ import annotations

from collections.abc import Mapping

from localaik.families.descriptor import Descriptor, KeyRules, SdkEnvironment
from localaik.families.gemini import batches, caches, files, models, operations
from localaik.families.gemini.casing import camelize_request
from localaik.families.gemini.errors import FAULTS, error_body
from localaik.families.gemini.schema import json_schema_dialect


def claim(path: str, headers: Mapping[str, str]) -> int:
    """Gemini paths: everything under `/v1beta/` and `/upload/`, a `/v1/` path whose last
    segment names a method after `:`, `/v1/cachedContents`, and the shared `/v1/models`,
    `/v1/files` and `/v1/batches` when the client is google-genai (it always sends
    `x-goog-api-key` or `x-goog-api-client`)."""
    if path.startswith(("/v1beta/", "/upload/")):
        return 3
    if path.startswith("/v1/"):
        if ":" in path.rsplit("/", 1)[-1] or path.startswith("/v1/cachedContents"):
            return 3
        shared = ("/v1/models", "/v1/files", "/v1/batches")
        if (path in shared or path.startswith(tuple(p + "/" for p in shared))) and (
            "x-goog-api-key" in headers or "x-goog-api-client" in headers
        ):
            return 3
    return 0


DESCRIPTOR = Descriptor(
    name="gemini",
    operations=(
        operations.GenerateContent(),
        operations.CountTokens(),
        operations.EmbedContent(),
        operations.BatchEmbedContents(),
        models.ListModels(),
        models.GetModel(),
        files.UploadFile(),
        files.GetFile(),
        files.DownloadFile(),
        files.ListFiles(),
        files.DeleteFile(),
        *caches.OPERATIONS,
        *batches.OPERATIONS,
    ),
    claim=claim,
    error_body=error_body,
    faults=FAULTS,
    key_rules=KeyRules(
        casing=camelize_request,
        volatile=frozenset({"labels"}),
        keep_empty_in=frozenset({"tools"}),
        dialect=json_schema_dialect,
    ),
    sdk=SdkEnvironment(
        base_url_variable="GOOGLE_GEMINI_BASE_URL",
        base_url_suffix="",
        key_variables=("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        placeholder_key_variable="GEMINI_API_KEY",
    ),
)
