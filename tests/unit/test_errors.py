"""localaik.errors: every error class has a status and renders in each API family's shape."""

from __future__ import annotations

import pytest

from localaik import errors
from localaik.errors import Error
from localaik.families import Family
from localaik.families.gemini.errors import gemini_status
from localaik.families.openai.errors import openai_type
from localaik.families.rendering import error_body, one_line, render


def all_error_classes() -> list[type[Error]]:
    found: list[type[Error]] = [Error]
    pending = list(Error.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def make(cls: type[Error]) -> Error:
    if cls is errors.UpstreamStatus:
        return cls(429, "slow down")  # type: ignore[call-arg]
    if cls is errors.Injected:
        return cls(503, "overloaded")  # type: ignore[call-arg]
    return cls("something went wrong", param="contents[0]")


# The status each class answers with, and what the Gemini and OpenAI shapes then say.
EXPECTED = {
    "Error": (500, "INTERNAL", "server_error"),
    "BadRequest": (400, "INVALID_ARGUMENT", "invalid_request_error"),
    "Unsupported": (400, "INVALID_ARGUMENT", "invalid_request_error"),
    "Forbidden": (403, "PERMISSION_DENIED", "permission_error"),
    "NotFound": (404, "NOT_FOUND", "invalid_request_error"),
    "ReplayMiss": (404, "NOT_FOUND", "invalid_request_error"),
    "SecretRefused": (400, "INVALID_ARGUMENT", "invalid_request_error"),
    "BadFault": (400, "INVALID_ARGUMENT", "invalid_request_error"),
    "MethodNotAllowed": (405, "INVALID_ARGUMENT", "invalid_request_error"),
    "PayloadTooLarge": (413, "INVALID_ARGUMENT", "invalid_request_error"),
    "CassetteError": (424, "FAILED_PRECONDITION", "invalid_request_error"),
    "CassetteConflict": (409, "ABORTED", "invalid_request_error"),
    "CassetteBusy": (424, "FAILED_PRECONDITION", "invalid_request_error"),
    "UpstreamError": (502, "INTERNAL", "server_error"),
    "UpstreamUnreachable": (502, "INTERNAL", "server_error"),
    "UpstreamTimeout": (504, "DEADLINE_EXCEEDED", "server_error"),
    "UpstreamBadResponse": (502, "INTERNAL", "server_error"),
    "UpstreamStatus": (429, "RESOURCE_EXHAUSTED", "rate_limit_error"),
    "Injected": (503, "UNAVAILABLE", "server_error"),
    "Internal": (500, "INTERNAL", "server_error"),
}


def test_every_class_is_listed_here() -> None:
    """A new error class must say which status it answers with (add it to EXPECTED)."""
    assert {cls.__name__ for cls in all_error_classes()} == set(EXPECTED)


def test_every_class_is_exported_from_the_module() -> None:
    for cls in all_error_classes():
        assert getattr(errors, cls.__name__) is cls


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
def test_status_and_shapes(cls: type[Error]) -> None:
    status, grpc_status, openai_kind = EXPECTED[cls.__name__]
    error = make(cls)
    assert isinstance(error.status, int) and 400 <= error.status <= 599
    assert error.status == status
    assert isinstance(error.code, str) and error.code

    got_status, gemini = render(error, Family.GEMINI)
    assert got_status == status
    assert gemini == {"error": {"code": status, "message": error.message, "status": grpc_status}}

    got_status, openai = render(error, Family.OPENAI)
    assert got_status == status
    assert openai == {
        "error": {
            "message": error.message,
            "type": openai_kind,
            "param": error.param,
            "code": error.code,
        }
    }

    got_status, anthropic = render(error, Family.ANTHROPIC)
    assert got_status == status
    assert set(anthropic) == {"type", "error"}
    assert anthropic["type"] == "error"
    assert set(anthropic["error"]) == {"type", "message"}
    assert anthropic["error"]["message"] == error.message

    got_status, plain = render(error, Family.PLAIN)
    assert got_status == status
    assert plain == {"error": {"code": status, "message": error.message}}


def test_subclasses_share_the_parent_status() -> None:
    assert issubclass(errors.Unsupported, errors.BadRequest)
    for cls in (
        errors.UpstreamUnreachable,
        errors.UpstreamTimeout,
        errors.UpstreamBadResponse,
        errors.UpstreamStatus,
    ):
        assert issubclass(cls, errors.UpstreamError)


def test_a_bad_cassette_is_not_a_bug_in_localaik() -> None:
    """The operator fixes a bad cassette: it is a 4xx, retried by no SDK (a conflict, 409, is
    retried by OpenAI's and Anthropic's, and the retry replays the other writer's recording)."""
    assert issubclass(errors.CassetteConflict, errors.CassetteError)
    assert not issubclass(errors.CassetteError, errors.Internal)
    assert errors.CassetteError.status == 424 and errors.CassetteConflict.status == 409


def test_codes_tell_classes_apart() -> None:
    codes = [cls.code for cls in all_error_classes() if cls is not Error]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 500, 501, 502, 503, 504])
def test_upstream_status_is_kept(status: int) -> None:
    error = errors.UpstreamStatus(status, "from upstream")
    assert render(error, Family.GEMINI)[0] == status
    assert render(error, Family.OPENAI)[1]["error"]["message"] == "from upstream"


def test_message_is_the_exception_text() -> None:
    error = errors.BadRequest("contents: required")
    assert str(error) == "contents: required"
    assert error.param is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (409, "ABORTED"),
        (429, "RESOURCE_EXHAUSTED"),
        (499, "CANCELLED"),
        (500, "INTERNAL"),
        (501, "UNIMPLEMENTED"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
    ],
)
def test_gemini_status(status: int, expected: str) -> None:
    assert gemini_status(status) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "invalid_request_error"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "server_error"),
        (503, "server_error"),
    ],
)
def test_openai_type(status: int, expected: str) -> None:
    assert openai_type(status) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ],
)
def test_anthropic_type(status: int, expected: str) -> None:
    assert error_body(Family.ANTHROPIC, status, "m")["error"]["type"] == expected


def test_details_appear_in_the_anthropic_shape_only() -> None:
    details = {"error_code": "thread_unsupported_request", "unsupported": ["thread"]}
    error = errors.Unsupported("no threads", param="thread", details=details)

    assert render(error, Family.ANTHROPIC) == (
        400,
        {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "no threads", "details": details},
        },
    )
    assert render(error, Family.GEMINI)[1] == {
        "error": {"code": 400, "message": "no threads", "status": "INVALID_ARGUMENT"}
    }
    assert "details" not in render(error, Family.OPENAI)[1]["error"]


def test_a_message_of_several_lines_is_one_line_where_the_sdks_show_the_body() -> None:
    """google-genai and the Anthropic SDKs show the whole body (a `repr`, `JSON.stringify`):
    a line break would be a literal `\\n` there; the OpenAI SDKs show the message itself."""
    message = "replay miss: no recording\n  cassette: c.db\nNearest:\n  1. abc\n     x: 1 here"
    flat = "replay miss: no recording | cassette: c.db | Nearest: 1. abc | x: 1 here"
    assert one_line(message) == flat
    assert one_line("one line") == "one line"
    miss = errors.ReplayMiss(message)
    assert render(miss, Family.GEMINI)[1]["error"]["message"] == flat  # type: ignore[index]
    assert render(miss, Family.ANTHROPIC)[1]["error"]["message"] == flat  # type: ignore[index]
    assert render(miss, Family.OPENAI)[1]["error"]["message"] == message  # type: ignore[index]
