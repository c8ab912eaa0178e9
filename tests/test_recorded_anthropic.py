"""Replay real Anthropic API responses (OpenLLMetry's recorded cassettes) through the real SDK.

Each cassette under ``tests/cassettes/anthropic/`` holds the request the original test sent
and the response bodies Anthropic (or Bedrock) returned. We serve those bodies, in order,
through ``httpx2.MockTransport`` under the real ``anthropic`` clients, drive the SDK the way
the original test did, and check what the plugin recorded against figures computed here:
token counts read straight from the recorded bodies, and costs from Anthropic's published
list prices written below as literals (never from the plugin's catalog).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from llm_cost_otel.deferred import settle
from support import Telemetry, anthropic_client, async_anthropic_client, per_million

pytestmark = [
    pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Using Claude with .* is deprecated:UserWarning"),
]

CASSETTES = Path(__file__).parent / "cassettes" / "anthropic"

# Anthropic's published list prices, USD per million tokens:
# (input, output, cache read, 5-minute cache write).
LIST_PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-3-opus-20240229": (15.0, 75.0, 1.50, 18.75),
    "claude-3-haiku-20240307": (0.25, 1.25, 0.03, 0.30),
    "claude-3-5-haiku-20241022": (0.80, 4.0, 0.08, 1.0),
    "claude-3-5-sonnet-20240620": (3.0, 15.0, 0.30, 3.75),
    "claude-3-7-sonnet-20250219": (3.0, 15.0, 0.30, 3.75),
    "claude-sonnet-4-5-20250929": (3.0, 15.0, 0.30, 3.75),
}
# AWS Bedrock on-demand price for Claude 3 Haiku (USD per million tokens): $0.25 in / $1.25 out.
# Bedrock offers no prompt caching for Claude 3 Haiku, so no cache rates apply.
BEDROCK_PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-3-haiku-20240307": (0.25, 1.25, 0.0, 0.0),
}
BEDROCK_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


# --- cassettes --------------------------------------------------------------------------


def sse_events(text: str) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded server-sent-event body, in order."""
    return [json.loads(line[len("data:") :]) for line in text.splitlines() if line.startswith("data:")]


@dataclass
class Recorded:
    """One recorded response, read independently of the SDK and of the plugin."""

    model: str
    response_id: str
    usage: dict[str, Any]
    """Billed usage: the JSON body's ``usage``, or for a stream ``message_start.message.usage``
    overlaid by the last ``message_delta.usage`` (which is cumulative)."""
    text: str
    """All ``text`` content, concatenated."""
    thinking: str
    stop_reason: str
    body: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def input_tokens(self) -> int:
        return int(self.usage.get("input_tokens") or 0)

    @property
    def output_tokens(self) -> int:
        return int(self.usage.get("output_tokens") or 0)

    @property
    def cache_read(self) -> int:
        return int(self.usage.get("cache_read_input_tokens") or 0)

    @property
    def cache_write(self) -> int:
        return int(self.usage.get("cache_creation_input_tokens") or 0)


def parse_recorded(content_type: str, text: str) -> Recorded:
    if content_type.startswith("text/event-stream"):
        events = sse_events(text)
        usage: dict[str, Any] = {}
        model = response_id = ""
        parts: list[str] = []
        thinking: list[str] = []
        stop_reason = ""
        for event in events:
            if event["type"] == "message_start":
                model, response_id = event["message"]["model"], event["message"]["id"]
                usage.update({k: v for k, v in event["message"]["usage"].items() if v is not None})
            elif event["type"] == "message_delta":
                usage.update({k: v for k, v in event["usage"].items() if v is not None})
                stop_reason = event["delta"]["stop_reason"] or stop_reason
            elif event["type"] == "content_block_delta":
                delta = event["delta"]
                if delta["type"] == "text_delta":
                    parts.append(delta["text"])
                elif delta["type"] == "thinking_delta":
                    thinking.append(delta["thinking"])
        stream_events = [e for e in events if e["type"] != "ping"]
        return Recorded(model, response_id, usage, "".join(parts), "".join(thinking), stop_reason, events=stream_events)
    body = json.loads(text)
    blocks = body["content"]
    return Recorded(
        model=body["model"],
        response_id=body["id"],
        usage=body["usage"],
        text="".join(b["text"] for b in blocks if b["type"] == "text"),
        thinking="".join(b["thinking"] for b in blocks if b["type"] == "thinking"),
        stop_reason=body["stop_reason"],
        body=body,
    )


