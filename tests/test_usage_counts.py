"""One reader for the counts in a usage report, shared by the Anthropic and Google adapters.

A count is an int, an integral float (``1500.0``) or a string of digits (``"1500"``), and an
absent one is 0. Anything else makes the whole report unreadable, and so does a report with
no count in it: the call is then recorded as billed with unknown usage (unpriced, flagged
``llm_cost.usage_unknown``), never as a partial $0.

Through the real SDK clients over httpx2.MockTransport, sync and async, plain and streamed.
The Anthropic SDK hands the app a count exactly as it was sent; the google-genai SDK
validates its models first (``1500.0`` and ``"1500"`` arrive as 1500, a negative passes, a
fraction or ``"abc"`` is refused with an error to the app), so the cases both SDKs let through
are compared across adapters here, and the rest per adapter and at the readers themselves.
Expected costs come from published list prices (USD per million tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import gc
import json
import math
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from anthropic._models import construct_type
from anthropic.types import Usage as AnthropicUsage
from google import genai
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

import llm_cost_otel
from llm_cost_otel.anthropic import usage_from_anthropic
from llm_cost_otel.counts import UnreadableUsage, count, count_or_zero, has_counts
from llm_cost_otel.deferred import settle
from llm_cost_otel.google_genai import usage_from_gemini
from llm_cost_otel.usage import Usage
from support import anthropic_client, async_anthropic_client, message_json, per_million, sse_body, stream_events

HAIKU = "claude-haiku-4-5-20251001"  # $1 in, $5 out
FLASH = "gemini-2.5-flash"  # $0.30 in, $2.50 out
MSGS = [{"role": "user", "content": "Hello"}]
PROVIDERS = ("anthropic", "google")
MODES = ("sync", "async", "sync_stream", "async_stream")
SPAN = {"anthropic": "chat", "google": "generate_content"}
# the two requests' output count: plain, so only the input count under test is odd
OUT = 20


class Empty:
    """A usage report with no count in it: ``usage: {}`` / ``usageMetadata: {}``."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = Empty()


def expected_cost(provider: str, inp: int, out: int) -> float:
    if provider == "anthropic":
        return per_million(inp, 1.0) + per_million(out, 5.0)
    return per_million(inp, 0.30) + per_million(out, 2.50)


def json_bytes(body: Any) -> httpx2.Response:
    """A JSON response as a gateway may send it (NaN included, which strict encoders refuse)."""
    return httpx2.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


# --- Anthropic requests ------------------------------------------------------------------------


