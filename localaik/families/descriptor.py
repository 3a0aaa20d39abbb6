"""What an API family provides: the descriptor that every other part of localaik reads.

A family (Gemini, OpenAI, Anthropic) is one folder under `localaik/families/` whose
`__init__.py` defines one `Descriptor`, and one line in the `Family` registry
(`localaik/families/__init__.py`). Nothing else names a family: the router, the key, the
error rendering, `cassette verify`, the models listing and the pytest plugin all read these
fields, the way vcrpy reads its registered matchers and persisters.

    name        the family's name in the key and the access log ("gemini")
    operations  what it serves (`operation.Operation`), each with its routes
    claim       how strongly a request (path, headers) belongs to it, for requests no route
                matched and for paths several families share (`GET /v1/models`)
    error_body  its error envelope, for every status (`ErrorShape`)
    key_rules   what its bodies' keys leave out or spell one way (`KeyRules`)
    sdk         how its official SDKs find localaik (`SdkEnvironment`, the pytest plugin)
    request_id  the header its SDKs read a request id from, and the ids' form (`RequestIds`);
                None when its SDKs read none
    faults      how its API answers the failures a test asks for (`FaultShape`: messages,
                `retry-after` and rate-limit headers)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localaik.families.fault_shape import GENERIC, FaultShape
from localaik.families.operation import Operation
from localaik.families.rendering import ErrorShape
from localaik.families.request_ids import RequestIds

Claim = Callable[[str, Mapping[str, str]], int]


@dataclass(frozen=True)
class KeyRules:
    """How a family's request bodies enter the key (`cassette/key.py` applies them).

    `casing` gives every structural key one spelling (Gemini: camelCase); `volatile` are
    top-level body fields that are not part of the question; under the members named in
    `keep_empty_in`, empty objects are kept (Gemini tool switches such as `{"googleSearch": {}}`
    are empty by design, and two different tools must not share a key). `dialect` is not part
    of the key: it rewrites a normalised body so that two spellings the model cannot tell apart
    (Gemini's `parameters` schema dialect and `parametersJsonSchema`) read the same, which is
    what a replay miss ranks its nearest recordings by (`cassette/miss.py`).
    """

    casing: Callable[[Any], Any] | None = None
    volatile: frozenset[str] = frozenset()
    keep_empty_in: frozenset[str] = frozenset()
    dialect: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class SdkEnvironment:
    """How the official SDKs of a family are pointed at localaik.

    `base_url_variable` is set to localaik's URL plus `base_url_suffix`. When none of
    `key_variables` (the ones the SDK reads, in its order) is set, `placeholder_key_variable`
    gets a placeholder key: the SDKs refuse to start without one, and localaik never reads it.
    """

    base_url_variable: str
    base_url_suffix: str
    key_variables: tuple[str, ...]
    placeholder_key_variable: str


@dataclass(frozen=True, eq=False)
class Descriptor:
    """One API family, as every other part of localaik sees it."""

    name: str
    operations: tuple[Operation[Any], ...]
    claim: Claim
    error_body: ErrorShape
    key_rules: KeyRules = field(default_factory=KeyRules)
    sdk: SdkEnvironment | None = None
    request_id: RequestIds | None = None
    faults: FaultShape = GENERIC

    def operation(self, name: str) -> Operation[Any] | None:
        """The operation keyed as `name` (the first of several that share it)."""
        return next((op for op in self.operations if op.name == name), None)
