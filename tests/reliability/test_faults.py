"""Faults: a dead or slow exporter, bad price files, instrument/uninstrument in any order,
and other instrumentations of the same SDK active at the same time."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
import wrapt
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llm_cost_otel
from llm_cost_otel import telemetry
from llm_cost_otel.anthropic import AnthropicInstrumentor
from llm_cost_otel.google_genai import GoogleGenAIInstrumentor

from ._support import (
    HAIKU,
    MSGS,
    anthropic_client,
    async_anthropic_client,
    gemini_client,
    json_response,
    message_json,
    per_million,
    response_json,
    sse_response,
    stream_events,
)

ARGS = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": MSGS}
USAGE = {"input_tokens": 1_000, "output_tokens": 100}
HAIKU_COST = per_million(1_000, 1.0) + per_million(100, 5.0)  # published: $1 / $5 per MTok


# --- exporter down or slow --------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def slow_collector() -> Iterator[str]:
    """An OTLP endpoint that accepts the connection and then answers nothing for 30 s."""

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(30)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _shutdown(*providers: Any, limit: float = 30.0) -> None:
    """Shut the exporters down (bounded: a hung endpoint must not hang the test run)."""

    def stop() -> None:
        for provider in providers:
            with contextlib.suppress(Exception):
                provider.shutdown()

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    thread.join(limit)


@pytest.mark.parametrize("endpoint", ["refused", "slow"])
def test_exporter_down_or_slow_never_slows_or_fails_calls(
    endpoint: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = f"http://127.0.0.1:{_closed_port()}" if endpoint == "refused" else request.getfixturevalue("slow_collector")
    timeout = 1  # seconds an export may block (on the exporter's thread)
    memory = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=timeout),
            schedule_delay_millis=10,
            max_queue_size=32,  # small: the queue is full most of the time; spans are dropped, never waited for
            max_export_batch_size=32,
            export_timeout_millis=timeout * 1000,
        )
    )
    tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    meter_provider = MeterProvider(
        metric_readers=[
            PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=timeout),
                export_interval_millis=50,
                export_timeout_millis=timeout * 1000,
            )
        ]
    )
    anthropic = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=USAGE)))
    streaming = anthropic_client(lambda r: sse_response(stream_events(model=HAIKU)))
    google = gemini_client(lambda r: httpx2.Response(200, json=response_json()))
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    slowest = 0.0
    try:
        started = time.perf_counter()
        for _ in range(60):
            t0 = time.perf_counter()
            message = anthropic.messages.create(**ARGS)
            assert message.usage.input_tokens == 1_000
            with streaming.messages.stream(**ARGS) as stream:
                assert stream.get_final_text() == "w0 w1 w2 "
            assert google.models.generate_content(model="gemini-2.5-flash", contents="hi").text == "Hello!"
            slowest = max(slowest, time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
    finally:
        llm_cost_otel.uninstrument()
        _shutdown(tracer_provider, meter_provider)
    # Sanity bounds only: 180 calls take well under a second here. A call that waited for the
    # exporter would take at least its timeout.
    assert slowest < 0.75 * timeout, f"a round of calls took {slowest:.2f} s with the exporter {endpoint}"
    assert elapsed < 30
    # and the exporters really were failing meanwhile
    assert any(r.name.startswith("opentelemetry.exporter.otlp") for r in caplog.records)
    spans = memory.get_finished_spans()
    assert len(spans) == 180
    assert all("gen_ai.usage.cost" in s.attributes for s in spans)


# --- bad price override files -----------------------------------------------------------------

BAD_FILES: dict[str, tuple[str, str, str]] = {
    # name: (file name, content, what the message must name)
    "negative": ("prices.json", json.dumps({"models": {"acme": {"input": -1, "output": 2}}}), "models.acme.input"),
    "missing-output": ("prices.json", json.dumps({"models": {"acme": {"input": 1}}}), "models.acme"),
    "wrong-type": ("prices.toml", '[models.acme]\ninput = "cheap"\noutput = 1\n', "models.acme.input"),
    "unknown-top-key": ("prices.json", json.dumps({"modles": {}}), "modles"),
    "unknown-rate": ("prices.json", json.dumps({"models": {"acme": {"input": 1, "output": 2, "inptu": 3}}}), "inptu"),
    "non-finite": ("prices.json", '{"models": {"acme": {"input": NaN, "output": 2}}}', "models.acme.input"),
    "discount": ("prices.toml", '[[discounts]]\nmodel = "claude-*"\nmultiplier = -0.5\n', "discounts.0.multiplier"),
    "alias-chain": ("prices.json", json.dumps({"aliases": {"a": "b", "b": "claude-sonnet-4-5"}}), "aliases.a"),
    "tier": (
        "prices.toml",
        "[models.acme]\ninput = 1\noutput = 2\ntiers = [{ above_input_tokens = -5, input = 2 }]\n",
        "models.acme.tiers.0.above_input_tokens",
    ),
    "json-syntax": ("prices.json", '{"models": {"acme": {"input": 1,, }}}', "line 1"),
    "toml-syntax": ("prices.toml", "[models.acme]\ninput = = 1\n", "TOML"),
    "missing-file": ("absent.json", "", "cannot read"),
}


def _patch_targets() -> list[tuple[Any, str]]:
    """Every attribute either instrumentor patches, plus the ones this suite names explicitly."""
    named = [
        ("anthropic._base_client", "SyncAPIClient", "request"),
        ("anthropic._base_client", "AsyncAPIClient", "request"),
        ("anthropic._streaming", "Stream", "close"),
        ("anthropic._streaming", "AsyncStream", "close"),
        ("anthropic._response", "APIResponse", "parse"),
        ("anthropic._response", "AsyncAPIResponse", "parse"),
        *[
            ("google.genai.models", owner, name)
            for owner in ("Models", "AsyncModels")
            for name in ("_generate_content", "_generate_content_stream", "_embed_content")
        ],
    ]
    found = [(getattr(importlib.import_module(m), c), a) for m, c, a in named]
    for instrumentor in (AnthropicInstrumentor(), GoogleGenAIInstrumentor()):
        for owner, name, _ in instrumentor.targets():
            if (owner, name) not in found:
                found.append((owner, name))
    return found


def _which(owner: Any, name: str) -> str:
    module = owner.__name__ if isinstance(owner, type(sys)) else owner.__module__
    return "anthropic" if module.startswith("anthropic") else "google"


def _snapshot() -> dict[tuple[Any, str], Any]:
    return {(owner, name): owner.__dict__.get(name) for owner, name in _patch_targets()}


@pytest.fixture
def pristine() -> Iterator[dict[tuple[Any, str], Any]]:
    """Uninstrumented at start and at the end; yields the original function objects."""
    llm_cost_otel.uninstrument()
    originals = _snapshot()
    assert not any(isinstance(f, wrapt.ObjectProxy) for f in originals.values()), "not pristine at start"
    try:
        yield originals
    finally:
        llm_cost_otel.uninstrument()
        for instrumentor in (AnthropicInstrumentor(), GoogleGenAIInstrumentor()):
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        assert _snapshot() == originals


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("via", ["argument", "environment"])
def test_bad_price_file_fails_at_instrument_naming_file_and_key(
    pristine: dict[tuple[Any, str], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    via: str,
) -> None:
    file_name, content, key = BAD_FILES[name]
    path = tmp_path / file_name
    if name != "missing-file":
        path.write_text(content)
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    with pytest.raises(llm_cost_otel.PriceOverrideError) as info:
        if via == "argument":
            llm_cost_otel.instrument(prices=path)
        else:
            monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(path))
            llm_cost_otel.instrument()
    message = str(info.value)
    assert str(path) in message and key in message, message
    assert _snapshot() == pristine, "instrument() patched something before failing"
    assert telemetry.active() is None


def test_bad_price_file_while_instrumented_changes_nothing(otel: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[models.acme-ft]\ninput = 2.0\noutput = 8.0\n")
    bad = tmp_path / "bad.toml"
    bad.write_text("[models.acme-ft]\ninput = -2.0\noutput = 8.0\n")
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, prices=good)
    before, active = _snapshot(), telemetry.active()
    with pytest.raises(llm_cost_otel.PriceOverrideError, match=r"models\.acme-ft\.input"):
        llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, prices=bad)
    assert _snapshot() == before and telemetry.active() is active
    client = anthropic_client(
        lambda r: json_response(message_json(model="acme-ft", usage={"input_tokens": 1_000, "output_tokens": 100}))
    )
    client.messages.create(model="acme-ft", max_tokens=10, messages=MSGS)
    (span,) = otel.chat_spans()
    assert span.attributes["llm_cost.price.source"] == "override"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(1_000, 2.0) + per_million(100, 8.0))


def test_zero_code_path_reports_bad_price_file_in_one_line_and_still_records(tmp_path: Path) -> None:
    """A typo in the price file must not cost the app its telemetry: one error line naming the
    file and key, and the SDKs still patched (calls recorded as unpriced; see
    tests/test_config_errors.py for what they record)."""
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps({"models": {"acme": {"input": -1, "output": 2}}}))
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            from anthropic import _base_client
            from google.genai import models
            print("PATCHED", hasattr(_base_client.SyncAPIClient.request, "__wrapped__"),
                  hasattr(models.Models._generate_content, "__wrapped__"))
            """
        )
    )
    env = {
        **os.environ,
        "LLM_COST_OTEL_PRICES": str(bad),
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "opentelemetry-instrument"), sys.executable, str(app)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "PATCHED True True" in result.stdout
    assert f"{bad}: models.acme.input" in result.stderr
    assert "Traceback" not in result.stderr and "Failed to auto initialize" not in result.stderr


