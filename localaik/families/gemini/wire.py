"""The Gemini API's wire types (Generative Language, `v1beta`), named after the API's own and
used through this module (`gemini.Part`), and the wire facts: how an OpenAI `finish_reason`
becomes a `finishReason`.

What a client sends is read defensively: its types are `total=False`, a body is treated as one
of them once it is known to be an object, and every field is still checked where it is read
(the checks are what answer 400). Keys are camelCase, as `casing.camelize_request` gives them.
What localaik answers is built whole: fields it always writes are required.

A Gemini `Schema` is JSON read by `schema.py`; the API is open (typed `Any`) for a JSON Schema
the client wrote, function-call arguments and function responses.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypeAlias, TypedDict

from localaik.wire.types import JSONObject

Schema: TypeAlias = JSONObject
"""A Gemini `Schema` (an OpenAPI 3.0 subset, `schema.py` reads it)."""
JsonSchema: TypeAlias = Any
"""A JSON Schema as the client wrote it (`responseJsonSchema`, `parametersJsonSchema`)."""

# ---------------------------------------------------------------------------------------------
# Contents: in requests and in answers


class Blob(TypedDict, total=False):
    mimeType: str
    data: str  # standard or URL-safe base64


class FileData(TypedDict, total=False):
    mimeType: str
    fileUri: str


class FunctionCall(TypedDict):
    name: str
    args: NotRequired[dict[str, Any]]  # the function's own arguments
    id: NotRequired[str]


class FunctionResponsePart(TypedDict, total=False):
    inlineData: Blob


class FunctionResponse(TypedDict, total=False):
    id: str
    name: str
    response: dict[str, Any]  # the function's own result
    parts: list[FunctionResponsePart]


class ExecutableCode(TypedDict, total=False):
    id: str
    language: str
    code: str


class CodeExecutionResult(TypedDict, total=False):
    id: str
    outcome: str
    output: str


class ToolCall(TypedDict, total=False):
    """A call of a tool that Google's servers run (the model's, replayed in a history)."""

    id: str
    toolType: str
    args: dict[str, Any]


class ToolResponse(TypedDict, total=False):
    id: str
    toolType: str
    response: dict[str, Any]


class Part(TypedDict, total=False):
    """One of `text`, `inlineData`, `fileData`, `functionCall`, `functionResponse`,
    `executableCode`, `codeExecutionResult`, `toolCall`, `toolResponse`."""

    text: str
    thought: bool
    thoughtSignature: str
    inlineData: Blob
    fileData: FileData
    functionCall: FunctionCall
    functionResponse: FunctionResponse
    executableCode: ExecutableCode
    codeExecutionResult: CodeExecutionResult
    toolCall: ToolCall
    toolResponse: ToolResponse


class Content(TypedDict, total=False):
    role: str  # "user" or "model"
    parts: list[Part]


# ---------------------------------------------------------------------------------------------
# GenerateContentRequest


class ThinkingConfig(TypedDict, total=False):
    includeThoughts: bool
    thinkingBudget: int
    thinkingLevel: str


class GenerationConfig(TypedDict, total=False):
    stopSequences: list[str]
    responseMimeType: str
    responseSchema: Schema
    responseJsonSchema: JsonSchema
    responseModalities: list[str]
    candidateCount: int
    maxOutputTokens: int
    temperature: float
    topP: float
    topK: int  # google-genai sends it as a float (40.0)
    seed: int
    presencePenalty: float
    frequencyPenalty: float
    responseLogprobs: bool
    logprobs: int
    speechConfig: JSONObject
    thinkingConfig: ThinkingConfig


class FunctionDeclaration(TypedDict, total=False):
    name: str
    description: str
    behavior: str
    parameters: Schema
    parametersJsonSchema: JsonSchema
    response: Schema
    responseJsonSchema: JsonSchema


class Tool(TypedDict, total=False):
    """Function declarations, or one of the tools that only Google's servers run."""

    functionDeclarations: list[FunctionDeclaration]
    googleSearch: JSONObject
    googleSearchRetrieval: JSONObject
    codeExecution: JSONObject
    urlContext: JSONObject
    googleMaps: JSONObject
    retrieval: JSONObject
    fileSearch: JSONObject
    computerUse: JSONObject
    enterpriseWebSearch: JSONObject
    mcpServers: list[JSONObject]


