"""One exception tree for everything localaik answers with an error.

    Error                          (500 unless a subclass says otherwise)
    ├── BadRequest                 400  the client's request is invalid
    │   ├── Unsupported            400  valid for the real API, but localaik cannot honour it
    │   ├── SecretRefused          400  a recording would hold something shaped like a key
    │   └── BadFault               400  a fault asked for that cannot be read
    ├── Forbidden                  403  a control request from off loopback (`LK_CONTROL_REMOTE`)
    ├── NotFound                   404  unknown route, model or recording
    │   └── ReplayMiss             404  replay mode, and no recording matches the request
    ├── MethodNotAllowed           405  known route, wrong method
    ├── PayloadTooLarge            413  body over the configured cap
    ├── CassetteError              424  the cassette cannot be used (not one, damaged, newer)
    │   └── CassetteConflict       409  another writer stored that recording first
    ├── UpstreamError              502  the upstream (llama-server) failed us
    │   ├── UpstreamUnreachable    502  connection refused, DNS, reset before an answer
    │   ├── UpstreamTimeout        504  no answer in time
    │   ├── UpstreamBadResponse    502  an answer that is not what the API promises
    │   └── UpstreamStatus         ≥400 the upstream answered with an error status (kept)
    ├── Injected                   ≥400 a failure a test asked for (`X-Localaik-Fault`, D16)
    └── Internal                   500  a bug in localaik

An error's `headers` go with its answer: `Allow` for a 405, the upstream's `Retry-After` for
an upstream status (a 429 rate limit, a 503 while a model loads), an injected fault's
`retry-after` and rate-limit headers as its family's API sends them.

Foreign errors (httpx, json, sqlite, pdftoppm) are converted into this tree at one boundary
each (`upstream/client.py` for httpx, `cassette/sqlite.py` for sqlite3, `media/pdf.py` for
poppler). A bad cassette is the operator's to fix, not a bug, so it is not a 500: 424 (Failed
Dependency, gRPC FAILED_PRECONDITION: the request needs a cassette that cannot serve it) is
retried by no SDK, so a test fails at once with the message; a conflict is 409, which the
OpenAI and Anthropic SDKs retry, and the retry replays the other writer's recording.

Every class renders in each API family's own error shape through one function,
`families.rendering.render`, which asks the family's descriptor for its envelope.
"""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """Base of every error localaik answers with. `code` is a short machine-readable reason."""

    status = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, param: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        # Machine-readable detail for the Anthropic shape (`error.details.error_code`), which
        # the Anthropic SDK acts on; the other shapes have no place for it.
        self.details = details

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers that go with this error's answer (none unless a subclass says)."""
        return {}


class BadRequest(Error):
    status = 400
    code = "invalid_request"


class Unsupported(BadRequest):
    code = "unsupported"


class SecretRefused(BadRequest):
    code = "secret_refused"


class BadFault(BadRequest):
    """A fault (`X-Localaik-Fault`, `LK_FAULTS`) that cannot be read; the message names the
    problem. Nothing is forwarded or stored for the request."""

    code = "invalid_fault"


class Forbidden(Error):
    status = 403
    code = "forbidden"


class NotFound(Error):
    status = 404
    code = "not_found"


class ReplayMiss(NotFound):
    code = "replay_miss"


class MethodNotAllowed(Error):
    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, *, param: str | None = None, allow: str | None = None) -> None:
        super().__init__(message, param=param)
        self.allow = allow

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": self.allow} if self.allow else {}


class PayloadTooLarge(Error):
    status = 413
    code = "request_too_large"


class CassetteError(Error):
    """The cassette file cannot be used: not a cassette, damaged, locked, or from a newer
    localaik. The message names the file and says what to do."""

    status = 424
    code = "cassette_error"


class CassetteConflict(CassetteError):
    """A save found the (key, ordinal) already recorded: another process recorded it first."""

    status = 409
    code = "cassette_conflict"


class CassetteBusy(CassetteError):
    """A save asked not to wait (`wait=False`) found another writer holding the cassette (another
    process's save): nothing was written. The server's quick saves then go to the worker."""

    code = "cassette_busy"


class UpstreamError(Error):
    status = 502
    code = "upstream_error"


class UpstreamUnreachable(UpstreamError):
    code = "upstream_unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class UpstreamBadResponse(UpstreamError):
    code = "upstream_bad_response"


class UpstreamStatus(UpstreamError):
    """The upstream answered with an error status; that status is kept for the client."""

    code = "upstream_status"

    def __init__(
        self,
        status: int,
        message: str,
        *,
        raw: dict[str, Any] | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        # The error object as the upstream sent it, when it came inside its stream.
        self.raw = raw
        # The upstream's `Retry-After` (a rate limit, a model loading), passed on to the
        # client: the OpenAI and Anthropic SDKs wait that long before they retry.
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": self.retry_after} if self.retry_after else {}


class Injected(Error):
    """A failure a test asked for (`server/faults.py`): the status, body and headers the real
    API answers it with (`families/fault_shape.py` says which, per family)."""

    code = "injected_fault"

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, param=param)
        self.status = status
        if code is not None:
            self.code = code
        self._headers = dict(headers or {})

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._headers)


class Internal(Error):
    code = "internal_error"