# --- instrument / uninstrument in any order ---------------------------------------------------

SEQUENCES = [
    "i u",
    "i i u u",
    "u u i u",
    "i u i u",
    "i u u i i u",
    "ai i u",
    "i au gu",
    "i au u",
    "ai gi i au gu u",
    "gi au ai gu u",
    "ai ai au au",
]


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_instrument_uninstrument_in_any_order_restores_exact_originals(
    pristine: dict[tuple[Any, str], Any], sequence: str
) -> None:
    state = {"anthropic": False, "google": False}
    steps: dict[str, Callable[[], None]] = {
        "i": llm_cost_otel.instrument,
        "u": llm_cost_otel.uninstrument,
        "ai": lambda: AnthropicInstrumentor().instrument(),
        "au": lambda: AnthropicInstrumentor().uninstrument(),
        "gi": lambda: GoogleGenAIInstrumentor().instrument(),
        "gu": lambda: GoogleGenAIInstrumentor().uninstrument(),
    }
    effects = {
        "i": {"anthropic": True, "google": True},
        "u": {"anthropic": False, "google": False},
        "ai": {"anthropic": True},
        "au": {"anthropic": False},
        "gi": {"google": True},
        "gu": {"google": False},
    }
    for step in sequence.split():
        steps[step]()
        state.update(effects[step])
        for (owner, name), original in pristine.items():
            current = owner.__dict__.get(name)
            if state[_which(owner, name)]:
                assert current is not original, f"after {step}: {owner.__name__}.{name} not patched"
                assert current.__wrapped__ is original, f"after {step}: {owner.__name__}.{name} wrapped twice"
            else:
                assert current is original, f"after {step}: {owner.__name__}.{name} not restored"


