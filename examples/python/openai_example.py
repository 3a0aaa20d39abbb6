"""OpenAI chat completions through the official openai SDK, pointed at localaik.

    localaik serve --mode replay --cassette cassettes/examples.db &
    python examples/python/openai_example.py

One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
http://127.0.0.1:8090; the OpenAI API lives under /v1); the API key is a dummy.
"""

import os

from openai import OpenAI

BASE_URL = os.environ.get("LOCALAIK_URL", "http://127.0.0.1:8090")
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
MAX_TOKENS = 32  # a short answer keeps the recording small


def main() -> None:
    client = OpenAI(api_key="test", base_url=BASE_URL + "/v1")

    completion = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS)
    print("chat.completions:", completion.choices[0].message.content)

    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    print("chat.completions stream:", text)


if __name__ == "__main__":
    main()
