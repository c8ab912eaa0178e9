"""Replay real Gemini API responses (OpenInference's recorded cassettes) through the real SDK.

Each cassette under ``tests/cassettes/google_genai/`` holds the requests OpenInference's
google-genai tests sent to the Gemini Developer API and the bodies Google returned. We serve
those bodies, in order, through ``httpx2.MockTransport`` under a real ``genai.Client``, drive
the SDK the way the original test did (and check that it sends the recorded request), and
compare what the plugin recorded against figures computed here: token counts read straight
from the recorded bodies, costs from Google's published list prices written below as
literals (never from the plugin's catalog).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import types
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import llm_cost_otel
from llm_cost_otel.deferred import settle
from llm_cost_otel.pricing import catalog
from support import Telemetry, per_million

CASSETTES = Path(__file__).parent / "cassettes" / "google_genai"

# Google's published Gemini Developer API list prices (paid tier, standard, prompts <= 200k
# tokens), USD per million tokens: (text/image/video input, output incl. thinking, cache read).
LIST_PRICES: dict[str, tuple[float, float, float]] = {
    "gemini-2.0-flash": (0.10, 0.40, 0.025),
    "gemini-2.5-flash": (0.30, 2.50, 0.03),
    "gemini-3.5-flash": (1.50, 9.00, 0.15),  # GA 2026-05-19
}
# Audio input has its own rate (applied by expected_cost; no cassette here sends audio).
AUDIO_INPUT_PRICES: dict[str, float] = {"gemini-2.0-flash": 0.70, "gemini-2.5-flash": 1.00}
EMBEDDING_PRICES: dict[str, float] = {"gemini-embedding-001": 0.15}
# Explicit context cache storage, USD per million tokens per hour.
CACHE_STORAGE_PRICES: dict[str, float] = {"gemini-2.5-flash": 1.00}

PROVIDER = "gcp.gemini"
# One TLS context for every client (never used: the transport is mocked); without it the SDK
# loads the CA bundle twice per client, a tenth of a second each time.
TLS = ssl.create_default_context()

# usageMetadata (JSON) field -> GenerateContentResponseUsageMetadata attribute
USAGE_FIELDS = {
    "promptTokenCount": "prompt_token_count",
    "cachedContentTokenCount": "cached_content_token_count",
    "candidatesTokenCount": "candidates_token_count",
    "toolUsePromptTokenCount": "tool_use_prompt_token_count",
    "thoughtsTokenCount": "thoughts_token_count",
    "totalTokenCount": "total_token_count",
}


@pytest.fixture(scope="module", autouse=True)
def _long_lived_objects_frozen() -> Iterator[None]:
    """The ``otel`` fixture runs a full ``gc.collect()`` after every test, which with the plugin,
    both SDKs and the price catalog loaded walks ~260k objects (a quarter second a test). Load
    them once here and hide them from the collector (``gc.freeze``) for this module: each
    collection then walks only what the test created, which is all the open-span check needs."""
    llm_cost_otel.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    catalog.warm()
    llm_cost_otel.uninstrument()
    gc.collect()
    settle()  # finishes the collector deferred
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# --- cassettes --------------------------------------------------------------------------


def sse_chunks(text: str) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded server-sent-event body, in order."""
    return [json.loads(line[len("data:") :]) for line in text.splitlines() if line.startswith("data:")]


def text_of(responses: list[dict[str, Any]]) -> str | None:
    """What the SDK's ``.text`` gives: the first candidate's non-thought text parts, joined."""
    parts = [
        part["text"]
        for response in responses
        for part in (response.get("candidates") or [{}])[0].get("content", {}).get("parts", [])
        if "text" in part and not part.get("thought")
    ]
    return "".join(parts) if parts else None


@dataclass
class Recorded:
    """One recorded generateContent response, read independently of the SDK and the plugin."""

    model: str
    """The response's ``modelVersion``."""
    response_id: str
    usage: dict[str, Any]
    """The response's ``usageMetadata``; for a stream, the last chunk's (a running total)."""
    text: str | None
    thoughts: str
    function_calls: list[dict[str, Any]]
    finish_reasons: list[str]
    """The candidates' ``finishReason`` (for a stream, those of the last chunk that has one)."""
    chunks: list[dict[str, Any]] = field(default_factory=list)

    def count(self, name: str) -> int:
        return int(self.usage.get(name) or 0)

    @property
    def input_tokens(self) -> int:  # prompt (cached included) + tool-use prompt
        return self.count("promptTokenCount") + self.count("toolUsePromptTokenCount")

    @property
    def cache_read(self) -> int:
        return self.count("cachedContentTokenCount")

    @property
    def output_tokens(self) -> int:  # candidates + thinking
        return self.count("candidatesTokenCount") + self.count("thoughtsTokenCount")

    @property
    def reasoning(self) -> int:
        return self.count("thoughtsTokenCount")


