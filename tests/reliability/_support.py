"""Builders shared by the reliability suite (payloads, clients, failing transports).

Small copies of the builders in ``tests/test_google_genai.py`` (test modules are not
imported from each other); the Anthropic builders come from ``tests/support.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
from google import genai
from google.genai import types

from support import (  # noqa: F401 - re-exported for the suite
    anthropic_client,
    async_anthropic_client,
    json_response,
    message_json,
    per_million,
    sse_body,
    sse_response,
    stream_events,
)

Handler = Callable[[httpx2.Request], httpx2.Response]

ANTHROPIC_KEY = "sk-ant-test-SECRET"
GEMINI_KEY = "AIza-test-SECRET"
VERTEX_TOKEN = "ya29-test-SECRET"
HAIKU = "claude-haiku-4-5-20251001"
MSGS = [{"role": "user", "content": "hi"}]


# --- Google GenAI ------------------------------------------------------------------------


def response_json(
    model: str = "gemini-2.5-flash",
    text: str = "Hello!",
    usage: dict[str, Any] | None = None,
    response_id: str = "resp-1",
    finish: str | None = "STOP",
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage or {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        "modelVersion": model,
        "responseId": response_id,
    }


def gemini_sse_body(chunks: list[dict[str, Any]]) -> bytes:
    return "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()


def gemini_sse(chunks: list[dict[str, Any]]) -> httpx2.Response:
    return httpx2.Response(200, content=gemini_sse_body(chunks), headers={"content-type": "text/event-stream"})


def gemini_client(handler: Handler, **http: Any) -> genai.Client:
    transport = httpx2.MockTransport(handler)
    return genai.Client(
        api_key=GEMINI_KEY,
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": transport},
            async_client_args={"transport": transport},
            **http,
        ),
    )


def vertex_client(handler: Handler) -> genai.Client:
    from google.oauth2.credentials import Credentials

    transport = httpx2.MockTransport(handler)
    return genai.Client(
        vertexai=True,
        project="proj",
        location="us-central1",
        credentials=Credentials(token=VERTEX_TOKEN),
        http_options=types.HttpOptions(
            client_args={"transport": transport}, async_client_args={"transport": transport}
        ),
    )


# --- transports that fail mid-body ---------------------------------------------------------


class FailingSyncStream(httpx2.SyncByteStream):
    """Yields ``chunks`` then raises ``httpx2.ReadError`` (a connection dropped mid-stream)."""

    def __init__(self, chunks: list[bytes], message: str = "connection reset mid-stream") -> None:
        self.chunks = chunks
        self.message = message

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        raise httpx2.ReadError(self.message)

    def close(self) -> None:
        pass


class FailingAsyncStream(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[bytes], message: str = "connection reset mid-stream") -> None:
        self.chunks = chunks
        self.message = message

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk
        raise httpx2.ReadError(self.message)

    async def aclose(self) -> None:
        pass


def failing_response(chunks: list[bytes], is_async: bool) -> httpx2.Response:
    stream: Any = FailingAsyncStream(chunks) if is_async else FailingSyncStream(chunks)
    return httpx2.Response(200, stream=stream, headers={"content-type": "text/event-stream"})


def dump(item: Any) -> Any:
    """A comparable snapshot of whatever an SDK handed the app."""
    if hasattr(item, "model_dump"):
        return (type(item).__name__, item.model_dump(mode="json"))
    if hasattr(item, "to_json_dict"):
        return (type(item).__name__, item.to_json_dict())
    return (type(item).__name__, repr(item))


def reinstrument(otel: Any, **kwargs: Any) -> None:
    """Instrument again on the ``otel`` fixture's providers with other settings."""
    import llm_cost_otel

    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, **kwargs)
