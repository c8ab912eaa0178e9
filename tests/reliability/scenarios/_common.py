"""Shared set-up for the scenario scripts: run as ``python -m`` in a fresh interpreter, so a
hang is caught by the parent's watchdog instead of stopping the test suite."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for the builders in support.py

import httpx2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from support import anthropic_client, json_response, message_json, sse_response, stream_events

MSGS = [{"role": "user", "content": "hi"}]
MODEL = "claude-haiku-4-5"


class EndCounter(SpanProcessor):
    """Counts span ends per span id (each must end exactly once)."""

    def __init__(self) -> None:
        self.ends: dict[int, int] = {}

    def on_end(self, span: ReadableSpan) -> None:
        key = span.context.span_id if span.context is not None else 0
        self.ends[key] = self.ends.get(key, 0) + 1


def providers() -> tuple[TracerProvider, MeterProvider, InMemoryMetricReader, EndCounter]:
    counter = EndCounter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(counter)
    reader = InMemoryMetricReader()
    return tracer_provider, MeterProvider(metric_readers=[reader]), reader, counter


def handler(request: httpx2.Request) -> httpx2.Response:
    import json

    body = json.loads(request.content)
    if body.get("stream"):
        return sse_response(stream_events(model=MODEL))
    return json_response(message_json(model=MODEL))


def client() -> Any:
    return anthropic_client(handler)
