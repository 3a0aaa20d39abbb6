"""Every registered API family provides everything a family must provide.

The rest of localaik reads families only through their descriptors (`localaik.families`):
the router, the key, error rendering, `cassette verify`, the models listing and the pytest
plugin. So a family that leaves a field out, claims paths that are not its own or cannot be
rebuilt for `verify` breaks one of those far from its folder; these tests say which, here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from localaik import errors
from localaik.families import Family, family_of
from localaik.families.descriptor import Descriptor, KeyRules, SdkEnvironment
from localaik.families.operation import Operation, Route, SelfAnswered
from localaik.families.rendering import render
from localaik.server.pipeline import SERVED
from localaik.server.routing import Router
from localaik.wire.jsonpath import parse_ignore

API_FAMILIES = list(Family.apis())
OPERATIONS = [(family, op) for family in API_FAMILIES for op in family.operations]
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _error_classes() -> list[type[errors.Error]]:
    found: list[type[errors.Error]] = []
    pending: list[type[errors.Error]] = [errors.Error]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _error(cls: type[errors.Error]) -> errors.Error:
    if issubclass(cls, errors.UpstreamStatus):
        return cls(429, "slow down")
    if issubclass(cls, errors.Injected):
        return cls(503, "overloaded")
    return cls("something went wrong", param="contents[0]")


def _sample(route: Route) -> str:
    """A concrete path for a route template."""
    path = re.sub(r"\{[a-z_]+\.\.\.\}", "resp_1/cancel", route.path)
    return re.sub(r"\{[a-z_]+\}", "some-model", path)


def _canonical(family: Family, op: Operation[Any]) -> dict[str, Any]:
    return {
        "family": family.tag,
        "operation": op.name,
        "model": "some-model",
        "stream": False,
        "body": {} if op.takes_body else None,
    }


def _headers(family: Family, op: Operation[Any]) -> dict[str, str]:
    if isinstance(op, SelfAnswered):  # not keyed: what its family's SDK sends, as for models
        listing = family.descriptor.operation("models.list")
        assert listing is not None
        op = listing
    rebuilt = op.rebuild(_canonical(family, op))
    return dict(rebuilt.headers) if rebuilt is not None else {}


def test_the_registry_holds_the_three_families_and_plain() -> None:
    assert [family.tag for family in API_FAMILIES] == ["gemini", "openai", "anthropic"]
    assert Family.PLAIN.operations == ()
    assert len({family.tag for family in Family}) == len(Family)
    for family in Family:
        assert Family.named(family.tag) is family


@pytest.mark.parametrize("family", API_FAMILIES, ids=lambda f: f.tag)
def test_a_family_provides_every_field(family: Family) -> None:
    descriptor = family.descriptor
    assert isinstance(descriptor, Descriptor)
    assert re.fullmatch(r"[a-z]+", descriptor.name)
    assert descriptor.operations, "a family serves at least one operation"
    assert callable(descriptor.claim) and callable(descriptor.error_body)
    assert isinstance(descriptor.key_rules, KeyRules)
    assert descriptor.key_rules.casing is None or callable(descriptor.key_rules.casing)
    assert isinstance(descriptor.sdk, SdkEnvironment), "the pytest plugin points its SDKs"
    assert descriptor.sdk.base_url_variable.endswith("_BASE_URL")
    assert descriptor.sdk.placeholder_key_variable in descriptor.sdk.key_variables


@pytest.mark.parametrize(
    ("family", "op"), OPERATIONS, ids=lambda v: v.tag if isinstance(v, Family) else v.name
)
def test_an_operation_is_complete(family: Family, op: Operation[Any]) -> None:
    assert op.family == family.tag
    assert re.fullmatch(r"[A-Za-z_.]+", op.name)
    assert op.routes, "an operation has at least one route"
    for route in op.routes:
        assert route.method in METHODS and route.path.startswith("/")
    for path in op.volatile:
        assert parse_ignore(path), f"{op.name}: volatile path {path!r} does not parse"


@pytest.mark.parametrize(
    ("family", "op"), OPERATIONS, ids=lambda v: v.tag if isinstance(v, Family) else v.name
)
def test_every_route_reaches_its_operation_and_is_claimed(
    family: Family, op: Operation[Any]
) -> None:
    router = Router(Family, SERVED)
    headers = _headers(family, op)
    for route in op.routes:
        path = _sample(route)
        match = router.resolve(route.method, path, headers)
        assert match.operation is op, (route, match.operation.name)
        assert family_of(path, headers) is family, f"{path} is not claimed by {family.tag}"


@pytest.mark.parametrize(
    ("family", "op"), OPERATIONS, ids=lambda v: v.tag if isinstance(v, Family) else v.name
)
def test_verify_can_rebuild_every_keyed_operation(family: Family, op: Operation[Any]) -> None:
    rebuilt = op.rebuild(_canonical(family, op))
    # Refused before it is keyed, or answered by localaik (uploads, batches): nothing to rebuild.
    if op.name == "responses.stored" or isinstance(op, SelfAnswered):
        assert rebuilt is None
        return
    assert rebuilt is not None, f"{family.tag} {op.name} cannot be replayed by verify"
    path = rebuilt.path.split("?")[0]
    match = Router(Family, SERVED).resolve(rebuilt.method, path, rebuilt.headers)
    assert match.operation.name == op.name and match.family is family


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.tag)
@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_renders_in_every_family(family: Family, cls: type[errors.Error]) -> None:
    error = _error(cls)
    status, body = render(error, family)
    assert status == error.status
    assert error.message in json.dumps(body)


def test_operations_are_unique_per_family_and_route() -> None:
    seen: dict[tuple[str, str], str] = {}
    for op in (op for family in Family for op in family.operations):
        for route in op.routes:
            owner = seen.setdefault((route.method, route.path + op.family), op.name)
            assert owner == op.name, f"{route} of {op.family} serves {owner} and {op.name}"
