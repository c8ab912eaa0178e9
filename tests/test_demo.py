"""``llm-cost-otel demo``: the fake provider API, the real SDKs against it, and the demo end to end."""

from __future__ import annotations

import argparse
import http.client
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import llm_cost_otel
from llm_cost_otel.demo import Options, main, run
from llm_cost_otel.demo.command import _otlp, parse_duration
from llm_cost_otel.demo.server import FakeProviderServer, ServerConfig
from llm_cost_otel.demo.text import text_of_tokens
from llm_cost_otel.demo.workload import EXPERIMENTAL_MODEL, FEATURES

LONG_SYSTEM = text_of_tokens("test-system", 3_000)  # above every model's minimum cacheable prefix


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(ServerConfig(error_rate=0.0, latency=0.0, seed=11, batch_seconds=0.2)) as srv:
        yield srv


@pytest.fixture
def claude(server: FakeProviderServer) -> Iterator[Any]:
    client = anthropic.Anthropic(base_url=server.url, api_key="demo", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def gemini(server: FakeProviderServer) -> Iterator[Any]:
    client = genai.Client(api_key="demo", http_options=types.HttpOptions(base_url=server.url))
    yield client
    client.close()


def _ask(text: str = "Hello there") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _cached_system(ttl: str = "5m") -> list[dict[str, Any]]:
    return [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral", "ttl": ttl}}]


# --- the real Anthropic SDK against the fake API -----------------------------------------------


def test_anthropic_sync_create_caches_like_the_api(otel: Any, claude: Any) -> None:
    system = [{"type": "text", "text": text_of_tokens("cache-test-1", 3_000), "cache_control": {"type": "ephemeral"}}]
    first = claude.messages.create(model="claude-sonnet-4-5", max_tokens=300, system=system, messages=_ask())
    second = claude.messages.create(model="claude-sonnet-4-5", max_tokens=300, system=system, messages=_ask("More"))
    assert first.model == "claude-sonnet-4-5-20250929"
    assert first.content[-1].type == "text" and first.content[-1].text
    assert first.usage.cache_creation_input_tokens > 2_900 and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert 0 < second.usage.output_tokens <= 300 and second.usage.service_tier == "standard"
    spans = otel.chat_spans()
    assert len(spans) == 2
    assert spans[1].attributes["gen_ai.usage.cache_read.input_tokens"] == second.usage.cache_read_input_tokens
    assert spans[1].attributes["llm_cost.usd.cache_savings"] > 0
    assert llm_cost_otel.cost_of(second).total == pytest.approx(spans[1].attributes["gen_ai.usage.cost"])


def test_anthropic_conversation_reads_previous_turns_from_cache(claude: Any) -> None:
    """A breakpoint on the newest turn: the next turn reads the conversation so far (block lookback)."""
    system = _cached_system("1h")
    history: list[dict[str, Any]] = []
    reads = []
    writes_1h = []
    for turn in range(3):
        question = {
            "role": "user",
            "content": [{"type": "text", "text": f"Q{turn} " * 50, "cache_control": {"type": "ephemeral"}}],
        }
        msg = claude.messages.create(
            model="claude-opus-4-1", max_tokens=200, system=system, messages=[*history, question]
        )
        reads.append(msg.usage.cache_read_input_tokens)
        writes_1h.append(msg.usage.cache_creation.ephemeral_1h_input_tokens)
        history += [
            {"role": "user", "content": f"Q{turn} " * 50},
            {"role": "assistant", "content": msg.content[-1].text},
        ]
    assert writes_1h[0] > 2_900 and writes_1h[1] == 0  # the system prompt, written once with a 1h TTL
    assert reads[0] < reads[1] < reads[2]  # the cache warms up turn by turn


def test_anthropic_stream_thinking_and_web_search(otel: Any, claude: Any) -> None:
    with claude.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=4_000,
        messages=_ask(),
        thinking={"type": "enabled", "budget_tokens": 2_000},
        tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        extra_headers={"x-demo": "1"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.stop_reason in ("end_turn", "max_tokens")
    assert final.content[0].type == "thinking" and final.content[0].signature
    thinking = final.usage.output_tokens_details.thinking_tokens
    assert 600 <= thinking <= 2_000 < final.usage.output_tokens
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == thinking
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    searches = final.usage.server_tool_use.web_search_requests if final.usage.server_tool_use else 0
    assert span.attributes.get("llm_cost.requests.web_search", 0) == searches


def test_anthropic_raw_stream_and_forced_tool(claude: Any) -> None:
    tool = {
        "name": "record",
        "input_schema": {"type": "object", "properties": {"total": {"type": "number"}, "kind": {"enum": ["a", "b"]}}},
    }
    events = list(
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=300,
            messages=_ask(),
            tools=[tool],
            tool_choice={"type": "tool", "name": "record"},
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert "content_block_delta" in kinds
    assert events[-2].delta.stop_reason == "tool_use"


async def test_anthropic_async_create_and_stream(otel: Any, server: FakeProviderServer) -> None:
    client = anthropic.AsyncAnthropic(base_url=server.url, api_key="demo", max_retries=0)
    try:
        msg = await client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=_ask())
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=_ask()) as stream:
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
    finally:
        await client.close()
    assert msg.usage.output_tokens > 0 and pieces and final.usage.output_tokens > 0
    spans = otel.chat_spans()
    assert [s.attributes["gen_ai.usage.output_tokens"] for s in spans] == [
        msg.usage.output_tokens,
        final.usage.output_tokens,
    ]


def test_anthropic_count_tokens_and_batches(otel: Any, claude: Any) -> None:
    counted = claude.messages.count_tokens(model="claude-haiku-4-5", messages=_ask("word " * 400))
    assert 400 <= counted.input_tokens <= 600
    requests = [
        {"custom_id": f"r{i}", "params": {"model": "claude-haiku-4-5", "max_tokens": 200, "messages": _ask(f"doc {i}")}}
        for i in range(3)
    ]
    requests.append({"custom_id": "broken", "params": {"model": "claude-haiku-4-5", "messages": []}})
    batch = claude.messages.batches.create(requests=requests)
    assert batch.processing_status == "in_progress" and batch.results_url is None
    for _ in range(50):
        batch = claude.messages.batches.retrieve(batch.id)
        if batch.processing_status == "ended":
            break
        threading.Event().wait(0.05)
    assert batch.request_counts.succeeded == 3 and batch.request_counts.errored == 1
    results = {r.custom_id: r.result for r in claude.messages.batches.results(batch.id)}
    assert results["broken"].type == "errored"
    assert results["r0"].message.usage.service_tier == "batch"
    assert otel.chat_spans() == []  # count_tokens is free and not recorded
    (span,) = otel.spans("batch_results")
    assert span.attributes["llm_cost.batch.results"] == 3
    assert span.attributes["gen_ai.usage.cost"] > 0


def test_anthropic_long_context_needs_the_1m_beta(claude: Any) -> None:
    doc = text_of_tokens("long", 205_000)
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=_ask(doc))
    msg = claude.beta.messages.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=_ask(doc), betas=["context-1m-2025-08-07"]
    )
    assert msg.usage.input_tokens > 200_000


