"""What the pytest plugin (`localaik.pytest_plugin`) is made of, in modules it imports only
when a test asks for localaik (`server`) or that import nothing heavy (`names`, `report`, `misses`):

    names.py    the cassette file of a test: the marker's name, or module/Class.test[-params]
    server.py   localaik serving in this process, from a background thread, for one session
    report.py   what the session's server did: replayed, recorded, missed, unused
    misses.py   a replay miss shown once, in the report of the test that caused it
"""