def anthropic_reports(value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the message's usage, the stream's message_delta usage) with ``value`` as the input count."""
    if isinstance(value, Empty):
        return {}, {}
    return {"input_tokens": value, "output_tokens": OUT}, {"output_tokens": OUT}


def anthropic_handler(value: Any, stream: bool) -> Callable[[httpx2.Request], httpx2.Response]:
    usage, delta_usage = anthropic_reports(value)
    if not stream:
        body = {**message_json(model=HAIKU), "usage": usage}
        return lambda r: json_bytes(body)
    events = stream_events(model=HAIKU)
    events[0]["message"]["usage"] = usage
    next(e for e in events if e["type"] == "message_delta")["usage"] = delta_usage
    content = sse_body(events)
    return lambda r: httpx2.Response(200, content=content, headers={"content-type": "text/event-stream"})


def run_anthropic(mode: str, handler: Callable[[httpx2.Request], httpx2.Response]) -> Any:
    stream = mode.endswith("stream")
    if mode.startswith("sync"):
        client = anthropic_client(handler)
        result = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=stream)
        return list(result) if stream else result

    async def main() -> Any:
        aclient = async_anthropic_client(handler)
        result = await aclient.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS, stream=stream)
        return [event async for event in result] if stream else result

    return asyncio.run(main())


# --- Google requests ---------------------------------------------------------------------------


def gemini_body(metadata: dict[str, Any] | None, finish: bool = True) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": "Hi"}]}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": FLASH, "responseId": "resp-1"}
    if metadata is not None:
        body["usageMetadata"] = metadata
    return body


def gemini_metadata(value: Any, out: int = OUT) -> dict[str, Any]:
    return {} if isinstance(value, Empty) else {"promptTokenCount": value, "candidatesTokenCount": out}


def gemini_sse(chunks: list[dict[str, Any]]) -> httpx2.Response:
    body = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


def gemini_handler(value: Any, stream: bool) -> Callable[[httpx2.Request], httpx2.Response]:
    if not stream:
        body = gemini_body(gemini_metadata(value))
        return lambda r: json_bytes(body)
    # running totals: the last chunk's is the request's usage
    chunks = [gemini_body(gemini_metadata(value, 5), finish=False), gemini_body(gemini_metadata(value))]
    return lambda r: gemini_sse(chunks)


def gemini_client(handler: Callable[[httpx2.Request], httpx2.Response]) -> genai.Client:
    transport = httpx2.MockTransport(handler)
    return genai.Client(
        api_key="AIza-test-SECRET",
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": transport},
            async_client_args={"transport": transport},
        ),
    )


def run_google(mode: str, handler: Callable[[httpx2.Request], httpx2.Response]) -> Any:
    client = gemini_client(handler)
    if mode == "sync":
        return client.models.generate_content(model=FLASH, contents="hi")
    if mode == "sync_stream":
        return list(client.models.generate_content_stream(model=FLASH, contents="hi"))

    async def main() -> Any:
        if mode == "async":
            return await client.aio.models.generate_content(model=FLASH, contents="hi")
        return [chunk async for chunk in await client.aio.models.generate_content_stream(model=FLASH, contents="hi")]

    return asyncio.run(main())


def run(provider: str, mode: str, value: Any) -> Any:
    stream = mode.endswith("stream")
    if provider == "anthropic":
        return run_anthropic(mode, anthropic_handler(value, stream))
    return run_google(mode, gemini_handler(value, stream))


@pytest.fixture(scope="module", autouse=True)
def _cheap_gc() -> Iterator[None]:
    """The ``otel`` fixture collects garbage after every test: keep what was alive before this
    module (imported SDKs, OpenTelemetry) out of those collections, as the reliability suite does."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


# --- what a span and the metrics must say --------------------------------------------------------


def assert_priced(otel: Any, run_: Any, provider: str, inp: int, out: int) -> None:
    expected = expected_cost(provider, inp, out)
    (span,) = otel.spans(SPAN[provider])
    a = span.attributes
    assert a["gen_ai.usage.input_tokens"] == inp
    assert a["gen_ai.usage.output_tokens"] == out
    assert a["gen_ai.usage.cost"] == pytest.approx(expected, rel=1e-12)
    assert a["llm_cost.price.source"] != "unpriced"
    assert "llm_cost.usage_unknown" not in a
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected)
    assert otel.metric_sum("llm_cost.tokens") == inp + out
    assert otel.metric_sum("llm_cost.unpriced") == 0
    assert run_.calls == 1 and run_.unpriced_calls == 0
    assert run_.cost_usd == pytest.approx(expected)


def assert_unknown(otel: Any, run_: Any, provider: str) -> None:
    """Billed, usage unreadable: unpriced and flagged, never $0 and never partial tokens."""
    (span,) = otel.spans(SPAN[provider])
    a = span.attributes
    assert a["llm_cost.price.source"] == "unpriced"
    assert a["llm_cost.usage_unknown"] is True
    assert "gen_ai.usage.cost" not in a
    assert "gen_ai.usage.input_tokens" not in a and "gen_ai.usage.output_tokens" not in a
    assert span.status.status_code.name != "ERROR"  # the call itself succeeded
    assert otel.metric_sum("llm_cost.unpriced") == 1
    assert otel.metric_sum("llm_cost.usd") == 0
    assert otel.metric_sum("llm_cost.tokens") == 0
    assert run_.calls == 1 and run_.unpriced_calls == 1
    assert run_.cost_usd == 0


# --- both adapters, through the real SDKs --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("value", [1500.0, "1500"], ids=["float", "numeric-string"])
def test_a_count_sent_as_float_or_digits_is_read_as_its_int(otel: Any, provider: str, mode: str, value: Any) -> None:
    with llm_cost_otel.track("t") as run_:
        run(provider, mode, value)
    assert_priced(otel, run_, provider, 1500, OUT)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("value", [-5, -1500.0, "-5", EMPTY], ids=["negative", "negative-float", "signed", "empty"])