def test_anthropic_injected_errors_have_the_api_shape(otel: Any) -> None:
    with FakeProviderServer(ServerConfig(error_rate=1.0, latency=0.0, seed=5)) as srv:
        client = anthropic.Anthropic(base_url=srv.url, api_key="demo", max_retries=0)
        statuses = set()
        try:
            for _ in range(12):
                with pytest.raises(anthropic.APIStatusError) as info:
                    client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=_ask())
                statuses.add(info.value.status_code)
                assert info.value.body["type"] == "error"
            mid_stream = 0
            for _ in range(12):  # an error before the stream, or an `error` event inside it
                stream = client.messages.stream(model="claude-haiku-4-5", max_tokens=300, messages=_ask())
                opened = False
                with pytest.raises(anthropic.APIError), stream as events:
                    opened = True  # the HTTP status was 200: the error came inside the stream
                    for _ in events.text_stream:
                        pass
                mid_stream += opened
        finally:
            client.close()
    assert statuses <= {429, 500, 529} and len(statuses) >= 2
    assert srv.stats.injected_errors["anthropic:429"] > 0
    assert mid_stream > 0
    spans = otel.chat_spans()
    assert len(spans) == 24 and all(s.status.status_code == StatusCode.ERROR for s in spans)
    assert {s.attributes["error.type"] for s in spans} >= {"429"}
    # A stream that failed mid-way still records the usage it saw (message_start: the input).
    assert sum(1 for s in spans if s.attributes.get("gen_ai.usage.input_tokens")) == mid_stream


