"""The Google GenAI adapter against the real google-genai client over httpx2.MockTransport.

Expected costs are computed here from published list prices (USD per million tokens).
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import errors, types

import llm_cost_otel
from llm_cost_otel.deferred import settle
from support import per_million

FLASH_IN, FLASH_AUDIO_IN, FLASH_OUT, FLASH_READ = 0.30, 1.00, 2.50, 0.03  # gemini-2.5-flash
PRO_IN, PRO_OUT, PRO_LONG_IN, PRO_LONG_OUT = 1.25, 10.0, 2.50, 15.0  # gemini-2.5-pro, >200k prompt

Handler = Callable[[httpx2.Request], httpx2.Response]


def response_json(
    model: str = "gemini-2.5-flash",
    text: str = "Hello!",
    usage: dict[str, Any] | None = None,
    parts: list[dict[str, Any]] | None = None,
    response_id: str = "resp-1",
) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts or [{"text": text}]}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": usage or {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        "modelVersion": model,
        "responseId": response_id,
    }


def sse(chunks: list[dict[str, Any]]) -> httpx2.Response:
    body = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


def gemini_client(handler: Handler, **http: Any) -> genai.Client:
    return genai.Client(
        api_key="AIza-test-SECRET",
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": httpx2.MockTransport(handler)},
            async_client_args={"transport": httpx2.MockTransport(handler)},
            **http,
        ),
    )


def vertex_client(handler: Handler) -> genai.Client:
    from google.oauth2.credentials import Credentials

    return genai.Client(
        vertexai=True,
        project="proj",
        location="us-central1",
        credentials=Credentials(token="ya29-test-SECRET"),
        http_options=types.HttpOptions(
            client_args={"transport": httpx2.MockTransport(handler)},
            async_client_args={"transport": httpx2.MockTransport(handler)},
        ),
    )


def flash_cost(text_in: int = 0, audio_in: int = 0, out: int = 0, read: int = 0) -> float:
    return (
        per_million(text_in, FLASH_IN)
        + per_million(audio_in, FLASH_AUDIO_IN)
        + per_million(out, FLASH_OUT)
        + per_million(read, FLASH_READ)
    )


def test_generate_content_thinking_cache_audio(otel: Any) -> None:
    usage = {
        "promptTokenCount": 12_000,  # includes the 8,000 cached tokens
        "cachedContentTokenCount": 8_000,
        "candidatesTokenCount": 300,
        "thoughtsTokenCount": 1_200,
        "toolUsePromptTokenCount": 500,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 11_000}, {"modality": "AUDIO", "tokenCount": 1_000}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 8_000}],
        "totalTokenCount": 14_000,
    }
    client = gemini_client(lambda r: httpx2.Response(200, json=response_json(usage=usage)))
    result = client.models.generate_content(
        model="gemini-2.5-flash", contents="hi", config={"temperature": 0.2, "max_output_tokens": 2000}
    )
    # uncached input = 12,000 - 8,000 + 500 tool-use = 4,500, of which 1,000 audio
    expected = flash_cost(text_in=3_500, audio_in=1_000, out=300 + 1_200, read=8_000)
    (span,) = otel.spans("generate_content")
    a = span.attributes
    assert span.name == "generate_content gemini-2.5-flash"
    assert a["gen_ai.provider.name"] == "gcp.gemini"
    assert a["gen_ai.operation.name"] == "generate_content"
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.max_tokens"] == 2000
    assert a["gen_ai.response.model"] == "gemini-2.5-flash"
    assert a["gen_ai.response.id"] == "resp-1"
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == 12_500
    assert a["gen_ai.usage.cache_read.input_tokens"] == 8_000
    assert a["gen_ai.usage.output_tokens"] == 1_500  # thinking is billed as output
    assert a["gen_ai.usage.reasoning.output_tokens"] == 1_200
    assert a["gen_ai.usage.cost"] == pytest.approx(expected, rel=1e-12)
    assert a["llm_cost.usd.cache_savings"] == pytest.approx(per_million(8_000, FLASH_IN - FLASH_READ))
    assert result.text == "Hello!"
    assert result.usage_metadata.prompt_token_count == 12_000
    assert llm_cost_otel.cost_of(result).total == pytest.approx(expected)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected)
    assert otel.metric_sum("llm_cost.tokens") == 12_500 + 1_500


def test_long_context_tier_on_pro(otel: Any) -> None:
    usage = {"promptTokenCount": 250_000, "candidatesTokenCount": 1_000, "totalTokenCount": 251_000}
    client = gemini_client(lambda r: httpx2.Response(200, json=response_json(model="gemini-2.5-pro", usage=usage)))
    client.models.generate_content(model="gemini-2.5-pro", contents="long")
    (span,) = otel.spans("generate_content")
    expected = per_million(250_000, PRO_LONG_IN) + per_million(1_000, PRO_LONG_OUT)
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected, rel=1e-12)


def test_model_names_are_normalised_for_pricing(otel: Any) -> None:
    client = gemini_client(lambda r: httpx2.Response(200, json=response_json(model="gemini-2.5-flash")))
    client.models.generate_content(model="models/gemini-2.5-flash", contents="hi")
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.request.model"] == "models/gemini-2.5-flash"  # as sent
    assert span.attributes["llm_cost.price.model"] == "gemini-2.5-flash"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(flash_cost(text_in=10, out=5))


def test_automatic_function_calling_counts_every_request(otel: Any) -> None:
    turns = [
        response_json(
            parts=[{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
            usage={"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120},
            response_id="turn-1",
        ),
        response_json(
            text="It is sunny in Paris.",
            usage={"promptTokenCount": 160, "candidatesTokenCount": 30, "totalTokenCount": 190},
            response_id="turn-2",
        ),
    ]
    served = iter(turns)
    client = gemini_client(lambda r: httpx2.Response(200, json=next(served)))

    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    with llm_cost_otel.track("weather") as run:
        result = client.models.generate_content(
            model="gemini-2.5-flash",
            contents="Weather in Paris?",
            config=types.GenerateContentConfig(tools=[get_weather]),
        )
    assert result.text == "It is sunny in Paris."
    assert result.usage_metadata.prompt_token_count == 160  # the SDK reports only the last turn
    spans = otel.spans("generate_content")
    assert [s.attributes["gen_ai.response.id"] for s in spans] == ["turn-1", "turn-2"]
    expected = flash_cost(text_in=100, out=20) + flash_cost(text_in=160, out=30)
    assert sum(s.attributes["gen_ai.usage.cost"] for s in spans) == pytest.approx(expected)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected)
    assert run.calls == 2 and run.cost_usd == pytest.approx(expected)


def test_chat_is_one_span_per_request(otel: Any) -> None:
    client = gemini_client(lambda r: httpx2.Response(200, json=response_json()))
    chat = client.chats.create(model="gemini-2.5-flash")
    chat.send_message("one")
    chat.send_message("two")
    for _ in chat.send_message_stream("three"):
        pass
    assert len(chat.get_history()) >= 4
    assert len(otel.spans("generate_content")) == 3
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(3 * flash_cost(text_in=10, out=5))


def _stream_chunks(n: int = 4) -> list[dict[str, Any]]:
    chunks = []
    for i in range(1, n + 1):
        chunk = response_json(
            text=f"part{i} ",
            usage={
                "promptTokenCount": 400,
                "candidatesTokenCount": 10 * i,
                "thoughtsTokenCount": 50,
                "totalTokenCount": 0,
            },
        )
        if i < n:
            del chunk["candidates"][0]["finishReason"]
        chunks.append(chunk)
    return chunks


def test_stream_takes_last_running_total_never_sums(otel: Any) -> None:
    client = gemini_client(lambda r: sse(_stream_chunks(4)))
    text = "".join(c.text for c in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert text == "part1 part2 part3 part4 "
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.output_tokens"] == 40 + 50
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(flash_cost(text_in=400, out=90))
    assert len(otel.metric_points("gen_ai.client.operation.time_to_first_chunk")) == 1


def test_stream_stopped_early_records_what_it_saw(otel: Any) -> None:
    client = gemini_client(lambda r: sse(_stream_chunks(4)))
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    for i, _chunk in enumerate(stream):
        if i == 1:
            break
    del stream
    gc.collect()
    settle()  # finishes the collector deferred
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.output_tokens"] == 20 + 50


def test_stream_never_iterated_sends_nothing_and_records_nothing(otel: Any) -> None:
    sent = []
    client = gemini_client(lambda r: sent.append(r) or sse(_stream_chunks(2)))
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    del stream
    gc.collect()
    settle()  # finishes the collector deferred
    assert sent == []
    assert otel.spans("generate_content") == []


def test_errors_and_retries(otel: Any) -> None:
    attempts = {"n": 0}

    def flaky(request: httpx2.Request) -> httpx2.Response:
        attempts["n"] += 1
        if attempts["n"] == 1:
            return httpx2.Response(503, json={"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}})
        return httpx2.Response(200, json=response_json())

    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.001, max_delay=0.001)
    client = gemini_client(flaky, retry_options=retry)
    client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert attempts["n"] == 2
    (span,) = otel.spans("generate_content")  # one span for the retried request, billed once
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(flash_cost(text_in=10, out=5))

    bad = gemini_client(
        lambda r: httpx2.Response(
            400, json={"error": {"code": 400, "message": "bad arg", "status": "INVALID_ARGUMENT"}}
        )
    )
    with pytest.raises(errors.ClientError, match="bad arg"):
        bad.models.generate_content(model="gemini-2.5-flash", contents="hi")
    failed = otel.spans("generate_content")[-1]
    assert failed.status.status_code.name == "ERROR"
    assert failed.attributes["error.type"] == "400"


def test_embeddings(otel: Any) -> None:
    body = {"embeddings": [{"values": [0.1, 0.2]}, {"values": [0.3, 0.4]}], "usageMetadata": {"promptTokenCount": 40}}
    client = gemini_client(lambda r: httpx2.Response(200, json=body))
    result = client.models.embed_content(model="gemini-embedding-001", contents=["a", "b"])
    assert len(result.embeddings) == 2
    (span,) = otel.spans("embeddings")
    assert span.name == "embeddings gemini-embedding-001"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(40, 0.15))


def test_vertex_provider_name_and_async(otel: Any) -> None:
    client = vertex_client(lambda r: httpx2.Response(200, json=response_json(model="gemini-2.5-flash")))

    async def main() -> None:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        async for _ in stream:
            pass

    asyncio.run(main())
    spans = otel.spans("generate_content")
    assert [s.attributes["gen_ai.provider.name"] for s in spans] == ["gcp.vertex_ai", "gcp.vertex_ai"]
    assert spans[0].attributes["server.address"] == "us-central1-aiplatform.googleapis.com"
    for span in spans:
        assert span.attributes["gen_ai.usage.cost"] == pytest.approx(flash_cost(text_in=10, out=5))


def test_async_stream_broken_early_then_dropped_ends_span(otel: Any) -> None:
    client = gemini_client(lambda r: sse(_stream_chunks(3)))

    async def main() -> None:
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        async for _chunk in stream:
            break
        await stream.aclose()

    asyncio.run(main())
    gc.collect()
    settle()  # finishes the collector deferred
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.output_tokens"] == 10 + 50  # the first chunk's running total


def test_async_task_cancelled_mid_stream(otel: Any) -> None:
    client = gemini_client(lambda r: sse(_stream_chunks(3)))

    async def main() -> None:
        started = asyncio.Event()

        async def consume() -> None:
            stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
            async for _chunk in stream:
                started.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    gc.collect()
    settle()  # finishes the collector deferred
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.output_tokens"] == 10 + 50


def test_no_secret_in_telemetry(otel: Any) -> None:
    client = vertex_client(lambda r: httpx2.Response(200, json=response_json()))
    client.models.generate_content(model="gemini-2.5-flash", contents="my private words")
    gclient = gemini_client(lambda r: httpx2.Response(200, json=response_json()))
    gclient.models.generate_content(model="gemini-2.5-flash", contents="my private words")
    dump = "".join(s.to_json() for s in otel.exporter.get_finished_spans())
    assert "SECRET" not in dump and "my private words" not in dump


def test_vertex_prices_gemini_2_0_flash_above_developer_api(otel: Any) -> None:
    usage = {"promptTokenCount": 10_000, "candidatesTokenCount": 1_000, "totalTokenCount": 11_000}
    body = response_json(model="gemini-2.0-flash-001", usage=usage)
    vclient = vertex_client(lambda r: httpx2.Response(200, json=body))  # keep a reference: __del__ closes it
    vclient.models.generate_content(model="gemini-2.0-flash", contents="hi")
    gclient = gemini_client(lambda r: httpx2.Response(200, json=body))
    gclient.models.generate_content(model="gemini-2.0-flash", contents="hi")
    vertex, developer = otel.spans("generate_content")
    # published: Vertex AI $0.15 / $0.60, Gemini Developer API $0.10 / $0.40 per MTok
    assert vertex.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(10_000, 0.15) + per_million(1_000, 0.60))
    assert vertex.attributes["llm_cost.price.source"] == "correction"
    assert developer.attributes["gen_ai.usage.cost"] == pytest.approx(
        per_million(10_000, 0.10) + per_million(1_000, 0.40)
    )
    assert developer.attributes["llm_cost.price.source"] == "catalog"


def test_vertex_text_embedding_priced_per_character(otel: Any) -> None:
    body = {
        "predictions": [
            {"embeddings": {"statistics": {"token_count": 7, "truncated": False}, "values": [0.1, 0.2]}},
            {"embeddings": {"statistics": {"token_count": 5, "truncated": False}, "values": [0.3, 0.4]}},
        ],
        "metadata": {"billableCharacterCount": 4_000},
    }
    client = vertex_client(lambda r: httpx2.Response(200, json=body))
    result = client.models.embed_content(model="text-embedding-005", contents=["first text", "second"])
    assert len(result.embeddings) == 2
    (span,) = otel.spans("embeddings")
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.attributes["llm_cost.characters.input"] == 4_000
    # published: $0.000025 per 1,000 characters
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(4_000 / 1_000 * 0.000025)


def test_context_cache_creation_records_storage(otel: Any) -> None:
    cached = {
        "name": "cachedContents/abc123",
        "model": "models/gemini-2.5-flash",
        "createTime": "2026-11-01T10:00:00Z",
        "updateTime": "2026-11-01T10:00:00Z",
        "expireTime": "2026-11-01T12:00:00Z",
        "usageMetadata": {"totalTokenCount": 50_000},
    }
    client = gemini_client(lambda r: httpx2.Response(200, json=cached))
    result = client.caches.create(
        model="gemini-2.5-flash", config=types.CreateCachedContentConfig(contents=["big document"], ttl="7200s")
    )
    assert result.name == "cachedContents/abc123"
    (span,) = otel.spans("create_cache")
    a = span.attributes
    assert a["llm_cost.cache.tokens"] == 50_000
    assert a["llm_cost.cache.ttl_seconds"] == 7200
    # published: $1.00 per million cached tokens per hour on 2.5 Flash
    assert a["llm_cost.cache.storage_usd_per_hour"] == pytest.approx(50_000 * 1.00 / 1e6)
    assert a["llm_cost.cache.storage_usd_for_ttl"] == pytest.approx(2 * 50_000 * 1.00 / 1e6)
    assert "gen_ai.usage.cost" not in a  # storage is not a token cost; the TTL may be cut short
    assert otel.metric_sum("llm_cost.usd") == 0


def test_batch_job_results_counted_once_at_batch_rates(otel: Any) -> None:
    def inlined(prompt: int, out: int, rid: str) -> dict[str, Any]:
        return {
            "response": response_json(
                usage={"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out},
                response_id=rid,
            )
        }

    job = {
        "name": "batches/job-1",
        "metadata": {
            "model": "models/gemini-2.5-flash",
            "state": "BATCH_STATE_SUCCEEDED",
            "output": {"inlinedResponses": {"inlinedResponses": [inlined(1000, 100, "b1"), inlined(3000, 300, "b2")]}},
        },
    }
    client = gemini_client(lambda r: httpx2.Response(200, json=job))
    with llm_cost_otel.track("nightly") as run:
        for _ in range(3):  # apps poll: results are billed once
            got = client.batches.get(name="batches/job-1")
    assert got.dest.inlined_responses[1].response.usage_metadata.prompt_token_count == 3000
    # published batch price: 50% of $0.30 in / $2.50 out
    expected = 0.5 * (flash_cost(text_in=4000, out=400))
    (span,) = otel.spans("batch_results")
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected)
    assert span.attributes["llm_cost.batch.results"] == 2
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected)
    assert run.calls == 2 and run.cost_usd == pytest.approx(expected)
    # each result is a generate_content request, not an Anthropic-style "chat"
    operations = {p.attributes["gen_ai.operation.name"] for p in otel.metric_points("llm_cost.usd")}
    assert operations == {"generate_content"}


def test_generated_images_priced_per_image_or_unpriced(otel: Any) -> None:
    body = {
        "predictions": [
            {"bytesBase64Encoded": "aGVsbG8=", "mimeType": "image/png"},
            {"bytesBase64Encoded": "aGVsbG8=", "mimeType": "image/png"},
        ]
    }
    client = vertex_client(lambda r: httpx2.Response(200, json=body))
    result = client.models.generate_images(model="imagen-4.0-generate-001", prompt="a cat")
    assert len(result.generated_images) == 2
    client.models.generate_images(model="imagen-9-experimental", prompt="a cat")
    priced, unknown = otel.spans("generate_images")
    assert priced.attributes["llm_cost.images.output"] == 2
    assert priced.attributes["gen_ai.usage.cost"] == pytest.approx(2 * 0.04)  # published: $0.04 per image
    assert unknown.attributes["llm_cost.price.source"] == "unpriced"  # never $0
    assert "gen_ai.usage.cost" not in unknown.attributes
    assert otel.metric_sum("llm_cost.unpriced") == 1


class FakeLiveSocket:
    """Stands in for the websocket under the real google-genai Live client: records what the
    SDK sends and answers with scripted server messages."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.sent: list[Any] = []
        self.replies = [json.dumps({"setupComplete": {}}).encode()] + [json.dumps(m).encode() for m in messages]

    async def __aenter__(self) -> FakeLiveSocket:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def send(self, data: Any) -> None:
        self.sent.append(data)

    async def recv(self, decode: bool = True) -> Any:
        return self.replies.pop(0)

    async def close(self) -> None:
        return None


