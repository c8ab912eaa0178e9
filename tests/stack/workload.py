"""An instrumented app for the live stack test, run as its own process (one per "instance").

Real anthropic and google-genai clients talk to a local fake provider (httpx2.MockTransport);
llm_cost_otel records spans (kept in memory) and metrics, which the OpenTelemetry Prometheus
exporter serves on 127.0.0.1 for a real Prometheus to scrape (the stand-in for the Collector:
same name translation).

    python workload.py PROFILE

prints ``{"port": N}`` once /metrics is up, makes calls until a line arrives on stdin, then
prints ``{"spend": S, "calls": C, "spans": K}`` - S is the sum of ``gen_ai.usage.cost`` over
its spans - and keeps serving /metrics until stdin closes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import httpx2
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import start_http_server

import llm_cost_otel

ATTRIBUTES = ["app.feature", "tenant.id", "user.id", "agent.name"]
UNKNOWN_CLAUDE = "claude-experimental-9"
UNKNOWN_GEMINI = "gemini-experimental-9"


# --- fake Anthropic ---------------------------------------------------------------------------


def anthropic_message(model: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_live",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def anthropic_sse(model: str, usage: dict[str, Any], output_tokens: int) -> bytes:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {**anthropic_message(model, {**usage, "output_tokens": 1}), "content": [], "stop_reason": None},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "o"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "k"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def anthropic_handler(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content)
    model = body["model"]
    prompt = body["messages"][0]["content"]
    if prompt == "fail":
        return httpx2.Response(500, json={"type": "error", "error": {"type": "api_error", "message": "boom"}})
    usage: dict[str, Any] = {"input_tokens": 120 + len(prompt), "cache_read_input_tokens": 0}
    if prompt.startswith("cached"):
        usage.update(cache_read_input_tokens=2000, cache_creation_input_tokens=300)
    if body.get("stream"):
        headers = {"content-type": "text/event-stream"}
        return httpx2.Response(200, content=anthropic_sse(model, usage, 40), headers=headers)
    return httpx2.Response(200, json=anthropic_message(model, {**usage, "output_tokens": 60}))


# --- fake Gemini ------------------------------------------------------------------------------


def gemini_handler(request: httpx2.Request) -> httpx2.Response:
    path = request.url.path
    model = path.rsplit("/", 1)[-1].split(":", 1)[0]
    body = json.loads(request.content)
    text = body["contents"][0]["parts"][0]["text"]
    if text == "fail":
        return httpx2.Response(503, json={"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})
    usage: dict[str, Any] = {"promptTokenCount": 400, "candidatesTokenCount": 80, "totalTokenCount": 480}
    if text.startswith("cached"):
        usage["cachedContentTokenCount"] = 300
    response = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": "resp-live",
    }
    if ":streamGenerateContent" in path:
        chunks = [
            {**response, "usageMetadata": {"promptTokenCount": 400, "totalTokenCount": 400}},
            response,
        ]
        sse = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()
        return httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})
    return httpx2.Response(200, json=response)


# --- the app ----------------------------------------------------------------------------------


class App:
    def __init__(self, profile: str) -> None:
        import anthropic
        from google import genai
        from google.genai import types

        self.profile = profile
        self.anthropic = anthropic.Anthropic(
            api_key="sk-ant-live-test",
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(anthropic_handler)),
        )
        self.gemini = genai.Client(
            api_key="AIza-live-test",
            http_options=types.HttpOptions(
                base_url="https://generativelanguage.googleapis.com/",
                client_args={"transport": httpx2.MockTransport(gemini_handler)},
            ),
        )
        self.calls = 0

    def claude(self, model: str, prompt: str, stream: bool = False) -> None:
        self.calls += 1
        messages = [{"role": "user", "content": prompt}]
        try:
            if stream:
                with self.anthropic.messages.stream(model=model, max_tokens=64, messages=messages) as s:
                    for _ in s.text_stream:
                        pass
            else:
                self.anthropic.messages.create(model=model, max_tokens=64, messages=messages)
        except Exception:
            pass  # HTTP 500: recorded with error.type

    def gemini_call(self, model: str, prompt: str, stream: bool = False) -> None:
        self.calls += 1
        try:
            if stream:
                for _ in self.gemini.models.generate_content_stream(model=model, contents=prompt):
                    pass
            else:
                self.gemini.models.generate_content(model=model, contents=prompt)
        except Exception:
            pass  # HTTP 503: recorded with error.type

    def round(self, i: int) -> None:
        tenant = ("acme", "globex")[i % 2]
        user = f"user-{i % 3}"
        attrs = llm_cost_otel.attributes
        if self.profile == "anthropic":
            with (
                attrs(**{"app.feature": "import", "tenant.id": tenant, "user.id": user}),
                llm_cost_otel.track("import_document", **{"agent.name": "importer"}),
            ):
                self.claude("claude-haiku-4-5", f"cached page {i}")
                self.claude("claude-sonnet-4-5", f"summarise {i}", stream=True)
            with attrs(**{"app.feature": "chat", "tenant.id": tenant, "user.id": user, "agent.name": "assistant"}):
                self.claude("claude-opus-4-1", f"hello {i}")
                if i % 3 == 0:
                    self.claude("claude-sonnet-4-5", "fail")
                if i % 4 == 0:
                    self.claude(UNKNOWN_CLAUDE, f"try {i}")
        else:
            with attrs(**{"app.feature": "search", "tenant.id": tenant, "user.id": user}):
                with llm_cost_otel.track("answer_query", **{"agent.name": "researcher"}):
                    self.gemini_call("gemini-2.5-flash", f"cached question {i}")
                    self.gemini_call("gemini-2.5-pro", f"think {i}", stream=True)
                if i % 3 == 0:
                    self.gemini_call("gemini-2.5-flash", "fail")
                if i % 4 == 0:
                    self.gemini_call(UNKNOWN_GEMINI, f"try {i}")
            with attrs(**{"app.feature": "chat", "tenant.id": tenant, "user.id": user}):
                self.claude("claude-haiku-4-5", f"cached hi {i}", stream=True)


def main() -> int:
    profile = sys.argv[1]
    resource = Resource.create({"service.name": f"llm-app-{profile}"})
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    llm_cost_otel.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, metric_attributes=ATTRIBUTES
    )
    server, _thread = start_http_server(0, addr="127.0.0.1")
    app = App(profile)
    app.round(0)  # warm up imports and the price book before announcing the port
    print(json.dumps({"port": server.server_port}), flush=True)

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    i = 1
    while not stop.is_set():
        app.round(i)
        i += 1
        time.sleep(0.05)
    spans = exporter.get_finished_spans()
    spend = sum(float(s.attributes.get("gen_ai.usage.cost", 0.0)) for s in spans if s.attributes)
    chat = [s for s in spans if s.attributes and "gen_ai.provider.name" in s.attributes]
    print(json.dumps({"spend": spend, "calls": app.calls, "spans": len(chat)}), flush=True)
    sys.stdin.read()  # keep /metrics up until the test closes stdin
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
