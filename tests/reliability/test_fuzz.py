"""Fuzzing with hypothesis: surprising responses never turn into telemetry errors in the app.

Each example is a malformed or unusual response (missing usage, nulls, negative, huge or
wrongly typed counts, unknown fields and models, truncated SSE, error events) served to
the real SDK client. It runs without the plugin and with it: the app must see exactly the
same thing (same value, or same exception type and message). The instrumented run must
produce one ended span whose cost, when present, is finite and non-negative, and whose
token partition (``llm_cost.tokens`` by type, counted exactly) sums to the billed total
``gen_ai.usage.input_tokens + gen_ai.usage.output_tokens``.

Property tests on the price book: over every Anthropic and Google model in the catalog
(and the corrections' additions), batch or not, cost is never negative, its components
sum to the total, and it is monotone in every token and request count.

Budget: the whole module stays well under a minute (``max_examples`` below); in CI
(``CI=true``) the examples are derandomized so a run is reproducible.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import llm_cost_otel
from llm_cost_otel.pricing import PriceBook
from llm_cost_otel.usage import Usage

from ._support import (
    MSGS,
    anthropic_client,
    async_anthropic_client,
    dump,
    gemini_client,
    sse_body,
)

# Malformed data makes the SDKs warn (unknown enum values, pydantic serializer warnings when
# the app dumps a response with wrongly typed fields): expected here, with or without the plugin.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FUZZ = settings(
    max_examples=int(os.environ.get("LLM_COST_OTEL_FUZZ_EXAMPLES", "500")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROPERTY = settings(
    max_examples=int(os.environ.get("LLM_COST_OTEL_PROPERTY_EXAMPLES", "1000")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow],
)

# --- strategies ------------------------------------------------------------------------------

plausible = st.integers(min_value=0, max_value=5_000_000)
# Anything a broken proxy, a new API version or a hostile upstream could put in a count.
weird_count = st.one_of(
    plausible,
    plausible,
    st.none(),
    st.integers(min_value=-(10**9), max_value=-1),
    # Huge but possible; from 10**12 up a count is treated as a broken report (the overflow test).
    st.integers(min_value=5_000_000, max_value=10**11),
    st.floats(min_value=-1e9, max_value=1e11),
    st.just(float("nan")),
    st.text(max_size=6),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
model_name = st.one_of(
    st.sampled_from(
        [
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5",
            "claude-sonnet-4-20250514",
            "claude-opus-4-1",
            "gemini-2.5-flash",
            "gemini-2.5-pro",
            "gemini-2.0-flash",
            "acme-unknown-model",
            "",
        ]
    ),
    st.text(max_size=20),
    st.none(),
    st.integers(),
)
unknown_fields = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12).map(lambda k: "zz_" + k),
    st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)),
    max_size=3,
)


def optional_fields(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict where each field is independently absent or drawn from its strategy."""
    return st.fixed_dictionaries({}, optional=fields)


anthropic_usage = st.one_of(
    st.none(),
    st.builds(
        lambda base, extra: {**base, **extra},
        optional_fields(
            {
                "input_tokens": weird_count,
                "output_tokens": weird_count,
                "cache_read_input_tokens": weird_count,
                "cache_creation_input_tokens": weird_count,
                "cache_creation": st.one_of(
                    st.none(),
                    optional_fields(
                        {"ephemeral_5m_input_tokens": weird_count, "ephemeral_1h_input_tokens": weird_count}
                    ),
                ),
                "server_tool_use": st.one_of(
                    st.none(),
                    optional_fields({"web_search_requests": weird_count, "web_fetch_requests": weird_count}),
                ),
                "output_tokens_details": st.one_of(st.none(), optional_fields({"thinking_tokens": weird_count})),
                "service_tier": st.one_of(st.none(), st.sampled_from(["standard", "batch", "priority"]), st.integers()),
            }
        ),
        unknown_fields,
    ),
)