def parse_generate(uri: str, body: str) -> Recorded:
    if "alt=sse" in uri:
        chunks = sse_chunks(body)
        with_usage = [c for c in chunks if c.get("usageMetadata")]
        usage = with_usage[-1]["usageMetadata"] if with_usage else {}
        responses = chunks
    else:
        chunks = []
        responses = [json.loads(body)]
        usage = responses[0].get("usageMetadata") or {}
    parts = [p for r in responses for p in (r.get("candidates") or [{}])[0].get("content", {}).get("parts", [])]
    reasons = [[c["finishReason"] for c in r.get("candidates") or () if "finishReason" in c] for r in responses]
    return Recorded(
        model=responses[0]["modelVersion"],
        response_id=responses[0]["responseId"],
        usage=usage,
        text=text_of(responses),
        thoughts="".join(p["text"] for p in parts if p.get("thought") and "text" in p),
        function_calls=[p["functionCall"] for p in parts if "functionCall" in p],
        finish_reasons=[r for r in reasons if r][-1],
        chunks=chunks,
    )


def expected_cost(model: str, usage: dict[str, Any]) -> float:
    """List-price cost of one generateContent response's usageMetadata."""
    text_in, out, cache_read = LIST_PRICES[model]
    prompt = int(usage.get("promptTokenCount") or 0)
    cached = int(usage.get("cachedContentTokenCount") or 0)
    tool_use = int(usage.get("toolUsePromptTokenCount") or 0)
    output = int(usage.get("candidatesTokenCount") or 0) + int(usage.get("thoughtsTokenCount") or 0)
    audio = sum(d["tokenCount"] for d in usage.get("promptTokensDetails") or () if d["modality"] == "AUDIO")
    assert prompt <= 200_000, "long-context tiers are not modelled here"
    audio_cost = per_million(audio, AUDIO_INPUT_PRICES[model]) if audio else 0.0
    return (
        per_million(prompt - cached + tool_use - audio, text_in)
        + audio_cost
        + per_million(cached, cache_read)
        + per_million(output, out)
    )


