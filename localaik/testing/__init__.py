"""What the pytest plugin (`localaik.pytest_plugin`) is made of, in modules it imports only
when a test asks for localaik (`server`, `runtime_host`) or that import nothing heavy (`names`,
`report`, `misses`, `marker`, `xdist_runtime`):

    names.py          the cassette file of a test: the marker's name, or module/Class.test[-params]
    marker.py         the localaik marker of a test: cassette, mode, ignored paths
    server.py         localaik serving in this process, from a background thread, for one session
    report.py         what the session's server did: replayed, recorded, missed, unused
    misses.py         a replay miss shown once, in the report of the test that caused it
    xdist_runtime.py  pytest-xdist: what the hooks call to share one bundled llama-server
    runtime_host.py   that llama-server, run by the xdist controller, asked for by the workers
"""
