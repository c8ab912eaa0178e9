"""The conventions' names: released by default, the newest under
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` (OpenTelemetry's migration switch)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx2
import pytest

import llm_cost_otel
from support import Telemetry, anthropic_client, json_response, message_json, sse_response, stream_events

MSGS = [{"role": "user", "content": "hi"}]
# 100 uncached + 2,000 read + 300 written in; 700 out, 400 of them thinking
USAGE = {
    "input_tokens": 100,
    "cache_read_input_tokens": 2000,
    "cache_creation_input_tokens": 300,
    "output_tokens": 700,
    "output_tokens_details": {"thinking_tokens": 400},
}


def _instrument(monkeypatch: pytest.MonkeyPatch, opt_in: str | None) -> Telemetry:
    for name in ("LLM_COST_OTEL_PRICES", "LLM_COST_OTEL_METRIC_ATTRIBUTES", "LLM_COST_OTEL_GENAI_METRICS"):
        monkeypatch.delenv(name, raising=False)
    if opt_in is None:
        monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    else:
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", opt_in)
    exported = Telemetry()
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(tracer_provider=exported.tracer_provider, meter_provider=exported.meter_provider)
    return exported


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    llm_cost_otel.uninstrument()


def _one_call(stream: bool = False) -> None:
    if stream:
        events = stream_events(
            start_usage={k: v for k, v in USAGE.items() if k != "output_tokens_details"} | {"output_tokens": 1},
            final_usage={"output_tokens": 700, "output_tokens_details": {"thinking_tokens": 400}},
        )
        client = anthropic_client(lambda r: sse_response(events))
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=MSGS) as s:
            s.until_done()
    else:
        client = anthropic_client(lambda r: json_response(message_json(usage=USAGE)))
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)


def test_released_names_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    exported = _instrument(monkeypatch, None)
    _one_call(stream=True)
    (span,) = exported.spans()
    assert span.attributes["gen_ai.usage.cache_creation.input_tokens"] == 300
    assert "gen_ai.usage.cache_write.input_tokens" not in span.attributes
    metrics = exported.metrics()
    assert {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
    } <= set(metrics)
    assert not [name for name in metrics if name.startswith("gen_ai.client.inference.")]
    by_type = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"]}
    assert by_type == {"input": 2400, "output": 700}


@pytest.mark.parametrize("opt_in", ["gen_ai_latest_experimental", "http, gen_ai_latest_experimental ,database"])
def test_latest_names_under_the_opt_in(monkeypatch: pytest.MonkeyPatch, opt_in: str) -> None:
    exported = _instrument(monkeypatch, opt_in)
    _one_call(stream=True)
    _one_call()
    spans = exported.spans()
    assert [s.attributes["gen_ai.usage.cache_write.input_tokens"] for s in spans] == [300, 300]
    assert not any("gen_ai.usage.cache_creation.input_tokens" in s.attributes for s in spans)
    metrics = exported.metrics()
    for gone in ("gen_ai.client.token.usage", "gen_ai.client.operation.time_to_first_chunk"):
        assert gone not in metrics
    # inference operations: the inference duration, not the operation duration
    assert "gen_ai.client.operation.duration" not in metrics
    assert sum(p.count for p in metrics["gen_ai.client.inference.duration"]) == 2
    assert sum(p.count for p in metrics["gen_ai.client.inference.time_to_first_chunk"]) == 1
    # per-operation token histograms: one each, without gen_ai.token.type
    for name, per_call in (
        ("gen_ai.client.inference.operation.input_tokens", 2400),
        ("gen_ai.client.inference.operation.output_tokens", 700),
    ):
        (point,) = metrics[name]
        assert (point.count, point.sum) == (2, 2 * per_call)
        assert "gen_ai.token.type" not in point.attributes
    # usage counters: input includes cache reads and writes; the rest are its parts
    expected = {
        "gen_ai.client.inference.usage.input_tokens": 2 * 2400,
        "gen_ai.client.inference.usage.output_tokens": 2 * 700,
        "gen_ai.client.inference.usage.cache_read.input_tokens": 2 * 2000,
        "gen_ai.client.inference.usage.cache_write.input_tokens": 2 * 300,
        "gen_ai.client.inference.usage.reasoning.output_tokens": 2 * 400,
    }
    for name, total in expected.items():
        (point,) = metrics[name]
        assert point.value == total, name
        assert point.attributes["gen_ai.token.modality"] == "unknown"
        assert point.attributes["gen_ai.provider.name"] == "anthropic"
        assert point.attributes["gen_ai.operation.name"] == "chat"
    # our own metrics are the same under both
    assert sum(p.value for p in metrics["llm_cost.tokens"]) == 2 * 3100


def test_latest_keeps_operation_duration_for_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    from google import genai
    from google.genai import types

    body = {"embeddings": [{"values": [0.1]}], "usageMetadata": {"promptTokenCount": 40}}
    exported = _instrument(monkeypatch, "gen_ai_latest_experimental")
    client = genai.Client(
        api_key="AIza-test",
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": httpx2.MockTransport(lambda r: httpx2.Response(200, json=body))},
        ),
    )
    client.models.embed_content(model="gemini-embedding-001", contents=["a"])
    metrics = exported.metrics()
    (point,) = metrics["gen_ai.client.operation.duration"]
    assert point.attributes["gen_ai.operation.name"] == "embeddings"
    assert "gen_ai.client.inference.duration" not in metrics
    # not an inference operation: no inference token metrics, still in llm_cost.tokens
    assert not [name for name in metrics if name.startswith("gen_ai.client.inference.")]
    assert sum(p.value for p in metrics["llm_cost.tokens"]) == 40


def test_a_second_instrument_on_the_same_provider_registers_nothing_twice(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exported = _instrument(monkeypatch, "gen_ai_latest_experimental")
    with caplog.at_level(logging.WARNING):
        llm_cost_otel.instrument(tracer_provider=exported.tracer_provider, meter_provider=exported.meter_provider)
    _one_call()
    metrics = exported.metrics()
    (point,) = metrics["gen_ai.client.inference.usage.input_tokens"]
    assert point.value == 2400  # counted once
    # the metrics SDK warns when an instrument name is registered twice
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry.sdk.metrics")]


@pytest.mark.parametrize("typo", ["gen_ai_latest", "gen_ai_latest_experimantal"])
def test_a_gen_ai_entry_we_do_not_know_warns_and_keeps_released_names(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, typo: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        exported = _instrument(monkeypatch, f"http,{typo}")
    messages = [r.getMessage() for r in caplog.records]
    assert any(repr(typo) in m and "gen_ai_latest_experimental" in m for m in messages), messages
    assert not any("'http'" in m for m in messages)  # other signals' entries are not ours to judge
    _one_call()
    assert "gen_ai.client.token.usage" in exported.metrics()


def test_the_old_switch_says_what_replaced_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_GENAI_METRICS", "inference")
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    exported = Telemetry()
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        llm_cost_otel.uninstrument()
        llm_cost_otel.instrument(tracer_provider=exported.tracer_provider, meter_provider=exported.meter_provider)
    assert any(
        "LLM_COST_OTEL_GENAI_METRICS" in r.getMessage() and "OTEL_SEMCONV_STABILITY_OPT_IN" in r.getMessage()
        for r in caplog.records
    )


def test_one_naming_per_meter_provider_the_first_decides(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exported = _instrument(monkeypatch, "gen_ai_latest_experimental")
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN")
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        llm_cost_otel.uninstrument()
        llm_cost_otel.instrument(tracer_provider=exported.tracer_provider, meter_provider=exported.meter_provider)
    assert any("keeping the newest" in r.getMessage() for r in caplog.records)
    _one_call()
    metrics = exported.metrics()
    # one naming only: a call counted under both would be counted twice by the dashboards
    assert "gen_ai.client.inference.duration" in metrics
    assert "gen_ai.client.operation.duration" not in metrics and "gen_ai.client.token.usage" not in metrics
    (span,) = exported.spans()
    assert span.attributes["gen_ai.usage.cache_write.input_tokens"] == 300


def test_overflow_keeps_other_operations_out_of_the_inference_usage_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    from google import genai
    from google.genai import types

    monkeypatch.setenv("LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT", "1")
    exported = _instrument(monkeypatch, "gen_ai_latest_experimental")
    _one_call()  # the one series under the limit
    body = {"embeddings": [{"values": [0.1]}], "usageMetadata": {"promptTokenCount": 40}}
    client = genai.Client(
        api_key="AIza-test",
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": httpx2.MockTransport(lambda r: httpx2.Response(200, json=body))},
        ),
    )
    client.models.embed_content(model="gemini-embedding-001", contents=["a"])  # overflows
    client2 = anthropic_client(lambda r: json_response(message_json(model="claude-sonnet-4-5", usage=USAGE)))
    client2.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MSGS)  # overflows too
    metrics = exported.metrics()
    inputs = {p.attributes.get("otel.metric.overflow", False): p.value for p in metrics[INPUT_COUNTER]}
    assert inputs == {False: 2400, True: 2400}  # the embeddings' 40 tokens are in neither
    assert sum(p.value for p in metrics["llm_cost.tokens"]) == 2 * 3100 + 40


def test_failed_calls_past_the_limit_stay_in_the_overflow_series(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT", "1")
    exported = _instrument(monkeypatch, None)
    _one_call()
    failing = anthropic_client(lambda r: httpx2.Response(500, json={"type": "error", "error": {"type": "api_error"}}))
    for n in range(5):
        with pytest.raises(Exception):  # noqa: B017 - the SDK's own error class
            failing.messages.create(model=f"tenant-model-{n}", max_tokens=10, messages=MSGS)
    points = exported.metrics()["gen_ai.client.operation.duration"]
    failed = [p for p in points if "error.type" in p.attributes]
    assert [dict(p.attributes) for p in failed] == [{"otel.metric.overflow": True, "error.type": "500"}]
    assert failed[0].count == 5


def test_latest_token_histograms_carry_the_error_type(monkeypatch: pytest.MonkeyPatch) -> None:
    exported = _instrument(monkeypatch, "gen_ai_latest_experimental")
    events = stream_events(start_usage={"input_tokens": 100, "output_tokens": 1})
    events = [e for e in events if e["type"] not in ("message_delta", "message_stop")]
    events.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    client = anthropic_client(lambda r: sse_response(events))
    with pytest.raises(Exception), client.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=MSGS) as s:  # noqa: B017
        s.until_done()
    metrics = exported.metrics()
    (duration,) = metrics["gen_ai.client.inference.duration"]
    (tokens,) = metrics["gen_ai.client.inference.operation.input_tokens"]
    assert duration.attributes["error.type"] == "overloaded_error"
    assert tokens.attributes == duration.attributes


INPUT_COUNTER = "gen_ai.client.inference.usage.input_tokens"
