"""Quick start with no API key: the real Anthropic SDK against a local fake transport.

Shows what llm-cost-otel records for a plain call and a stream, both with prompt-cache reads
and writes, inside one track() run with attribution. Prints each call's cost, the run's
rollup and each call span's cost breakdown, then every span (the two calls and the track()
run) through OpenTelemetry's ConsoleSpanExporter, as JSON, at the end.

    .venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

import json

import anthropic
import httpx2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llm_cost_otel

USAGE = {
    "input_tokens": 1_200,
    "output_tokens": 400,
    "cache_read_input_tokens": 30_000,
    "cache_creation_input_tokens": 2_000,
    "cache_creation": {"ephemeral_5m_input_tokens": 2_000, "ephemeral_1h_input_tokens": 0},
}


def fake_anthropic(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content)
    message = {
        "id": "msg_demo",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": "Here is your summary."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }
    if not body.get("stream"):
        return httpx2.Response(200, json=message)
    events = [
        {"type": "message_start", "message": {**message, "content": [], "usage": {**USAGE, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Here is your summary."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 400}},
        {"type": "message_stop"},
    ]
    sse = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx2.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})


def main() -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = InMemoryMetricReader()
    llm_cost_otel.instrument(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[metrics]),
        metric_attributes=["app.feature"],
    )
    client = anthropic.Anthropic(
        api_key="demo", http_client=httpx2.Client(transport=httpx2.MockTransport(fake_anthropic))
    )
    messages = [{"role": "user", "content": "Summarise the attached report."}]

    with llm_cost_otel.track("summarise_report", **{"user.id": "u-42", "app.feature": "summarise"}) as run:
        msg = client.messages.create(model="claude-haiku-4-5", max_tokens=500, messages=messages)
        print(f"create:  ${llm_cost_otel.cost_of(msg).total:.6f}")
        with client.messages.stream(model="claude-sonnet-4-6", max_tokens=500, messages=messages) as stream:
            final = stream.get_final_message()
        print(f"stream:  ${llm_cost_otel.cost_of(final).total:.6f}")

    print(f"track('{run.name}'): {run.calls} calls, ${run.cost_usd:.6f}, {run.usage.total_tokens} billed tokens")
    for span in spans.get_finished_spans():
        if span.name.startswith("chat"):
            a = span.attributes
            print(
                f"  span {span.name!r}: cost ${a['gen_ai.usage.cost']:.6f} "
                f"(input ${a['llm_cost.usd.input']:.6f}, output ${a['llm_cost.usd.output']:.6f}, "
                f"cache read ${a['llm_cost.usd.cache_read']:.6f}, cache write ${a['llm_cost.usd.cache_write']:.6f}) "
                f"saved by caching ${a.get('llm_cost.usd.cache_savings', 0):.6f}, source {a['llm_cost.price.source']}"
            )

    print("\nThe spans, as the ConsoleSpanExporter prints them:")
    ConsoleSpanExporter().export(spans.get_finished_spans())


if __name__ == "__main__":
    main()