def test_live_session_one_call_per_turn(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.genai import live

    def usage(prompt: int, audio_out: int) -> dict[str, Any]:
        return {
            "promptTokenCount": prompt,
            "responseTokenCount": audio_out,
            "totalTokenCount": prompt + audio_out,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": audio_out}],
        }

    socket = FakeLiveSocket(
        [
            {"serverContent": {"modelTurn": {"parts": [{"text": "Hi"}]}}},
            {"serverContent": {"turnComplete": True}, "usageMetadata": usage(100, 20)},
            {"serverContent": {"modelTurn": {"parts": [{"text": "Again"}]}}},
            {"serverContent": {"turnComplete": True}},
            {"usageMetadata": usage(160, 40)},  # usage sent just after turn_complete
        ]
    )
    monkeypatch.setattr(live, "ws_connect", lambda *a, **k: socket)
    client = gemini_client(lambda r: httpx2.Response(500))

    async def main() -> list[str]:
        texts = []
        async with client.aio.live.connect(
            model="gemini-live-2.5-flash", config={"response_modalities": ["TEXT"]}
        ) as s:
            await s.send_client_content(turns={"role": "user", "parts": [{"text": "hello"}]})
            async for message in s.receive():
                texts.append(message.text or "")
            await s.send_client_content(turns={"role": "user", "parts": [{"text": "again"}]})
            async for message in s.receive():
                texts.append(message.text or "")
            await s._receive()  # the trailing usage message
        return texts

    assert "".join(asyncio.run(main())) == "HiAgain"
    first, second = otel.spans("generate_content")
    # published gemini-live-2.5-flash: $0.50 / M text input, $12 / M audio output
    assert first.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(100, 0.50) + per_million(20, 12.0))
    assert second.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(160, 0.50) + per_million(40, 12.0))
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(per_million(260, 0.50) + per_million(60, 12.0))