# --- the real google-genai SDK against the fake API ------------------------------------------------


def test_gemini_sync_generate_and_implicit_cache(otel: Any, gemini: Any) -> None:
    config = types.GenerateContentConfig(system_instruction=LONG_SYSTEM, max_output_tokens=400)
    responses = [
        gemini.models.generate_content(model="gemini-2.5-flash", contents=f"ticket {i}", config=config)
        for i in range(4)
    ]
    first = responses[0]
    assert first.text and first.model_version == "gemini-2.5-flash" and first.response_id
    usage = first.usage_metadata
    assert usage.prompt_token_count > 2_900 and usage.thoughts_token_count > 0
    assert usage.prompt_tokens_details[0].modality == types.MediaModality.TEXT
    assert (
        usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count
    )
    assert first.usage_metadata.cached_content_token_count is None
    assert any((r.usage_metadata.cached_content_token_count or 0) > 2_900 for r in responses[1:])
    spans = otel.spans("generate_content")
    assert len(spans) == 4 and all(s.attributes["gen_ai.provider.name"] == "gcp.gemini" for s in spans)
    assert all(s.attributes["gen_ai.usage.cost"] > 0 for s in spans)


def test_gemini_stream_reports_running_totals(otel: Any, gemini: Any) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1_024)
    )
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-pro", contents="hello", config=config))
    assert len(chunks) > 2
    counts = [c.usage_metadata.candidates_token_count or 0 for c in chunks]
    assert counts == sorted(counts) and counts[-1] > 0
    assert any(p.thought for c in chunks for p in c.candidates[0].content.parts)
    assert chunks[-1].candidates[0].finish_reason is not None
    (span,) = otel.spans("generate_content")
    last = chunks[-1].usage_metadata
    assert span.attributes["gen_ai.usage.output_tokens"] == last.candidates_token_count + last.thoughts_token_count


def test_gemini_embeddings_grounding_audio_and_count(otel: Any, gemini: Any) -> None:
    result = gemini.models.embed_content(
        model="gemini-embedding-001",
        contents=["first text", "second text"],
        config=types.EmbedContentConfig(output_dimensionality=16),
    )
    assert [len(e.values) for e in result.embeddings] == [16, 16]
    again = gemini.models.embed_content(
        model="gemini-embedding-001", contents=["first text"], config=types.EmbedContentConfig(output_dimensionality=16)
    )
    assert again.embeddings[0].values == result.embeddings[0].values  # same text, same vector
    grounded = [
        gemini.models.generate_content(
            model="gemini-2.5-flash",
            contents="news?",
            config=types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())]),
        )
        for _ in range(4)
    ]
    assert any(r.candidates[0].grounding_metadata for r in grounded)
    memo = gemini.models.generate_content(
        model="gemini-2.5-flash",
        contents=[types.Part.from_bytes(data=b"\x00" * 60_000, mime_type="audio/ogg"), "Transcribe."],
    )
    audio = [d for d in memo.usage_metadata.prompt_tokens_details if d.modality == types.MediaModality.AUDIO]
    assert audio and audio[0].token_count == 960  # 30 s at 32 tokens a second
    assert gemini.models.count_tokens(model="gemini-2.5-flash", contents="hello world").total_tokens > 0
    spans = otel.spans("embeddings")
    assert len(spans) == 2 and spans[0].attributes["gen_ai.usage.cost"] > 0


async def test_gemini_async_generate_stream_and_embed(otel: Any, server: FakeProviderServer) -> None:
    client = genai.Client(api_key="demo", http_options=types.HttpOptions(base_url=server.url))
    try:
        response = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
        chunks = [
            c async for c in await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        ]
        embedded = await client.aio.models.embed_content(model="gemini-embedding-001", contents=["a", "b", "c"])
    finally:
        await client.aio.aclose()
        client.close()
    assert response.text and chunks[-1].usage_metadata.total_token_count > 0
    assert len(embedded.embeddings) == 3 and len(embedded.embeddings[0].values) == 3_072
    assert len(otel.spans("generate_content")) == 2 and len(otel.spans("embeddings")) == 1