def _snake_keys(value: Any) -> Any:
    """JSON with every object key in snake_case: SDK versions differ in the casing they send
    (``mimeType`` / ``mime_type``), the API accepts both."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def _comparable(body: dict[str, Any], tools_by_name: bool) -> dict[str, Any]:
    """A request body as compared with the recorded one: keys in snake_case, an empty
    ``generationConfig`` (which newer SDKs always send) dropped, and, for tools the SDK
    describes from a Python callable (its schema generator changes between versions), only
    the function names kept."""
    body = {k: v for k, v in _snake_keys(body).items() if v != {}}
    if tools_by_name and "tools" in body:
        body["tools"] = [[d["name"] for d in t.get("function_declarations", ())] for t in body["tools"]]
    return body


def _api_path(url: str) -> str:
    """``models/x:generateContent?alt=sse`` from a full URL, without the API version."""
    return re.sub(r"^https://[^/]+/v1(beta)?/", "", url)


class Replay:
    """A real ``genai.Client`` whose HTTP requests get a cassette's responses, in order.

    Each request must be the one recorded: same method, path (the SDK's default API version
    aside) and JSON body."""

    def __init__(self, name: str, tools_by_name: bool = False) -> None:
        self.tools_by_name = tools_by_name
        data = json.loads((CASSETTES / f"{name}.json").read_text())
        self.interactions: list[dict[str, Any]] = data["interactions"]
        self.served = 0
        self.client = genai.Client(  # keep a reference: its __del__ closes its HTTP clients
            api_key="test-key",
            http_options=types.HttpOptions(
                base_url="https://generativelanguage.googleapis.com/",
                client_args={"transport": httpx2.MockTransport(self.handler), "verify": TLS},
                async_client_args={"transport": httpx2.MockTransport(self.handler), "verify": TLS, "ssl": TLS},
            ),
        )

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        assert self.served < len(self.interactions), f"unexpected extra request {request.url}"
        recorded = self.interactions[self.served]
        self.served += 1
        rec_request, rec_response = recorded["request"], recorded["response"]
        assert request.method == rec_request["method"].upper()
        assert _api_path(str(request.url)) == _api_path(rec_request["uri"])
        sent = _comparable(json.loads(request.content), self.tools_by_name)
        assert sent == _comparable(json.loads(rec_request["body"]), self.tools_by_name)
        sse = "alt=sse" in rec_request["uri"]
        return httpx2.Response(
            rec_response["status"],
            content=rec_response["body"].encode(),
            headers={"content-type": "text/event-stream" if sse else "application/json"},
        )

    def request_body(self, index: int = 0) -> dict[str, Any]:
        return json.loads(self.interactions[index]["request"]["body"])

    def request_model(self, index: int = 0) -> str:
        match = re.search(r"/models/([^:/]+):", self.interactions[index]["request"]["uri"])
        assert match is not None
        return match.group(1)

    def recorded(self) -> list[Recorded]:
        return [parse_generate(i["request"]["uri"], i["response"]["body"]) for i in self.interactions]

    def done(self) -> None:
        assert self.served == len(self.interactions), "not every recorded request was sent"


def spans_in_order(otel: Telemetry, prefix: str) -> list[Any]:
    return sorted(otel.spans(prefix), key=lambda s: s.start_time)


def check_generate_spans(otel: Telemetry, replay: Replay) -> list[float]:
    """One ``generate_content`` span per recorded request, each with that response's usage and
    list-price cost; the cost metric is their sum. Returns the expected costs."""
    replay.done()
    recorded = replay.recorded()
    spans = spans_in_order(otel, "generate_content")
    assert len(spans) == len(otel.spans()) == len(recorded)
    costs = []
    for index, (span, rec) in enumerate(zip(spans, recorded, strict=True)):
        model = replay.request_model(index)  # what the test passed, as the recorded URL shows
        a = span.attributes
        assert span.name == f"generate_content {model}"
        assert a["gen_ai.operation.name"] == "generate_content"
        assert a["gen_ai.provider.name"] == PROVIDER
        assert a["gen_ai.request.model"] == model
        assert a["gen_ai.response.model"] == rec.model
        assert a["gen_ai.response.id"] == rec.response_id
        assert a["server.address"] == "generativelanguage.googleapis.com"
        assert list(a["gen_ai.response.finish_reasons"]) == [r.lower() for r in rec.finish_reasons]
        assert a["gen_ai.usage.input_tokens"] == rec.input_tokens
        assert a["gen_ai.usage.cache_read.input_tokens"] == rec.cache_read
        assert a["gen_ai.usage.output_tokens"] == rec.output_tokens
        assert a.get("gen_ai.usage.reasoning.output_tokens", 0) == rec.reasoning
        cost = expected_cost(rec.model, rec.usage)
        assert a["gen_ai.usage.cost"] == pytest.approx(cost, rel=1e-9)
        assert a["llm_cost.price.source"] == "catalog"
        assert a["llm_cost.price.model"] == rec.model
        costs.append(cost)
    span_total = sum(s.attributes["gen_ai.usage.cost"] for s in spans)
    assert span_total == pytest.approx(sum(costs), rel=1e-9)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(span_total, rel=1e-9)
    assert otel.metric_sum("llm_cost.unpriced") == 0
    assert otel.metric_sum("llm_cost.tokens", **{"llm_cost.token.type": "output"}) == sum(
        r.output_tokens for r in recorded
    )
    assert otel.metric_sum("llm_cost.tokens", **{"llm_cost.token.type": "input"}) == sum(
        r.input_tokens - r.cache_read for r in recorded
    )
    return costs


def check_usage_metadata(metadata: Any, rec: Recorded) -> None:
    """The SDK's usage_metadata is what Google sent, untouched."""
    for json_name, attribute in USAGE_FIELDS.items():
        assert getattr(metadata, attribute) == rec.usage.get(json_name), attribute


def check_response(response: Any, rec: Recorded) -> None:
    """A non-streamed SDK response is what Google sent, untouched."""
    assert response.text == rec.text
    assert response.model_version == rec.model
    assert response.response_id == rec.response_id
    check_usage_metadata(response.usage_metadata, rec)
    calls = response.function_calls or []
    assert [(c.name, c.args) for c in calls] == [(f["name"], f.get("args")) for f in rec.function_calls]


def check_chunks(chunks: list[Any], rec: Recorded) -> None:
    """Streamed chunks are what Google sent, untouched."""
    assert len(chunks) == len(rec.chunks)
    assert "".join(c.text or "" for c in chunks) == (rec.text or "")
    assert all(c.response_id == rec.response_id for c in chunks)
    check_usage_metadata(chunks[-1].usage_metadata, rec)


