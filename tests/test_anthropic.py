"""The Anthropic adapter against the real SDK over httpx2.MockTransport.

Expected costs are computed here from published list prices (USD per million tokens),
never from the code under test.
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import httpx2
import pytest

import llm_cost_otel
from llm_cost_otel.deferred import settle
from support import (
    anthropic_client,
    async_anthropic_client,
    json_response,
    message_json,
    per_million,
    sse_body,
    sse_response,
    stream_events,
)

HAIKU = "claude-haiku-4-5-20251001"  # $1 in, $5 out, $0.10 read, $1.25 5m write, $2 1h write
SONNET = "claude-sonnet-4-5-20250929"  # $3/$15, read $0.30, 5m $3.75, 1h $6; >200k: $6/$22.50/$0.60/$7.50/$12
MSGS = [{"role": "user", "content": "Hello"}]


def haiku_cost(inp: int = 0, out: int = 0, read: int = 0, w5: int = 0, w1: int = 0) -> float:
    return (
        per_million(inp, 1.0)
        + per_million(out, 5.0)
        + per_million(read, 0.10)
        + per_million(w5, 1.25)
        + per_million(w1, 2.0)
    )


def test_create_records_one_span_with_exact_cost(otel: Any) -> None:
    usage = {
        "input_tokens": 1200,
        "output_tokens": 340,
        "cache_read_input_tokens": 5000,
        "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    }
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=usage)))
    msg = client.messages.create(model="claude-haiku-4-5", max_tokens=100, stop_sequences=["END"], messages=MSGS)

    expected = haiku_cost(inp=1200, out=340, read=5000, w5=1000, w1=2000)
    (span,) = otel.chat_spans()
    a = span.attributes
    assert span.name == "chat claude-haiku-4-5"
    assert span.kind.name == "CLIENT"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "claude-haiku-4-5"
    assert a["gen_ai.response.model"] == HAIKU
    assert a["gen_ai.response.id"] == "msg_01"
    assert a["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert a["gen_ai.request.max_tokens"] == 100
    assert a["gen_ai.request.stop_sequences"] == ("END",)
    assert a["server.address"] == "api.anthropic.com"
    # semconv input includes cache reads and writes; never double counted
    assert a["gen_ai.usage.input_tokens"] == 1200 + 5000 + 3000
    assert a["gen_ai.usage.output_tokens"] == 340
    assert a["gen_ai.usage.cache_read.input_tokens"] == 5000
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 3000
    assert a["gen_ai.usage.cost"] == pytest.approx(expected, rel=1e-12)
    assert a["llm_cost.usd.input"] == pytest.approx(per_million(1200, 1.0))
    assert a["llm_cost.usd.cache_read"] == pytest.approx(per_million(5000, 0.10))
    assert a["llm_cost.usd.cache_write"] == pytest.approx(per_million(1000, 1.25) + per_million(2000, 2.0))
    assert a["llm_cost.usd.output"] == pytest.approx(per_million(340, 5.0))
    assert a["llm_cost.usd.cache_savings"] == pytest.approx(per_million(5000, 1.0 - 0.10))
    assert a["llm_cost.price.source"] == "catalog"
    assert a["llm_cost.price.model"] == "claude-haiku-4-5"
    assert "genai-prices" in a["llm_cost.price.version"]
    # the SDK's return value is untouched, and cost_of finds it
    assert type(msg).__name__ == "Message"
    assert msg.usage.input_tokens == 1200
    cost = llm_cost_otel.cost_of(msg)
    assert cost is not None and cost.total == pytest.approx(expected)
    # metrics: the disjoint token counter sums to every billed token; cost by component
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected)
    assert otel.metric_sum("llm_cost.usd", **{"llm_cost.component": "cache_write"}) == pytest.approx(
        per_million(1000, 1.25) + per_million(2000, 2.0)
    )
    assert otel.metric_sum("llm_cost.tokens") == 1200 + 5000 + 3000 + 340
    assert otel.metric_sum("llm_cost.tokens", **{"llm_cost.token.type": "cache_read"}) == 5000
    assert otel.metric_sum("llm_cost.cache_savings.usd") == pytest.approx(per_million(5000, 0.9))
    assert otel.metric_sum("gen_ai.client.token.usage", **{"gen_ai.token.type": "input"}) == 9200
    (duration,) = otel.metric_points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]


def test_long_context_tier_applies_to_every_token(otel: Any) -> None:
    # 150k uncached + 60k cache read = 210k input > 200k: all tokens at the long-context rates.
    usage = {"input_tokens": 150_000, "output_tokens": 2_000, "cache_read_input_tokens": 60_000}
    client = anthropic_client(lambda r: json_response(message_json(model=SONNET, usage=usage)))
    client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=MSGS)
    expected = per_million(150_000, 6.0) + per_million(2_000, 22.5) + per_million(60_000, 0.60)
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected, rel=1e-12)


def test_thinking_tokens_are_billed_as_output_and_reported(otel: Any) -> None:
    usage = {"input_tokens": 100, "output_tokens": 3000, "output_tokens_details": {"thinking_tokens": 2500}}
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=usage)))
    client.messages.create(model="claude-haiku-4-5", max_tokens=4000, messages=MSGS)
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == 2500
    assert span.attributes["gen_ai.usage.output_tokens"] == 3000
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=100, out=3000))


def test_web_search_requests_are_a_request_fee(otel: Any) -> None:
    usage = {"input_tokens": 100, "output_tokens": 10, "server_tool_use": {"web_search_requests": 3}}
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=usage)))
    client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    (span,) = otel.chat_spans()
    assert span.attributes["llm_cost.usd.request_fees"] == pytest.approx(3 * 10.0 / 1000)
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=100, out=10) + 0.03)
    assert otel.metric_sum("llm_cost.usd", **{"llm_cost.component": "request_fees"}) == pytest.approx(0.03)


def test_legacy_usage_without_5m_1h_split_counts_writes_as_5m(otel: Any) -> None:
    usage = {"input_tokens": 10, "output_tokens": 10, "cache_creation_input_tokens": 4000}
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=usage)))
    client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=10, out=10, w5=4000))


def _stream_handler(events: list[dict[str, Any]]) -> Any:
    return lambda request: sse_response(events)


def test_create_stream_uses_message_start_and_last_delta(otel: Any) -> None:
    events = stream_events(
        model=HAIKU,
        start_usage={
            "input_tokens": 500,
            "output_tokens": 1,
            "cache_read_input_tokens": 2000,
            "cache_creation_input_tokens": 100,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 100},
        },
        final_usage={"output_tokens": 77},
        deltas=40,
    )
    client = anthropic_client(_stream_handler(events))
    stream = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)
    assert type(stream).__name__ == "Stream"
    seen = [e.type for e in stream]
    assert seen == [e["type"] for e in events]
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == 77
    assert span.attributes["gen_ai.usage.input_tokens"] == 2600
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=500, out=77, read=2000, w1=100))
    assert len(otel.metric_points("gen_ai.client.operation.time_to_first_chunk")) == 1
    assert llm_cost_otel.cost_of(stream) is not None


def test_stream_manager_helpers_work_and_count_once(otel: Any) -> None:
    client = anthropic_client(_stream_handler(stream_events(model=HAIKU, deltas=3)))
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "w0 w1 w2 "
    assert final.usage.output_tokens == 5
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=10, out=5))
    assert llm_cost_otel.cost_of(final) is not None  # found by response id
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(haiku_cost(inp=10, out=5))


def test_stream_broken_early_records_usage_seen_so_far(otel: Any) -> None:
    events = stream_events(model=HAIKU, start_usage={"input_tokens": 1000, "output_tokens": 1}, deltas=10)
    client = anthropic_client(_stream_handler(events))
    stream = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)
    for i, _event in enumerate(stream):
        if i == 3:
            break
    del stream
    gc.collect()
    settle()  # finishes the collector deferred
    (span,) = otel.chat_spans()
    # message_start was seen (input and the 1 output token so far), message_delta was not
    assert span.attributes["gen_ai.usage.input_tokens"] == 1000
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=1000, out=1))


def test_stream_close_ends_span_immediately(otel: Any) -> None:
    client = anthropic_client(_stream_handler(stream_events(model=HAIKU)))
    stream = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)
    next(iter(stream))
    stream.close()
    assert len(otel.chat_spans()) == 1  # ended at close(), not later at garbage collection
    stream.close()
    assert len(otel.chat_spans()) == 1


def test_stream_never_iterated_ends_when_dropped(otel: Any) -> None:
    client = anthropic_client(_stream_handler(stream_events(model=HAIKU)))
    stream = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)
    assert otel.chat_spans() == []
    del stream
    gc.collect()
    settle()  # finishes the collector deferred
    (span,) = otel.chat_spans()
    assert "gen_ai.usage.cost" not in span.attributes  # nothing was read: no usage known


def test_consumer_exception_mid_stream_still_ends_span(otel: Any) -> None:
    client = anthropic_client(_stream_handler(stream_events(model=HAIKU)))
    with (
        pytest.raises(RuntimeError, match="consumer"),
        client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as stream,
    ):
        for _ in stream:
            raise RuntimeError("consumer failed")
    assert len(otel.chat_spans()) == 1


def test_transport_error_mid_stream_marks_error_and_keeps_usage(otel: Any) -> None:
    events = stream_events(model=HAIKU, start_usage={"input_tokens": 300, "output_tokens": 1})
    body = sse_body(events[:3])

    def chunks() -> Any:
        yield body
        raise httpx2.ReadError("connection reset")

    client = anthropic_client(
        lambda r: httpx2.Response(
            200,
            stream=httpx2.ByteStream(b"") if False else _Raising(body),
            headers={"content-type": "text/event-stream"},
        )
    )
    stream = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=True)
    with pytest.raises(httpx2.ReadError):
        for _ in stream:
            pass
    (span,) = otel.chat_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "ReadError"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=300, out=1))


class _Raising(httpx2.SyncByteStream):
    def __init__(self, first: bytes) -> None:
        self.first = first

    def __iter__(self) -> Any:
        yield self.first
        raise httpx2.ReadError("connection reset")


def test_api_error_sets_status_and_reraises_original(otel: Any) -> None:
    err = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad model"}}
    client = anthropic_client(lambda r: httpx2.Response(400, json=err))
    import anthropic

    with pytest.raises(anthropic.BadRequestError, match="bad model"):
        client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    (span,) = otel.chat_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "400"
    assert "gen_ai.usage.cost" not in span.attributes
    (duration,) = otel.metric_points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "400"
    assert otel.metric_sum("llm_cost.usd") == 0


def test_retry_then_success_is_one_span_billed_once(otel: Any) -> None:
    calls = {"n": 0}

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx2.Response(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "x"}})
        return json_response(message_json(model=HAIKU, usage={"input_tokens": 100, "output_tokens": 10}))

    client = anthropic_client(handler, max_retries=2)
    client._calculate_retry_timeout = lambda *a, **k: 0.0  # no sleeping in tests
    client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    assert calls["n"] == 2
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=100, out=10))
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(haiku_cost(inp=100, out=10))


def test_parse_and_raw_and_streaming_response_are_counted(otel: Any) -> None:
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU)))
    parsed = client.messages.parse(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    assert type(parsed).__name__.startswith("ParsedMessage")
    raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    assert type(raw).__name__ == "APIResponse"
    assert raw.headers["content-type"] == "application/json"
    assert raw.parse().usage.output_tokens == 5
    with client.messages.with_streaming_response.create(
        model="claude-haiku-4-5", max_tokens=100, messages=MSGS
    ) as response:
        assert response.parse().id == "msg_01"
    gc.collect()
    settle()  # finishes the collector deferred
    spans = otel.chat_spans()
    assert len(spans) == 3
    assert all(s.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=10, out=5)) for s in spans)


def test_raw_response_never_parsed_still_counted_from_body(otel: Any) -> None:
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU)))
    raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    raw.http_response.read()
    del raw
    gc.collect()
    settle()  # finishes the collector deferred
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=10, out=5))


def test_count_tokens_is_free_and_not_counted(otel: Any) -> None:
    client = anthropic_client(lambda r: json_response({"input_tokens": 1234}))
    assert client.messages.count_tokens(model="claude-haiku-4-5", messages=MSGS).input_tokens == 1234
    assert otel.chat_spans() == []
    assert otel.metric_sum("llm_cost.usd") == 0


def test_beta_messages_counted_once(otel: Any) -> None:
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU)))
    client.beta.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    with client.beta.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MSGS) as s:
        pass
    assert len(otel.chat_spans()) >= 1
    assert otel.chat_spans()[0].attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=10, out=5))
    del s


def test_unknown_model_is_unpriced_never_zero(otel: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = anthropic_client(lambda r: json_response(message_json(model="claude-imaginary-9")))
    client.messages.create(model="claude-imaginary-9", max_tokens=10, messages=MSGS)
    client.messages.create(model="claude-imaginary-9", max_tokens=10, messages=MSGS)
    spans = otel.chat_spans()
    assert len(spans) == 2
    for span in spans:
        assert span.attributes["llm_cost.price.source"] == "unpriced"
        assert "gen_ai.usage.cost" not in span.attributes
        assert span.attributes["gen_ai.usage.input_tokens"] == 10
    assert otel.metric_sum("llm_cost.unpriced") == 2
    assert otel.metric_sum("llm_cost.usd") == 0
    assert sum("claude-imaginary-9" in r.getMessage() for r in caplog.records) == 1  # warned once


def test_batch_results_priced_at_batch_rates(otel: Any) -> None:
    lines = [
        {
            "custom_id": "a",
            "result": {
                "type": "succeeded",
                "message": message_json(model=HAIKU, usage={"input_tokens": 1000, "output_tokens": 200}),
            },
        },
        {
            "custom_id": "b",
            "result": {
                "type": "succeeded",
                "message": message_json(
                    model=SONNET, msg_id="msg_b", usage={"input_tokens": 2000, "output_tokens": 100}
                ),
            },
        },
        {"custom_id": "c", "result": {"type": "errored", "error": {"type": "error", "error": {"type": "x"}}}},
    ]
    batch = {
        "id": "msgbatch_1",
        "type": "message_batch",
        "processing_status": "ended",
        "request_counts": {"processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0},
        "ended_at": "2026-11-01T00:00:00Z",
        "created_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-11-02T00:00:00Z",
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results",
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/results"):
            return httpx2.Response(200, content="\n".join(json.dumps(x) for x in lines).encode() + b"\n")
        return json_response(batch)

    client = anthropic_client(handler)
    with llm_cost_otel.track("nightly") as run:
        results = list(client.messages.batches.results("msgbatch_1"))
    assert [r.custom_id for r in results] == ["a", "b", "c"]
    # batch = 50% of standard token rates
    expected = 0.5 * (per_million(1000, 1.0) + per_million(200, 5.0)) + 0.5 * (
        per_million(2000, 3.0) + per_million(100, 15.0)
    )
    (span,) = otel.spans("batch_results")
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected)
    assert span.attributes["llm_cost.batch.results"] == 2
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected)
    assert run.calls == 2
    assert run.cost_usd == pytest.approx(expected)


def test_sdk_own_tracing_does_not_double_count(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import anthropic

    client = anthropic.Anthropic(
        api_key="sk-ant-test-SECRET",
        http_client=httpx2.Client(transport=httpx2.MockTransport(lambda r: json_response(message_json(model=HAIKU)))),
        open_telemetry={"tracer_provider": otel.tracer_provider},  # the SDK's own spans, on
    )
    if client._tracer is None:
        pytest.skip("this SDK version has no built-in tracing")
    client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
    client.models.list  # noqa: B018 - other SDK spans stay untouched
    with_usage = [s for s in otel.exporter.get_finished_spans() if "gen_ai.usage.input_tokens" in s.attributes]
    assert len(with_usage) == 1
    assert "gen_ai.usage.cost" in with_usage[0].attributes


def test_async_create_and_stream(otel: Any) -> None:
    async def main() -> None:
        client = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU)))
        msg = await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        assert msg.id == "msg_01"
        sclient = async_anthropic_client(_stream_handler(stream_events(model=HAIKU)))
        stream = await sclient.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS, stream=True)
        async for _ in stream:
            pass
        async with sclient.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=MSGS) as s:
            final = await s.get_final_message()
        assert final.usage.output_tokens == 5

    asyncio.run(main())
    spans = otel.chat_spans()
    assert len(spans) == 3
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(3 * haiku_cost(inp=10, out=5))


def test_async_task_cancelled_mid_stream_ends_span(otel: Any) -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def body() -> Any:
            events = stream_events(model=HAIKU)
            yield sse_body(events[:3])
            gate.set()
            await asyncio.sleep(10)
            yield sse_body(events[3:])

        class Body(httpx2.AsyncByteStream):
            async def __aiter__(self) -> Any:
                async for chunk in body():
                    yield chunk

        client = async_anthropic_client(
            lambda r: httpx2.Response(200, stream=Body(), headers={"content-type": "text/event-stream"})
        )

        async def consume() -> None:
            stream = await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS, stream=True)
            async for _ in stream:
                pass

        task = asyncio.create_task(consume())
        await gate.wait()
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    gc.collect()
    settle()  # finishes the collector deferred
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 10  # message_start was seen


def test_bedrock_and_vertex_provider_names(otel: Any) -> None:
    import anthropic

    handler = lambda r: json_response(message_json(model=HAIKU))  # noqa: E731
    bedrock = anthropic.AnthropicBedrock(
        aws_access_key="AKIA_TEST",
        aws_secret_key="secret",
        aws_region="us-east-1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    bedrock.messages.create(model="us.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=10, messages=MSGS)
    vertex = anthropic.AnthropicVertex(
        region="us-east5",
        project_id="p",
        access_token="tok",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    vertex.messages.create(model="claude-haiku-4-5@20251001", max_tokens=10, messages=MSGS)
    vertex.beta.messages.create(model="claude-haiku-4-5@20251001", max_tokens=10, messages=MSGS)
    names = [s.attributes["gen_ai.provider.name"] for s in otel.chat_spans()]
    assert names == ["aws.bedrock", "gcp.vertex_ai", "gcp.vertex_ai"]
    for span in otel.chat_spans():
        assert span.attributes["llm_cost.price.source"] != "unpriced"


def test_tool_runner_counts_every_turn(otel: Any) -> None:
    import anthropic

    @anthropic.beta_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    turns = [
        {
            **message_json(model=HAIKU, msg_id="t1", usage={"input_tokens": 300, "output_tokens": 40}),
            "content": [{"type": "tool_use", "id": "tu1", "name": "get_weather", "input": {"city": "Paris"}}],
            "stop_reason": "tool_use",
        },
        message_json(model=HAIKU, msg_id="t2", text="Sunny.", usage={"input_tokens": 380, "output_tokens": 12}),
    ]
    served = iter(turns)
    client = anthropic_client(lambda r: json_response(next(served)))
    runner = client.beta.messages.tool_runner(
        model="claude-haiku-4-5", max_tokens=100, messages=MSGS, tools=[get_weather]
    )
    final = None
    for message in runner:
        final = message
    assert final is not None and final.content[0].text == "Sunny."
    spans = otel.chat_spans()
    assert [s.attributes["gen_ai.response.id"] for s in spans] == ["t1", "t2"]
    expected = haiku_cost(inp=300, out=40) + haiku_cost(inp=380, out=12)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected)


def test_fast_mode_is_priced_at_its_own_rates(otel: Any) -> None:
    # Claude Opus 4.8 fast mode, per the shipped genai-prices 0.2.3 data: $10 / $50 per MTok
    # (standard: $5 / $25). The response's usage.speed says which was used.
    usage = {"input_tokens": 1000, "output_tokens": 100, "speed": "fast"}
    client = anthropic_client(lambda r: json_response(message_json(model="claude-opus-4-8", usage=usage)))
    client.messages.create(model="claude-opus-4-8", max_tokens=100, messages=MSGS, speed="fast")
    (span,) = otel.chat_spans()
    assert span.attributes["llm_cost.price.tier"] == "fast"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(1000, 10.0) + per_million(100, 50.0))


def test_histogram_exemplars_link_to_the_call_span(otel: Any) -> None:
    client = anthropic_client(lambda r: json_response(message_json(model=HAIKU)))
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    (span,) = otel.chat_spans()
    (duration,) = otel.metric_points("gen_ai.client.operation.duration")
    assert duration.exemplars, "no exemplar: a cost spike could not lead to its span"
    assert duration.exemplars[0].trace_id == span.context.trace_id
    assert duration.exemplars[0].span_id == span.context.span_id


def test_error_event_mid_stream_is_typed_and_keeps_usage(otel: Any) -> None:
    import anthropic

    events = stream_events(model=HAIKU, start_usage={"input_tokens": 700, "output_tokens": 1})[:3]
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    client = anthropic_client(lambda r: sse_response([*events, error]))
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        for _ in client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS, stream=True):
            pass
    (span,) = otel.chat_spans()
    assert span.attributes["error.type"] == "overloaded_error"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_cost(inp=700, out=1))


# --- trace context: the SDK's span machinery is skipped, its propagation is not -------------


def _traced_client(handler: Any, **option: Any) -> Any:
    import anthropic

    return anthropic.Anthropic(
        api_key="sk-ant-test-SECRET",
        max_retries=2,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        open_telemetry=option,
    )


def _sent_span_id(headers: httpx2.Headers) -> str:
    return headers["traceparent"].split("-")[2]


def test_traceparent_is_ours_on_every_attempt_and_caller_headers_are_kept(
    otel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("anthropic._base_client.SyncAPIClient._calculate_retry_timeout", lambda *a, **k: 0.0)
    sent: list[httpx2.Headers] = []
    replies = iter([httpx2.Response(529, json={"type": "error", "error": {"type": "overloaded_error"}}), None])

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers)
        return next(replies) or json_response(message_json(model=HAIKU))

    client = _traced_client(handler, tracer_provider=otel.tracer_provider)
    extra = {"x-app": "checkout"}
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS, extra_headers=extra)
    (span,) = otel.chat_spans()
    assert len(sent) == 2, "the retry was not sent"
    ours = format(span.context.span_id, "016x")
    assert [_sent_span_id(h) for h in sent] == [ours, ours]  # one call, one span, both attempts
    assert all(h["x-app"] == "checkout" for h in sent)
    assert extra == {"x-app": "checkout"}, "the caller's headers mapping was changed"
    assert len(otel.exporter.get_finished_spans()) == 1  # the SDK made no span of its own


def test_sdk_propagation_switch_is_respected(otel: Any) -> None:
    sent: list[httpx2.Headers] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers)
        return json_response(message_json(model=HAIKU))

    client = _traced_client(handler, tracer_provider=otel.tracer_provider, propagation=False)
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert "traceparent" not in sent[0]
    assert len(otel.chat_spans()) == 1


def test_bedrock_requests_carry_our_trace_context(otel: Any) -> None:
    """Bedrock signs its requests, so it keeps the SDK's own traced path (the order of signing
    and trace headers is pinned by the ``_prepare_request`` test below; botocore leaves
    ``traceparent`` out of SigV4 either way): the request still carries our span's context
    and there is one span."""
    import anthropic

    sent: list[httpx2.Headers] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers)
        return json_response(message_json(model=HAIKU))

    bedrock = anthropic.AnthropicBedrock(
        aws_access_key="AKIA_TEST",
        aws_secret_key="secret",
        aws_region="us-east-1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        open_telemetry={"tracer_provider": otel.tracer_provider},
    )
    bedrock.messages.create(model="us.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=10, messages=MSGS)
    (span,) = otel.chat_spans()
    assert _sent_span_id(sent[0]) == format(span.context.span_id, "016x")
    assert sent[0]["authorization"].startswith("AWS4-HMAC-SHA256")  # really signed
    assert len(otel.exporter.get_finished_spans()) == 1


def test_clients_that_prepare_their_own_requests_get_trace_headers_after_preparing(otel: Any) -> None:
    """A client class that overrides ``_prepare_request`` (to sign, say) must see the request
    as the SDK would show it, with the trace headers added only afterwards."""
    import anthropic

    seen_while_preparing: list[bool] = []
    sent: list[httpx2.Headers] = []

    class SigningAnthropic(anthropic.Anthropic):
        def _prepare_request(self, request: httpx2.Request) -> None:
            seen_while_preparing.append("traceparent" in request.headers)
            request.headers["x-signature"] = str(sorted(request.headers.keys()))

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers)
        return json_response(message_json(model=HAIKU))

    client = SigningAnthropic(
        api_key="sk-ant-test-SECRET",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        open_telemetry={"tracer_provider": otel.tracer_provider},
    )
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    (span,) = otel.chat_spans()
    assert seen_while_preparing == [False]
    assert _sent_span_id(sent[0]) == format(span.context.span_id, "016x")


def test_usage_fields_the_sdk_does_not_declare_are_still_read() -> None:
    """An older SDK (or a newer API) leaves a usage field undeclared: pydantic keeps it apart
    from the declared ones, and it must still count."""
    from anthropic._models import BaseModel, construct_type

    from llm_cost_otel.anthropic import usage_from_anthropic

    class OldUsage(BaseModel):
        input_tokens: int
        output_tokens: int

    usage = construct_type(
        type_=OldUsage,
        value={"input_tokens": 10, "output_tokens": 50, "output_tokens_details": {"thinking_tokens": 30}},
    )
    assert "output_tokens_details" not in vars(usage)  # what makes this case different
    parsed = usage_from_anthropic(usage)
    assert (parsed.input_tokens, parsed.output_tokens, parsed.reasoning_tokens) == (10, 50, 30)


def test_server_port_goes_with_the_address_default_or_explicit(otel: Any) -> None:
    # semconv: server.port is conditionally required whenever server.address is set
    def ok(request: httpx2.Request) -> httpx2.Response:
        return json_response(message_json(model=HAIKU, usage={"input_tokens": 1, "output_tokens": 1}))

    for base_url in (None, "http://127.0.0.1:8123", "http://llm-proxy.internal", "https://llm-proxy.internal:8443/"):
        kwargs = {} if base_url is None else {"base_url": base_url}
        anthropic_client(ok, **kwargs).messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MSGS)
    assert [(s.attributes["server.address"], s.attributes["server.port"]) for s in otel.chat_spans()] == [
        ("api.anthropic.com", 443),
        ("127.0.0.1", 8123),
        ("llm-proxy.internal", 80),
        ("llm-proxy.internal", 8443),
    ]


def test_uncached_input_is_left_to_the_partition_on_the_span(otel: Any) -> None:
    # gen_ai.usage.input_tokens minus the cache reads and writes: one attribute less per span
    usage = {"input_tokens": 40, "output_tokens": 2, "cache_read_input_tokens": 900, "cache_creation_input_tokens": 60}
    anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=usage))).messages.create(
        model="claude-haiku-4-5", max_tokens=5, messages=MSGS
    )
    (span,) = otel.chat_spans()
    a = span.attributes
    assert "llm_cost.tokens.input" not in a
    uncached = a["gen_ai.usage.input_tokens"] - a["gen_ai.usage.cache_read.input_tokens"]
    assert uncached - a["gen_ai.usage.cache_creation.input_tokens"] == 40
    assert a["llm_cost.tokens.cache_write_5m"] == 60