# --- other instrumentations of the same SDK ---------------------------------------------------


def _cost_spans(otel: Any) -> list[Any]:
    return [s for s in otel.exporter.get_finished_spans() if "gen_ai.usage.cost" in s.attributes]


def _usage_spans(otel: Any) -> list[Any]:
    return [s for s in otel.exporter.get_finished_spans() if any(k.startswith("gen_ai.usage.") for k in s.attributes)]


class ForeignInstrumentation:
    """What a typical third-party GenAI instrumentation does: a wrapt wrapper around the public
    method that opens its own span and copies token counts onto it (without a cost)."""

    def __init__(self, tracer_provider: Any, owner: Any, name: str, is_async: bool = False) -> None:
        self.tracer = tracer_provider.get_tracer("foreign")
        self.owner, self.name, self.calls = owner, name, 0
        self.original = owner.__dict__[name]
        self.wrapper = self._async if is_async else self._sync

    def _record(self, span: Any, result: Any) -> None:
        usage = getattr(result, "usage", None) or getattr(result, "usage_metadata", None)
        tokens = getattr(usage, "input_tokens", None) or getattr(usage, "prompt_token_count", None)
        if tokens is not None:
            span.set_attribute("foreign.usage.input_tokens", tokens)

    def _sync(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        self.calls += 1
        with self.tracer.start_as_current_span(f"foreign {self.name}") as span:
            result = wrapped(*args, **kwargs)
            self._record(span, result)
            return result

    async def _async(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        self.calls += 1
        with self.tracer.start_as_current_span(f"foreign {self.name}") as span:
            result = await wrapped(*args, **kwargs)
            self._record(span, result)
            return result

    def apply(self) -> None:
        wrapt.wrap_function_wrapper(self.owner, self.name, self.wrapper)

    def remove(self) -> None:
        setattr(self.owner, self.name, self.original)


@pytest.mark.parametrize("order", ["foreign-first", "ours-first"])
def test_foreign_wrapper_on_public_methods_gives_no_double_cost(
    otel: Any, pristine: dict[tuple[Any, str], Any], order: str
) -> None:
    from anthropic.resources.messages import AsyncMessages, Messages
    from google.genai.models import Models

    foreign = [
        ForeignInstrumentation(otel.tracer_provider, Messages, "create"),
        ForeignInstrumentation(otel.tracer_provider, AsyncMessages, "create", is_async=True),
        ForeignInstrumentation(otel.tracer_provider, Models, "generate_content"),
    ]

    def ours() -> None:
        llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)

    try:
        for step in [*foreign, ours] if order == "foreign-first" else [ours, *foreign]:
            step() if step is ours else step.apply()  # type: ignore[operator,union-attr]
        anthropic = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=USAGE)))
        aanthropic = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=USAGE)))
        google = gemini_client(lambda r: httpx2.Response(200, json=response_json()))
        for _ in range(3):
            anthropic.messages.create(**ARGS)
            asyncio.run(aanthropic.messages.create(**ARGS))
            google.models.generate_content(model="gemini-2.5-flash", contents="hi")
        assert [f.calls for f in foreign] == [3, 3, 3]  # the other instrumentation still sees every call
        assert len(_cost_spans(otel)) == 9  # one priced span per billed request
        flash = per_million(10, 0.30) + per_million(5, 2.50)
        assert otel.metric_sum("llm_cost.usd") == pytest.approx(6 * HAIKU_COST + 3 * flash, rel=1e-9)
        llm_cost_otel.uninstrument()  # ours off, theirs untouched
        anthropic.messages.create(**ARGS)
        assert foreign[0].calls == 4
        assert Messages.__dict__["create"].__wrapped__ is foreign[0].original
        assert len(_cost_spans(otel)) == 9
    finally:
        for f in foreign:
            f.remove()