def test_flex_service_tier_changes_the_price(otel: Any) -> None:
    # gemini-3.8-flash-tts in the shipped genai-prices 0.2.3 data: standard $0.50 / $9.00 per
    # MTok, flex $0.25 / $4.50 (from 2026-10-15).
    usage = {"promptTokenCount": 2000, "candidatesTokenCount": 1000, "totalTokenCount": 3000}
    client = gemini_client(
        lambda r: httpx2.Response(200, json=response_json(model="gemini-3.8-flash-tts", usage=usage))
    )
    client.models.generate_content(model="gemini-3.8-flash-tts", contents="read this", config={"service_tier": "flex"})
    client.models.generate_content(model="gemini-3.8-flash-tts", contents="read this")
    flex, standard = otel.spans("generate_content")
    assert flex.attributes["llm_cost.price.tier"] == "flex"
    assert flex.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(2000, 0.25) + per_million(1000, 4.50))
    assert standard.attributes["gen_ai.usage.cost"] == pytest.approx(per_million(2000, 0.50) + per_million(1000, 9.00))


def test_server_address_and_port_follow_the_base_url(otel: Any) -> None:
    def ok(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=response_json())

    default = gemini_client(ok)  # held: a dropped genai.Client closes its HTTP client
    default.models.generate_content(model="gemini-2.5-flash", contents="hi")
    local = genai.Client(
        api_key="AIza-test-SECRET",
        http_options=types.HttpOptions(
            base_url="http://127.0.0.1:8124/", client_args={"transport": httpx2.MockTransport(ok)}
        ),
    )
    local.models.generate_content(model="gemini-2.5-flash", contents="hi")
    spans = otel.spans("generate_content")
    assert [(s.attributes["server.address"], s.attributes["server.port"]) for s in spans] == [
        ("generativelanguage.googleapis.com", 443),
        ("127.0.0.1", 8124),
    ]


@pytest.mark.parametrize(
    ("model", "billed"),
    [("gemini-2.5-flash", 1), ("gemini-3-pro-preview", 3), ("gemini-3.5-flash", 3), ("gemini-4-hydrogen", 3)],
)
def test_grounding_is_billed_per_prompt_before_gemini_3_and_per_query_after(otel: Any, model: str, billed: int) -> None:
    body = response_json(model=model)
    body["candidates"][0]["groundingMetadata"] = {"webSearchQueries": ["a", "b", "c"]}
    client = gemini_client(lambda r: httpx2.Response(200, json=body))  # kept: its __del__ closes it
    client.models.generate_content(model=model, contents="q")
    (span,) = otel.spans("generate_content")
    assert span.attributes["llm_cost.requests.web_search"] == billed
