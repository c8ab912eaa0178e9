"""Precomputed response bodies and real SDK clients over an in-process ``httpx2.MockTransport``.

Every body is built once, before timing starts; the transport handler only wraps the bytes in
an ``httpx2.Response``, so what is timed is the SDK (and whatever instruments it), not JSON
encoding in the benchmark.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

ANTHROPIC_MODEL = "claude-haiku-4-5-20251001"
GEMINI_MODEL = "gemini-2.5-flash"
ANTHROPIC_USAGE = {
    "input_tokens": 25,
    "output_tokens": 40,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "service_tier": "standard",
}
MESSAGES = [{"role": "user", "content": "Say hello in ten words."}]


def anthropic_message() -> bytes:
    body = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": "Hello there! It is nice to meet you on this fine day."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }
    return json.dumps(body).encode()


def anthropic_sse(deltas: int) -> bytes:
    """A Messages stream with ``deltas`` text deltas (plus the 5 framing events)."""
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": ANTHROPIC_MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**ANTHROPIC_USAGE, "output_tokens": 1},
        },
    }
    events: list[dict[str, Any]] = [
        start,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"word{i} "}}
        for i in range(deltas)
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": deltas},
        },
        {"type": "message_stop"},
    ]
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def _gemini_usage(output: int) -> dict[str, Any]:
    return {
        "promptTokenCount": 25,
        "candidatesTokenCount": output,
        "totalTokenCount": 25 + output,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 25}],
    }


def gemini_response() -> bytes:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "Hello there! It is nice to meet you on this fine day."}],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": _gemini_usage(40),
        "modelVersion": GEMINI_MODEL,
        "responseId": "resp-bench-1",
    }
    return json.dumps(body).encode()


def gemini_sse(chunks: int) -> bytes:
    """``chunks`` streamed responses; each carries the running usage, the last the finish reason."""
    out = []
    for i in range(chunks):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": f"word{i} "}]}, "index": 0}
        if i == chunks - 1:
            candidate["finishReason"] = "STOP"
        chunk = {
            "candidates": [candidate],
            "usageMetadata": _gemini_usage(i + 1),
            "modelVersion": GEMINI_MODEL,
            "responseId": "resp-bench-1",
        }
        out.append(f"data: {json.dumps(chunk)}\r\n\r\n")
    return "".join(out).encode()


def _handler(body: bytes, content_type: str) -> Callable[[Any], Any]:
    import httpx2

    headers = {"content-type": content_type}

    def handle(request: Any) -> Any:
        return httpx2.Response(200, content=body, headers=headers)

    return handle


def anthropic_client(body: bytes, stream: bool, **kwargs: Any) -> Any:
    import anthropic
    import httpx2

    content_type = "text/event-stream" if stream else "application/json"
    transport = httpx2.MockTransport(_handler(body, content_type))
    return anthropic.Anthropic(
        api_key="sk-ant-bench", max_retries=0, http_client=httpx2.Client(transport=transport), **kwargs
    )


def gemini_client(body: bytes, stream: bool) -> Any:
    import httpx2
    from google import genai
    from google.genai import types

    content_type = "text/event-stream" if stream else "application/json"
    return genai.Client(
        api_key="AIza-bench",
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": httpx2.MockTransport(_handler(body, content_type))},
        ),
    )
