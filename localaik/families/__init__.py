"""Wire types and facts of the three API families, with no I/O."""

from enum import StrEnum


class Family(StrEnum):
    """The API family a request belongs to; it decides the error shape and the access-log tag."""

    GEMINI = "gemini"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    PLAIN = "-"


def family_of(path: str, headers: dict[str, str] | None = None) -> Family:
    """Which API a request is for, from its path (and, for the shared `/v1/models`, headers).

    Gemini clients always send `x-goog-api-key` or `x-goog-api-client`; Anthropic clients send
    `anthropic-version`; OpenAI clients send `Authorization: Bearer`.
    """
    headers = headers or {}
    if path.startswith("/v1beta/"):
        return Family.GEMINI
    if path == "/v1/messages" or path.startswith("/v1/messages/"):
        return Family.ANTHROPIC
    if path.startswith("/v1/"):
        if ":" in path.rsplit("/", 1)[-1]:
            return Family.GEMINI
        if path == "/v1/models" or path.startswith("/v1/models/"):
            if "x-goog-api-key" in headers or "x-goog-api-client" in headers:
                return Family.GEMINI
            if "anthropic-version" in headers:
                return Family.ANTHROPIC
        return Family.OPENAI
    return Family.PLAIN
