"""server/faults.py: a fault's text read, checked, matched to requests and scheduled."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.errors import BadFault
from localaik.families import Family
from localaik.families.operation import ClientRequest
from localaik.server.faults import Attempts, chosen, parse_fault, parse_faults

CHAT = ClientRequest("openai", "chat.completions", "gpt-4o-mini", True, {})
GEMINI = ClientRequest("gemini", "generateContent", "gemini-2.5-flash", False, {})


def test_the_issue_forms_read_as_written() -> None:
    assert parse_fault("status=429").status == 429
    fault = parse_fault("status=503; times=2")
    assert (fault.status, fault.times) == (503, 2)
    assert parse_fault("cut-after=3").cut_after == 3
    assert parse_fault("error-after=3").error_after == 3
    assert parse_fault("delay-ms=1500").delay_ms == 1500
    assert parse_fault("frame-delay-ms=50").frame_delay_ms == 50
    assert parse_fault("reset").reset
    assert parse_fault(" Status = 429 ;retry-after=2; ").retry_after == 2


def test_retry_after_is_one_second_unless_set() -> None:
    assert parse_fault("status=429").retry_after == 1
    assert parse_fault("status=429; retry-after=0").retry_after == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("status=4x9", "status='4x9' is not a whole number"),
        ("colour=red", "unknown field 'colour'"),
        ("times=2", "names no fault"),
        ("status=200", "status=200 is not an error status"),
        ("status=429; status=500", "'status' is given twice"),
        ("reset=1", "'reset' takes no value"),
        ("cut-after=", "'cut-after' needs a value"),
        ("reset; status=429", "'reset' and 'status' cannot go together"),
        ("cut-after=2; error-after=3", "'cut-after' and 'error-after' cannot go together"),
        ("status=429; times=1; every=2", "'times' and 'every' cannot go together"),
        ("status=429; probability=2", "probability='2' is not a number from 0 to 1"),
        ("status=429; seed=3", "'seed' goes with 'probability'"),
        ("status=429; every=0", "every=0"),
        ("status=429; family=cohere", "family='cohere' is not one of gemini, openai, anthropic"),
        ("delay-ms=9999999", "a delay is at most"),
    ],
)
def test_a_bad_fault_names_its_problem(text: str, problem: str) -> None:
    with pytest.raises(BadFault) as caught:
        parse_fault(text)
    message = caught.value.message
    assert problem in message
    assert message.startswith(f"X-Localaik-Fault {text.strip()!r}:")
    assert caught.value.status == 400


def test_times_strikes_the_first_attempts_only() -> None:
    fault = parse_fault("status=429; times=2")
    assert [fault.strikes(n, "k") for n in (1, 2, 3, 4)] == [True, True, False, False]


def test_every_strikes_each_kth_attempt() -> None:
    fault = parse_fault("status=500; every=3")
    assert [n for n in range(1, 10) if fault.strikes(n, "k")] == [3, 6, 9]


def test_always_by_default() -> None:
    fault = parse_fault("status=500")
    assert all(fault.strikes(n, "k") for n in range(1, 20))


def test_a_probability_is_decided_by_its_seed() -> None:
    fault = parse_fault("status=503; probability=0.3; seed=7")
    draws = [fault.strikes(n, "key1") for n in range(1, 401)]
    again = [
        parse_fault("status=503; probability=0.3; seed=7").strikes(n, "key1") for n in range(1, 401)
    ]
    other = [
        parse_fault("status=503; probability=0.3; seed=8").strikes(n, "key1") for n in range(1, 401)
    ]
    assert draws == again
    assert draws != other
    assert 0.2 < sum(draws) / len(draws) < 0.4
    assert not any(parse_fault("status=503; probability=0").strikes(n, "k") for n in range(1, 50))


def test_attempts_are_counted_per_fault_and_key() -> None:
    attempts = Attempts()
    first, second = parse_fault("status=429; times=1"), parse_fault("status=503")
    assert [attempts.next(first, "a"), attempts.next(first, "a"), attempts.next(first, "b")] == [
        1,
        2,
        1,
    ]
    assert attempts.next(second, "a") == 1
    attempts.clear()
    assert attempts.next(first, "a") == 1


def test_attempts_keep_the_most_recent_requests_only() -> None:
    attempts = Attempts()
    fault = parse_fault("status=503")
    attempts.next(fault, "kept")
    for n in range(Attempts.LIMIT - 1):
        attempts.next(fault, f"k{n}")
    assert attempts.next(fault, "kept") == 2  # used again: now the most recent
    for n in range(Attempts.LIMIT):
        attempts.next(fault, f"other{n}")
    assert attempts.next(fault, "kept") == 1  # pushed out by newer requests: counted anew


def test_matching_by_family_operation_model_and_key_prefix() -> None:
    assert parse_fault("status=429; family=openai").matches(CHAT, "abc")
    assert not parse_fault("status=429; family=gemini").matches(CHAT, "abc")
    assert parse_fault("status=429; operation=chat.completions").matches(CHAT, "abc")
    assert parse_fault("status=429; model=gpt-4o*").matches(CHAT, "abc")
    assert not parse_fault("status=429; model=gpt-4o").matches(GEMINI, "abc")
    assert parse_fault("status=429; key=ab").matches(CHAT, "abc")
    assert not parse_fault("status=429; key=b").matches(CHAT, "abc")


def test_the_header_wins_over_the_rules_and_rules_go_in_order() -> None:
    rules = (parse_fault("status=500; family=gemini"), parse_fault("status=503"))
    header = parse_fault("status=429")
    assert chosen(header, rules, CHAT, "k") is header
    assert chosen(None, rules, CHAT, "k") is rules[1]
    assert chosen(None, rules, GEMINI, "k") is rules[0]
    assert chosen(parse_fault("status=429; family=gemini"), rules, CHAT, "k") is None


def test_lk_faults_inline_or_from_a_file(tmp_path: Path) -> None:
    inline = parse_faults("family=openai; status=429; times=1 | cut-after=2")
    assert [f.text for f in inline] == ["family=openai; status=429; times=1", "cut-after=2"]
    rules = tmp_path / "faults.txt"
    rules.write_text("# the run's faults\nstatus=503; every=2  # every other\n\nreset; key=ab\n")
    assert [f.text for f in parse_faults(str(rules))] == ["status=503; every=2", "reset; key=ab"]
    assert parse_faults("") == ()


def test_lk_faults_errors_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"LK_FAULTS 'status=99'"):
        parse_faults("status=99")
    with pytest.raises(ValueError, match="cannot read the rules file"):
        parse_faults(str(tmp_path / "missing.txt"))


def test_stream_faults_carry_the_family_error() -> None:
    stream = parse_fault("error-after=2; status=529").stream_fault(Family.ANTHROPIC)
    assert stream is not None and stream.after == 2
    assert stream.error is not None and stream.error.status == 529
    cut = parse_fault("cut-after=3; frame-delay-ms=20").stream_fault(Family.OPENAI)
    assert cut is not None and (cut.after, cut.error, cut.frame_delay) == (3, None, 0.02)
    assert parse_fault("status=429").stream_fault(Family.OPENAI) is None