gemini_usage = st.one_of(
    st.none(),
    st.builds(
        lambda base, extra: {**base, **extra},
        optional_fields(
            {
                "promptTokenCount": weird_count,
                "candidatesTokenCount": weird_count,
                "cachedContentTokenCount": weird_count,
                "thoughtsTokenCount": weird_count,
                "toolUsePromptTokenCount": weird_count,
                "totalTokenCount": weird_count,
                "trafficType": st.one_of(st.none(), st.sampled_from(["ON_DEMAND", "PROVISIONED_THROUGHPUT", "NEW"])),
                "promptTokensDetails": st.one_of(
                    st.none(),
                    st.lists(
                        optional_fields(
                            {
                                "modality": st.sampled_from(["TEXT", "AUDIO", "IMAGE", "SMELL"]),
                                "tokenCount": weird_count,
                            }
                        ),
                        max_size=3,
                    ),
                ),
            }
        ),
        unknown_fields,
    ),
)


# --- running one example with and without the plugin -----------------------------------------


class Served:
    """The mock server's current answer: one client per module serves every example (building
    a google-genai client loads a TLS context, ~70 ms, too slow to do per example)."""

    def __init__(self) -> None:
        self.body = b""
        self.content_type = "application/json"

    def set(self, body: bytes, content_type: str = "application/json") -> None:
        self.body, self.content_type = body, content_type

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=self.body, headers={"content-type": self.content_type})


SERVED = Served()
CLIENTS: dict[str, Any] = {}


def client(kind: str) -> Any:
    if kind not in CLIENTS:
        make = {"anthropic": anthropic_client, "async_anthropic": async_anthropic_client, "google": gemini_client}
        CLIENTS[kind] = make[kind](SERVED)
    return CLIENTS[kind]


def token_totals(otel: Any) -> dict[str, int]:
    """Cumulative ``llm_cost.tokens`` by token type, summed exactly (ints, no floats)."""
    totals: dict[str, int] = {}
    for point in otel.metric_points("llm_cost.tokens"):
        kind = point.attributes["llm_cost.token.type"]
        totals[kind] = totals.get(kind, 0) + point.value
    return totals


def outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", run()
    except Exception as exc:
        return "error", (type(exc).__qualname__, str(exc))


def check_example(otel: Any, run: Callable[[], Any], span_prefix: str, expect_usage: bool = False) -> tuple[str, Any]:
    """Run without, then with the plugin; assert transparency and the telemetry invariants.

    ``expect_usage``: the response carried a usage object the SDK handed to the app, so the
    span must carry the usage and a price source (a cost, or ``unpriced``)."""
    otel.exporter.clear()
    llm_cost_otel.uninstrument()
    plain = outcome(run)
    before = token_totals(otel)
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    traced = outcome(run)
    assert traced == plain, "the plugin changed what the app sees"

    spans = otel.spans(span_prefix)
    assert len(spans) == 1, f"expected one span, got {[s.name for s in otel.spans()]}"
    (span,) = spans
    assert span.end_time is not None
    attrs = span.attributes
    cost = attrs.get("gen_ai.usage.cost")
    if cost is not None:
        assert math.isfinite(cost) and cost >= 0, cost
        parts = [attrs.get(f"llm_cost.usd.{c}", 0.0) for c in ("input", "output", "cache_read", "cache_write")]
        parts.append(attrs.get("llm_cost.usd.request_fees", 0.0))
        assert all(p >= 0 for p in parts)
        assert math.isclose(sum(parts), cost, rel_tol=1e-9, abs_tol=1e-15)
    after = token_totals(otel)
    added = sum(after.values()) - sum(before.values())
    assert all(after.get(k, 0) >= before.get(k, 0) for k in before), "a token counter went down"
    billed = attrs.get("gen_ai.usage.input_tokens", 0) + attrs.get("gen_ai.usage.output_tokens", 0)
    assert added == billed, "llm_cost.tokens by type does not sum to the billed total"
    for name in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens"):
        assert attrs.get(name, 0) >= 0
    if expect_usage and traced[0] == "ok":
        # readable usage is recorded; an empty or malformed report is flagged, never $0
        assert "gen_ai.usage.input_tokens" in attrs or attrs.get("llm_cost.usage_unknown"), "usage dropped"
        assert "llm_cost.price.source" in attrs or billed == 0, "a billed call was neither priced nor unpriced"
    return traced


