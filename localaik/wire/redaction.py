"""`LK_REDACT`: text of a request body replaced by a placeholder before anything else reads it.

A test may need token-shaped data in a prompt (a fake `sk-test-…` key, an `AKIA…` fixture)
that the secret scan (`cassette/tokens.py`) would refuse to record. A redaction rule names it,
and the pipeline rewrites the body as it arrives, before the operation parses it: the key, the
stored request, the miss explanations and the upstream all see the placeholder, never the text.

Rules, separated by commas or newlines, each one of:

    /sk-test-[a-z0-9]+/    a regular expression (Python's `re`), written between slashes: every
                           match in every string value of the body is replaced; a `/` inside
                           is written `\\/` (except in a `[...]` class); flags `i` (ignore case),
                           `s` (`.` matches newlines), `m` (`^`/`$` per line) after the closing
                           slash: `/bearer [a-z0-9]+/i`
    $.messages[*].content  a JSON path as `LK_IGNORE` writes them (`wire/jsonpath.py`), but
                           starting with `$`: the whole string value it names is replaced. It
                           names strings only: a path to an object or an array redacts nothing
                           (name the strings inside it, `$.messages[*].content[*].text`).
                           Gemini paths are camelCase, as for `LK_IGNORE`.

Only values are redacted, never object keys. A rule that cannot work is refused when the
settings are read, in one line naming `LK_REDACT`: an invalid regular expression, one that can
match empty text (it would redact nothing, or between every character), an invalid path, a
rule that is neither (`sk-test-\\w+` without slashes would otherwise be read as a key name).

The placeholder is `<redacted:N>`: the N-th distinct text redacted in this request body, the
body walked in a fixed order (object keys sorted, arrays in order; within a string, the first
rule's matches from left to right, then the next rule's). Why numbers and not a hash of the
text: a hash of a short secret (a PIN, a six-letter password, a name) can be recovered by
hashing every candidate, whatever the salt, since the salt would be public in this source; a
number says nothing about the text. What the numbers keep:

- the same request gives the same placeholders on every run and every machine, so it maps to
  the same key (a Python and a JS client too: the keys are walked sorted, after the family's
  key casing);
- two different texts in one request stay apart (`<redacted:1>`, `<redacted:2>`), and the same
  text repeated in it shares its number, so the model can still tell them apart;
- a conversation that grows by appending turns keeps the numbers of its earlier turns.

Numbers are per request: the same text may be `<redacted:1>` in one request and
`<redacted:2>` in another that holds a different one before it.

Redacting is idempotent: placeholders already in the text are left alone (a regular
expression is applied to the text between them, and a string that is a placeholder is not
replaced again). So a request rebuilt from its redacted recording, as `cassette verify` and
`cassette diff` rebuild them, has the key it was stored under whether or not the rules are
applied to it again (verify's own server applies none).

The upstream sees the redacted text too. That is what "before the key and before storage"
needs to be safe: a model that saw the original could repeat it in its answer, which the scan
would then refuse to store (or, in a form the scan does not know, store); with the placeholder
nothing the rule names leaves the process, the recording is what was asked, and the answer
replayed in CI is the answer to the request as stored. A test asserts on the answer's shape,
which a placeholder does not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from localaik.wire.jsonpath import Step, parse_path, step_matches

PLACEHOLDER = re.compile(r"<redacted:[1-9][0-9]*>")
_BETWEEN = re.compile(r"(<redacted:[1-9][0-9]*>)")  # split keeps them, at odd indices
_MARK = "<redacted:"
_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE}
# Texts an empty match is looked for in: start, end, a word's edges, spaces, punctuation.
_PROBES = ("", "a", "A 0", " ", "-_.", "\n")


@dataclass(frozen=True)
class Redaction:
    """The parsed LK_REDACT rules; `apply` redacts a JSON body. Falsy when there are none."""

    patterns: tuple[re.Pattern[str], ...] = ()
    paths: tuple[tuple[Step, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.patterns or self.paths)

    def apply(self, body: Any) -> Any:
        """A redacted copy of the JSON value `body` (`body` itself when there are no rules)."""
        if not self:
            return body
        return _Walk(self.patterns).value(body, self.paths, 0)


class _Walk:
    """One body's redaction: the numbers given so far, by text."""

    def __init__(self, patterns: tuple[re.Pattern[str], ...]) -> None:
        self.patterns = patterns
        self.numbers: dict[str, int] = {}

    def placeholder(self, text: str) -> str:
        number = self.numbers.setdefault(text, len(self.numbers) + 1)
        return f"<redacted:{number}>"

    def value(self, node: Any, paths: tuple[tuple[Step, ...], ...], depth: int) -> Any:
        """`node` redacted; `paths` are the path rules whose first `depth` steps led here."""
        if isinstance(node, dict):
            out = dict.fromkeys(node)  # the body's own order, filled in sorted order
            for name in sorted(node):
                out[name] = self.value(node[name], _onward(paths, depth, name), depth + 1)
            return out
        if isinstance(node, list):
            return [
                self.value(item, _onward(paths, depth, index), depth + 1)
                for index, item in enumerate(node)
            ]
        if isinstance(node, str) and node:
            if paths and any(len(path) == depth for path in paths):
                return node if PLACEHOLDER.fullmatch(node) else self.placeholder(node)
            return self.text(node)
        return node

    def text(self, text: str) -> str:
        """Every match of every pattern in `text`, outside the placeholders it holds."""
        for pattern in self.patterns:
            if _MARK not in text:  # no placeholder yet: the common case, one pass
                text = pattern.sub(self._replace, text)
                continue
            pieces = _BETWEEN.split(text)
            for index in range(0, len(pieces), 2):
                if pieces[index]:
                    pieces[index] = pattern.sub(self._replace, pieces[index])
            text = "".join(pieces)
        return text

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group()
        return self.placeholder(found) if found else found


