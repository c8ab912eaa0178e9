"""Transparency: the same scripted calls with and without the plugin give the app the same
values, the same exceptions (type, message, status, body) and working SDK helpers.

Every scenario runs against one real SDK client, first uninstrumented, then instrumented;
the snapshots of what the app got must be equal, and the instrumented run must still have
produced its span.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import pytest
from google.genai import types
from pydantic import BaseModel

import llm_cost_otel

from ._support import (
    HAIKU,
    MSGS,
    anthropic_client,
    async_anthropic_client,
    gemini_client,
    gemini_sse,
    json_response,
    message_json,
    response_json,
    sse_response,
    stream_events,
)

ARGS = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": MSGS}


def snapshot(value: Any) -> Any:
    """A comparable picture of what the SDK handed back."""
    if isinstance(value, list | tuple):
        return [snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if hasattr(value, "model_dump"):
        return (type(value).__name__, value.model_dump(mode="json"))
    if isinstance(value, str | int | float | bool | type(None) | bytes):
        return value
    return (type(value).__name__, repr(value))


def error_snapshot(exc: BaseException) -> tuple[Any, ...]:
    return (
        type(exc),
        str(exc),
        getattr(exc, "status_code", None) or getattr(exc, "code", None),
        snapshot(getattr(exc, "body", None)),
        snapshot(getattr(exc, "details", None)),
    )


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", snapshot(fn())
    except Exception as exc:
        return "error", error_snapshot(exc)


def async_outcome(fn: Callable[[], Awaitable[Any]]) -> tuple[str, Any]:
    async def main() -> tuple[str, Any]:
        try:
            return "ok", snapshot(await fn())
        except Exception as exc:
            return "error", error_snapshot(exc)

    return asyncio.run(main())


def both(otel: Any, run: Callable[[], tuple[str, Any]]) -> tuple[Any, Any]:
    """(without plugin, with plugin) outcomes of the same scenario."""
    llm_cost_otel.uninstrument()
    plain = run()
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    traced = run()
    return plain, traced


def assert_same(otel: Any, run: Callable[[], tuple[str, Any]]) -> tuple[str, Any]:
    plain, traced = both(otel, run)
    assert traced == plain
    return traced


# --- Anthropic: values -------------------------------------------------------------------------

RESPONSES = {
    "text": message_json(model=HAIKU, usage={"input_tokens": 120, "output_tokens": 30}),
    "cache": message_json(
        model=HAIKU,
        usage={
            "input_tokens": 20,
            "cache_read_input_tokens": 5_000,
            "cache_creation_input_tokens": 1_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 400, "ephemeral_1h_input_tokens": 600},
            "output_tokens": 30,
            "service_tier": "standard",
        },
    ),
    "tool_use": {
        **message_json(model=HAIKU, stop_reason="tool_use"),
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        ],
    },
    "thinking": {
        **message_json(model="claude-sonnet-4-5-20250929"),
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "42"},
        ],
    },
    "unknown_fields": {**message_json(model=HAIKU), "brand_new_field": {"x": 1}, "container": None},
}


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_anthropic_create_returns_equal_values(otel: Any, name: str, mode: str) -> None:
    body = RESPONSES[name]
    if mode == "sync":
        client = anthropic_client(lambda r: json_response(body))
        kind, _ = assert_same(otel, lambda: outcome(lambda: client.messages.create(**ARGS)))
    else:
        aclient = async_anthropic_client(lambda r: json_response(body))
        kind, _ = assert_same(otel, lambda: async_outcome(lambda: aclient.messages.create(**ARGS)))
    assert kind == "ok"
    assert len(otel.chat_spans()) == 1


ERRORS: dict[str, Callable[[httpx2.Request], httpx2.Response]] = {
    "400": lambda r: json_response(
        {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too big"}}, 400
    ),
    "401": lambda r: json_response(
        {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, 401
    ),
    "404": lambda r: json_response(
        {"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}}, 404
    ),
    "429": lambda r: httpx2.Response(
        429,
        json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
        headers={"retry-after": "1"},
    ),
    "500": lambda r: json_response({"type": "error", "error": {"type": "api_error", "message": "boom"}}, 500),
    "529": lambda r: json_response({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}, 529),
    "502-html": lambda r: httpx2.Response(502, text="<html>bad gateway</html>"),
    "connect": lambda r: (_ for _ in ()).throw(httpx2.ConnectError("connection refused")),
    "timeout": lambda r: (_ for _ in ()).throw(httpx2.ReadTimeout("timed out")),
    "invalid-json": lambda r: httpx2.Response(200, text="{not json", headers={"content-type": "application/json"}),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_anthropic_errors_are_the_same(otel: Any, name: str, mode: str) -> None:
    handler = ERRORS[name]
    if mode == "sync":
        client = anthropic_client(handler)
        kind, error = assert_same(otel, lambda: outcome(lambda: client.messages.create(**ARGS)))
    else:
        aclient = async_anthropic_client(handler)
        kind, error = assert_same(otel, lambda: async_outcome(lambda: aclient.messages.create(**ARGS)))
    assert kind == "error"
    (span,) = otel.chat_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == (name.split("-")[0] if name[0].isdigit() else error[0].__qualname__)
    assert "gen_ai.usage.cost" not in span.attributes


def test_anthropic_retry_then_success_is_one_span_and_same_value(otel: Any) -> None:
    attempts: list[int] = []

    def flaky(request: httpx2.Request) -> httpx2.Response:
        attempts.append(1)
        if len(attempts) % 2 == 1:
            return httpx2.Response(
                529,
                json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
                headers={"retry-after-ms": "1"},
            )
        return json_response(RESPONSES["cache"])

    client = anthropic_client(flaky, max_retries=2)
    kind, _ = assert_same(otel, lambda: outcome(lambda: client.messages.create(**ARGS)))
    assert kind == "ok"
    assert len(attempts) == 4  # two attempts per run
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.cost"] > 0


# --- Anthropic: helpers --------------------------------------------------------------------


def test_stream_helpers_work_and_match(otel: Any) -> None:
    events = stream_events(model=HAIKU, final_usage={"output_tokens": 9}, deltas=4)
    client = anthropic_client(lambda r: sse_response(events))

    def text_stream() -> Any:
        with client.messages.stream(**ARGS) as stream:
            return list(stream.text_stream), stream.get_final_message(), stream.current_message_snapshot

    def final_text() -> Any:
        with client.messages.stream(**ARGS) as stream:
            return stream.get_final_text()

    def until_done() -> Any:
        with client.messages.stream(**ARGS) as stream:
            stream.until_done()
            return stream.current_message_snapshot, stream.request_id

    for scenario in (text_stream, final_text, until_done):
        kind, value = assert_same(otel, lambda scenario=scenario: outcome(scenario))  # type: ignore[misc]
        assert kind == "ok", value
    _, (texts, final, snap) = outcome(text_stream)
    assert texts == ["w0 ", "w1 ", "w2 ", "w3 "]
    assert final == snap
    assert final[1]["usage"]["output_tokens"] == 9
    assert len(otel.chat_spans()) == 4  # one per stream in the instrumented pass, +1 just now


def test_async_stream_helpers_work_and_match(otel: Any) -> None:
    events = stream_events(model=HAIKU, final_usage={"output_tokens": 9}, deltas=4)
    client = async_anthropic_client(lambda r: sse_response(events))

    async def scenario() -> Any:
        async with client.messages.stream(**ARGS) as stream:
            texts = [t async for t in stream.text_stream]
            final = await stream.get_final_message()
        async with client.messages.stream(**ARGS) as stream:
            text = await stream.get_final_text()
        async with client.messages.stream(**ARGS) as stream:
            await stream.until_done()
            snap = stream.current_message_snapshot
        return texts, final, text, snap

    kind, value = assert_same(otel, lambda: async_outcome(scenario))
    assert kind == "ok"
    assert value[0] == ["w0 ", "w1 ", "w2 ", "w3 "] and value[2] == "w0 w1 w2 w3 "
    assert len(otel.chat_spans()) == 3


def test_with_raw_response_headers_and_parse(otel: Any) -> None:
    body = RESPONSES["cache"]
    client = anthropic_client(
        lambda r: httpx2.Response(200, json=body, headers={"request-id": "req_123", "x-custom": "yes"})
    )

    def scenario() -> Any:
        raw = client.messages.with_raw_response.create(**ARGS)
        headers = {k: v for k, v in raw.headers.items() if k in ("request-id", "x-custom", "content-type")}
        parsed = raw.parse()
        again = raw.parse()  # cached by the SDK: the very same object
        return headers, raw.status_code, raw.request_id, parsed, parsed is again, type(raw).__name__

    kind, value = assert_same(otel, lambda: outcome(scenario))
    assert kind == "ok"
    assert value[0] == {"request-id": "req_123", "x-custom": "yes", "content-type": "application/json"}
    assert value[4] is True
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 5_000


def test_with_streaming_response_parse_and_read(otel: Any) -> None:
    body = RESPONSES["text"]
    events = stream_events(model=HAIKU)
    client = anthropic_client(lambda r: json_response(body))
    sclient = anthropic_client(lambda r: sse_response(events))

    def parsed() -> Any:
        with client.messages.with_streaming_response.create(**ARGS) as response:
            return response.headers.get("content-type"), response.parse()

    def read_lines() -> Any:
        with sclient.messages.with_streaming_response.create(stream=True, **ARGS) as response:
            return list(response.iter_lines())

    def streamed_parse() -> Any:
        with sclient.messages.with_streaming_response.create(stream=True, **ARGS) as response:
            return [event for event in response.parse()]

    for scenario in (parsed, read_lines, streamed_parse):
        kind, value = assert_same(otel, lambda scenario=scenario: outcome(scenario))  # type: ignore[misc]
        assert kind == "ok", value
    spans = otel.chat_spans()
    assert len(spans) == 3
    # the body the app read itself is priced too
    assert [s.attributes.get("gen_ai.usage.output_tokens") for s in spans] == [30, 5, 5]


def test_messages_parse_structured_output(otel: Any) -> None:
    class Weather(BaseModel):
        city: str
        temp_c: int

    body = message_json(model=HAIKU, text=json.dumps({"city": "Paris", "temp_c": 21}))
    client = anthropic_client(lambda r: json_response(body))

    def scenario() -> Any:
        message = client.messages.parse(output_format=Weather, **ARGS)
        return message, message.parsed_output

    kind, value = assert_same(otel, lambda: outcome(scenario))
    assert kind == "ok"
    assert value[1] == ("Weather", {"city": "Paris", "temp_c": 21})
    assert len(otel.chat_spans()) == 1


def test_count_tokens_is_untouched_and_free(otel: Any) -> None:
    client = anthropic_client(lambda r: json_response({"input_tokens": 42}))
    kind, value = assert_same(
        otel, lambda: outcome(lambda: client.messages.count_tokens(model="claude-haiku-4-5", messages=MSGS))
    )
    assert kind == "ok" and value[1]["input_tokens"] == 42
    assert otel.spans() == []
    assert otel.metric_sum("llm_cost.usd") == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_sdk_own_tracing_keeps_propagating_trace_context(otel: Any, mode: str) -> None:
    """With the SDK's own tracing on, each request carries a W3C ``traceparent``; the plugin
    must not take that away from the app's downstream services (gateways, proxies)."""
    import anthropic

    sent: list[httpx2.Headers] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers)
        return json_response(message_json())

    def call() -> None:
        option: Any = {"tracer_provider": otel.tracer_provider}
        transport = httpx2.MockTransport(handler)
        if mode == "sync":
            client = anthropic.Anthropic(
                api_key="sk-ant-test-SECRET", http_client=httpx2.Client(transport=transport), open_telemetry=option
            )
            client.messages.create(**ARGS)
        else:
            aclient = anthropic.AsyncAnthropic(
                api_key="sk-ant-test-SECRET", http_client=httpx2.AsyncClient(transport=transport), open_telemetry=option
            )
            asyncio.run(aclient.messages.create(**ARGS))

    llm_cost_otel.uninstrument()
    call()
    assert "traceparent" in sent[0]  # what the SDK does on its own
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    call()
    (ours,) = otel.chat_spans()
    assert "traceparent" in sent[1], "the plugin dropped the SDK's trace-context propagation"
    assert sent[1]["traceparent"].split("-")[2] == format(ours.context.span_id, "016x")


