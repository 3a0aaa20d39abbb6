"""Gemini through the official google-genai SDK, pointed at localaik.

    localaik serve --mode replay --cassette cassettes/examples.db &
    python examples/python/gemini_example.py

One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
http://127.0.0.1:8090); the API key is a dummy, since localaik never checks or stores it.
"""

import os

from google import genai
from google.genai import types

BASE_URL = os.environ.get("LOCALAIK_URL", "http://127.0.0.1:8090")
MODEL = "gemini-2.5-flash"
PROMPT = "What colour is the sky on a clear day?"
# A short answer keeps the recording small.
CONFIG = types.GenerateContentConfig(max_output_tokens=32)


def main() -> None:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=BASE_URL))

    response = client.models.generate_content(model=MODEL, contents=PROMPT, config=CONFIG)
    print("generateContent:", response.text)

    stream = client.models.generate_content_stream(model=MODEL, contents=PROMPT, config=CONFIG)
    print("generateContentStream:", "".join(chunk.text or "" for chunk in stream))


if __name__ == "__main__":
    main()
