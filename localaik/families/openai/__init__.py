"""The OpenAI API as the openai SDKs call it: chat completions, legacy completions, the
Responses API, embeddings, models, files, batches.

    wire.py              wire types of chat and legacy completions, embeddings, models, errors
    checks.py            what a chat or completions request must get right
    chat.py              chat and completions requests and answers, passed on (file parts
                         expanded, the client's model name kept), and their streams
    responses_wire.py    the Responses API: fields honoured, accepted, refused; wire types
    responses_request.py Responses API request -> chat completions request, as a whole
    responses_input.py   its input items -> chat messages
    responses_content.py a message's content parts -> chat content parts
    responses_tools.py   its tools, tool_choice and text.format -> the chat ones
    responses_output.py  a chat completion -> a Response object (ids, items, usage)
    responses_stream.py  a chat completions stream -> Responses API stream events
    embeddings.py        /v1/embeddings <-> the upstream's /embeddings
    models.py            /v1/models
    files.py             /v1/files (create, retrieve, list, content, delete), file_id parts
    batches.py           /v1/batches over an uploaded JSONL file, kept by localaik
    operations.py        the operations the pipeline calls
    errors.py            the error envelope
"""

from __future__ import annotations

from collections.abc import Mapping

from localaik.families import request_ids
from localaik.families.descriptor import Descriptor, KeyRules, SdkEnvironment
from localaik.families.openai import batches, files, models, operations
from localaik.families.openai.errors import FAULTS, error_body


def claim(path: str, headers: Mapping[str, str]) -> int:
    """Every `/v1/` path, weakly: Gemini and Anthropic claim theirs more strongly."""
    return 1 if path.startswith("/v1/") else 0


DESCRIPTOR = Descriptor(
    name="openai",
    operations=(
        operations.ChatCompletions(),
        operations.Completions(),
        operations.Responses(),
        operations.StoredResponses(),
        operations.Embeddings(),
        models.ListModels(),
        models.GetModel(),
        files.CreateFile(),
        files.RetrieveFile(),
        files.ListFiles(),
        files.FileContent(),
        files.DeleteFile(),
        *batches.OPERATIONS,
    ),
    claim=claim,
    error_body=error_body,
    faults=FAULTS,
    # Bookkeeping that does not change the answer, and what the key holds apart.
    key_rules=KeyRules(
        volatile=frozenset(
            {
                "model",
                "stream",
                "user",
                "safety_identifier",
                "prompt_cache_key",
                "metadata",
                "store",
            }
        )
    ),
    sdk=SdkEnvironment(
        base_url_variable="OPENAI_BASE_URL",
        base_url_suffix="/v1",
        key_variables=("OPENAI_API_KEY",),
        placeholder_key_variable="OPENAI_API_KEY",
    ),
    request_id=request_ids.OPENAI,
)
