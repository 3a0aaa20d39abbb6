"""Pure translation between the client APIs and the OpenAI-compatible upstream.

Functions from data to data: no Litestar, httpx or SQLite here.
"""
