"""The inspector's pages as HTML, from `localaik serve`'s app: every view, filters, escaping,
the security headers, the live list of this run, and a miss beside its nearest recordings."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from localaik.cassette.store import store_for
from tests.inspector.conftest import SCRIPT, MakeServed

CSP_SCRIPT = "script-src 'self'"


def links(html: str, text: str) -> list[str]:
    """The hrefs of the links whose text is `text` (as the page escaped them, unescaped)."""
    found = re.findall(r'<a href="([^"]+)"[^>]*>' + re.escape(text) + "</a>", html)
    return [href.replace("&amp;", "&") for href in found]


async def test_cassettes_page_lists_every_recording_with_its_facts(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    async with make_served(recorded_cassette, "replay") as client:
        await client.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": SCRIPT}]},
        )
        page = await client.get("/_localaik/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert CSP_SCRIPT in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    html = page.text
    assert "recorded.db: 4 of 4 recordings" in html
    for family in ("gemini", "openai", "anthropic"):
        assert f"<td>{family}</td>" in html
    assert html.count(">stream<") >= 1
    assert html.count('class="used"') == 1  # the one replayed by this run
    assert len(links(html, "open")) == 4
    assert '<span class="gist">What is in this picture?</span>' in html  # not the system's
    assert "<script>document" not in html  # the prompt, escaped
    assert "&lt;script&gt;" in html


async def test_filters_narrow_by_family_model_and_text(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    async with make_served(recorded_cassette, "replay") as client:
        by_family = (await client.get("/_localaik/", params={"family": "anthropic"})).text
        by_model = (await client.get("/_localaik/", params={"model": "gemini"})).text
        by_text = (await client.get("/_localaik/", params={"q": "COUNT TO"})).text
        by_answer = (await client.get("/_localaik/", params={"q": "nothing says this"})).text
    assert "1 of 4 recordings" in by_family and "<td>anthropic</td>" in by_family
    assert "<td>openai</td>" not in by_family
    assert "1 of 4 recordings" in by_model and "<td>gemini</td>" in by_model
    assert "1 of 4 recordings" in by_text and ">stream<" in by_text
    assert "0 of 4 recordings" in by_answer


async def test_a_recording_page_shows_conversation_answer_upstream_and_provenance(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    async with make_served(recorded_cassette, "replay") as client:
        index = (await client.get("/_localaik/", params={"family": "gemini"})).text
        [href] = links(index, "open")
        html = (await client.get(href)).text
    assert "Be brief." in html and 'class="turn system"' in html
    assert "What is in this picture?" in html
    assert '<img src="data:image/png;base64,' in html  # the inline image as a thumbnail
    assert "Answer, as the client sees it" in html and "candidates" in html
    assert "Upstream exchange" in html and "&quot;endpoint&quot;" in html
    assert "Provenance" in html and "localaik" in html
    assert "<svg" not in html  # no stream, no timeline


async def test_a_stream_shows_a_timeline_of_its_frames_at_their_offsets(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    store = store_for(recorded_cassette, readonly=True)
    store.open()
    [recording] = [r for r in store.recordings() if r.stream]
    store.close()
    async with make_served(recorded_cassette, "replay") as client:
        html = (await client.get("/_localaik/", params={"q": "count to"})).text
        [href] = links(html, "open")
        html = (await client.get(href)).text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="timeline"' in html
    offsets = [float(x) for x in re.findall(r'data-offset="([\d.]+)"', html)]
    assert offsets == [round(f.offset_ms, 1) for f in recording.frames]
    assert len(offsets) > 3 and offsets == sorted(offsets)
    assert "count to five" in html


async def test_html_and_script_in_a_recording_are_text(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    async with make_served(recorded_cassette, "replay") as client:
        index = (await client.get("/_localaik/", params={"q": "pwned"})).text
        [href] = links(index, "open")
        html = (await client.get(href)).text
    assert "<script>document" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    # The only script is the inspector's own file.
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/_localaik/static/inspector.js" defer>'
    ]


async def test_this_run_lists_hits_and_misses_and_a_miss_opens_beside_its_nearest(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    async with make_served(recorded_cassette, "replay") as client:
        assert "No requests yet." in (await client.get("/_localaik/run/events")).text
        await client.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": SCRIPT}]},
        )
        missed = await client.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "a new question"}]},
        )
        assert missed.status_code == 404
        run = (await client.get("/_localaik/run")).text
        fragment = (await client.get("/_localaik/run/events")).text
        [miss] = links(fragment, "beside its nearest")
        page = await client.get(miss)
    assert 'data-poll="/_localaik/run/events"' in run
    assert 'class="outcome hit"' in fragment and 'class="outcome miss"' in fragment
    assert fragment.index("outcome miss") < fragment.index("outcome hit")  # newest first
    html = page.text
    assert page.status_code == 200
    assert "This request" in html and "a new question" in html
    assert '<mark class="differs" data-path="messages[0].content">' in html
    assert "<code>messages[0].content</code>" in html
    assert "&lt;script&gt;" in html  # the nearest recording's prompt, escaped


async def test_unknown_names_are_404_pages_and_nothing_is_written(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    before = recorded_cassette.read_bytes()
    async with make_served(recorded_cassette, "replay") as client:
        answers = [
            await client.get("/_localaik/recording", params={"cassette": "../x.db", "key": "k"}),
            await client.get(
                "/_localaik/recording", params={"cassette": "recorded.db", "key": "nope"}
            ),
            await client.get("/_localaik/run/miss/99"),
            await client.get("/_localaik/static/../app.py"),
        ]
        posted = await client.post("/_localaik/", json={})
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all("content-security-policy" in a.headers for a in answers[:3])
    assert posted.status_code == 405
    assert recorded_cassette.read_bytes() == before


async def test_static_files_are_served_with_their_types() -> None:
    from localaik.inspector.app import inspector_app
    from localaik.inspector.catalog import Catalog

    app = inspector_app(Catalog(Path("nowhere")))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        js = await client.get("/_localaik/static/inspector.js")
        css = await client.get("/_localaik/static/inspector.css")
        icon = await client.get("/_localaik/static/icon.svg")
        index = await client.get("/_localaik/")
        run = await client.get("/_localaik/run")
    assert js.headers["content-type"].startswith("text/javascript") and "data-poll" in js.text
    assert css.headers["content-type"].startswith("text/css")
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert "No cassettes in nowhere." in index.text and "This run" not in index.text
    assert run.status_code == 404


async def test_serve_lists_the_cassettes_beside_its_default_not_below(
    recorded_cassette: Path, make_served: MakeServed
) -> None:
    folder = recorded_cassette.parent
    (folder / "nested").mkdir()
    (folder / "nested" / "deep.db").write_bytes(recorded_cassette.read_bytes())
    (folder / "other.db").write_bytes(recorded_cassette.read_bytes())
    async with make_served(recorded_cassette, "replay") as client:
        html = (await client.get("/_localaik/")).text
    assert "other.db: 4 of 4 recordings" in html and "recorded.db: 4 of 4" in html
    assert "deep.db" not in html  # no X-Localaik-Cassette header reaches it
