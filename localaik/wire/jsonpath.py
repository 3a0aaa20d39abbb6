"""JSON paths as `LK_IGNORE` (and an operation's volatile fields, and `LK_REDACT`) write them,
parsed once, and the removal of what they name from a JSON value.

    messages[*].name     every element of `messages`, its `name`
    metadata.run_id      a key inside a key
    *.id                 every key's `id`
    ["a.b"]              a key with other characters
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Wild(Enum):
    """The two wildcard steps of an ignore path."""

    KEY = "*"  # every key of an object
    INDEX = "[*]"  # every element of an array


Step = str | int | Wild


@dataclass(frozen=True)
class IgnoreRule:
    """One LK_IGNORE path, parsed: `messages[*].name` -> ("messages", Wild.INDEX, "name")."""

    text: str
    steps: tuple[Step, ...]


_NAME = re.compile(r"[^.\[\]*\s,\"]+")
_INDEX = re.compile(r"\[(\d+|\*)\]")
_QUOTED = re.compile(r'\[("(?:[^"\\]|\\.)*")\]')
_SYNTAX = (
    "dot-separated keys, [N] for an index, [*] for every element, * for every key, "
    '["key"] for a key with other characters, optional leading "$."'
)


def parse_ignore(text: str) -> list[IgnoreRule]:
    """Parse LK_IGNORE: comma-separated paths such as `a.b, messages[*].name, *.id`.

    Raises ValueError naming the bad path, the position and the accepted syntax, so a typo is
    found at start-up rather than by a key that never matches.
    """
    rules = []
    for part in (text or "").split(","):
        path = part.strip()
        if path:
            rules.append(IgnoreRule(path, parse_path(path)))
    return rules


def parse_path(path: str, setting: str = "LK_IGNORE") -> tuple[Step, ...]:
    """One path's steps; ValueError naming `setting`, the position and the syntax."""

    def fail(pos: int, why: str) -> ValueError:
        return ValueError(
            f"{setting} path {path!r} is not valid at character {pos + 1}: {why} "
            f"(paths use {_SYNTAX})"
        )

    pos = 0
    if path.startswith("$."):
        pos = 2
    elif path.startswith("$["):
        pos = 1
    elif path == "$":
        raise fail(0, "it names the whole body; name a field inside it")
    steps: list[Step] = []
    expect_name = pos != 1  # right after "$" or a ".", a key (or "*") must follow
    while pos < len(path):
        char = path[pos]
        if expect_name:
            if char == "*":
                steps.append(Wild.KEY)
                pos += 1
            else:
                match = _NAME.match(path, pos)
                if not match:
                    raise fail(pos, f"expected a key, found {char!r}")
                steps.append(match.group())
                pos = match.end()
            expect_name = False
        elif char == ".":
            pos += 1
            if pos == len(path):
                raise fail(pos - 1, "a path cannot end with '.'")
            expect_name = True
        elif char == "[":
            match = _INDEX.match(path, pos)
            quoted = None if match else _QUOTED.match(path, pos)
            if match:
                steps.append(Wild.INDEX if match.group(1) == "*" else int(match.group(1)))
                pos = match.end()
            elif quoted:
                steps.append(json.loads(quoted.group(1)))
                pos = quoted.end()
            else:
                raise fail(pos, 'expected [N], [*] or ["key"]')
        else:
            raise fail(pos, f"expected '.' or '[' after a key, found {char!r}")
    if expect_name:
        raise fail(len(path) - 1, "the path is empty")
    return tuple(steps)


def step_matches(step: Step, at: str | int) -> bool:
    """Whether one step of a path names the key or index `at` (a key is never an index)."""
    if isinstance(at, str):
        return step is Wild.KEY or step == at
    return step is Wild.INDEX or (isinstance(step, int) and step == at)


def remove(node: Any, steps: tuple[Step, ...]) -> None:
    """Delete, in place, every value `steps` names under `node`; absent paths are no error."""
    step, rest = steps[0], steps[1:]
    if isinstance(node, dict):
        if step is Wild.KEY:
            names = list(node)
        elif isinstance(step, str):
            names = [step] if step in node else []
        else:
            return
        for name in names:
            if rest:
                remove(node[name], rest)
            else:
                del node[name]
    elif isinstance(node, list):
        if step is Wild.INDEX:
            if rest:
                for item in node:
                    remove(item, rest)
            else:
                node.clear()
        elif isinstance(step, int) and step < len(node):
            if rest:
                remove(node[step], rest)
            else:
                del node[step]
