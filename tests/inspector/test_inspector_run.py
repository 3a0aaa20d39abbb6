"""What "This run" is fed: the pipeline's events for every way a request is answered, the replay
memo's hits among them, and a ring that keeps only the newest; a PDF's pages as thumbnails."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from localaik.server.events import Outcome, RunEvents
from tests.inspector.conftest import SCRIPT, MakeServed
from tests.pdfs import Page, make_pdf

CHAT = "/v1/chat/completions"


def outcomes(fragment: str) -> list[str]:
    """The outcomes the list shows, oldest first."""
    return list(reversed(re.findall(r'class="outcome (\w+)"', fragment)))


async def test_every_outcome_is_listed(tmp_path: Path, make_served: MakeServed) -> None:
    cassette = tmp_path / "run.db"
    question = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    async with make_served(cassette, "record") as client:
        assert (await client.post(CHAT, json=question)).status_code == 200  # recorded
        assert (await client.post(CHAT, json=question)).status_code == 200  # hit (or memo)
        faulted = await client.post(CHAT, json=question, headers={"x-localaik-fault": "status=503"})
        assert faulted.status_code == 503
        assert (await client.post(CHAT, content=b"{not json")).status_code == 400
        fragment = (await client.get("/_localaik/run/events")).text
    assert outcomes(fragment) == ["recorded", "hit", "fault", "error"]
    async with make_served(cassette, "passthrough") as client:
        await client.post(CHAT, json=question)
        assert outcomes((await client.get("/_localaik/run/events")).text) == ["forwarded"]


async def test_hits_the_replay_memo_answers_are_listed_too(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": SCRIPT}]}
    async with make_served(recorded_cassette, "replay") as client:
        for _ in range(3):  # the second and third come from the memo, before the pipeline
            assert (await client.post(CHAT, json=body)).status_code == 200
        fragment = (await client.get("/_localaik/run/events")).text
    assert outcomes(fragment) == ["hit", "hit", "hit"]
    assert fragment.count(">recording</a>") == 3


def test_the_ring_keeps_the_newest_events() -> None:
    events = RunEvents(keep=3)
    for number in range(5):
        events.publish("POST", f"/{number}", Outcome.HIT, 200)
    assert [event.path for event in events.after()] == ["/2", "/3", "/4"]
    assert [event.seq for event in events.after(4)] == [5]
    assert events.get(1) is None and events.get(5) is not None
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", events.after()[0].when)


async def test_a_pdf_shows_its_pages_as_thumbnails(tmp_path: Path, make_served: MakeServed) -> None:
    pdf = base64.b64encode(make_pdf(Page(144, 72), Page(72, 144))).decode()
    body = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Summarise"},
                    {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{pdf}"}},
                ],
            }
        ],
    }
    cassette = tmp_path / "pdf.db"
    async with make_served(cassette, "record") as client:
        assert (await client.post(CHAT, json=body)).status_code == 200
        index = (await client.get("/_localaik/")).text
        [href] = re.findall(r'<a href="([^"]+)">open</a>', index)
        html = (await client.get(href.replace("&amp;", "&"))).text
    figure = html[html.index('class="media pdf"') :]
    figure = figure[: figure.index("</figure>")]
    assert figure.count('<img src="data:image/png;base64,') == 2
    assert "application/pdf" in figure
