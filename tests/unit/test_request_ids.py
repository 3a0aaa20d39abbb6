"""Request ids: the forms the real APIs give, derived from a recording or fresh."""

from __future__ import annotations

import re

from localaik.families import Family
from localaik.families.request_ids import ANTHROPIC, OPENAI


def test_openai_ids_have_the_api_form_and_header() -> None:
    assert OPENAI.header == "x-request-id"
    assert re.fullmatch(r"req_[0-9a-f]{32}", OPENAI.make("abc/0"))


def test_anthropic_ids_have_the_api_form_and_header() -> None:
    # As the API's: `req_011CSHoEeqs5C35K2UUqR7Fy`.
    assert ANTHROPIC.header == "request-id"
    assert re.fullmatch(r"req_011C[0-9A-Za-z]{20}", ANTHROPIC.make("abc/0"))


def test_an_id_derives_from_its_recording_or_is_fresh() -> None:
    for ids in (OPENAI, ANTHROPIC):
        assert ids.make("abc/0") == ids.make("abc/0")
        assert len({ids.make("abc/0"), ids.make("abc/1"), ids.make("abd/0")}) == 3
        assert ids.make(None) != ids.make(None)


def test_the_families_whose_sdks_read_a_request_id_name_its_header() -> None:
    assert Family.OPENAI.descriptor.request_id is OPENAI
    assert Family.ANTHROPIC.descriptor.request_id is ANTHROPIC
    # google-genai reads none, and the Gemini API sends none it reads.
    assert Family.GEMINI.descriptor.request_id is None
    assert Family.PLAIN.descriptor.request_id is None