def test_foreign_wrapper_on_the_same_method_below_ours_still_runs(
    otel: Any, pristine: dict[tuple[Any, str], Any]
) -> None:
    from anthropic._base_client import SyncAPIClient

    foreign = ForeignInstrumentation(otel.tracer_provider, SyncAPIClient, "request")
    foreign.apply()
    try:
        llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
        anthropic = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=USAGE)))
        anthropic.messages.create(**ARGS)
        assert len(_cost_spans(otel)) == 1
        assert foreign.calls == 1, "the other library's wrapper never ran"
    finally:
        llm_cost_otel.uninstrument()
        foreign.remove()


def test_reinstrument_after_being_wrapped_over_counts_once_and_keeps_foreign_wrapper(
    otel: Any, pristine: dict[tuple[Any, str], Any]
) -> None:
    from anthropic._base_client import SyncAPIClient

    foreign = ForeignInstrumentation(otel.tracer_provider, SyncAPIClient, "request")
    try:
        llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
        foreign.original = SyncAPIClient.__dict__["request"]
        foreign.apply()  # another library wraps over ours
        llm_cost_otel.uninstrument()  # ours cannot be unwrapped: left in place
        llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
        anthropic = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=USAGE)))
        anthropic.messages.create(**ARGS)
        assert foreign.calls == 1, "the other library's wrapper never ran"
        assert len(_cost_spans(otel)) == 1
        assert otel.metric_sum("llm_cost.usd") == pytest.approx(HAIKU_COST)
    finally:
        llm_cost_otel.uninstrument()
        foreign.remove()
        original = pristine[(SyncAPIClient, "request")]
        SyncAPIClient.request = original  # type: ignore[method-assign]