class Chunked(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A body delivered in small chunks and not read in advance, as it comes off the network
    (``httpx2.Response(content=...)`` would pre-read it, which real responses never are)."""

    def __init__(self, data: bytes, size: int = 200) -> None:
        self.chunks = [data[i : i + size] for i in range(0, len(data), size)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


class Cassette:
    """A vendored cassette: serves its responses in order and keeps the requests it got."""

    def __init__(self, name: str) -> None:
        data = json.loads((CASSETTES / f"{name}.json").read_text(encoding="utf-8"))
        self.name = name
        self.interactions: list[dict[str, Any]] = data["interactions"]
        self.requests: list[httpx2.Request] = []
        self.recorded = [
            parse_recorded(i["response"]["headers"]["content-type"], i["response"]["body"]) for i in self.interactions
        ]

    def __len__(self) -> int:
        return len(self.interactions)

    def request_body(self, index: int = 0) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.interactions[index]["request"]["body"])
        return body

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        index = len(self.requests)
        self.requests.append(request)
        if index >= len(self.interactions):
            raise AssertionError(f"{self.name}: unexpected request #{index + 1} {request.method} {request.url}")
        response = self.interactions[index]["response"]
        headers = {k: v for k, v in response["headers"].items() if k in ("content-type", "request-id")}
        return httpx2.Response(response["status"], headers=headers, stream=Chunked(response["body"].encode("utf-8")))

    def assert_requests_replayed(self, *, same_body: bool = True, ignore: tuple[str, ...] = ()) -> None:
        """Every recorded interaction was requested once, at the recorded path, with the recorded body
        (but for the ``ignore`` keys)."""
        assert len(self.requests) == len(self.interactions), f"{self.name}: requests sent != recorded"
        for sent, interaction in zip(self.requests, self.interactions, strict=True):
            recorded = interaction["request"]
            assert sent.method == recorded["method"]
            assert sent.url.path == httpx2.URL(recorded["uri"]).path
            if same_body:
                sent_body, recorded_body = json.loads(sent.content), json.loads(recorded["body"])
                for key in ignore:
                    sent_body.pop(key, None)
                    recorded_body.pop(key, None)
                assert sent_body == recorded_body


def expected_cost(prices: dict[str, tuple[float, float, float, float]], recorded: Recorded) -> dict[str, float]:
    p_in, p_out, p_read, p_write = prices[recorded.model]
    return {
        "input": per_million(recorded.input_tokens, p_in),
        "output": per_million(recorded.output_tokens, p_out),
        "cache_read": per_million(recorded.cache_read, p_read),
        "cache_write": per_million(recorded.cache_write, p_write),
    }


def assert_billed(
    otel: Telemetry,
    cassette: Cassette,
    *,
    provider: str = "anthropic",
    prices: dict[str, tuple[float, float, float, float]] = LIST_PRICES,
    finish_reasons: bool = True,
) -> list[Any]:
    """One ``chat`` span per recorded request, with the recorded usage and the list-price cost."""
    spans = sorted(otel.chat_spans(), key=lambda s: s.start_time)
    assert len(spans) == len(cassette), [s.name for s in spans]
    assert len(otel.spans()) == len(spans)  # no other span (the SDK's own tracing stays out of it)
    total = 0.0
    tokens = 0
    for span, recorded in zip(spans, cassette.recorded, strict=True):
        attrs = span.attributes
        assert attrs["gen_ai.provider.name"] == provider
        assert attrs["gen_ai.response.model"] == recorded.model
        assert attrs["gen_ai.response.id"] == recorded.response_id
        if finish_reasons:
            assert attrs["gen_ai.response.finish_reasons"] == (recorded.stop_reason,)
        assert attrs["gen_ai.usage.input_tokens"] == recorded.input_tokens + recorded.cache_read + recorded.cache_write
        assert attrs["gen_ai.usage.output_tokens"] == recorded.output_tokens
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == recorded.cache_read
        assert attrs["gen_ai.usage.cache_creation.input_tokens"] == recorded.cache_write
        components = expected_cost(prices, recorded)
        cost = sum(components.values())
        assert cost > 0
        assert attrs["gen_ai.usage.cost"] == pytest.approx(cost, rel=1e-9)
        for component, value in components.items():
            if value:
                assert attrs[f"llm_cost.usd.{component}"] == pytest.approx(value, rel=1e-9, abs=1e-15)
            else:  # a $0 component is left out of the span
                assert f"llm_cost.usd.{component}" not in attrs
        assert attrs["llm_cost.price.source"] == "catalog"
        total += cost
        tokens += recorded.input_tokens + recorded.cache_read + recorded.cache_write + recorded.output_tokens
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(total, rel=1e-9)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(
        sum(s.attributes["gen_ai.usage.cost"] for s in spans), rel=1e-9
    )
    assert otel.metric_sum("llm_cost.unpriced") == 0
    assert otel.metric_sum("llm_cost.tokens") == tokens  # disjoint token types: nothing counted twice
    return spans


def assert_message_unchanged(message: Any, recorded: Recorded) -> None:
    """The SDK's parsed message is exactly the recorded body."""
    assert recorded.body is not None
    assert message.to_dict() == recorded.body
    assert message.usage.output_tokens == recorded.output_tokens


# --- messages.create ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "test_anthropic_message_create_legacy",
        "test_anthropic_multi_modal_legacy",
        "test_anthropic_tools_legacy",
        "test_anthropic_tools_history_legacy",
        "test_anthropic_thinking_legacy",
    ],
)
def test_create(otel: Telemetry, name: str) -> None:
    cassette = Cassette(name)
    client = anthropic_client(cassette)
    message = client.messages.create(**cassette.request_body())
    cassette.assert_requests_replayed()
    assert_message_unchanged(message, cassette.recorded[0])
    (span,) = assert_billed(otel, cassette)
    assert span.name == f"chat {cassette.request_body()['model']}"