# --- Anthropic -----------------------------------------------------------------------------------


@FUZZ
@given(
    usage=anthropic_usage,
    model=model_name,
    request_model=st.sampled_from(["claude-haiku-4-5", "claude-sonnet-4-5", "mystery-model-9"]),
    extra=unknown_fields,
    stop_reason=st.one_of(st.none(), st.sampled_from(["end_turn", "tool_use", "refusal", "brand_new_reason"])),
)
def test_anthropic_messages_fuzz(
    otel: Any, usage: Any, model: Any, request_model: str, extra: dict[str, Any], stop_reason: Any
) -> None:
    body: dict[str, Any] = {
        "id": "msg_fuzz",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": stop_reason,
        **extra,
    }
    if model is not None:
        body["model"] = model
    if usage is not None:
        body["usage"] = usage
    SERVED.set(json.dumps(body).encode())
    anthropic = client("anthropic")
    # A non-string response model is a separate, known bug (test_non_string_response_model_keeps_usage).
    check_example(
        otel,
        lambda: dump(anthropic.messages.create(model=request_model, max_tokens=10, messages=MSGS)),
        "chat",
        expect_usage=usage is not None and (model is None or isinstance(model, str)),
    )


def _anthropic_stream_events(
    start_usage: Any, delta_usage: Any, model: Any, noise: list[dict[str, Any]], error_event: bool
) -> list[dict[str, Any]]:
    message: dict[str, Any] = {
        "id": "msg_s",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if model is not None:
        message["model"] = model
    if start_usage is not None:
        message["usage"] = start_usage
    delta: dict[str, Any] = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
    if delta_usage is not None:
        delta["usage"] = delta_usage
    events = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *noise,
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "content_block_stop", "index": 0},
    ]
    if error_event:
        events.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    events += [delta, {"type": "message_stop"}]
    return events


noise_events = st.lists(
    st.one_of(
        st.just({"type": "ping"}),
        st.builds(lambda extra: {"type": "brand_new_event", **extra}, unknown_fields),
        st.just({"type": "content_block_delta", "index": 0, "delta": {"type": "mystery_delta", "x": 1}}),
    ),
    max_size=3,
)


@FUZZ
@given(
    start_usage=anthropic_usage,
    delta_usage=anthropic_usage,
    model=model_name,
    noise=noise_events,
    error_event=st.booleans(),
    cut=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
    is_async=st.booleans(),
)
def test_anthropic_stream_fuzz(
    otel: Any,
    start_usage: Any,
    delta_usage: Any,
    model: Any,
    noise: list[dict[str, Any]],
    error_event: bool,
    cut: float | None,
    is_async: bool,
) -> None:
    body = sse_body(_anthropic_stream_events(start_usage, delta_usage, model, noise, error_event))
    if cut is not None:  # truncated SSE: the connection closed cleanly mid-body
        body = body[: int(len(body) * cut)]

    SERVED.set(body, "text/event-stream")
    args = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": MSGS, "stream": True}
    if is_async:
        aclient = client("async_anthropic")

        def run() -> Any:
            async def main() -> Any:
                return [dump(e) async for e in await aclient.messages.create(**args)]

            return asyncio.run(main())
    else:
        sclient = client("anthropic")

        def run() -> Any:
            return [dump(e) for e in sclient.messages.create(**args)]

    check_example(otel, run, "chat")


# --- Google GenAI ------------------------------------------------------------------------------


def _gemini_body(usage: Any, model: Any, extra: dict[str, Any], finish: Any, candidates: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"responseId": "r-fuzz", **extra}
    if candidates:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": "ok"}]}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        body["candidates"] = [candidate]
    if usage is not None:
        body["usageMetadata"] = usage
    if model is not None:
        body["modelVersion"] = model
    return body


gemini_finish = st.one_of(st.none(), st.sampled_from(["STOP", "MAX_TOKENS", "SAFETY", "BRAND_NEW_REASON"]))


