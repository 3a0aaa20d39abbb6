"""localaik: a local server for the Gemini, OpenAI and Anthropic APIs.

It translates every API into OpenAI-compatible chat completions for a local llama.cpp
server, and (from the record/replay layer on) records the answers into SQLite cassettes.
"""

__version__ = "0.1.0"
