"""The cassette inspector: read-only pages under `/_localaik/` (issue 19).

`localaik serve` mounts it beside the APIs, and `localaik cassette ui` serves it alone. It
reads cassettes only through the store interface (`cassette/store.py`) and never writes one.
Pages are built on the server (`markup.py` escapes every byte that came from a recording) with
one small script of its own (`static/inspector.js`, the only script the Content-Security-Policy
allows): no front-end build, no CDN, so it works offline. (Litestar's htmx plugin brings the server
side of htmx, not htmx.js; the one live element, "This run", needs a poll and a swap, which the
inspector's own script does in a few lines rather than a vendored library.)

    app.py            the routes, the security headers, the standalone app
    mount.py          the inspector in front of `localaik serve`'s app
    catalog.py        the cassettes of a folder and their recordings, filtered
    conversation.py   a client request as turns: system, user, model, tool calls and results
    timeline.py       a recorded stream as an SVG timeline of its frames
    pages.py          the cassettes page and a recording's page
    run_pages.py      "This run": the live list of requests, a miss beside its nearest ones
    jsonview.py       JSON as indented text, the paths that differ marked
    markup.py         escaping and the page frame
"""
