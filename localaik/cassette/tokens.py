"""The shapes of API keys and tokens, and the scan that finds them in a text (DESIGN D7).

`find_secret(text)` names the kind of token a text holds ("AWS access key"), never the token;
`redact(text)` replaces each one with `[redacted aws-access-key]`, for anything quoted into a
log line, an error or a miss message. `secrets.py` applies them to whole recordings.

Each shape is anchored so that ordinary text does not trip it: a token must start at a word
boundary and most must end at one; OpenAI keys must contain a digit (so hyphenated prose such
as `sk-learn-compatible` passes) and a bearer token must look random (a digit, punctuation or
an inner capital), so "Bearer of bad news" passes; response ids (`chatcmpl-`, `msg_`, `resp_`,
`call_`, `fp_`, `toolu_`), UUIDs and hex hashes share no prefix with any shape. Recordings are
mostly JSON, where a token may sit right after an escape (`\\nAKIA...`) or, in tool arguments,
behind two levels of them, so text holding backslashes is scanned once more with its JSON
escapes decoded (as many levels as it has, up to three).

Speed (`bench/secret_scan.py`): a regex searched over the whole text is slow in Python's `re`
(an alternation of literals or a leading lookbehind gets no literal-prefix speed-up: ~100 ms
per MiB), while `str.find` runs at memory speed. So the scan looks for a few literals only,
and tries a shape's pattern only where one occurs: the few distinctive heads (`AIza`, `eyJ`,
`earer`, `IA` of `AKIA`) with `str.find`, and the many that end in `_`, `-` or `.` (`ghp_`,
`hf_`, `glpat-`, `xai-`, `ya29.`, `-----` of a PEM block) with one compiled regex per
separator, which `re` searches from separator to separator, matching all its heads at once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

# A token starts where no token character precedes it, or right after a %XX escape in a URL.
_START = r"(?:(?<![A-Za-z0-9_-])|(?<=%[0-9A-Fa-f]{2}))"
_WORD_START = r"(?:(?<![A-Za-z])|(?<=%[0-9A-Fa-f]{2}))"
_END = r"(?![A-Za-z0-9])"
# A PEM block's base64 may follow header lines (`Proc-Type: 4,ENCRYPTED`) and newlines, raw
# or still JSON-escaped (`\\n`).
_PEM_GAP = r"(?:\s|\\[rn]|[A-Za-z-]+: ?[^\s\\]*)*"
_SEPARATORS = "_-."  # heads ending in one are found by regex, the others with `str.find`


@dataclasses.dataclass(frozen=True)
class _Shape:
    kind: str
    heads: tuple[str, ...]  # literals found in the text; each match has one at `lead`
    lead: int  # characters of the match before its head
    pattern: re.Pattern[str]
    until: str | None = None  # a redaction runs on to this marker's line (a PEM block's end)

    def span(self, text: str, at: int) -> tuple[int, int] | None:
        """(start, end) of the token whose head is at `at`, if there is one."""
        if at < self.lead:
            return None
        match = self.pattern.match(text, at - self.lead)
        if match is None:
            return None
        end = match.end()
        if self.until is not None:
            close = text.find(self.until, end)
            line = text.find("-----", close + len(self.until)) if close >= 0 else -1
            end = len(text) if line < 0 else line + 5  # no end marker: redact the rest
        return match.start(), end


def _shape(kind: str, heads: str, body: str) -> _Shape:
    """A token that begins with one of `heads` (space-separated) and reads as `body`."""
    return _Shape(kind, tuple(heads.split()), 0, re.compile(_START + body))


# Order matters: an Anthropic key also has the shape of an OpenAI key; the first shape that
# matches names the kind.
_SHAPES = (
    _shape("Google API key", "AIza", r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    _shape("Anthropic key", "sk-ant-", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    _shape("OpenAI key", "sk-", r"sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"),
    _shape("JWT", "eyJ", r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    # A digit, a capital after the first character, or token punctuation (not a sentence's
    # full stop): random, not prose.
    _Shape(
        "bearer token",
        ("earer", "EARER"),
        1,
        re.compile(
            _WORD_START + r"(?i:bearer)(?:[ \t]+|%20|\+)"
            r"(?=.[A-Za-z0-9._~+/=-]*(?:[0-9A-Z_~+/]|\.[A-Za-z0-9]))"
            r"[A-Za-z0-9._~+/=-]{16,}"
        ),
    ),
    _Shape("AWS access key", ("IA",), 2, re.compile(_START + r"A[KSB]IA[A-Z2-7]{16}" + _END)),
    _shape("GitHub token", "ghp_ gho_ ghu_ ghs_ ghr_", r"gh[pousr]_[A-Za-z0-9]{36,}" + _END),
    _shape("GitHub token", "github_pat_", r"github_pat_[A-Za-z0-9_]{40,}" + _END),
    _shape(
        "Slack token",
        "xoxa- xoxb- xoxe- xoxo- xoxp- xoxr- xoxs-",
        r"xox[abeoprs]-(?=[A-Za-z0-9-]*[0-9])[A-Za-z0-9-]{10,}",
    ),
    _shape(
        "Slack webhook",
        "hooks.",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}",
    ),
    _Shape(
        "private key",
        ("-----",),
        0,
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----"
            + _PEM_GAP
            + r"[A-Za-z0-9+/]{32}"
        ),
        until="-----END",
    ),
    _shape(
        "Stripe key",
        "sk_live_ rk_live_ sk_test_ rk_test_",
        r"[sr]k_(?:live|test)_(?=[A-Za-z]*[0-9])[A-Za-z0-9]{20,}",
    ),
    _shape("GitLab token", "glpat- gldt- glrt-", r"gl(?:pat|dt|rt)-[A-Za-z0-9_-]{20,}"),
    _shape(
        "Hugging Face token",
        "hf_",
        r"hf_(?=[a-z0-9]*[A-Z])(?=[A-Z0-9]*[a-z])[A-Za-z0-9]{30,}" + _END,
    ),
    _shape("Groq key", "gsk_", r"gsk_[A-Za-z0-9]{48,}" + _END),
    _shape("xAI key", "xai-", r"xai-[A-Za-z0-9]{60,}" + _END),
    _shape("Google OAuth token", "ya29.", r"ya29\.[A-Za-z0-9_-]{20,}"),
    _shape("npm token", "npm_", r"npm_[A-Za-z0-9]{36}" + _END),
    _shape("SendGrid key", "SG.", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    _shape("Replicate token", "r8_", r"r8_[A-Za-z0-9]{37}" + _END),
    _shape("Perplexity key", "pplx-", r"pplx-[A-Za-z0-9]{48}" + _END),
    _shape(
        "LangSmith key", "lsv2_pt_ lsv2_sk_", r"lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}" + _END
    ),
    _shape("DigitalOcean token", "dop_v1_ doo_v1_ dor_v1_", r"do[opr]_v1_[0-9a-f]{64}" + _END),
    _shape("Shopify token", "shpat_ shpca_ shppa_ shpss_", r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}"),
    _shape("Tavily key", "tvly-", r"tvly-(?:dev-|prod-)?[A-Za-z0-9]{32}" + _END),
)

KINDS = tuple(dict.fromkeys(shape.kind for shape in _SHAPES))
"""Every kind of token the scan recognises, in the order it tries them."""


def shaped_like(kind: str) -> str:
    """How a refusal names what it found: "something shaped like an AWS access key"."""
    return f"something shaped like {'an' if kind[0] in 'AEIOU' else 'a'} {kind}"


def _by_head() -> tuple[dict[str, list[int]], dict[str, tuple[re.Pattern[str], list[str]]]]:
    """Every head with the shapes it starts, and per separator the regex that finds the heads
    ending in it: the separator, then lookbehinds (one per head length, and first the
    character before the separator, which rules out most separators at once). Capture groups
    there would make it several times slower, so which head matched is told afterwards."""
    found: dict[str, list[int]] = {}
    for order, shape in enumerate(_SHAPES):
        for head in shape.heads:
            found.setdefault(head, []).append(order)
    anchored: dict[str, tuple[re.Pattern[str], list[str]]] = {}
    for separator in _SEPARATORS:
        heads = [head for head in found if head[-1] == separator]
        widths: dict[int, list[str]] = {}
        for head in heads:
            widths.setdefault(len(head), []).append(re.escape(head))
        before = re.escape("".join(sorted({head[-2] for head in heads})))
        looks = "|".join(f"(?<={'|'.join(same)})" for same in widths.values())
        sep = re.escape(separator)
        anchored[separator] = (re.compile(f"{sep}(?<=[{before}]{sep})(?:{looks})"), heads)
    return found, anchored


_HEADS, _ANCHORED = _by_head()
_PLAIN = {head: orders for head, orders in _HEADS.items() if head[-1] not in _SEPARATORS}


def _candidates(text: str) -> Iterator[tuple[int, int]]:
    """(shape order, position of its head) wherever a head occurs in `text`."""
    for head, orders in _PLAIN.items():
        at = text.find(head)
        while at >= 0:
            for order in orders:
                yield order, at
            at = text.find(head, at + 1)
    for pattern, heads in _ANCHORED.values():
        for match in pattern.finditer(text):
            end = match.end()
            for head in heads:  # each head that ends here (`sk-` and `sk-ant-` may both)
                if text.startswith(head, end - len(head)):
                    for order in _HEADS[head]:
                        yield order, end - len(head)


def _spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end, shape order) of every token in `text`, not decoding escapes."""
    for order, at in _candidates(text):
        span = _SHAPES[order].span(text, at)
        if span is not None:
            yield span[0], span[1], order


