"""The Gemini Interactions API (client.interactions), replaying responses recorded from the real API.

Expected costs come from published gemini-2.5-flash prices: $0.30 / M input, $2.50 / M output
(thinking included).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import types

import llm_cost_otel
from support import per_million

CASSETTES = Path(__file__).parent / "cassettes" / "google_genai_interactions"


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((CASSETTES / f"test_interactions_instrumentation__{name}.json").read_text())
    return data["interactions"][0]


def client_for(interaction: dict[str, Any]) -> genai.Client:
    response = interaction["response"]

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path.endswith("/interactions")
        return httpx2.Response(
            response["status"], content=response["body"].encode(), headers={"content-type": response["content_type"]}
        )

    transport = httpx2.MockTransport(handler)
    return genai.Client(
        api_key="AIza-test",
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": transport},
            async_client_args={"transport": transport},
        ),
    )


def final_usage(interaction: dict[str, Any]) -> dict[str, int]:
    body = interaction["response"]["body"]
    if interaction["response"]["content_type"] == "application/json":
        return json.loads(body)["usage"]
    events = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data: {")]
    return next(e["interaction"]["usage"] for e in events if e.get("event_type") == "interaction.completed")


def expected_cost(usage: dict[str, int]) -> float:
    output = usage["total_output_tokens"] + usage["total_thought_tokens"]
    return per_million(usage["total_input_tokens"], 0.30) + per_million(output, 2.50)


def test_create(otel: Any) -> None:
    interaction = recorded("test_generate_interactions_simple_message_False")
    client = client_for(interaction)
    result = client.interactions.create(model="gemini-2.5-flash", input="Tell me a short joke about programming.")
    usage = final_usage(interaction)
    assert result.usage.total_thought_tokens == usage["total_thought_tokens"]
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.input_tokens"] == usage["total_input_tokens"]
    assert span.attributes["gen_ai.usage.output_tokens"] == usage["total_output_tokens"] + usage["total_thought_tokens"]
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == usage["total_thought_tokens"]
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected_cost(usage), rel=1e-9)
    assert llm_cost_otel.cost_of(result).total == pytest.approx(expected_cost(usage))


def test_stream_takes_the_completed_interactions_usage(otel: Any) -> None:
    interaction = recorded("test_interactions_with_thinking_stream")
    client = client_for(interaction)
    events = list(client.interactions.create(model="gemini-2.5-flash", input="Why is the sky blue?", stream=True))
    assert events[-1].event_type == "interaction.completed"
    usage = final_usage(interaction)
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected_cost(usage), rel=1e-9)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(expected_cost(usage))


def test_stream_stopped_early_records_running_usage(otel: Any) -> None:
    interaction = recorded("test_interactions_with_thinking_stream")
    client = client_for(interaction)
    stream = client.interactions.create(model="gemini-2.5-flash", input="Why is the sky blue?", stream=True)
    next(stream)  # interaction.created carries the usage so far in its metadata
    stream.close()
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.input_tokens"] == final_usage(interaction)["total_input_tokens"]


def test_async_stream(otel: Any) -> None:
    interaction = recorded("test_generate_interactions_async_True")
    client = client_for(interaction)

    async def main() -> int:
        stream = await client.aio.interactions.create(model="gemini-2.5-flash", input="hi", stream=True)
        return len([event async for event in stream])

    assert asyncio.run(main()) > 1
    (span,) = otel.spans("generate_content")
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(expected_cost(final_usage(interaction)), rel=1e-9)
