"""What the app passes as attribution never raises into it and never forges a call's numbers;
``track()`` rolls up what its block really spent; errors on spans carry no upstream text."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import uuid
from typing import Any

import httpx2
import pytest
from opentelemetry import baggage, context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llm_cost_otel
from llm_cost_otel import calls, cost_lookup, telemetry
from llm_cost_otel.deferred import settle

from ._support import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    HAIKU,
    MSGS,
    anthropic_client,
    async_anthropic_client,
    gemini_client,
    json_response,
    message_json,
    per_million,
    reinstrument,
    response_json,
    sse_response,
    stream_events,
)


def _client() -> Any:
    return anthropic_client(lambda r: json_response(message_json(model=HAIKU)))


def _call(client: Any) -> Any:
    return client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)


# --- values are coerced or dropped, never raised -----------------------------------------------


def test_odd_attribute_values_are_coerced_or_dropped_with_one_warning(otel: Any, caplog: Any) -> None:
    user = uuid.UUID("12345678-1234-5678-1234-567812345678")
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        for _ in range(3):
            with llm_cost_otel.attributes(
                **{"user.id": None, "org.id": user, "tags": ["a", "b"], "meta": {"k": 1}, "raw": b"bytes\xff"}
            ):
                _call(_client())
    spans = otel.chat_spans()
    assert len(spans) == 3
    attrs = spans[0].attributes
    assert "user.id" not in attrs  # an anonymous user: dropped, the call still recorded
    assert attrs["org.id"] == str(user)
    assert attrs["tags"] == ("a", "b")
    assert attrs["meta"] == "{'k': 1}"
    assert attrs["raw"] == "bytes\ufffd"
    assert all(s.attributes["gen_ai.usage.cost"] > 0 for s in spans)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("'user.id'" in m for m in messages) == 1  # once, not per use
    assert sum("'org.id'" in m for m in messages) == 1


def test_track_accepts_a_name_attribute_and_any_name(otel: Any) -> None:
    with llm_cost_otel.track("job", name="nightly") as run:
        _call(_client())
    with llm_cost_otel.track(None, **{"user.id": 7}) as other:  # type: ignore[arg-type]
        _call(_client())
    assert run.calls == 1 and other.calls == 1
    [job] = otel.spans("job")
    assert job.attributes["name"] == "nightly"


async def test_one_attributes_object_entered_by_many_tasks_at_once(otel: Any) -> None:
    shared = llm_cost_otel.attributes(**{"app.feature": "chat"})
    client = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU)))

    async def task(i: int) -> None:
        with shared, llm_cost_otel.attributes(**{"task": i}):
            await asyncio.sleep(0.001 * (i % 3))
            await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        assert "app.feature" not in llm_cost_otel.attribution.current().attributes

    await asyncio.gather(*(task(i) for i in range(40)))
    spans = otel.chat_spans()
    assert len(spans) == 40
    assert {s.attributes["app.feature"] for s in spans} == {"chat"}
    assert sorted(s.attributes["task"] for s in spans) == list(range(40))


def test_metric_attributes_as_a_string_is_a_comma_list(otel: Any) -> None:
    reinstrument(otel, metric_attributes="tenant")
    active = telemetry.active()
    assert active is not None and active.metric_keys == frozenset({"tenant"})
    reinstrument(otel, metric_attributes="tenant, app.feature,,")
    active = telemetry.active()
    assert active is not None and active.metric_keys == frozenset({"tenant", "app.feature"})


def test_malformed_allowlist_entries_are_refused_with_a_warning(otel: Any, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        reinstrument(otel, metric_attributes=["app.feature;tenant", "*", "gen_ai.request.model", "tenant"])
    active = telemetry.active()
    assert active is not None and active.metric_keys == frozenset({"tenant"})
    assert len([r for r in caplog.records if "ignored" in r.getMessage()]) == 3


# --- reserved names cannot be forged ------------------------------------------------------------


def test_reserved_keys_cannot_overwrite_a_calls_model_usage_or_cost(otel: Any) -> None:
    forged = {
        "gen_ai.usage.cost": 42,
        "gen_ai.request.model": "gpt-5",
        "llm_cost.usd.input": 1.0,
        "server.address": "evil",
        "error.type": "none",
        "otel.metric.overflow": True,
        "user.id": "u1",
    }
    with llm_cost_otel.track("job", **forged) as run, llm_cost_otel.attributes(**forged):
        _call(_client())
    [span] = otel.chat_spans()
    assert span.attributes["gen_ai.request.model"] == "claude-haiku-4-5"
    # the real price (Claude Haiku 4.5: $1 in, $5 out per million), not the forged 42
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(10, 1.0) + per_million(5, 5.0))
    assert run.cost_usd == pytest.approx(span.attributes["gen_ai.usage.cost"])
    assert span.attributes["server.address"] == "api.anthropic.com"
    assert span.attributes["user.id"] == "u1"
    assert "error.type" not in span.attributes
    [job] = otel.spans("job")
    assert not [k for k in job.attributes if k.startswith(("gen_ai.", "server.", "error.", "otel."))]
    assert not [k for k in job.attributes if k.startswith("llm_cost.") and not k.startswith("llm_cost.rollup.")]
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(run.cost_usd)


# --- baggage is untrusted: attribution only when the app opts in ---------------------------------


def _with_baggage(entries: dict[str, str]) -> Any:
    ctx = None
    for key, value in entries.items():
        ctx = baggage.set_baggage(key, value, ctx)
    return context.attach(ctx)  # type: ignore[arg-type]


def test_baggage_is_ignored_by_default_even_for_allowlisted_metric_keys(otel: Any) -> None:
    reinstrument(otel, metric_attributes=["tenant"])
    token = _with_baggage({"tenant": "victim-corp"})
    try:
        _call(_client())
    finally:
        context.detach(token)
    [span] = otel.chat_spans()
    assert "tenant" not in span.attributes
    assert all("tenant" not in p.attributes for p in otel.metric_points("llm_cost.usd"))


def test_baggage_is_attribution_only_when_opted_in(otel: Any) -> None:
    reinstrument(otel, metric_attributes=["tenant"], baggage_attributes=["tenant", "request.origin"])
    token = _with_baggage({"tenant": "acme", "request.origin": "x" * 5000, "user.id": "not-opted-in"})
    try:
        _call(_client())
        with llm_cost_otel.attributes(tenant="own"):  # the app's own attribution wins
            _call(_client())
    finally:
        context.detach(token)
    first, second = otel.chat_spans()
    assert first.attributes["tenant"] == "acme"
    assert len(first.attributes["request.origin"]) == 256  # bounded: untrusted input
    assert "user.id" not in first.attributes
    assert second.attributes["tenant"] == "own"
    tenants = {p.attributes.get("tenant") for p in otel.metric_points("llm_cost.usd")}
    assert tenants == {"acme", "own"}
    assert all("request.origin" not in p.attributes for p in otel.metric_points("llm_cost.usd"))


# --- track() rolls up what its block spent ------------------------------------------------------


async def test_track_decorating_an_async_function_wraps_its_body(otel: Any) -> None:
    client = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU)))
    runs: list[Any] = []

    @llm_cost_otel.track("job", **{"user.id": "u1"})
    async def job() -> str:
        runs.append(llm_cost_otel.attribution.current().runs[-1])
        await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        return "done"

    assert await job() == "done"
    assert await job() == "done"
    assert [r.calls for r in runs] == [2, 2]  # one run per invocation
    jobs = otel.spans("job")
    assert [s.attributes["llm_cost.rollup.calls"] for s in jobs] == [2, 2]
    for span in otel.chat_spans():
        assert span.parent is not None and span.parent.span_id in {j.context.span_id for j in jobs}


def test_track_decorating_a_generator_wraps_its_iteration(otel: Any) -> None:
    @llm_cost_otel.track("gen")
    def pages() -> Any:
        for _ in range(3):
            yield _call(_client())

    assert len(list(pages())) == 3
    [span] = otel.spans("gen")
    assert span.attributes["llm_cost.rollup.calls"] == 3


def test_a_stream_left_open_after_break_is_counted_in_its_run(otel: Any) -> None:
    client = anthropic_client(lambda r: sse_response(stream_events(model=HAIKU)))
    with llm_cost_otel.track("job") as run:
        stream = client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS, stream=True)
        for _event in stream:
            break
    assert otel.spans("job") == []  # the run waits for the stream it started
    assert run.open_calls == 1
    del stream, _event
    gc.collect()
    settle()
    [call_span] = otel.chat_spans()
    [job] = otel.spans("job")
    assert run.calls == 1 and run.open_calls == 0
    assert job.attributes["llm_cost.rollup.calls"] == 1
    assert job.attributes["llm_cost.rollup.cost_usd"] == pytest.approx(call_span.attributes["gen_ai.usage.cost"])
    assert job.end_time >= call_span.end_time


def test_a_failing_block_ends_its_track_span_with_a_redacted_status(otel: Any) -> None:
    with pytest.raises(RuntimeError), llm_cost_otel.track("job"):
        _call(_client())
        raise RuntimeError(f"app failure quoting {ANTHROPIC_KEY}")
    [job] = otel.spans("job")
    assert job.status.status_code.name == "ERROR"
    assert ANTHROPIC_KEY not in job.to_json()
    assert not job.events  # no exception event carrying the message or traceback


# --- errors on spans carry no upstream text ------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 429, 500])
def test_an_upstream_that_echoes_the_credential_does_not_put_it_on_spans(otel: Any, status: int) -> None:
    def echo(request: httpx2.Request) -> httpx2.Response:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        body = {"type": "error", "error": {"type": "authentication_error", "message": f"rejected credential {key}"}}
        return httpx2.Response(status, json=body)

    import anthropic

    with pytest.raises(anthropic.APIStatusError) as raised, llm_cost_otel.track("job"):
        _call(anthropic_client(echo))
    assert ANTHROPIC_KEY in str(raised.value)  # the app's exception is untouched

    def gemini_echo(request: httpx2.Request) -> httpx2.Response:
        key = request.headers.get("x-goog-api-key", "")
        return httpx2.Response(status, json={"error": {"code": status, "message": f"API key not valid: {key}"}})

    google = gemini_client(gemini_echo)
    with pytest.raises(Exception) as gemini_raised:
        google.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert GEMINI_KEY in str(gemini_raised.value)
    exported = "\n".join(s.to_json() for s in otel.exporter.get_finished_spans())
    assert ANTHROPIC_KEY not in exported and GEMINI_KEY not in exported
    for span in otel.exporter.get_finished_spans():
        if span.status.status_code.name == "ERROR" and span.kind.name == "CLIENT":
            assert span.attributes["error.type"] == str(status)
            assert span.status.description and str(status) in span.status.description


# --- bounded state -----------------------------------------------------------------------------


def test_cost_of_keeps_a_small_box_not_the_call(otel: Any) -> None:
    message = _call(_client())
    entry = cost_lookup._by_object[id(message)]
    assert isinstance(entry[1], cost_lookup.Priced)
    gc.collect()
    assert not any(isinstance(o, calls.Call) for o in gc.get_referrers(entry[1]))
    assert llm_cost_otel.cost_of(message) is not None


def test_twenty_thousand_unknown_models_leave_bounded_state(otel: Any, caplog: Any) -> None:
    from llm_cost_otel import _safety

    reinstrument(otel)
    active = telemetry.active()
    assert active is not None
    models = [f"ft:claude-custom-{i}" for i in range(20_000)]
    client = anthropic_client(lambda r: json_response(message_json(model=json.loads(r.content)["model"])))
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        for model in models[:2000]:
            client.messages.create(model=model, max_tokens=5, messages=MSGS)
        request = telemetry.Request(provider="anthropic", operation="chat", model="")
        for model in models[2000:]:  # the rest straight into the metrics path (fast)
            request.model = model
            active.record_metrics(request, telemetry.Outcome(usage=llm_cost_otel.Usage(input_tokens=1)), None, (), None)
    assert len(_safety._reported) <= _safety.MAX_REPORTED + 1  # + the "too many" marker
    assert len(caplog.records) <= _safety.MAX_REPORTED + 1
    assert len(active.totals.series) <= active.totals.cardinality_limit
    assert otel.metric_sum("llm_cost.unpriced") == 20_000


def test_an_instrumentor_given_its_own_providers_uses_them(otel: Any) -> None:
    from llm_cost_otel.anthropic import AnthropicInstrumentor
    from llm_cost_otel.google_genai import GoogleGenAIInstrumentor

    llm_cost_otel.uninstrument()
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    providers = []
    for exporter in (first, second):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers.append(provider)
    google, anthropic_ = GoogleGenAIInstrumentor(), AnthropicInstrumentor()
    google.instrument(tracer_provider=providers[0])
    anthropic_.instrument(tracer_provider=providers[1])
    try:
        _call(_client())
        google_client = gemini_client(lambda r: httpx2.Response(200, json=response_json()))
        google_client.models.generate_content(model="gemini-2.5-flash", contents="hi")
        assert [s.name for s in first.get_finished_spans()] == ["generate_content gemini-2.5-flash"]
        assert [s.name for s in second.get_finished_spans()] == ["chat claude-haiku-4-5"]
    finally:
        anthropic_.uninstrument()
        google.uninstrument()
    assert telemetry.active("llm_cost_otel.anthropic") is telemetry.active()


# --- found by the adversarial pass ---------------------------------------------------------------


def test_a_decorated_generator_does_not_scope_its_consumer(otel: Any) -> None:
    from opentelemetry import trace

    client = _client()

    @llm_cost_otel.track("producer")
    def produce(n: int) -> Any:
        yield from range(n)  # no LLM call in the body

    for _ in produce(2):
        _call(client)  # the consumer's own calls
    [producer] = otel.spans("producer")
    assert producer.attributes["llm_cost.rollup.calls"] == 0
    assert all(s.parent is None for s in otel.chat_spans())

    @llm_cost_otel.track("a")
    def first() -> Any:
        yield 1
        yield 2

    @llm_cost_otel.track("b")
    def second() -> Any:
        yield from (1, 2, 3)

    before = trace.get_current_span()
    list(zip(first(), second(), strict=False))  # interleaved, one left suspended
    gc.collect()
    settle()
    assert trace.get_current_span() is before
    assert llm_cost_otel.attribution.current().runs == ()


async def test_a_decorated_async_generator_left_early_leaks_nothing(otel: Any) -> None:
    client = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU)))

    @llm_cost_otel.attributes(**{"app.feature": "producer"})
    async def produce() -> Any:
        for i in range(5):
            await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
            yield i

    items = produce()
    async for _ in items:
        break
    await items.aclose()  # type: ignore[attr-defined]
    await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    first, later = otel.chat_spans()
    assert first.attributes["app.feature"] == "producer"
    assert "app.feature" not in later.attributes


def test_an_error_type_echoing_the_credential_is_not_exported(otel: Any) -> None:
    from support import sse_body

    def echo(request: httpx2.Request) -> httpx2.Response:
        key = request.headers.get("authorization", "")
        error = {"type": "error", "error": {"type": f"invalid key {key} for user 4711", "message": "m"}}
        body = sse_body(stream_events(model=HAIKU)[:2]) + f"event: error\ndata: {json.dumps(error)}\n\n".encode()
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises, the app gets it
        for _ in anthropic_client(echo).messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=MSGS, stream=True
        ):
            pass
    [span] = otel.chat_spans()
    assert ANTHROPIC_KEY not in span.to_json()
    assert span.attributes["error.type"] == "APIStatusError"
    data = otel.reader.get_metrics_data()
    assert ANTHROPIC_KEY not in (data.to_json() if data is not None else "")


def test_a_span_processor_that_raises_on_start_leaves_no_track_span_open(otel: Any) -> None:
    from opentelemetry.sdk.trace import SpanProcessor

    class RaisesOnce(SpanProcessor):
        raised = False

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            if span.name.startswith("chat") and not self.raised:
                RaisesOnce.raised = True
                otel.started.remove(span)  # the SDK never hands this span to anyone: none can end it
                raise RuntimeError("processor bug")

    otel.tracer_provider.add_span_processor(RaisesOnce())
    with llm_cost_otel.track("job") as run:
        _call(_client())  # the plugin fails to open this call: the app's call still works
        _call(_client())
    assert run.open_calls == 0
    [job] = otel.spans("job")
    assert job.attributes["llm_cost.rollup.calls"] == 1


def test_ids_beyond_int64_and_huge_text_are_coerced_to_bounded_strings(otel: Any) -> None:
    class Loud:
        def __str__(self) -> str:
            return "x" * 1_000_000

    big = uuid.uuid4().int
    with llm_cost_otel.attributes(tenant=big, blob=Loud(), ints=[1, big]):
        _call(_client())
    [span] = otel.chat_spans()
    assert span.attributes["tenant"] == str(big)
    assert len(span.attributes["blob"]) == 256
    assert span.attributes["ints"] == ("1", str(big))


def test_the_overflow_series_is_one_under_concurrent_creation() -> None:
    """Threads that cross the cardinality limit together must share one overflow series (the
    lazily made one used to be made twice, and one thread's sums were never reported). Many
    trials with a tiny switch interval, so the race window is really exercised."""
    import sys
    import threading

    from llm_cost_otel.totals import Totals

    one_token = (1,) + (0,) * 10
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(200):
            totals = Totals(cardinality_limit=1)
            totals.new_series(("first",), dict)
            barrier = threading.Barrier(8)

            def record(i: int, totals: Totals = totals, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                totals.add(totals.new_series((i,), dict).sums, one_token)

            threads = [threading.Thread(target=record, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            totals.fold()
            assert sum(s.sums[0] for s in totals.all_series()) == 8
    finally:
        sys.setswitchinterval(interval)


@pytest.mark.parametrize("read", ["bytes", "lines", "nothing"])
def test_a_streaming_response_closed_by_its_with_ends_its_call_there(otel: Any, read: str) -> None:
    def streamed(request: httpx2.Request) -> httpx2.Response:  # a body still on the wire
        body = json.dumps(message_json(model=HAIKU)).encode()
        return httpx2.Response(200, content=iter([body[:40], body[40:]]), headers={"content-type": "application/json"})

    client = anthropic_client(streamed)
    kept = []
    with llm_cost_otel.track("job") as run:
        with client.messages.with_streaming_response.create(
            model="claude-haiku-4-5", max_tokens=10, messages=MSGS
        ) as response:
            if read == "bytes":
                b"".join(response.iter_bytes())
            elif read == "lines":
                list(response.iter_lines())
        assert run.calls == 1  # ended at close, while the app still holds the response
        kept.append(response)
    [call_span] = otel.chat_spans()
    assert run.open_calls == 0 and otel.spans("job")
    if read == "nothing":  # billed, never read: unknown, never $0
        assert call_span.attributes["llm_cost.usage_unknown"] is True
    else:  # Claude Haiku 4.5 list price: $1 in, $5 out per million tokens
        published = per_million(10, 1.0) + per_million(5, 5.0)
        assert call_span.attributes["gen_ai.usage.cost"] == pytest.approx(published)
        assert run.cost_usd == pytest.approx(published)