def test_gemini_injected_errors_have_the_api_shape() -> None:
    with FakeProviderServer(ServerConfig(error_rate=1.0, latency=0.0, seed=5)) as srv:
        client = genai.Client(api_key="demo", http_options=types.HttpOptions(base_url=srv.url))
        codes = set()
        try:
            for _ in range(12):
                with pytest.raises(genai_errors.APIError) as info:
                    client.models.generate_content(model="gemini-2.5-flash", contents="hi")
                codes.add(info.value.code)
                assert info.value.status in ("RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE")
        finally:
            client.close()
    assert codes <= {429, 500, 503} and len(codes) >= 2


# --- bad requests: clear 4xx JSON, and the server keeps serving -------------------------------------

GOOD_MESSAGE = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
ANTHROPIC_HEADERS = {"x-api-key": "demo", "content-type": "application/json"}
GOOGLE_HEADERS = {"x-goog-api-key": "demo", "content-type": "application/json"}
GEMINI = "/v1beta/models/gemini-2.5-flash:generateContent"

BAD_REQUESTS = [
    # (method, path, headers, body, status, error type/status, words in the message)
    ("POST", "/v1/messages", ANTHROPIC_HEADERS, b"{not json", 400, "invalid_request_error", "not valid JSON"),
    ("POST", "/v1/messages", ANTHROPIC_HEADERS, b"", 400, "invalid_request_error", "empty"),
    ("POST", "/v1/messages", ANTHROPIC_HEADERS, b"[1, 2]", 400, "invalid_request_error", "JSON object"),
    (
        "POST",
        "/v1/messages",
        ANTHROPIC_HEADERS,
        {"max_tokens": 5, "messages": []},
        400,
        "invalid_request_error",
        "model",
    ),
    (
        "POST",
        "/v1/messages",
        ANTHROPIC_HEADERS,
        {**GOOD_MESSAGE, "max_tokens": None},
        400,
        "invalid_request_error",
        "max_tokens",
    ),
    (
        "POST",
        "/v1/messages",
        ANTHROPIC_HEADERS,
        {**GOOD_MESSAGE, "messages": []},
        400,
        "invalid_request_error",
        "messages",
    ),
    ("POST", "/v1/messages", ANTHROPIC_HEADERS, {**GOOD_MESSAGE, "model": "gpt-4o"}, 404, "not_found_error", "gpt-4o"),
    (
        "POST",
        "/v1/messages",
        ANTHROPIC_HEADERS,
        {**GOOD_MESSAGE, "thinking": {"type": "enabled", "budget_tokens": 2048}},
        400,
        "invalid_request_error",
        "budget_tokens",
    ),
    (
        "POST",
        "/v1/messages",
        ANTHROPIC_HEADERS,
        {
            **GOOD_MESSAGE,
            "system": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}] * 5,
        },
        400,
        "invalid_request_error",
        "maximum of 4",
    ),
    (
        "POST",
        "/v1/messages",
        {"content-type": "application/json"},
        GOOD_MESSAGE,
        401,
        "authentication_error",
        "x-api-key",
    ),
    ("GET", "/v1/messages", ANTHROPIC_HEADERS, None, 405, "invalid_request_error", "not allowed"),
    ("GET", "/v2/nothing", ANTHROPIC_HEADERS, None, 404, "not_found_error", "Unknown endpoint"),
    ("GET", "/v1/messages/batches/msgbatch_nope", ANTHROPIC_HEADERS, None, 404, "not_found_error", "msgbatch_nope"),
    ("POST", "/v1/messages/batches", ANTHROPIC_HEADERS, {"requests": []}, 400, "invalid_request_error", "requests"),
    ("POST", GEMINI, GOOGLE_HEADERS, b"{oops", 400, "INVALID_ARGUMENT", "not valid JSON"),
    ("POST", GEMINI, GOOGLE_HEADERS, {"generationConfig": {}}, 400, "INVALID_ARGUMENT", "contents"),
    ("POST", "/v1beta/models/:generateContent", GOOGLE_HEADERS, {"contents": []}, 400, "INVALID_ARGUMENT", "model"),
    (
        "POST",
        "/v1beta/models/gpt-4o:generateContent",
        GOOGLE_HEADERS,
        {"contents": [{"parts": [{"text": "x"}]}]},
        404,
        "NOT_FOUND",
        "gpt-4o",
    ),
    ("POST", "/v1beta/models/gemini-2.5-flash:fooBar", GOOGLE_HEADERS, {"contents": []}, 404, "NOT_FOUND", "fooBar"),
    ("POST", GEMINI, {"content-type": "application/json"}, {"contents": []}, 403, "PERMISSION_DENIED", "API key"),
    (
        "POST",
        "/v1beta/models/gemini-2.5-pro:generateContent",
        GOOGLE_HEADERS,
        {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}},
        400,
        "INVALID_ARGUMENT",
        "thinking mode",
    ),
]


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str], body: Any
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    assert response.getheader("content-type", "").startswith("application/json")
    return response.status, json.loads(response.read())


