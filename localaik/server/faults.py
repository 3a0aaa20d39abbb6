"""Faults on demand (D16): what a test asks for, which requests it hits, and which attempts.

A fault is written the same way everywhere: in the `X-Localaik-Fault` header, in the pytest
marker's `fault=` and the `localaik_fault` fixture, and as a line of `LK_FAULTS`:

    status=429; times=2           the family's 429 (its body and headers), the first 2 attempts
    status=503; retry-after=2     a 503 whose `retry-after` says 2 s (default 1)
    status=400                    the family's "context too long" error
    cut-after=3                   a stream dropped after its third frame, as a lost connection
    error-after=3; status=529     the family's in-stream error event after frame 3 (default 500)
    delay-ms=1500                 the answer starts 1.5 s late (client timeouts)
    frame-delay-ms=50             stream frames 50 ms apart
    reset                         the connection closed without an answer

Fields are separated by `;`. When it strikes: always (the default), `times=N` (the first N
attempts), `every=K` (attempts K, 2K, …), or `probability=P; seed=S` (each attempt's draw is
decided by the seed, the request's key and the attempt's number: the same for every run).
Which requests (a rule of `LK_FAULTS` mostly, any fault may say): `family=openai`,
`operation=chat.completions`, `model=gpt-4o*` (a glob), `key=3fa9` (a request key's start).

Attempts are counted per fault and request key, per server run (the pytest plugin starts the
count again for each test): an SDK's retries of one request are attempts of the same key.
Applying a fault is the pipeline's (`pipeline.py`) and the stream loop's
(`families/streaming.py`); nothing here is ever stored.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from localaik.errors import BadFault
from localaik.families import Family
from localaik.families.operation import Answer, ClientRequest
from localaik.families.streaming import ClientStream, Dropped, StreamFault

HEADER = "x-localaik-fault"
MAX_DELAY_MS = 600_000
MAX_RETRY_AFTER = 3600

_INTS = {
    "status": "status",
    "times": "times",
    "every": "every",
    "seed": "seed",
    "cut-after": "cut_after",
    "error-after": "error_after",
    "delay-ms": "delay_ms",
    "frame-delay-ms": "frame_delay_ms",
    "retry-after": "retry_after",
}
_TEXTS = {"family": "family", "operation": "operation", "model": "model", "key": "key"}
FIELDS = (*_INTS, "probability", "reset", *_TEXTS)
EXAMPLE = "e.g. 'status=429; times=2', 'cut-after=3', 'delay-ms=1500' or 'reset'"


@dataclass(frozen=True)
class Fault:
    """One fault as written: what it does, when, and to which requests."""

    text: str
    status: int | None = None
    reset: bool = False
    cut_after: int | None = None
    error_after: int | None = None
    delay_ms: int = 0
    frame_delay_ms: int = 0
    retry_after: int = 1
    times: int | None = None
    every: int | None = None
    probability: float | None = None
    seed: int = 0
    family: str | None = None
    operation: str | None = None
    model: str | None = None
    key: str | None = None

    def matches(self, request: ClientRequest, key: str) -> bool:
        """Whether this fault is for `request` (whose key is `key`)."""
        return (
            (self.family is None or self.family == request.family)
            and (self.operation is None or self.operation == request.operation)
            and (self.model is None or fnmatch.fnmatchcase(request.model or "", self.model))
            and (self.key is None or key.startswith(self.key))
        )

    def strikes(self, attempt: int, key: str) -> bool:
        """Whether attempt number `attempt` (from 1) of the request `key` gets the fault."""
        if self.times is not None:
            return attempt <= self.times
        if self.every is not None:
            return attempt % self.every == 0
        if self.probability is not None:
            seed = f"{self.seed}:{key}:{attempt}".encode()
            draw = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") / 2**64
            return draw < self.probability
        return True

    @property
    def answers_status(self) -> bool:
        """The fault is an error answer instead of the real one (not an in-stream error)."""
        return self.status is not None and self.error_after is None

    def stream_fault(self, family: Family) -> StreamFault | None:
        """What this fault does to a stream's frames, if anything."""
        if self.cut_after is None and self.error_after is None and not self.frame_delay_ms:
            return None
        error = None
        if self.error_after is not None:
            error = family.descriptor.faults.error(self.status or 500, self.retry_after)
        after = self.error_after if self.error_after is not None else self.cut_after
        return StreamFault(after, error, self.frame_delay_ms / 1000)


def parse_fault(text: str, source: str = "X-Localaik-Fault") -> Fault:
    """A fault from its text; `BadFault` naming the problem and `source`."""
    values: dict[str, object] = {}
    for part in text.split(";"):
        item = part.strip()
        if not item:
            continue
        name, has_value, value = (s.strip() for s in item.partition("="))
        name = name.lower()
        if name not in FIELDS:
            raise _bad(source, text, f"unknown field {name!r}; the fields are {', '.join(FIELDS)}")
        if name in values or (name in _INTS and _INTS[name] in values):
            raise _bad(source, text, f"{name!r} is given twice")
        if name == "reset":
            if has_value:
                raise _bad(source, text, "'reset' takes no value")
            values["reset"] = True
        elif not has_value or not value:
            raise _bad(source, text, f"{name!r} needs a value ({name}=…)")
        elif name in _INTS:
            values[_INTS[name]] = _number(source, text, name, value)
        elif name == "probability":
            values["probability"] = _probability(source, text, value)
        else:
            values[_TEXTS[name]] = value
    fault = Fault(" ".join(text.split()), **values)  # type: ignore[arg-type]
    _check(fault, source)
    return fault