def _onward(
    paths: tuple[tuple[Step, ...], ...], depth: int, at: str | int
) -> tuple[tuple[Step, ...], ...]:
    if not paths:
        return paths
    return tuple(p for p in paths if len(p) > depth and step_matches(p[depth], at))


def parse_redact(text: str, setting: str = "LK_REDACT") -> Redaction:
    """The rules of `text`; ValueError, one line starting with `setting`, for a bad one."""
    patterns: list[re.Pattern[str]] = []
    paths: list[tuple[Step, ...]] = []
    pos = 0
    while True:
        while pos < len(text) and (text[pos] == "," or text[pos].isspace()):
            pos += 1
        if pos >= len(text):
            break
        if text[pos] == "/":
            pattern, pos = _pattern(text, pos, setting)
            patterns.append(pattern)
            if pos < len(text) and not (text[pos] == "," or text[pos].isspace()):
                raise ValueError(
                    f"{setting}: expected ',' after the rule {text[:pos]!r}, found {text[pos]!r}"
                )
            continue
        end = min((at for at in (text.find(",", pos), text.find("\n", pos)) if at >= 0), default=-1)
        end = len(text) if end < 0 else end
        rule = text[pos:end].strip()
        if not rule.startswith("$"):
            raise ValueError(
                f"{setting}: the rule {rule!r} is neither a regular expression between slashes "
                "(/sk-test-[a-z0-9]+/) nor a JSON path starting with $ ($.messages[*].content)"
            )
        paths.append(parse_path(rule, setting))
        pos = end
    return Redaction(tuple(patterns), tuple(paths))


def _pattern(text: str, start: int, setting: str) -> tuple[re.Pattern[str], int]:
    """The regular expression whose opening `/` is at `start`, and where its rule ends."""
    close = _closing_slash(text, start)
    if close < 0:
        raise ValueError(
            f"{setting}: the regular expression {text[start:]!r} has no closing '/' "
            "(write a '/' inside it as '\\/')"
        )
    end = close + 1
    while end < len(text) and text[end].isalpha():
        end += 1
    rule, source, letters = text[start:end], text[start + 1 : close], text[close + 1 : end]
    flags = 0
    for letter in letters:
        if letter not in _FLAGS:
            raise ValueError(
                f"{setting}: the rule {rule!r} has the flag {letter!r}; the flags are i, s and m"
            )
        flags |= _FLAGS[letter]
    try:
        pattern = re.compile(source, flags)
    except re.error as exc:
        raise ValueError(
            f"{setting}: the rule {rule!r} is not a valid regular expression: {exc}"
        ) from None
    if _matches_empty(pattern):
        raise ValueError(
            f"{setting}: the rule {rule!r} can match empty text, so it would redact nothing or "
            "between every character: make it match at least one character"
        )
    return pattern, end


def _closing_slash(text: str, start: int) -> int:
    """The index of the `/` that closes the expression opened at `start` (-1: none): not one
    escaped with `\\`, nor one inside a `[...]` class."""
    at, opened = start + 1, -1  # opened: where the class being read began
    while at < len(text):
        char = text[at]
        if char == "\\":
            at += 2
            continue
        if opened >= 0:
            # `]` first in a class (`[]` or `[^]`) is a literal, as in Python's `re`.
            if char == "]" and at > opened + 1 and text[opened + 1 : at] != "^":
                opened = -1
        elif char == "[":
            opened = at
        elif char == "/":
            return at
        at += 1
    return -1


def _matches_empty(pattern: re.Pattern[str]) -> bool:
    return any(
        match.end() == match.start() for probe in _PROBES for match in pattern.finditer(probe)
    )