@pytest.mark.parametrize(
    "name",
    [
        "test_async_anthropic_message_create_legacy",
        "test_anthropic_async_multi_modal_legacy",
        "test_async_anthropic_thinking_legacy",
    ],
)
async def test_create_async(otel: Telemetry, name: str) -> None:
    cassette = Cassette(name)
    client = async_anthropic_client(cassette)
    message = await client.messages.create(**cassette.request_body())
    cassette.assert_requests_replayed()
    assert_message_unchanged(message, cassette.recorded[0])
    assert_billed(otel, cassette)


def test_create_async_under_asyncio_run(otel: Telemetry) -> None:
    cassette = Cassette("test_with_asyncio_run_legacy")

    async def main() -> Any:
        client = async_anthropic_client(cassette)
        return await client.messages.create(**cassette.request_body())

    message = asyncio.run(main())
    cassette.assert_requests_replayed()
    assert_message_unchanged(message, cassette.recorded[0])
    assert_billed(otel, cassette)


# --- messages.create(stream=True) ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "test_anthropic_message_streaming_legacy",
        "test_anthropic_tools_streaming_legacy",
        "test_anthropic_thinking_streaming_legacy",
    ],
)
def test_create_stream(otel: Telemetry, name: str) -> None:
    cassette = Cassette(name)
    client = anthropic_client(cassette)
    body = cassette.request_body()
    assert body["stream"] is True
    stream = client.messages.create(**body)
    events = [event.to_dict() for event in stream]
    cassette.assert_requests_replayed()
    recorded = cassette.recorded[0]
    assert events == recorded.events  # every event passes through untouched (pings are the SDK's to drop)
    assert recorded.usage.keys() >= {"input_tokens", "output_tokens"}
    assert_billed(otel, cassette)


@pytest.mark.parametrize(
    "name", ["test_async_anthropic_message_streaming_legacy", "test_async_anthropic_thinking_streaming_legacy"]
)
async def test_create_stream_async(otel: Telemetry, name: str) -> None:
    cassette = Cassette(name)
    client = async_anthropic_client(cassette)
    stream = await client.messages.create(**cassette.request_body())
    events = [event.to_dict() async for event in stream]
    cassette.assert_requests_replayed()
    assert events == cassette.recorded[0].events
    assert_billed(otel, cassette)