def test_an_unreadable_report_is_unpriced_never_zero(otel: Any, provider: str, mode: str, value: Any) -> None:
    with llm_cost_otel.track("t") as run_:
        run(provider, mode, value)
    assert_unknown(otel, run_, provider)


ANTHROPIC_ONLY = [1500.5, "abc", True, float("nan"), [1500], {"n": 1500}, "1500.0", " 1500", ""]


@pytest.mark.parametrize("mode", ["sync", "async_stream"])  # plain and streamed, sync and async
@pytest.mark.parametrize("value", ANTHROPIC_ONLY, ids=repr)
def test_anthropic_counts_that_are_not_counts_are_unpriced(otel: Any, mode: str, value: Any) -> None:
    with llm_cost_otel.track("t") as run_:
        result = run_anthropic(mode, anthropic_handler(value, mode.endswith("stream")))
    # What the app got: a message keeps the value as sent; a stream's events convert what
    # converts (true becomes 1 there) and keep the rest as sent. The telemetry reads the same.
    seen = result[0].message.usage.input_tokens if mode.endswith("stream") else result.usage.input_tokens
    if mode in ("sync", "async"):
        assert type(seen) is type(value)
        assert seen == value or (isinstance(value, float) and math.isnan(value) and math.isnan(seen))
    expected = oracle(seen)
    if expected is None:
        assert_unknown(otel, run_, "anthropic")
    else:
        assert_priced(otel, run_, "anthropic", expected, OUT)


@pytest.mark.parametrize("is_async", [False, True])
def test_anthropic_stream_unreadable_count_in_the_last_delta_is_unpriced(otel: Any, is_async: bool) -> None:
    events = stream_events(model=HAIKU, start_usage={"input_tokens": 1000, "output_tokens": 1})
    next(e for e in events if e["type"] == "message_delta")["usage"] = {"output_tokens": 12.5}
    content = sse_body(events)
    with llm_cost_otel.track("t") as run_:
        run_anthropic(
            "async_stream" if is_async else "sync_stream",
            lambda r: httpx2.Response(200, content=content, headers={"content-type": "text/event-stream"}),
        )
    assert_unknown(otel, run_, "anthropic")


@pytest.mark.parametrize("value", [1500.5, "abc", True, float("nan")], ids=repr)
@pytest.mark.parametrize("stream", [False, True])
def test_gemini_counts_the_sdk_refuses_or_reads_are_never_a_partial_zero(otel: Any, value: Any, stream: bool) -> None:
    """google-genai validates first: it refuses (the app gets its error) or converts (``true``
    becomes 1 for the app too). Whatever the app got, the telemetry never says $0 for it."""
    try:
        with llm_cost_otel.track("t") as run_:
            result = run_google("sync_stream" if stream else "sync", gemini_handler(value, stream))
    except Exception:
        (span,) = otel.spans("generate_content")
        assert span.status.status_code.name == "ERROR"
        assert "gen_ai.usage.cost" not in span.attributes
        assert otel.metric_sum("llm_cost.usd") == 0
        return
    seen = (result[-1] if stream else result).usage_metadata.prompt_token_count
    assert seen == count(seen)  # what the SDK handed over is a count: priced at exactly that
    assert_priced(otel, run_, "google", seen, OUT)


@pytest.mark.parametrize("is_async", [False, True])
def test_gemini_stream_empty_usage_on_the_last_chunk_keeps_the_running_total(otel: Any, is_async: bool) -> None:
    chunks = [
        gemini_body({"promptTokenCount": 1000, "candidatesTokenCount": 50}, finish=False),
        gemini_body({"promptTokenCount": 1000, "candidatesTokenCount": 200}, finish=False),
        gemini_body({}),  # the last chunk: finish reason, and an empty usageMetadata
    ]
    with llm_cost_otel.track("t") as run_:
        got = run_google("async_stream" if is_async else "sync_stream", lambda r: gemini_sse(chunks))
    assert got[-1].usage_metadata is not None and got[-1].usage_metadata.prompt_token_count is None
    assert_priced(otel, run_, "google", 1000, 200)
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_gemini_stream_empty_usage_between_chunks_is_skipped(otel: Any) -> None:
    chunks = [
        gemini_body({"promptTokenCount": 1000, "candidatesTokenCount": 50}, finish=False),
        gemini_body({}, finish=False),
        gemini_body({"promptTokenCount": 1000, "candidatesTokenCount": 300}),
    ]
    with llm_cost_otel.track("t") as run_:
        run_google("sync_stream", lambda r: gemini_sse(chunks))
    assert_priced(otel, run_, "google", 1000, 300)