# --- Google GenAI ----------------------------------------------------------------------------

GOOGLE_ERRORS: dict[str, Callable[[httpx2.Request], httpx2.Response]] = {
    "400": lambda r: httpx2.Response(
        400, json={"error": {"code": 400, "message": "bad arg", "status": "INVALID_ARGUMENT"}}
    ),
    "403": lambda r: httpx2.Response(
        403, json={"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
    ),
    "429": lambda r: httpx2.Response(
        429, json={"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    ),
    "500": lambda r: httpx2.Response(500, json={"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}),
    "503": lambda r: httpx2.Response(503, json={"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}),
    "502-html": lambda r: httpx2.Response(502, text="<html>bad gateway</html>"),
    "connect": lambda r: (_ for _ in ()).throw(httpx2.ConnectError("connection refused")),
    "timeout": lambda r: (_ for _ in ()).throw(httpx2.ReadTimeout("timed out")),
}


@pytest.mark.parametrize("name", sorted(GOOGLE_ERRORS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_google_errors_are_the_same(otel: Any, name: str, mode: str) -> None:
    client = gemini_client(GOOGLE_ERRORS[name])
    if mode == "sync":
        kind, error = assert_same(
            otel, lambda: outcome(lambda: client.models.generate_content(model="gemini-2.5-flash", contents="hi"))
        )
    else:
        kind, error = assert_same(
            otel,
            lambda: async_outcome(lambda: client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")),
        )
    assert kind == "error"
    (span,) = otel.spans("generate_content")
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == (name.split("-")[0] if name[0].isdigit() else error[0].__qualname__)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_google_values_stream_and_embeddings_match(otel: Any, mode: str) -> None:
    usage = {"promptTokenCount": 12, "cachedContentTokenCount": 4, "candidatesTokenCount": 7, "totalTokenCount": 19}

    def handler(request: httpx2.Request) -> httpx2.Response:
        if "streamGenerateContent" in str(request.url):
            return gemini_sse([response_json(text="a", usage=usage, finish=None), response_json(text="b", usage=usage)])
        if "embedContent" in str(request.url):
            return httpx2.Response(
                200, json={"embeddings": [{"values": [0.5]}], "usageMetadata": {"promptTokenCount": 3}}
            )
        return httpx2.Response(200, json={**response_json(usage=usage), "unknownTopLevel": 1})

    client = gemini_client(handler)
    model = "gemini-2.5-flash"

    def sync_scenario() -> Any:
        return (
            client.models.generate_content(model=model, contents="hi"),
            list(client.models.generate_content_stream(model=model, contents="hi")),
            client.models.embed_content(model="gemini-embedding-001", contents="hi"),
        )

    async def async_scenario() -> Any:
        stream = await client.aio.models.generate_content_stream(model=model, contents="hi")
        return (
            await client.aio.models.generate_content(model=model, contents="hi"),
            [chunk async for chunk in stream],
            await client.aio.models.embed_content(model="gemini-embedding-001", contents="hi"),
        )

    run = (lambda: outcome(sync_scenario)) if mode == "sync" else (lambda: async_outcome(async_scenario))
    kind, value = assert_same(otel, run)
    assert kind == "ok", value
    assert len(otel.spans("generate_content")) == 2 and len(otel.spans("embeddings")) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_google_chat_history_is_unchanged(otel: Any, mode: str) -> None:
    turn = {"n": 0}

    def handler(request: httpx2.Request) -> httpx2.Response:
        turn["n"] += 1
        text = f"answer {turn['n']}"
        if "streamGenerateContent" in str(request.url):
            return gemini_sse([response_json(text=text + " (1)", finish=None), response_json(text=" (2)")])
        return httpx2.Response(200, json=response_json(text=text))

    client = gemini_client(handler)
    config = types.GenerateContentConfig(temperature=0.1, system_instruction="be brief")

    def sync_scenario() -> Any:
        turn["n"] = 0
        chat = client.chats.create(model="gemini-2.5-flash", config=config)
        first = chat.send_message("one")
        streamed = [c.text for c in chat.send_message_stream("two")]
        second = chat.send_message("three")
        return first, streamed, second, chat.get_history(), chat.get_history(curated=True)

    async def async_scenario() -> Any:
        turn["n"] = 0
        chat = client.aio.chats.create(model="gemini-2.5-flash", config=config)
        first = await chat.send_message("one")
        streamed = [c.text async for c in await chat.send_message_stream("two")]
        second = await chat.send_message("three")
        return first, streamed, second, chat.get_history(), chat.get_history(curated=True)

    run = (lambda: outcome(sync_scenario)) if mode == "sync" else (lambda: async_outcome(async_scenario))
    kind, value = assert_same(otel, run)
    assert kind == "ok", value
    history = value[3]
    assert [h[1]["role"] for h in history] == ["user", "model", "user", "model", "model", "user", "model"] or (
        len(history) >= 6
    )
    assert len(otel.spans("generate_content")) == 3