def parse_faults(value: str) -> tuple[Fault, ...]:
    """`LK_FAULTS`: the name of a file of faults, one a line (`#` starts a comment), or the
    faults themselves, separated by new lines or `|`. ValueError naming the problem."""
    text = value
    if value.strip() and "=" not in value and value.strip() != "reset":
        path = Path(value.strip()).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"LK_FAULTS: cannot read the rules file {path}: {exc}") from None
    lines = (line.split("#", 1)[0] for line in text.replace("|", "\n").splitlines())
    try:
        return tuple(parse_fault(line, "LK_FAULTS") for line in lines if line.strip())
    except BadFault as exc:
        raise ValueError(exc.message) from None


def _number(source: str, text: str, name: str, value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise _bad(source, text, f"{name}={value!r} is not a whole number")
    return int(value)


def _probability(source: str, text: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise _bad(source, text, f"probability={value!r} is not a number from 0 to 1")
    return number


def _check(fault: Fault, source: str) -> None:
    text = fault.text
    effects = (
        fault.status is not None
        or fault.reset
        or fault.cut_after is not None
        or fault.error_after is not None
        or fault.delay_ms
        or fault.frame_delay_ms
    )
    if not effects:
        raise _bad(
            source, text, "it names no fault (status=, cut-after=, error-after=, delay-ms=, …)"
        )
    if fault.status is not None and not 400 <= fault.status <= 599:
        raise _bad(source, text, f"status={fault.status} is not an error status (400 to 599)")
    conflicts = (
        ("reset", fault.reset, "status", fault.status is not None and not fault.error_after),
        ("reset", fault.reset, "cut-after", fault.cut_after is not None),
        ("reset", fault.reset, "error-after", fault.error_after is not None),
        ("cut-after", fault.cut_after is not None, "error-after", fault.error_after is not None),
        ("cut-after", fault.cut_after is not None, "status", fault.status is not None),
        ("times", fault.times is not None, "every", fault.every is not None),
        ("times", fault.times is not None, "probability", fault.probability is not None),
        ("every", fault.every is not None, "probability", fault.probability is not None),
    )
    for first, has_first, second, has_second in conflicts:
        if has_first and has_second:
            raise _bad(source, text, f"{first!r} and {second!r} cannot go together")
    if fault.every == 0:
        raise _bad(
            source, text, "every=0: the attempts are counted from 1 (every=1 is every attempt)"
        )
    if fault.seed and fault.probability is None:
        raise _bad(source, text, "'seed' goes with 'probability'")
    if fault.delay_ms > MAX_DELAY_MS or fault.frame_delay_ms > MAX_DELAY_MS:
        raise _bad(source, text, f"a delay is at most {MAX_DELAY_MS} ms")
    if fault.retry_after > MAX_RETRY_AFTER:
        raise _bad(source, text, f"retry-after is at most {MAX_RETRY_AFTER} s")
    if fault.family is not None and Family.named(fault.family) in (None, Family.PLAIN):
        names = ", ".join(family.tag for family in Family.apis())
        raise _bad(source, text, f"family={fault.family!r} is not one of {names}")


def _bad(source: str, text: str, problem: str) -> BadFault:
    return BadFault(f"{source} {text.strip()!r}: {problem} ({EXAMPLE})", param=source)


class Attempts:
    """How many attempts of each request each fault has seen in this server run: the `LIMIT`
    most recent requests (a request older than them counts from 1 again)."""

    LIMIT = 65_536

    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[Fault, str], int] = OrderedDict()

    def next(self, fault: Fault, key: str) -> int:
        """Count one more attempt of `key` under `fault`; its number, from 1."""
        number = self._seen.pop((fault, key), 0) + 1
        self._seen[(fault, key)] = number
        if len(self._seen) > self.LIMIT:
            self._seen.popitem(last=False)
        return number

    def clear(self) -> None:
        self._seen.clear()


def chosen(
    header: Fault | None, rules: Iterable[Fault], request: ClientRequest, key: str
) -> Fault | None:
    """The fault for a request: its header's, else the first rule for it."""
    if header is not None:
        return header if header.matches(request, key) else None
    return next((rule for rule in rules if rule.matches(request, key)), None)


async def before(
    fault: Fault, family: Family, live: Callable[[Awaitable[None]], Awaitable[None]]
) -> None:
    """A fault's part before the answer: its delay (cut short when the client leaves, which
    a client's timeout does), then a reset or an error status instead of the answer."""
    if fault.delay_ms:
        await live(asyncio.sleep(fault.delay_ms / 1000))
    if fault.reset:
        raise Dropped("reset")
    if fault.answers_status:
        assert fault.status is not None
        raise family.descriptor.faults.error(fault.status, fault.retry_after)


async def after(fault: Fault, family: Family, answer: Answer) -> None:
    """A fault's part on the answer: a stream's frames cut, spaced or ended by an error; a body
    answer (complete, stored if recorded) dropped or replaced by the in-stream error's."""
    stream = fault.stream_fault(family)
    if stream is None:
        return
    if isinstance(answer.frames, ClientStream):
        answer.frames.fault = stream
    elif answer.frames is None and stream.error is not None:
        raise stream.error
    elif answer.frames is None and stream.after is not None:
        raise Dropped("answer dropped")