def test_gemini_stream_with_only_empty_usage_is_unpriced(otel: Any) -> None:
    chunks = [gemini_body({}, finish=False), gemini_body({"trafficType": "ON_DEMAND"})]
    with llm_cost_otel.track("t") as run_:
        run_google("sync_stream", lambda r: gemini_sse(chunks))
    assert_unknown(otel, run_, "google")


class FakeLiveSocket:
    """The websocket under the real google-genai Live client, answering with scripted messages."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.replies = [json.dumps({"setupComplete": {}}).encode()] + [json.dumps(m).encode() for m in messages]

    async def __aenter__(self) -> FakeLiveSocket:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def send(self, data: Any) -> None:
        return None

    async def recv(self, decode: bool = True) -> Any:
        return self.replies.pop(0)

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("empty_usage_last", [True, False])
def test_gemini_live_turn_keeps_its_usage_over_a_later_empty_one(
    otel: Any, monkeypatch: pytest.MonkeyPatch, empty_usage_last: bool
) -> None:
    from google.genai import live

    usage = {
        "promptTokenCount": 100,
        "responseTokenCount": 20,
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 20}],
    }
    last: dict[str, Any] = {"serverContent": {"turnComplete": True}}
    if empty_usage_last:
        last["usageMetadata"] = {}
    socket = FakeLiveSocket(
        [{"serverContent": {"modelTurn": {"parts": [{"text": "Hi"}]}}, "usageMetadata": usage}, last]
    )
    monkeypatch.setattr(live, "ws_connect", lambda *a, **k: socket)
    client = gemini_client(lambda r: httpx2.Response(500))

    async def main() -> None:
        async with client.aio.live.connect(
            model="gemini-live-2.5-flash", config={"response_modalities": ["TEXT"]}
        ) as s:
            await s.send_client_content(turns={"role": "user", "parts": [{"text": "hello"}]})
            async for _ in s.receive():
                pass

    asyncio.run(main())
    (span,) = otel.spans("generate_content")
    # published gemini-live-2.5-flash: $0.50 / M text input, $12 / M audio output
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(100, 0.50) + per_million(20, 12.0))


@pytest.mark.parametrize("value, priced", [(1500.0, True), ("1500", True), ("abc", False), (-1, False)])
def test_anthropic_raw_response_never_parsed_reads_counts_the_same(otel: Any, value: Any, priced: bool) -> None:
    client = anthropic_client(anthropic_handler(value, stream=False))
    with llm_cost_otel.track("t") as run_:
        raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=100, messages=MSGS)
        raw.http_response.read()
        del raw
        gc.collect()
        settle()  # finishes the collector deferred
    if priced:
        assert_priced(otel, run_, "anthropic", 1500, OUT)
    else:
        assert_unknown(otel, run_, "anthropic")


@pytest.mark.parametrize("metadata", [{"promptTokenCount": -3}, {}], ids=["negative", "empty"])
def test_gemini_embeddings_with_unreadable_usage_are_unpriced(otel: Any, metadata: dict[str, Any]) -> None:
    body = {"embeddings": [{"values": [0.1, 0.2]}], "usageMetadata": metadata}
    client = gemini_client(lambda r: httpx2.Response(200, json=body))  # kept: a dropped client closes
    client.models.embed_content(model="gemini-embedding-001", contents=["a"])
    (span,) = otel.spans("embeddings")
    assert span.attributes["llm_cost.price.source"] == "unpriced"
    assert span.attributes["llm_cost.usage_unknown"] is True
    assert otel.metric_sum("llm_cost.unpriced") == 1
    assert otel.metric_sum("llm_cost.usd") == 0


def test_gemini_batch_result_with_unreadable_usage_is_one_unpriced_result(otel: Any) -> None:
    def inlined(metadata: dict[str, Any], rid: str) -> dict[str, Any]:
        return {"response": {**gemini_body(metadata), "responseId": rid}}

    name = f"batches/job-{uuid.uuid4().hex}"  # jobs are recorded once per process
    job = {
        "name": name,
        "metadata": {
            "model": f"models/{FLASH}",
            "state": "BATCH_STATE_SUCCEEDED",
            "output": {
                "inlinedResponses": {
                    "inlinedResponses": [
                        inlined({"promptTokenCount": 1000, "candidatesTokenCount": 100}, "u1"),
                        inlined({"promptTokenCount": -7, "candidatesTokenCount": 100}, "u2"),
                    ]
                }
            },
        },
    }
    client = gemini_client(lambda r: httpx2.Response(200, json=job))
    with llm_cost_otel.track("t") as run_:
        client.batches.get(name=name)
    good = 0.5 * expected_cost("google", 1000, 100)  # batch: 50% of the list price
    (span,) = otel.spans("batch_results")
    assert span.attributes["llm_cost.batch.results"] == 2
    assert span.attributes["llm_cost.batch.unpriced_results"] == 1
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(good)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(good)
    assert otel.metric_sum("llm_cost.unpriced") == 1
    assert run_.calls == 2 and run_.unpriced_calls == 1


# --- the readers: both adapters agree on the same counts ----------------------------------------


class Tokens(enum.IntEnum):
    N = 1500


READABLE = [
    (0, 0),
    (1500, 1500),
    (Tokens.N, 1500),
    (1500.0, 1500),
    (0.0, 0),
    ("1500", 1500),
    ("0", 0),
    ("001500", 1500),
    (None, 0),
]
UNREADABLE = [
    -1,
    -1500.0,
    1500.5,
    float("nan"),
    float("inf"),
    -float("inf"),
    True,
    False,
    "abc",
    "",
    " 1500",
    "1500 ",
    "+1500",
    "-5",
    "1_500",
    "1500.0",
    "1e3",
    "\u0661\u0665\u0660\u0660",  # Arabic-Indic digits: str.isdigit() says yes, a count it is not
    "\u00b2",  # superscript two
    b"1500",
    [1500],
    {"n": 1500},
    object(),
]


@pytest.mark.parametrize("value, expected", READABLE, ids=repr)
def test_count_reads_what_a_count_can_be(value: Any, expected: int) -> None:
    got = count(value)
    assert got == expected and type(got) is int


@pytest.mark.parametrize("value", UNREADABLE, ids=lambda v: repr(v)[:20])
def test_count_refuses_everything_else(value: Any) -> None:
    with pytest.raises(UnreadableUsage):
        count(value)
    assert count_or_zero(value) == 0
    assert issubclass(UnreadableUsage, ValueError)


def test_a_count_too_long_to_convert_is_unreadable_or_implausible() -> None:
    # Python caps int() of a string (4300 digits since 3.11 / 3.10.7): past that it is
    # unreadable; below, or on Pythons without the cap, it is far past what the core's
    # sanity check keeps (10**12), so either way the call's usage is unknown, never summed.
    with contextlib.suppress(UnreadableUsage):
        assert count("9" * 5000) >= 10**12


def test_has_counts() -> None:
    names = ("a", "b")
    assert has_counts({"b": 0}, names)
    assert not has_counts({}, names)
    assert not has_counts({"a": None, "c": 5}, names)


def read_as(provider: str, form: str, value: Any) -> Usage:
    """``value`` as the input count of a usage report, read by ``provider``'s reader; ``form``:
    the SDK's model (built without validation, as a gateway's odd JSON may reach it) or a dict."""
    if provider == "anthropic":
        data: Any = {"input_tokens": value, "output_tokens": 5}
        if form == "model":
            data = construct_type(type_=AnthropicUsage, value=data)
        return usage_from_anthropic(data)
    fields = {"prompt_token_count": value, "candidates_token_count": 5}
    if form == "model":
        return usage_from_gemini(types.GenerateContentResponseUsageMetadata.model_construct(**fields))
    return usage_from_gemini(fields)


@pytest.mark.parametrize("form", ["model", "dict"])
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("value, expected", READABLE, ids=repr)
def test_readers_agree_on_readable_counts(provider: str, form: str, value: Any, expected: int) -> None:
    usage = read_as(provider, form, value)
    assert (usage.total_input_tokens, usage.output_tokens) == (expected, 5)


@pytest.mark.parametrize("form", ["model", "dict"])
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("value", UNREADABLE, ids=lambda v: repr(v)[:20])
def test_readers_agree_on_unreadable_counts(provider: str, form: str, value: Any) -> None:
    with pytest.raises(UnreadableUsage):
        read_as(provider, form, value)


# Every count each reader needs: an unreadable one in any of them makes the report unreadable.
ANTHROPIC_FIELDS: list[tuple[str, ...]] = [
    ("input_tokens",),
    ("output_tokens",),
    ("cache_read_input_tokens",),
    ("cache_creation_input_tokens",),
    ("cache_creation", "ephemeral_5m_input_tokens"),
    ("cache_creation", "ephemeral_1h_input_tokens"),
    ("server_tool_use", "web_search_requests"),
    ("server_tool_use", "web_fetch_requests"),
    ("output_tokens_details", "thinking_tokens"),
]
GEMINI_FIELDS: list[tuple[str, ...]] = [
    ("prompt_token_count",),
    ("candidates_token_count",),
    ("response_token_count",),
    ("cached_content_token_count",),
    ("thoughts_token_count",),
    ("tool_use_prompt_token_count",),
    ("prompt_tokens_details",),
    ("candidates_tokens_details",),
    ("cache_tokens_details",),
]


def report_with(provider: str, path: tuple[str, ...], value: Any) -> Usage:
    if provider == "anthropic":
        data: dict[str, Any] = {"input_tokens": 10, "output_tokens": 5}
        if len(path) == 1:
            data[path[0]] = value
        else:
            data[path[0]] = {path[1]: value}
        return usage_from_anthropic(data)
    fields: dict[str, Any] = {"prompt_token_count": 10, "candidates_token_count": 0}
    if path[0].endswith("_details"):
        fields[path[0]] = [{"modality": "AUDIO", "token_count": value}]
    else:
        fields[path[0]] = value
    return usage_from_gemini(fields)


@pytest.mark.parametrize(
    "provider, path", [("anthropic", p) for p in ANTHROPIC_FIELDS] + [("google", p) for p in GEMINI_FIELDS]
)
def test_every_count_a_reader_needs_is_read_the_same_way(provider: str, path: tuple[str, ...]) -> None:
    assert report_with(provider, path, 3.0) == report_with(provider, path, 3) == report_with(provider, path, "3")
    for bad in (-1, 2.5, "x", True):
        with pytest.raises(UnreadableUsage):
            report_with(provider, path, bad)


@pytest.mark.parametrize(
    "provider, report",
    [
        ("anthropic", {}),
        ("anthropic", {"service_tier": "standard"}),
        ("anthropic", {"input_tokens": None, "output_tokens": None}),
        ("anthropic", "not a report"),
        ("google", {}),
        ("google", {"traffic_type": "ON_DEMAND"}),
        ("google", {"total_token_count": 15}),  # a total alone cannot be split into a price
        ("google", types.GenerateContentResponseUsageMetadata()),
    ],
    ids=repr,
)
def test_a_report_without_counts_is_unknown_not_zero(provider: str, report: Any) -> None:
    reader = usage_from_anthropic if provider == "anthropic" else usage_from_gemini
    with pytest.raises(UnreadableUsage):
        reader(report)


def test_a_report_with_zero_counts_is_zero() -> None:
    assert usage_from_anthropic({"input_tokens": 0, "output_tokens": 0}).is_empty
    assert usage_from_gemini({"prompt_token_count": 0}).is_empty


def oracle(value: Any) -> int | None:
    """The rules, written out independently of the code under test (None: unreadable)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value >= 0 and value == int(value) else None
    if isinstance(value, str):
        return int(value) if value and all(c in "0123456789" for c in value) else None
    return None


anything = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=0, max_value=10**9).map(float),
    st.text(max_size=8),
    st.integers(min_value=0, max_value=10**12).map(str),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(value=anything)
def test_count_follows_the_rules_and_both_readers_agree(value: Any) -> None:
    expected = oracle(value)
    outcomes = []
    for provider in PROVIDERS:
        try:
            outcomes.append(read_as(provider, "model", value).total_input_tokens)
        except UnreadableUsage:
            outcomes.append(None)
    assert outcomes == [expected, expected]
    if expected is None:
        with pytest.raises(UnreadableUsage):
            count(value)
    else:
        assert count(value) == expected
