"""The three official Python SDKs, their HTTP going to localaik's app in this process (no
socket): for app tests that must see what each SDK makes of an answer."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
from google import genai
from google.genai import types


class Clients:
    """openai, anthropic and google-genai (async) on one in-process app; close `http2`."""

    def __init__(self, http: Any) -> None:
        self.openai = openai.AsyncOpenAI(
            base_url="http://localaik/v1", api_key="test", http_client=http, max_retries=0
        )
        # The Anthropic SDK speaks through httpx2 (a fork of httpx): the same app, its own client.
        self.http2 = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=http.app))
        self.anthropic = anthropic.AsyncAnthropic(
            base_url="http://localaik", api_key="test", http_client=self.http2, max_retries=0
        )
        self.gemini = genai.Client(
            api_key="test",
            http_options=types.HttpOptions(
                base_url="http://localaik", api_version="v1beta", httpx_async_client=http
            ),
        ).aio
