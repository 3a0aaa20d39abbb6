"""The API families localaik speaks: the registry that every other part reads.

Each family is one folder (`gemini/`, `openai/`, `anthropic/`) whose `DESCRIPTOR`
(`descriptor.Descriptor`) says everything the rest of localaik needs: its operations and their
routes, which requests it claims, its error envelope, its key rules and how its SDKs are
pointed at localaik. Registering a family is one line in `Family` below; the router, the key,
error rendering, `cassette verify`, the models listing and the pytest plugin all iterate
`Family` and never name a family themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any

from localaik.families import anthropic, gemini, openai, plain
from localaik.families.descriptor import Descriptor, KeyRules, SdkEnvironment
from localaik.families.operation import Operation
from localaik.families.rendering import ErrorShape


class Family(Enum):
    """The registered API families (their descriptors), and `PLAIN` for requests of none."""

    GEMINI = gemini.DESCRIPTOR
    OPENAI = openai.DESCRIPTOR
    ANTHROPIC = anthropic.DESCRIPTOR
    PLAIN = plain.DESCRIPTOR

    @property
    def descriptor(self) -> Descriptor:
        value: Descriptor = self.value
        return value

    @property
    def tag(self) -> str:
        """The family's name in keys, cassettes and the access log (`-` for PLAIN)."""
        return self.descriptor.name

    @property
    def operations(self) -> tuple[Operation[Any], ...]:
        return self.descriptor.operations

    @property
    def error_body(self) -> ErrorShape:
        return self.descriptor.error_body

    @property
    def key_rules(self) -> KeyRules:
        return self.descriptor.key_rules

    @property
    def sdk(self) -> SdkEnvironment | None:
        return self.descriptor.sdk

    @classmethod
    def named(cls, tag: str) -> Family | None:
        """The family whose keys say `tag` ("gemini")."""
        return _BY_TAG.get(tag)

    @classmethod
    def apis(cls) -> Iterator[Family]:
        """The API families, without PLAIN."""
        return (family for family in cls if family is not cls.PLAIN)


_BY_TAG = {family.tag: family for family in Family}


def family_of(path: str, headers: Mapping[str, str] | None = None) -> Family:
    """Which API a request is for, from its path (and, for paths several families share such as
    `GET /v1/models`, its headers): the family that claims it most strongly, else PLAIN."""
    found = headers or {}
    best, score = Family.PLAIN, 0
    for family in Family:
        claimed = family.descriptor.claim(path, found)
        if claimed > score:
            best, score = family, claimed
    return best