@FUZZ
@given(
    usage=gemini_usage,
    model=model_name,
    extra=unknown_fields,
    finish=gemini_finish,
    candidates=st.booleans(),
    request_model=st.sampled_from(["gemini-2.5-flash", "models/gemini-2.5-pro", "mystery-gemini"]),
)
def test_gemini_generate_content_fuzz(
    otel: Any, usage: Any, model: Any, extra: dict[str, Any], finish: Any, candidates: bool, request_model: str
) -> None:
    SERVED.set(json.dumps(_gemini_body(usage, model, extra, finish, candidates)).encode())
    google = client("google")
    check_example(
        otel,
        lambda: dump(google.models.generate_content(model=request_model, contents="hi")),
        "generate_content",
        expect_usage=usage is not None,
    )


@FUZZ
@given(
    chunks=st.lists(
        st.tuples(gemini_usage, model_name, gemini_finish, st.booleans()),
        min_size=1,
        max_size=4,
    ),
    cut=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
    garbage=st.one_of(
        st.none(), st.sampled_from([b"data: {not json\r\n\r\n", b": comment\r\n\r\n", b"data: []\r\n\r\n"])
    ),
    is_async=st.booleans(),
)
def test_gemini_stream_fuzz(
    otel: Any, chunks: list[tuple[Any, Any, Any, bool]], cut: float | None, garbage: bytes | None, is_async: bool
) -> None:
    body = b"".join(f"data: {json.dumps(_gemini_body(u, m, {}, f, c))}\r\n\r\n".encode() for u, m, f, c in chunks) + (
        garbage or b""
    )
    if cut is not None:
        body = body[: int(len(body) * cut)]
    SERVED.set(body, "text/event-stream")
    google = client("google")

    if is_async:

        def run() -> Any:
            async def main() -> Any:
                stream = await google.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
                return [dump(c) async for c in stream]

            return asyncio.run(main())
    else:

        def run() -> Any:
            return [dump(c) for c in google.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")]

    check_example(otel, run, "generate_content")


# --- overflow: counts that no exporter can carry ----------------------------------------------


def _metrics_encodable(otel: Any) -> None:
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

    encode_metrics(otel.reader.get_metrics_data())


@pytest.mark.parametrize("provider", ["anthropic", "google"])
def test_absurd_token_count_does_not_poison_metric_export(otel: Any, provider: str) -> None:
    huge = 2**63
    if provider == "anthropic":
        body = {
            "id": "msg_huge",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": huge, "output_tokens": 5},
        }
        client = anthropic_client(lambda r: httpx2.Response(200, json=body))
        message = client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MSGS)
        assert message.usage.input_tokens == huge  # the SDK passes it through: the app sees it
    else:
        body = {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": huge, "candidatesTokenCount": 5},
            "modelVersion": "gemini-2.5-flash",
        }
        gclient = gemini_client(lambda r: httpx2.Response(200, json=body))
        response = gclient.models.generate_content(model="gemini-2.5-flash", contents="hi")
        assert response.usage_metadata.prompt_token_count == huge
    _metrics_encodable(otel)


@pytest.mark.parametrize("field", [f.name for f in fields(Usage)])
def test_a_count_from_a_trillion_up_in_any_usage_field_drops_the_report(field: str) -> None:
    from llm_cost_otel.records import sanitize
    from llm_cost_otel.telemetry import Outcome

    broken = Outcome(usage=Usage(**{field: 10**12}))
    sanitize(broken)
    assert broken.usage is None and broken.usage_unknown  # counted as unpriced, never summed
    huge = Outcome(usage=Usage(**{field: 10**11}))
    sanitize(huge)
    assert huge.usage is not None and not huge.usage_unknown


def test_non_string_response_model_keeps_usage(otel: Any) -> None:
    body = {
        "id": "msg_odd",
        "type": "message",
        "role": "assistant",
        "model": 123,
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1000, "output_tokens": 100},
    }
    anthropic = anthropic_client(lambda r: httpx2.Response(200, json=body))
    with llm_cost_otel.track("odd") as run:
        message = anthropic.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert message.model == 123  # what the app sees, with or without the plugin
    (span,) = otel.chat_spans()
    assert span.attributes.get("gen_ai.usage.input_tokens") == 1000
    assert otel.metric_sum("llm_cost.tokens") == 1100
    assert run.calls == 1