def _find_raw(text: str) -> str | None:
    first = min((order for _, _, order in _spans(text)), default=None)
    return None if first is None else _SHAPES[first].kind


_JSON_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|([nrtbf])|(["\\/]))')


def _unescape(text: str) -> str:
    """Decode one level of JSON string escapes; control escapes become a space (a boundary)."""

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return chr(int(match.group(1), 16))
        if match.group(2):
            return " "
        return match.group(3)

    return _JSON_ESCAPE.sub(one, text)


def _decoded(text: str) -> str | None:
    """`text` with every level of JSON escapes decoded (up to three); None when it has none."""
    if "\\" not in text:
        return None
    decoded = text
    for _ in range(3):
        unescaped = _unescape(decoded)
        if unescaped == decoded:
            break
        decoded = unescaped
        if "\\" not in decoded:
            break
    return None if decoded == text else decoded


def find_secret(text: str) -> str | None:
    """The kind of token `text` holds ("OpenAI key", "JWT", ...), or None. Never the token.

    A token stays whole through JSON decoding (no shape has a backslash in it), so the text as
    it is and the text fully decoded are the two that need scanning.
    """
    kind = _find_raw(text)
    if kind is None and (decoded := _decoded(text)) is not None:
        kind = _find_raw(decoded)
    return kind


def redact(text: str) -> str:
    """`text` with every token replaced by `[redacted KIND]` (`[redacted aws-access-key]`).

    A token that shows only once JSON escapes are decoded (`\\nAKIA...` in a JSON text) is
    redacted in the decoded text, which is then what is returned: it is for reading.
    """
    out = _redact_raw(text)
    decoded = _decoded(out)
    if decoded is not None and _find_raw(decoded) is not None:
        out = _redact_raw(decoded)
    return out


def _redact_raw(text: str) -> str:
    # Longest first where two start together; then the first shape in order names it.
    found = sorted((start, -end, order) for start, end, order in _spans(text))
    if not found:
        return text
    pieces, done = [], 0
    for start, negative_end, order in found:
        if start < done:  # overlaps a token already redacted: one marker for both
            done = max(done, -negative_end)
            continue
        kind = _SHAPES[order].kind.lower().replace(" ", "-")
        pieces += [text[done:start], f"[redacted {kind}]"]
        done = -negative_end
    pieces.append(text[done:])
    return "".join(pieces)
