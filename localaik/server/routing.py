"""The router: from a method and a path to the operation that serves it, built from the routes
every registered family's operations declare.

Path templates are matched segment by segment: `{name}` is one segment without `:` (Google's
REST paths name the method after a `:`, `models/{model}:generateContent`), `{name}:method`
one segment ending in `:method`, `{name...}` the rest of the path. Of the templates that match,
the most specific (most literal characters) win; a method none of them serves is a 405 with
`Allow`, a path none matches a 404. A path several families share (`GET /v1/models`) goes to
the family that claims the request most strongly (`Descriptor.claim`: its headers decide).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from localaik.errors import MethodNotAllowed, NotFound
from localaik.families import Family, family_of
from localaik.families.operation import Operation, Route


@dataclass(frozen=True)
class Match:
    """The operation for a request, the route it matched and what its `{name}`s matched."""

    operation: Operation[Any]
    family: Family
    route: Route
    params: Mapping[str, str]


@dataclass(frozen=True)
class _Segment:
    literal: str | None = None  # the whole segment, or
    name: str | None = None  # a parameter's name,
    suffix: str = ""  # with `:method` after it
    rest: bool = False  # or every remaining segment


@dataclass(frozen=True)
class _Template:
    route: Route
    operation: Operation[Any]
    family: Family
    segments: tuple[_Segment, ...]
    specificity: int

    def match(self, parts: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for i, segment in enumerate(self.segments):
            if segment.rest:
                if i >= len(parts):
                    return None
                params[segment.name or "rest"] = "/".join(parts[i:])
                return params
            if i >= len(parts):
                return None
            part = parts[i]
            if segment.literal is not None:
                if part != segment.literal:
                    return None
            elif segment.suffix:
                value, sep, method = part.rpartition(":")
                if not sep or method != segment.suffix or not value:
                    return None
                params[segment.name or ""] = value
            else:
                if not part or ":" in part:
                    return None
                params[segment.name or ""] = part
        return params if len(parts) == len(self.segments) else None


def _parse(template: str) -> tuple[tuple[_Segment, ...], int]:
    segments = []
    literal_chars = 0
    for part in template.strip("/").split("/"):
        if part.startswith("{") and part.endswith("...}"):
            segments.append(_Segment(name=part[1:-4], rest=True))
        elif part.startswith("{"):
            name, _, suffix = part[1:].partition("}")
            suffix = suffix.removeprefix(":")
            segments.append(_Segment(name=name, suffix=suffix))
            literal_chars += len(suffix) + 1 if suffix else 0
        else:
            segments.append(_Segment(literal=part))
            literal_chars += len(part) + 1
    return tuple(segments), literal_chars


SEEN = 1024  # paths whose candidates are kept


class Router:
    """Every operation's routes, compiled once."""

    def __init__(
        self, families: Iterable[Family], served: Mapping[str, tuple[str, ...]] | None = None
    ) -> None:
        # Paths the server itself answers (`/health`), with their methods: any other method
        # on them is a 405, not a 404.
        self.served = dict(served or {})
        self.static: dict[str, list[_Template]] = {}
        # Templates with parameters, by (segment count, the `:method` their last segment ends
        # with, or None): a request tries only those that can match it.
        self.dynamic: dict[tuple[int, str | None], list[_Template]] = {}
        # Templates ending in `{name...}`, by the literal path before it.
        self.rest: list[tuple[str, _Template]] = []
        # The candidates of paths asked before (a client asks the same few over and over):
        # what matches a path never changes. Bounded: emptied when full.
        self._seen: dict[str, list[tuple[_Template, dict[str, str]]]] = {}
        for family in families:
            for operation in family.operations:
                for route in operation.routes:
                    segments, specificity = _parse(route.path)
                    template = _Template(route, operation, family, segments, specificity)
                    if all(segment.literal is not None for segment in segments):
                        self.static.setdefault(route.path.rstrip("/"), []).append(template)
                    elif segments[-1].rest:
                        self.rest.append((route.path.split("{", 1)[0], template))
                    else:
                        bucket = (len(segments), segments[-1].suffix or None)
                        self.dynamic.setdefault(bucket, []).append(template)

    def resolve(self, method: str, path: str, headers: Mapping[str, str]) -> Match:
        """The match for a request; NotFound or MethodNotAllowed when there is none."""
        found = self._candidates(path)
        if not found:
            if path in self.served:
                methods = ", ".join(self.served[path])
                raise MethodNotAllowed(
                    f"{method} is not allowed on {path}: it takes {methods}", allow=methods
                )
            raise NotFound(f"no route for {method} {path}")
        allowed = [
            (template, params) for template, params in found if template.route.method == method
        ]
        if not allowed:
            methods = ", ".join(sorted({template.route.method for template, _ in found}))
            raise MethodNotAllowed(
                f"{method} is not allowed on {path}: it takes {methods}", allow=methods
            )
        template, params = allowed[0]
        if len(allowed) > 1:
            claimed = family_of(path, headers)
            template, params = next(((t, p) for t, p in allowed if t.family is claimed), allowed[0])
        return Match(template.operation, template.family, template.route, params)

    def _candidates(self, path: str) -> list[tuple[_Template, dict[str, str]]]:
        found = self._seen.get(path)
        if found is None:
            if len(self._seen) >= SEEN:
                self._seen.clear()
            found = self._seen[path] = self._match(path)
        return found

    def _match(self, path: str) -> list[tuple[_Template, dict[str, str]]]:
        static = self.static.get(path.rstrip("/") if path != "/" else path)
        if static:
            return [(template, {}) for template in static]
        parts = path.strip("/").split("/")
        last = parts[-1]
        suffix = last.rpartition(":")[2] if ":" in last else None
        matches = []
        rest = [template for prefix, template in self.rest if path.startswith(prefix)]
        for template in [*self.dynamic.get((len(parts), suffix), ()), *rest]:
            params = template.match(parts)
            if params is not None:
                matches.append((template, params))
        if not matches:
            return []
        best = max(template.specificity for template, _ in matches)
        return [(t, p) for t, p in matches if t.specificity == best]
