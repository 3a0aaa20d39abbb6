"""The Anthropic Messages API as the anthropic SDKs call it: messages (stream and not),
count_tokens, models.

    turns.py          messages[] as turns, tool use and results paired as the API checks them
    content.py        content blocks -> content parts (text, images, documents, search results)
    tools.py          tools and tool_choice -> function tools
    request.py        Messages request -> chat completions request
    count_tokens.py   the text count_tokens counts
    response.py       chat completions answers and streams -> a Message and its events
    usage.py          token counts: the API's Usage, from the upstream's
    models.py         /v1/models for Anthropic clients
    batches.py        Message Batches, kept by localaik, their members run as messages
    operations.py     the operations the pipeline calls
    errors.py         the error envelope
    wire.py           the API's types (request params, Message, stream events, ModelInfo) and
                      its facts: roles, server blocks, stop reasons, the event order
"""

from __future__ import annotations

from collections.abc import Mapping

from localaik.families import request_ids
from localaik.families.anthropic import batches, models, operations
from localaik.families.anthropic.errors import FAULTS, error_body
from localaik.families.descriptor import Descriptor, KeyRules, SdkEnvironment


def claim(path: str, headers: Mapping[str, str]) -> int:
    """`/v1/messages` and below; the shared `/v1/models` when the client sends
    `anthropic-version` (the anthropic SDKs always do)."""
    if path == "/v1/messages" or path.startswith("/v1/messages/"):
        return 4
    if (path == "/v1/models" or path.startswith("/v1/models/")) and "anthropic-version" in headers:
        return 2
    return 0


DESCRIPTOR = Descriptor(
    name="anthropic",
    operations=(
        operations.Messages(),
        operations.CountTokens(),
        models.ListModels(),
        models.GetModel(),
        *batches.OPERATIONS,
    ),
    claim=claim,
    error_body=error_body,
    faults=FAULTS,
    # `metadata` holds the caller's user id; model and stream have their own key fields.
    key_rules=KeyRules(volatile=frozenset({"model", "stream", "metadata"})),
    sdk=SdkEnvironment(
        base_url_variable="ANTHROPIC_BASE_URL",
        base_url_suffix="",
        key_variables=("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
        placeholder_key_variable="ANTHROPIC_API_KEY",
    ),
    request_id=request_ids.ANTHROPIC,
)