def collect(stream: Iterator[Any]) -> list[Any]:
    return list(stream)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


WEATHER_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Get current weather information for a given location",
            parameters=types.Schema(
                type=types.Type.OBJECT,
                properties={
                    "location": types.Schema(
                        type=types.Type.STRING, description="The city and state/country for weather information"
                    ),
                    "unit": types.Schema(
                        type=types.Type.STRING, description="Temperature unit", enum=["celsius", "fahrenheit"]
                    ),
                },
                required=["location"],
            ),
        )
    ]
)
HELPFUL_SYSTEM = "You are a helpful assistant that can answer questions and help with tasks."
TOOL_SYSTEM = f"{HELPFUL_SYSTEM} Use the available tools when appropriate."
WEATHER_SF = {
    "location": "San Francisco",
    "temperature": 65,
    "unit": "fahrenheit",
    "condition": "foggy",
    "humidity": "85%",
}


# --- generate_content -------------------------------------------------------------------


def test_generate_content_with_function_response_history(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_generate_content")
    contents = [
        types.Content(role="user", parts=[types.Part.from_text(text="What's the weather like?")]),
        types.Content(
            role="model",
            parts=[
                types.Part(
                    function_call=types.FunctionCall(
                        name="get_weather", args={"location": "San Francisco"}, id="call_abc123"
                    )
                )
            ],
        ),
        types.Content(
            role="user",
            parts=[
                types.Part(
                    function_response=types.FunctionResponse(name="get_weather", response=WEATHER_SF, id="call_abc123")
                )
            ],
        ),
    ]
    response = replay.client.models.generate_content(
        model="gemini-2.0-flash",
        contents=contents,
        config=types.GenerateContentConfig(system_instruction=HELPFUL_SYSTEM),
    )
    (rec,) = replay.recorded()
    check_response(response, rec)
    (cost,) = check_generate_spans(otel, replay)
    assert llm_cost_otel.cost_of(response).total == pytest.approx(cost, rel=1e-9)


def test_async_generate_content(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_async_generate_content")

    async def main() -> Any:
        return await replay.client.aio.models.generate_content(
            model="gemini-2.0-flash",
            contents=types.Content(role="user", parts=[types.Part.from_text(text="What's the weather like?")]),
            config=types.GenerateContentConfig(system_instruction=HELPFUL_SYSTEM),
        )

    response = run(main())
    (rec,) = replay.recorded()
    check_response(response, rec)
    (cost,) = check_generate_spans(otel, replay)
    assert llm_cost_otel.cost_of(response).total == pytest.approx(cost, rel=1e-9)


def test_generate_content_with_config_as_dict(otel: Telemetry) -> None:
    """gemini-2.5-flash with a thinking budget: thinking is billed as output."""
    replay = Replay("test_instrumentation__test_generate_content_with_config_as_dict")
    config = {
        "temperature": 0.5,
        "top_p": 0.95,
        "top_k": 40,
        "candidate_count": 1,
        "thinking_config": {"thinking_budget": 100},
    }
    response = replay.client.models.generate_content(
        model="gemini-2.5-flash",
        contents=types.Content(role="user", parts=[types.Part.from_text(text="Repeat: this is a test")]),
        config=config,  # type: ignore[arg-type]
    )
    (rec,) = replay.recorded()
    assert rec.reasoning > 0
    check_response(response, rec)
    check_generate_spans(otel, replay)
    (span,) = otel.spans("generate_content")
    a = span.attributes
    assert a["gen_ai.request.temperature"] == 0.5
    assert a["gen_ai.request.top_p"] == 0.95
    assert a["gen_ai.request.top_k"] == 40
    assert a["gen_ai.request.choice.count"] == 1


@pytest.mark.parametrize("streaming", [False, True])
def test_describe_inline_image(otel: Telemetry, streaming: bool) -> None:
    """Image input tokens (promptTokensDetails IMAGE) are billed at the text input rate."""
    replay = Replay(f"test_instrumentation__test_generate_content_describe_image_{streaming}")
    inline = replay.request_body()["contents"][0]["parts"][1]["inlineData"]
    image = types.Part.from_bytes(data=base64.urlsafe_b64decode(inline["data"]), mime_type=inline["mimeType"])
    content = types.Content(role="user", parts=[types.Part.from_text(text="Describe Image."), image])
    config = types.GenerateContentConfig(system_instruction=HELPFUL_SYSTEM)
    (rec,) = replay.recorded()
    modalities = {d["modality"] for d in rec.usage["promptTokensDetails"]}
    assert modalities == {"TEXT", "IMAGE"}
    if streaming:
        chunks = collect(
            replay.client.models.generate_content_stream(model="gemini-2.5-flash", contents=content, config=config)
        )
        check_chunks(chunks, rec)
    else:
        response = replay.client.models.generate_content(model="gemini-2.5-flash", contents=content, config=config)
        check_response(response, rec)
    check_generate_spans(otel, replay)


@pytest.mark.parametrize("streaming", [False, True])
def test_file_uri_image_usage_without_prompt_count(otel: Telemetry, streaming: bool) -> None:
    """These recorded responses carry only candidatesTokenCount and thoughtsTokenCount (no
    promptTokenCount): the span reports what Google reported, input 0, and prices the output."""
    replay = Replay(f"test_instrumentation__test_generate_content_with_file_uri_image_{streaming}")
    file_data = replay.request_body()["contents"][0]["parts"][1]["fileData"]
    content = types.Content(
        role="user",
        parts=[
            types.Part.from_text(text="Describe this image in one sentence."),
            types.Part.from_uri(file_uri=file_data["fileUri"], mime_type=file_data["mimeType"]),
        ],
    )
    config = types.GenerateContentConfig(system_instruction="You are a helpful assistant that can describe images.")
    (rec,) = replay.recorded()
    assert "promptTokenCount" not in rec.usage
    if streaming:
        chunks = collect(
            replay.client.models.generate_content_stream(model="gemini-2.5-flash", contents=content, config=config)
        )
        check_chunks(chunks, rec)
    else:
        response = replay.client.models.generate_content(model="gemini-2.5-flash", contents=content, config=config)
        check_response(response, rec)
    check_generate_spans(otel, replay)
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.input_tokens"] == 0
    assert span.attributes["gen_ai.usage.cost"] > 0


@pytest.mark.parametrize("streaming", [False, True])
def test_code_execution_tool_use_prompt_tokens_are_input(otel: Telemetry, streaming: bool) -> None:
    """Code execution: toolUsePromptTokenCount is billed as input, on top of promptTokenCount."""
    name = "test_validate_token_counts_stream" if streaming else "test_validate_token_counts"
    replay = Replay(f"test_instrumentation__{name}")
    prompt = replay.request_body()["contents"][0]["parts"][0]["text"]
    config = types.GenerateContentConfig(tools=[types.Tool(code_execution=types.ToolCodeExecution())])
    (rec,) = replay.recorded()
    assert rec.count("toolUsePromptTokenCount") > 0 and rec.reasoning > 0
    if streaming:
        chunks = collect(
            replay.client.models.generate_content_stream(model="gemini-2.5-flash", contents=prompt, config=config)
        )
        check_chunks(chunks, rec)
    else:
        response = replay.client.models.generate_content(model="gemini-2.5-flash", contents=prompt, config=config)
        check_response(response, rec)
    check_generate_spans(otel, replay)


# --- streams ----------------------------------------------------------------------------


def test_streaming_text_content_last_running_total_wins(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_streaming_text_content")
    (rec,) = replay.recorded()
    # Every chunk carries the request's usage so far, and the last one is the bill: earlier
    # chunks report promptTokenCount 10, the last 9 (so neither a sum nor a max would do).
    prompts = [c["usageMetadata"]["promptTokenCount"] for c in rec.chunks]
    assert max(prompts) > prompts[-1] == rec.count("promptTokenCount")
    stream = replay.client.models.generate_content_stream(
        model="gemini-2.0-flash",
        contents=types.Content(role="user", parts=[types.Part.from_text(text="Tell me a short story about a cat.")]),
    )
    chunks = collect(stream)
    check_chunks(chunks, rec)
    check_generate_spans(otel, replay)


def test_async_streaming_text_content(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_async_streaming_text_content")

    async def main() -> list[Any]:
        stream = await replay.client.aio.models.generate_content_stream(
            model="gemini-2.0-flash",
            contents=types.Content(
                role="user", parts=[types.Part.from_text(text="Tell me a short story about a cat within 20 words.")]
            ),
        )
        return [chunk async for chunk in stream]

    chunks = run(main())
    (rec,) = replay.recorded()
    check_chunks(chunks, rec)
    check_generate_spans(otel, replay)


def test_streaming_reasoning(otel: Telemetry) -> None:
    """gemini-3.5-flash streaming its thoughts: thinking tokens are output, and reasoning."""
    replay = Replay("test_instrumentation__test_streaming_reasoning")
    stream = replay.client.models.generate_content_stream(
        model="gemini-3.5-flash",
        contents="Tell bed storey for 5 years old boy.",
        config=types.GenerateContentConfig(
            thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=512)
        ),
    )
    chunks = collect(stream)
    (rec,) = replay.recorded()
    assert rec.thoughts and rec.reasoning > 0
    check_chunks(chunks, rec)
    thoughts = "".join(p.text for c in chunks for p in c.candidates[0].content.parts or () if p.thought and p.text)
    assert thoughts == rec.thoughts
    check_generate_spans(otel, replay)


def test_streaming_reasoning_with_multiple_tool_calls(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_streaming_reasoning_with_multiple_tool_calls")
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                description="Get current weather information for a given location",
                parameters=types.Schema(
                    type=types.Type.OBJECT,
                    properties={
                        "location": types.Schema(
                            type=types.Type.STRING, description="The city and state/country for weather information"
                        )
                    },
                    required=["location"],
                ),
            )
        ]
    )
    stream = replay.client.models.generate_content_stream(
        model="gemini-3.5-flash",
        contents="What is the weather like in Boston & new Delhi?",
        config={"tools": [tool], "thinking_config": {"include_thoughts": True, "thinking_level": "LOW"}},  # type: ignore[arg-type]
    )
    chunks = collect(stream)
    (rec,) = replay.recorded()
    assert len(rec.function_calls) == 2 and rec.reasoning > 0
    check_chunks(chunks, rec)
    calls = [(c.name, c.args) for chunk in chunks for c in chunk.function_calls or ()]
    assert calls == [(f["name"], f["args"]) for f in rec.function_calls]
    check_generate_spans(otel, replay)


# --- tools ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["test_generate_content_with_tool", "test_generate_content_with_raw_json_tool"])
def test_generate_content_with_tool(otel: Telemetry, name: str) -> None:
    replay = Replay(f"test_instrumentation__{name}")
    if name.endswith("raw_json_tool"):
        tool: Any = {"function_declarations": [replay.request_body()["tools"][0]["functionDeclarations"][0]]}
    else:
        tool = WEATHER_TOOL
    response = replay.client.models.generate_content(
        model="gemini-2.0-flash",
        contents="What's the weather like in San Francisco?",
        config=types.GenerateContentConfig(system_instruction=TOOL_SYSTEM, tools=[tool]),
    )
    (rec,) = replay.recorded()
    check_response(response, rec)
    assert response.function_calls[0].name == "get_weather"
    check_generate_spans(otel, replay)


@pytest.mark.parametrize("streaming", [False, True])
def test_response_with_multiple_tool_calls(otel: Telemetry, streaming: bool) -> None:
    replay = Replay(f"test_instrumentation__test_response_with_multiple_tool_calls_{streaming}")
    config = types.GenerateContentConfig(system_instruction=TOOL_SYSTEM, tools=[WEATHER_TOOL])
    prompt = "What is the weather like in Boston & new Delhi?"
    (rec,) = replay.recorded()
    assert len(rec.function_calls) == 2
    if streaming:
        chunks = collect(
            replay.client.models.generate_content_stream(model="gemini-2.0-flash", contents=prompt, config=config)
        )
        check_chunks(chunks, rec)
    else:
        response = replay.client.models.generate_content(model="gemini-2.0-flash", contents=prompt, config=config)
        check_response(response, rec)
    check_generate_spans(otel, replay)


def test_streaming_content_with_tool(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_streaming_content_with_tool")
    stream = replay.client.models.generate_content_stream(
        model="gemini-2.0-flash",
        contents="What's the weather like in San Francisco?",
        config=types.GenerateContentConfig(system_instruction=TOOL_SYSTEM, tools=[WEATHER_TOOL]),
    )
    chunks = collect(stream)
    (rec,) = replay.recorded()
    check_chunks(chunks, rec)
    check_generate_spans(otel, replay)


def get_weather(location: str, unit: str = "fahrenheit") -> dict[str, Any]:
    """This function will be automatically executed by Google GenAI.
    It must return a JSON-serializable value."""
    return {**WEATHER_SF, "location": location, "unit": unit}


def test_automatic_function_calling_two_requests_two_spans(otel: Telemetry) -> None:
    """The SDK runs get_weather and sends a second request; the public call returns only the
    last turn's usage, but both requests are billed, so both are spans with their own cost."""
    replay = Replay("test_instrumentation__test_generate_content_with_automatic_tool_calling", tools_by_name=True)
    response = replay.client.models.generate_content(
        model="gemini-2.0-flash",
        contents="What's the weather like in San Francisco?",
        config=types.GenerateContentConfig(system_instruction=TOOL_SYSTEM, tools=[get_weather]),
    )
    first, second = replay.recorded()
    assert first.function_calls and not second.function_calls
    check_response(response, second)  # what the caller sees: the last turn only
    assert len(response.automatic_function_calling_history) == 3
    costs = check_generate_spans(otel, replay)  # one span per request, each with its own cost
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(costs[0] + costs[1], rel=1e-9)
    assert llm_cost_otel.cost_of(response).total == pytest.approx(costs[1], rel=1e-9)


# --- chats ------------------------------------------------------------------------------


def test_multi_turn_chat(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_multi_turn_conversation")
    chat = replay.client.chats.create(model="gemini-2.0-flash")
    first = chat.send_message("What is the capital of France?")
    second = chat.send_message("Why is the sky blue?")
    rec1, rec2 = replay.recorded()
    check_response(first, rec1)
    check_response(second, rec2)
    costs = check_generate_spans(otel, replay)
    assert llm_cost_otel.cost_of(first).total == pytest.approx(costs[0], rel=1e-9)
    assert llm_cost_otel.cost_of(second).total == pytest.approx(costs[1], rel=1e-9)


def test_chat_session_with_tool(otel: Telemetry) -> None:
    replay = Replay("test_instrumentation__test_chat_session_with_tool")
    chat = replay.client.chats.create(
        model="gemini-2.0-flash",
        config=types.GenerateContentConfig(system_instruction=TOOL_SYSTEM, tools=[WEATHER_TOOL]),
    )
    response = chat.send_message("What's the weather like in San Francisco?")
    (rec,) = replay.recorded()
    check_response(response, rec)
    check_generate_spans(otel, replay)


# --- embeddings -------------------------------------------------------------------------


def embed(name: str, asynchronous: bool = False, usage_metadata: dict[str, Any] | None = None) -> tuple[Replay, Any]:
    """Send the recorded embed_content request; ``usage_metadata`` is added to the served body."""
    replay = Replay(f"test_instrumentation__{name}")
    if usage_metadata is not None:
        response = replay.interactions[0]["response"]
        response["body"] = json.dumps({**json.loads(response["body"]), "usageMetadata": usage_metadata})
    body = replay.request_body()
    if name.endswith("multiple_contents"):
        contents: Any = [r["content"]["parts"][0]["text"] for r in body["requests"]]
        config = None
    else:
        texts = [p["text"] for p in body["requests"][0]["content"]["parts"]]
        contents = types.Content(parts=[types.Part.from_text(text=t) for t in texts])
        config = types.EmbedContentConfig(task_type=body["requests"][0]["taskType"])
    if asynchronous:

        async def main() -> Any:
            return await replay.client.aio.models.embed_content(
                model="gemini-embedding-001", contents=contents, config=config
            )

        return replay, run(main())
    return replay, replay.client.models.embed_content(model="gemini-embedding-001", contents=contents, config=config)


@pytest.mark.parametrize(
    ("name", "asynchronous"),
    [
        ("test_embed_content", False),
        ("test_async_embed_content", True),
        ("test_embed_content_multiple_contents", False),
    ],
)
def test_embed_content(otel: Telemetry, name: str, asynchronous: bool) -> None:
    """batchEmbedContents on the Developer API: one request, one span. The recorded responses
    carry embeddings only (no usageMetadata), so there are no tokens to price: never $0."""
    replay, response = embed(name, asynchronous)
    replay.done()
    recorded = json.loads(replay.interactions[0]["response"]["body"])
    assert "usageMetadata" not in recorded and "metadata" not in recorded
    assert [e.values for e in response.embeddings] == [e["values"] for e in recorded["embeddings"]]
    assert len(response.embeddings) == len(replay.request_body()["requests"])
    (span,) = otel.spans()
    a = span.attributes
    assert span.name == "embeddings gemini-embedding-001"
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["gen_ai.provider.name"] == PROVIDER
    assert a["gen_ai.request.model"] == "gemini-embedding-001"
    assert "gen_ai.usage.cost" not in a
    assert otel.metric_sum("llm_cost.usd") == 0


def test_embed_content_without_usage_is_flagged_unpriced(otel: Telemetry) -> None:
    replay, _ = embed("test_embed_content")
    replay.done()
    (span,) = otel.spans("embeddings")
    assert "gen_ai.usage.cost" not in span.attributes
    assert span.attributes.get("llm_cost.price.source") == "unpriced"
    assert otel.metric_sum("llm_cost.unpriced") == 1


def test_embedding_list_price_is_per_input_token(otel: Telemetry) -> None:
    """Had Google reported the tokens, gemini-embedding-001 is priced per input token: the
    recorded body with a usageMetadata added (its only change) costs $0.15 per million."""
    replay, response = embed("test_embed_content", usage_metadata={"promptTokenCount": 14, "totalTokenCount": 14})
    replay.done()
    assert response.usage_metadata.prompt_token_count == 14
    (span,) = otel.spans("embeddings")
    assert span.attributes["gen_ai.usage.input_tokens"] == 14
    expected = per_million(14, EMBEDDING_PRICES["gemini-embedding-001"])
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected, rel=1e-9)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected, rel=1e-9)


# --- context caches ---------------------------------------------------------------------


def _seconds(timestamp: str) -> Decimal:
    """Seconds since the epoch of an RFC 3339 UTC timestamp, nanoseconds kept."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", timestamp)
    assert match is not None
    whole = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(whole.timestamp()) + Decimal(match.group(2) or 0)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_create_cache_records_storage(otel: Telemetry, asynchronous: bool) -> None:
    """caches.create: a create_cache span with the cached tokens, the cache's lifetime
    (expireTime - createTime) and its storage cost; no token cost on the span."""
    replay = Replay(f"test_cache_create_instrumentation__test_create_cache{'_async' if asynchronous else ''}")
    body = replay.request_body()
    config = types.CreateCachedContentConfig(
        display_name=body["displayName"],
        system_instruction=body["systemInstruction"]["parts"][0]["text"],
        contents=[types.Content(role="user", parts=[types.Part(text=body["contents"][0]["parts"][0]["text"])])],
        ttl=body["ttl"],
    )
    if asynchronous:

        async def main() -> Any:
            return await replay.client.aio.caches.create(model="gemini-2.5-flash", config=config)

        cached = run(main())
    else:
        cached = replay.client.caches.create(model="gemini-2.5-flash", config=config)
    replay.done()
    recorded = json.loads(replay.interactions[0]["response"]["body"])
    assert cached.name == recorded["name"]
    assert cached.usage_metadata.total_token_count == recorded["usageMetadata"]["totalTokenCount"]
    tokens = recorded["usageMetadata"]["totalTokenCount"]
    lifetime = float(_seconds(recorded["expireTime"]) - _seconds(recorded["createTime"]))
    assert lifetime == pytest.approx(300, abs=1)  # the TTL asked for: "300s"
    per_hour = per_million(tokens, CACHE_STORAGE_PRICES["gemini-2.5-flash"])

    (span,) = otel.spans()
    a = span.attributes
    assert span.name == "create_cache gemini-2.5-flash"
    assert a["gen_ai.operation.name"] == "create_cache"
    assert a["gen_ai.provider.name"] == PROVIDER
    assert a["gen_ai.response.model"] == recorded["model"]
    assert a["gen_ai.response.id"] == recorded["name"]
    assert a["llm_cost.cache.tokens"] == tokens
    assert a["llm_cost.cache.ttl_seconds"] == pytest.approx(lifetime, abs=1e-6)  # SDK keeps microseconds
    assert a["llm_cost.cache.storage_usd_per_hour"] == pytest.approx(per_hour, rel=1e-9)
    assert a["llm_cost.cache.storage_usd_for_ttl"] == pytest.approx(per_hour * lifetime / 3600, rel=1e-6)
    assert "gen_ai.usage.cost" not in a
    assert otel.metric_sum("llm_cost.usd") == 0


def test_recorded_models_are_the_ones_priced_here() -> None:
    """Every generateContent cassette answers with a model priced above, under its own name."""
    seen = set()
    for path in CASSETTES.glob("test_instrumentation__*.json"):
        for interaction in json.loads(path.read_text())["interactions"]:
            if ":batchEmbedContents" in interaction["request"]["uri"]:
                continue
            rec = parse_generate(interaction["request"]["uri"], interaction["response"]["body"])
            assert rec.model in LIST_PRICES
            seen.add(rec.model)
    assert seen == set(LIST_PRICES)