def test_stream_message_delta_carries_only_output_tokens() -> None:
    """The shape these cassettes exercise: message_delta.usage without input or cache counts."""
    recorded = Cassette("test_anthropic_message_streaming_legacy").recorded[0]
    (delta,) = [e for e in recorded.events if e["type"] == "message_delta"]
    assert delta["usage"] == {"output_tokens": 171}
    assert recorded.usage == {"input_tokens": 17, "output_tokens": 171}


# --- messages.stream() helpers ----------------------------------------------------------------


def _stream_kwargs(cassette: Cassette) -> dict[str, Any]:
    body = cassette.request_body()
    assert body.pop("stream") is True
    return body


def test_stream_manager_text_stream_then_final_message(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_message_stream_manager_legacy")
    client = anthropic_client(cassette)
    with client.messages.stream(**_stream_kwargs(cassette)) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    cassette.assert_requests_replayed()
    recorded = cassette.recorded[0]
    assert text == recorded.text
    assert final.id == recorded.response_id
    assert final.usage.input_tokens == recorded.input_tokens
    assert final.usage.output_tokens == recorded.output_tokens
    assert_billed(otel, cassette)


def test_stream_manager_get_final_text(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_sync_streaming_helper_methods_legacy")
    client = anthropic_client(cassette)
    with client.messages.stream(**_stream_kwargs(cassette)) as stream:
        text = stream.get_final_text()
        final = stream.get_final_message()
    cassette.assert_requests_replayed()
    recorded = cassette.recorded[0]
    assert text == recorded.text == "Hello there!"
    assert final.usage.output_tokens == recorded.output_tokens == 6
    assert_billed(otel, cassette)


async def test_stream_manager_async_get_final_message(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_streaming_helper_methods_legacy")
    client = async_anthropic_client(cassette)
    async with client.messages.stream(**_stream_kwargs(cassette)) as stream:
        final = await stream.get_final_message()
    cassette.assert_requests_replayed()
    recorded = cassette.recorded[0]
    assert final.id == recorded.response_id
    assert final.content[0].text == recorded.text
    assert final.usage.output_tokens == recorded.output_tokens
    assert_billed(otel, cassette)


@pytest.mark.parametrize(
    "name", ["test_anthropic_text_stream_helper_method_legacy", "test_async_anthropic_message_stream_manager_legacy"]
)
async def test_stream_manager_async_text_stream(otel: Telemetry, name: str) -> None:
    cassette = Cassette(name)
    client = async_anthropic_client(cassette)
    async with client.messages.stream(**_stream_kwargs(cassette)) as stream:
        text = "".join([chunk async for chunk in stream.text_stream])
        final = await stream.get_final_message()
    cassette.assert_requests_replayed()
    recorded = cassette.recorded[0]
    assert text == recorded.text
    assert final.usage.output_tokens == recorded.output_tokens
    assert_billed(otel, cassette)


async def test_beta_stream_manager_async(otel: Telemetry) -> None:
    cassette = Cassette("test_async_anthropic_beta_message_stream_manager_legacy")
    client = async_anthropic_client(cassette)
    async with client.beta.messages.stream(**_stream_kwargs(cassette)) as stream:
        text = "".join([chunk async for chunk in stream.text_stream])
        final = await stream.get_final_message()
    cassette.assert_requests_replayed()
    recorded = cassette.recorded[0]
    assert text == recorded.text
    assert final.usage.output_tokens == recorded.output_tokens == 20
    assert_billed(otel, cassette)


# --- prompt caching: a cache write, then a cache read ---------------------------------------


def _assert_cache_write_then_read(otel: Telemetry, cassette: Cassette) -> None:
    write, read = cassette.recorded
    assert write.cache_write > 0 and write.cache_read == 0
    assert read.cache_read == write.cache_write and read.cache_write == 0
    first, second = assert_billed(otel, cassette)
    # no cache_creation split in these payloads: every write is a 5-minute write
    assert first.attributes["llm_cost.tokens.cache_write_5m"] == write.cache_write
    assert "llm_cost.tokens.cache_write_1h" not in first.attributes
    assert first.attributes["llm_cost.usd.cache_write"] == pytest.approx(per_million(write.cache_write, 3.75))
    assert second.attributes["llm_cost.usd.cache_read"] == pytest.approx(per_million(read.cache_read, 0.30))
    # what the read saved against paying the $3 input rate for those tokens
    saved = per_million(read.cache_read, 3.0 - 0.30)
    assert second.attributes["llm_cost.usd.cache_savings"] == pytest.approx(saved, rel=1e-9)
    assert otel.metric_sum("llm_cost.cache_savings.usd") == pytest.approx(saved, rel=1e-9)


def test_prompt_caching(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_prompt_caching_legacy")
    client = anthropic_client(cassette)
    messages = [client.messages.create(**cassette.request_body(i)) for i in range(len(cassette))]
    cassette.assert_requests_replayed()
    for message, recorded in zip(messages, cassette.recorded, strict=True):
        assert_message_unchanged(message, recorded)
    _assert_cache_write_then_read(otel, cassette)


async def test_prompt_caching_async(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_prompt_caching_async_legacy")
    client = async_anthropic_client(cassette)
    messages = [await client.messages.create(**cassette.request_body(i)) for i in range(len(cassette))]
    cassette.assert_requests_replayed()
    for message, recorded in zip(messages, cassette.recorded, strict=True):
        assert_message_unchanged(message, recorded)
    _assert_cache_write_then_read(otel, cassette)


def test_prompt_caching_stream(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_prompt_caching_stream_legacy")
    client = anthropic_client(cassette)
    for i, recorded in enumerate(cassette.recorded):
        events = [event.to_dict() for event in client.messages.create(**cassette.request_body(i))]
        assert events == recorded.events
    cassette.assert_requests_replayed()
    _assert_cache_write_then_read(otel, cassette)


async def test_prompt_caching_async_stream(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_prompt_caching_async_stream_legacy")
    client = async_anthropic_client(cassette)
    for i, recorded in enumerate(cassette.recorded):
        stream = await client.messages.create(**cassette.request_body(i))
        events = [event.to_dict() async for event in stream]
        assert events == recorded.events
    cassette.assert_requests_replayed()
    _assert_cache_write_then_read(otel, cassette)


# --- structured outputs ---------------------------------------------------------------------


def test_structured_outputs_parse(otel: Telemetry) -> None:
    from pydantic import BaseModel

    class Joke(BaseModel):
        joke: str
        rating: int

    cassette = Cassette("test_anthropic_structured_outputs_legacy")
    client = anthropic_client(cassette)
    body = cassette.request_body()
    parsed = client.beta.messages.parse(
        model=body["model"],
        max_tokens=body["max_tokens"],
        messages=body["messages"],
        output_format=Joke,
        betas=["structured-outputs-2025-11-13"],
    )
    # the SDK may word the schema differently from the recorded request; the path is what matters
    cassette.assert_requests_replayed(same_body=False)
    recorded = cassette.recorded[0]
    assert parsed.parsed_output == Joke.model_validate_json(recorded.text)
    assert parsed.usage.input_tokens == recorded.input_tokens == 222
    assert parsed.usage.output_tokens == recorded.output_tokens == 39
    (span,) = assert_billed(otel, cassette)
    assert span.attributes["llm_cost.service_tier"] == "standard"


# --- Bedrock (plain JSON bodies only) --------------------------------------------------------


def bedrock_client(cassette: Cassette) -> Any:
    """The real AsyncAnthropicBedrock client. Bedrock API-key (bearer) auth, so no botocore signing."""
    import anthropic

    return anthropic.AsyncAnthropicBedrock(
        api_key="bedrock-api-key-test",
        aws_region="us-east-1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(cassette)),
    )


def _bedrock_kwargs(cassette: Cassette) -> dict[str, Any]:
    body = cassette.request_body()
    assert body.pop("anthropic_version") == "bedrock-2023-05-31"  # the SDK adds its own
    return {"model": BEDROCK_MODEL_ID, **body}


async def _parsed(raw: Any) -> Any:
    parsed = raw.parse()
    return await parsed if inspect.isawaitable(parsed) else parsed


async def test_bedrock_create(otel: Telemetry) -> None:
    cassette = Cassette("test_async_anthropic_bedrock_regular_create")
    client = bedrock_client(cassette)
    message = await client.messages.create(**_bedrock_kwargs(cassette))
    cassette.assert_requests_replayed(ignore=("anthropic_version",))
    assert_message_unchanged(message, cassette.recorded[0])
    (span,) = assert_billed(otel, cassette, provider="aws.bedrock", prices=BEDROCK_PRICES)
    assert span.name == f"chat {BEDROCK_MODEL_ID}"
    assert span.attributes["server.address"] == "bedrock-runtime.us-east-1.amazonaws.com"


async def test_bedrock_with_raw_response(otel: Telemetry) -> None:
    cassette = Cassette("test_async_anthropic_bedrock_with_raw_response")
    client = bedrock_client(cassette)
    raw = await client.messages.with_raw_response.create(**_bedrock_kwargs(cassette))
    message = await _parsed(raw)
    cassette.assert_requests_replayed(ignore=("anthropic_version",))
    assert_message_unchanged(message, cassette.recorded[0])
    assert_billed(otel, cassette, provider="aws.bedrock", prices=BEDROCK_PRICES)


async def test_bedrock_with_raw_response_never_parsed(otel: Telemetry) -> None:
    """An app that reads the raw body itself and drops the response is still billed once."""
    cassette = Cassette("test_async_anthropic_bedrock_with_raw_response")
    client = bedrock_client(cassette)
    raw = await client.messages.with_raw_response.create(**_bedrock_kwargs(cassette))
    assert raw.http_response.json() == cassette.recorded[0].body
    del raw
    gc.collect()
    settle()  # finishes the collector deferred
    cassette.assert_requests_replayed(ignore=("anthropic_version",))
    # usage read back from the body carries no stop reason; cost and tokens are what matter here
    assert_billed(otel, cassette, provider="aws.bedrock", prices=BEDROCK_PRICES, finish_reasons=False)


async def test_bedrock_beta_with_raw_response(otel: Telemetry) -> None:
    cassette = Cassette("test_async_anthropic_bedrock_beta_with_raw_response")
    client = bedrock_client(cassette)
    raw = await client.beta.messages.with_raw_response.create(**_bedrock_kwargs(cassette))
    message = await _parsed(raw)
    cassette.assert_requests_replayed(ignore=("anthropic_version",))
    assert_message_unchanged(message, cassette.recorded[0])
    assert_billed(otel, cassette, provider="aws.bedrock", prices=BEDROCK_PRICES)


# --- raw and streaming responses over a recorded stream -------------------------------------


def test_raw_response_stream_parsed(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_message_streaming_legacy")
    client = anthropic_client(cassette)
    raw = client.messages.with_raw_response.create(**cassette.request_body())
    assert raw.headers["request-id"] == cassette.interactions[0]["response"]["headers"]["request-id"]
    events = [event.to_dict() for event in raw.parse()]
    cassette.assert_requests_replayed()
    assert events == cassette.recorded[0].events
    assert_billed(otel, cassette)


def test_streaming_response_parsed(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_message_streaming_legacy")
    client = anthropic_client(cassette)
    with client.messages.with_streaming_response.create(**cassette.request_body()) as response:
        events = [event.to_dict() for event in response.parse()]
    cassette.assert_requests_replayed()
    assert events == cassette.recorded[0].events
    assert_billed(otel, cassette)


def test_raw_response_stream_parsed_in_one_expression(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_message_streaming_legacy")
    client = anthropic_client(cassette)
    stream = client.messages.with_raw_response.create(**cassette.request_body()).parse()
    events = [event.to_dict() for event in stream]
    assert events == cassette.recorded[0].events  # the SDK result itself is fine
    cassette.assert_requests_replayed()
    (span,) = otel.chat_spans()
    assert span.attributes.get("gen_ai.usage.output_tokens") == cassette.recorded[0].output_tokens
    assert_billed(otel, cassette)


def test_streaming_response_read_line_by_line(otel: Telemetry) -> None:
    cassette = Cassette("test_anthropic_message_streaming_legacy")
    client = anthropic_client(cassette)
    with client.messages.with_streaming_response.create(**cassette.request_body()) as response:
        data = [line[len("data:") :] for line in response.iter_lines() if line.startswith("data:")]
    assert [json.loads(d) for d in data] == sse_events(cassette.interactions[0]["response"]["body"])
    del response
    gc.collect()
    settle()  # finishes the collector deferred
    cassette.assert_requests_replayed()
    (span,) = otel.chat_spans()
    assert span.attributes.get("gen_ai.usage.output_tokens") == cassette.recorded[0].output_tokens
    assert_billed(otel, cassette)