# --- pricing properties --------------------------------------------------------------------------


def _catalog_models() -> list[tuple[str, str]]:
    from genai_prices.data import providers

    ours = {"anthropic": "anthropic", "google": "gcp.gemini", "aws": "aws.bedrock"}
    found = []
    for provider in providers:
        if provider.id in ours:
            # "regional.*" are the catalog's keys for us./eu./apac. inference profiles, not model ids
            ids = [model.id for model in provider.models if not model.id.startswith("regional.")]
            found += [(ours[provider.id], i) for i in ids]
            if provider.id == "google":
                found += [("gcp.vertex_ai", i) for i in ids]
    found += [
        ("gcp.vertex_ai", "text-embedding-005"),
        ("gcp.vertex_ai", "imagen-4.0-generate-001"),
        ("gcp.vertex_ai", "claude-sonnet-4@20250514"),
        ("gcp.vertex_ai", "gemini-2.0-flash"),
    ]
    return found


_BOOK = PriceBook()
_DISCOUNTED = PriceBook.from_config(
    {
        "models": {"acme-ft": {"input": 2.0, "output": 8.0, "tiers": [{"above_input_tokens": 1000, "input": 4.0}]}},
        "discounts": [{"provider": "*", "model": "*", "multiplier": 0.85}],
        "aliases": {"prod-sonnet": "claude-sonnet-4-5"},
    }
)
PARTITION = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens")
COUNTS = (*PARTITION, "web_search_requests", "web_fetch_requests", "input_characters", "output_images")

usages = st.builds(
    Usage,
    input_tokens=st.integers(0, 2_000_000),
    cache_read_tokens=st.integers(0, 2_000_000),
    cache_write_5m_tokens=st.integers(0, 500_000),
    cache_write_1h_tokens=st.integers(0, 500_000),
    output_tokens=st.integers(0, 200_000),
    web_search_requests=st.integers(0, 50),
    web_fetch_requests=st.integers(0, 50),
    input_characters=st.integers(0, 100_000),
    output_images=st.integers(0, 4),
)
priced_models = st.one_of(
    st.sampled_from(_catalog_models()),
    st.sampled_from([("anthropic", "acme-ft"), ("anthropic", "prod-sonnet")]),
)


@PROPERTY
@given(
    usage=usages,
    model=priced_models,
    batch=st.booleans(),
    discounted=st.booleans(),
    field=st.sampled_from(COUNTS),
    more=st.integers(1, 1_000_000),
)
def test_cost_is_non_negative_and_monotone(
    usage: Usage, model: tuple[str, str], batch: bool, discounted: bool, field: str, more: int
) -> None:
    provider, name = model
    book = _DISCOUNTED if discounted or name in ("acme-ft", "prod-sonnet") else _BOOK
    cost = book.cost(provider, name, usage, batch=batch)
    assume(cost is not None)
    assert cost is not None
    components = [value for _, value in cost.components()]
    assert all(math.isfinite(v) and v >= 0 for v in components), cost
    assert cost.total >= 0 and cost.cache_savings >= 0
    assert math.isclose(sum(components), cost.total, rel_tol=1e-12, abs_tol=0)
    bigger = replace(usage, **{field: getattr(usage, field) + more})
    more_cost = book.cost(provider, name, bigger, batch=batch)
    assert more_cost is not None
    assert more_cost.total >= cost.total, f"{provider}/{name}: +{more} {field} lowered the cost"


@PROPERTY
@given(usage=usages)
def test_usage_partition_sums_to_billed_total(usage: Usage) -> None:
    assert usage.total_tokens == sum(getattr(usage, f) for f in PARTITION)
    assert usage.total_input_tokens == usage.total_tokens - usage.output_tokens
    assert usage.cache_write_tokens == usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