def test_bad_requests_get_clear_4xx_json_and_the_server_keeps_serving(server: FakeProviderServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)  # one keep-alive connection throughout
    try:
        for method, path, headers, body, status, kind, words in BAD_REQUESTS:
            got, answer = _request(conn, method, path, headers, body)
            where = f"{method} {path} {body!r:.60}"
            assert got == status, where
            if "error" in answer and "code" in answer["error"]:  # Google's shape
                assert answer["error"]["code"] == status and answer["error"]["status"] == kind, where
            else:  # Anthropic's shape
                assert answer["type"] == "error" and answer["error"]["type"] == kind, where
            message = json.dumps(answer)
            assert words.lower() in message.lower(), (where, message)
            status_ok, ok = _request(conn, "POST", "/v1/messages", ANTHROPIC_HEADERS, GOOD_MESSAGE)
            assert status_ok == 200 and ok["type"] == "message", f"not serving after {where}"
    finally:
        conn.close()


def test_oversized_body_is_refused_and_the_connection_closed(server: FakeProviderServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("POST", "/v1/messages")
        conn.putheader("x-api-key", "demo")
        conn.putheader("content-length", str(200 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["type"] == "request_too_large"
    finally:
        conn.close()
    assert server.stats.client_errors  # counted, and the next client is served
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        assert _request(conn, "GET", "/", {}, None)[0] == 200
    finally:
        conn.close()


# --- the demo end to end ----------------------------------------------------------------------------


def _request_spans(spans: Any) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.instrumentation_scope is not None
        and s.instrumentation_scope.name == "llm_cost_otel"
        and s.kind == SpanKind.CLIENT
    ]


def test_demo_end_to_end_report_totals_equal_span_costs() -> None:
    exporter = InMemorySpanExporter()
    out, err = io.StringIO(), io.StringIO()
    options = Options(
        duration=3.0,
        rate=25.0,
        error_rate=0.05,
        latency=0.1,
        seed=7,
        progress=True,
        batch_seconds=0.2,
        otlp_endpoint=None,
    )
    report = run(options, out=out, err=err, span_processors=[SimpleSpanProcessor(exporter)])
    spans = exporter.get_finished_spans()
    requests = _request_spans(spans)

    # The report's total (from the llm_cost.usd metric) equals the sum of the span costs:
    # gen_ai.usage.cost over every request span (chat, generate_content, embeddings), plus the
    # batch retrieval spans, which carry their batch's total.
    span_total = sum(s.attributes.get("gen_ai.usage.cost", 0.0) for s in requests)
    assert span_total > 0
    assert report.total_usd == pytest.approx(span_total, rel=1e-9, abs=0)
    assert report.span_total_usd == pytest.approx(span_total, rel=1e-9, abs=0)
    for breakdown in (report.by_provider, report.by_model, report.by_feature, report.by_tenant, report.by_component):
        assert sum(breakdown.values()) == pytest.approx(report.total_usd, rel=1e-9)
    for span in requests:  # each priced span: total = its components
        attrs = span.attributes
        if "gen_ai.usage.cost" in attrs and attrs["gen_ai.operation.name"] != "batch_results":
            parts = sum(
                attrs.get(f"llm_cost.usd.{c}", 0.0)  # a $0 component is left out
                for c in ("input", "output", "cache_read", "cache_write", "request_fees")
            )
            assert parts == pytest.approx(attrs["gen_ai.usage.cost"], rel=1e-9)

    # Both SDKs, every kind of call the workload makes, and the app's attribution.
    operations = {s.attributes["gen_ai.operation.name"] for s in requests}
    assert {"chat", "generate_content", "embeddings", "batch_results"} <= operations
    assert {"anthropic", "gcp.gemini"} <= {s.attributes["gen_ai.provider.name"] for s in requests}
    assert set(report.by_provider) == {"anthropic", "gcp.gemini"}
    assert set(report.by_feature) <= set(FEATURES) and {"classify", "chat", "summarise"} <= set(report.by_feature)
    assert all("tenant.id" in s.attributes for s in requests)
    assert report.unpriced.get(EXPERIMENTAL_MODEL, 0) > 0  # the early-access model: unpriced, not $0
    assert report.batches == 4 and report.batch_results > 0
    assert any(
        s.attributes.get("llm_cost.price.source") == "unpriced" or s.attributes.get("llm_cost.batch.unpriced_results")
        for s in requests
    )
    runs = [s for s in spans if s.kind == SpanKind.INTERNAL and "llm_cost.rollup.cost_usd" in s.attributes]
    assert {"summarise_document", "nightly_digest"} <= {s.name for s in runs}
    assert report.top_runs and report.top_runs[0].cost_usd == max(
        s.attributes["llm_cost.rollup.cost_usd"] for s in runs
    )
    assert report.requests == len(requests)
    assert report.failed == sum(1 for s in requests if s.status.status_code == StatusCode.ERROR)
    assert report.cache_savings_usd > 0

    text = out.getvalue()
    assert f"Total spend: ${report.total_usd:.4f}" in text and "matches" in text
    for section in (
        "By provider",
        "By model",
        "By feature",
        "By component",
        "Prompt caching",
        "Unpriced calls",
        "track() runs",
    ):
        assert section in text
    assert EXPERIMENTAL_MODEL in text
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 llm-cost-otel demo" in text
    assert "requests" in err.getvalue() and "spent so far" in err.getvalue()  # the progress line

    # The demo cleaned up after itself: the SDKs are no longer instrumented.
    exporter.clear()
    with FakeProviderServer(ServerConfig(error_rate=0, latency=0)) as srv:
        client = anthropic.Anthropic(base_url=srv.url, api_key="demo")
        client.messages.create(**GOOD_MESSAGE)
        client.close()
    assert exporter.get_finished_spans() == ()


def test_main_runs_the_demo_and_prints_the_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert main(["--duration", "2s", "--rate", "15", "--latency", "0", "--seed", "3", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "cost report" in captured.out and "Total spend: $" in captured.out
    assert "By feature (app.feature)" in captured.out and "spent so far" not in captured.err


class _Collector(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).received.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_demo_exports_over_otlp_and_still_prints_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    try:
        out = io.StringIO()
        options = Options(
            duration=1.5, rate=10, latency=0, seed=2, progress=False, batch_seconds=0.1, otlp_endpoint=endpoint
        )
        report = run(options, out=out, err=io.StringIO())
    finally:
        collector.shutdown()
        collector.server_close()
    assert report.total_usd > 0
    assert "/v1/traces" in _Collector.received and "/v1/metrics" in _Collector.received
    assert f"sent over OTLP to {endpoint}" in out.getvalue()


def test_missing_otlp_exporter_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    err = io.StringIO()
    readers: list[Any] = []
    assert _otlp("http://127.0.0.1:4318", TracerProvider(), readers, err) is False
    assert "pip install opentelemetry-exporter-otlp-proto-http" in err.getvalue() and readers == []


def test_unreachable_otlp_endpoint_is_skipped_with_a_clear_message() -> None:
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    err = io.StringIO()
    readers: list[Any] = []
    assert _otlp(f"http://127.0.0.1:{port}", TracerProvider(), readers, err) is False
    assert "nothing answers" in err.getvalue() and "docker compose up -d" in err.getvalue() and readers == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), ("12", 12)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10x", "0s", "-5", "2d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_bad_option_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--rate", "-1"])
    assert info.value.code == 2 and "must be > 0" in capsys.readouterr().err