def test_sdk_own_tracing_on_gives_exactly_one_priced_span_per_request(otel: Any) -> None:
    import anthropic

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("count_tokens"):
            return json_response({"input_tokens": 42})
        if b'"stream":true' in request.content.replace(b" ", b""):
            return sse_response(stream_events(model=HAIKU))
        return json_response(message_json(model=HAIKU, usage=USAGE))

    option = {"tracer_provider": otel.tracer_provider}
    client = anthropic.Anthropic(
        api_key="sk-ant-test-SECRET",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        open_telemetry=option,
    )
    aclient = anthropic.AsyncAnthropic(
        api_key="sk-ant-test-SECRET",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        open_telemetry=option,
    )
    client.messages.create(**ARGS)
    list(client.messages.create(stream=True, **ARGS))
    with client.messages.stream(**ARGS) as stream:
        stream.get_final_message()
    client.messages.with_raw_response.create(**ARGS).parse()
    client.messages.count_tokens(model="claude-haiku-4-5", messages=MSGS)

    async def main() -> None:
        await aclient.messages.create(**ARGS)
        async with aclient.messages.stream(**ARGS) as s:
            await s.get_final_message()

    asyncio.run(main())
    billed = 6
    assert len(_cost_spans(otel)) == billed
    assert len(_usage_spans(otel)) == billed, [s.name for s in _usage_spans(otel)]
    assert all(s.name == "chat claude-haiku-4-5" for s in _usage_spans(otel))


def test_sdk_own_tracing_with_global_tracer_provider(tmp_path: Path) -> None:
    """A global TracerProvider turns the SDK's own spans on for every client; set-once, so in a
    subprocess."""
    script = tmp_path / "global_provider.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, json, httpx2, anthropic
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
            import llm_cost_otel

            exporter = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            trace.set_tracer_provider(provider)
            llm_cost_otel.instrument()
            body = {"id": "m", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
                    "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 1000, "output_tokens": 100}}
            handler = lambda r: httpx2.Response(200, json=body)
            client = anthropic.Anthropic(api_key="k", http_client=httpx2.Client(
                transport=httpx2.MockTransport(handler)))
            aclient = anthropic.AsyncAnthropic(api_key="k", http_client=httpx2.AsyncClient(
                transport=httpx2.MockTransport(handler)))
            args = dict(model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}])
            client.messages.create(**args)
            client.beta.messages.create(**args)
            asyncio.run(aclient.messages.create(**args))
            print(json.dumps([[s.name, dict(s.attributes)] for s in exporter.get_finished_spans()]))
            """
        )
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    spans = json.loads(result.stdout.strip().splitlines()[-1])
    priced = [name for name, attrs in spans if "gen_ai.usage.cost" in attrs]
    with_usage = [name for name, attrs in spans if any(k.startswith("gen_ai.usage.") for k in attrs)]
    assert priced == ["chat claude-haiku-4-5"] * 3
    assert with_usage == priced, spans
    for _, attrs in spans:
        if "gen_ai.usage.cost" in attrs:
            assert attrs["gen_ai.usage.cost"] == pytest.approx(HAIKU_COST)