class FunctionCallingConfig(TypedDict, total=False):
    mode: str  # AUTO, ANY, NONE, VALIDATED, MODE_UNSPECIFIED
    allowedFunctionNames: list[str]


class ToolConfig(TypedDict, total=False):
    functionCallingConfig: FunctionCallingConfig
    retrievalConfig: JSONObject


class SafetySetting(TypedDict, total=False):
    category: str
    threshold: str


class GenerateContentRequest(TypedDict, total=False):
    model: str
    contents: list[Content]
    systemInstruction: Content
    tools: list[Tool]
    toolConfig: ToolConfig
    safetySettings: list[SafetySetting]
    generationConfig: GenerationConfig
    cachedContent: str
    labels: dict[str, str]


# ---------------------------------------------------------------------------------------------
# GenerateContentResponse (also each element of a stream)


class Candidate(TypedDict):
    content: Content
    finishReason: NotRequired[str]
    index: NotRequired[int]


class ModalityTokenCount(TypedDict):
    modality: str  # TEXT, IMAGE, VIDEO, AUDIO, DOCUMENT
    tokenCount: int


class UsageMetadata(TypedDict):
    promptTokenCount: int
    candidatesTokenCount: NotRequired[int]  # absent while a stream has not finished
    totalTokenCount: int
    cachedContentTokenCount: NotRequired[int]
    promptTokensDetails: NotRequired[list[ModalityTokenCount]]


class GenerateContentResponse(TypedDict):
    candidates: list[Candidate]
    usageMetadata: NotRequired[UsageMetadata]
    modelVersion: NotRequired[str]
    responseId: NotRequired[str]


class Status(TypedDict):
    """Google's error object: the HTTP status, a message and the canonical status name."""

    code: int
    message: str
    status: str


class ErrorResponse(TypedDict):
    error: Status


# ---------------------------------------------------------------------------------------------
# countTokens


class CountTokensRequest(TypedDict, total=False):
    contents: list[Content]
    generateContentRequest: GenerateContentRequest


class CountTokensResponse(TypedDict):
    totalTokens: int


# ---------------------------------------------------------------------------------------------
# embedContent and batchEmbedContents


class EmbedContentRequest(TypedDict, total=False):
    model: str
    content: Content
    taskType: str
    title: str
    outputDimensionality: int


class BatchEmbedContentsRequest(TypedDict, total=False):
    requests: list[EmbedContentRequest]


class ContentEmbedding(TypedDict):
    values: list[float]


class EmbedContentResponse(TypedDict):
    embedding: ContentEmbedding


class BatchEmbedContentsResponse(TypedDict):
    embeddings: list[ContentEmbedding]


# ---------------------------------------------------------------------------------------------
# models.list and models.get


class Model(TypedDict):
    name: str  # "models/<id>"
    version: str
    displayName: str
    description: str
    supportedGenerationMethods: list[str]
    inputTokenLimit: NotRequired[int]
    outputTokenLimit: NotRequired[int]


class ListModelsResponse(TypedDict):
    models: list[Model]
    nextPageToken: NotRequired[str]


# ---------------------------------------------------------------------------------------------
# Wire facts

FINISH_REASONS = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "tool_calls": "STOP",
    "function_call": "STOP",
}


def finish_reason(openai_reason: str | None) -> str | None:
    """OpenAI `finish_reason` -> Gemini `finishReason` (None stays None)."""
    if not openai_reason:
        return None
    return FINISH_REASONS.get(openai_reason.lower(), "OTHER")
