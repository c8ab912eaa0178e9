"""What tests build and read: real SDK clients over httpx2.MockTransport, provider payloads,
and the in-memory exporters (``Telemetry``). Imported as ``from support import ...``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Telemetry:
    """What the plugin exported, read back for assertions."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.started: list[Any] = []

    def spans(self, name_prefix: str = "") -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(name_prefix)]

    def chat_spans(self) -> list[ReadableSpan]:
        return self.spans("chat")

    def metrics(self) -> dict[str, list[Any]]:
        """Every metric collected now: name -> its data points."""
        found: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def metric_points(self, name: str) -> list[Any]:
        return self.metrics().get(name, [])

    def metric_sum(self, name: str, **attrs: Any) -> float:
        total = 0.0
        for point in self.metric_points(name):
            if all(point.attributes.get(k) == v for k, v in attrs.items()):
                total += point.value if hasattr(point, "value") else point.sum
        return total

    def open_spans(self) -> int:
        return sum(1 for s in self.started if s.end_time is None)


# --- Anthropic payloads -------------------------------------------------------------


def message_json(
    model: str = "claude-haiku-4-5-20251001",
    text: str = "Hello!",
    usage: dict[str, Any] | None = None,
    msg_id: str = "msg_01",
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


def sse_body(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def stream_events(
    model: str = "claude-haiku-4-5-20251001",
    start_usage: dict[str, Any] | None = None,
    final_usage: dict[str, Any] | None = None,
    deltas: int = 3,
    msg_id: str = "msg_s1",
) -> list[dict[str, Any]]:
    start = start_usage or {"input_tokens": 10, "output_tokens": 1}
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                **message_json(model=model, msg_id=msg_id, usage=start),
                "content": [],
                "stop_reason": None,
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    for i in range(deltas):
        events.append({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"w{i} "}})
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": final_usage or {"output_tokens": 5},
        },
        {"type": "message_stop"},
    ]
    return events


Handler = Callable[[httpx2.Request], httpx2.Response]


def json_response(body: dict[str, Any], status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, json=body)


def sse_response(events: list[dict[str, Any]]) -> httpx2.Response:
    return httpx2.Response(200, content=sse_body(events), headers={"content-type": "text/event-stream"})


def anthropic_client(handler: Handler, **kwargs: Any) -> Any:
    import anthropic

    kwargs.setdefault("max_retries", 0)
    return anthropic.Anthropic(
        api_key="sk-ant-test-SECRET", http_client=httpx2.Client(transport=httpx2.MockTransport(handler)), **kwargs
    )


def async_anthropic_client(handler: Handler, **kwargs: Any) -> Any:
    import anthropic

    kwargs.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test-SECRET", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)), **kwargs
    )


def per_million(tokens: int, usd_per_million: float) -> float:
    return tokens * usd_per_million / 1_000_000
