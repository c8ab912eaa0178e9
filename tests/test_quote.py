"""``price()`` and ``estimate()``: the public pricing API.

Every expected figure is computed here from the vendors' published list prices (USD per
million tokens, fees per 1,000 requests), written in this file, never read from the code
under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import llm_cost_otel
from llm_cost_otel import Usage, estimate, price
from llm_cost_otel.quote import UnknownModelError, infer_provider
from support import anthropic_client, json_response, message_json, per_million

# Claude Haiku 4.5: $1 in, $5 out, $0.10 cache read, $1.25 5m write, $2 1h write, $10 / 1K searches
HAIKU = "claude-haiku-4-5"
# Gemini 2.5 Pro: <= 200k prompt: $1.25 in, $10 out, $0.125 cached; above: $2.50, $15, $0.25
PRO = "gemini-2.5-pro"


def haiku(inp: int = 0, out: int = 0, read: int = 0, w5: int = 0, w1: int = 0) -> float:
    return (
        per_million(inp, 1.0)
        + per_million(out, 5.0)
        + per_million(read, 0.10)
        + per_million(w5, 1.25)
        + per_million(w1, 2.0)
    )


@pytest.fixture(autouse=True)
def _no_price_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)


# --- price(): every usage shape -----------------------------------------------------------


def test_our_field_dict_at_list_prices() -> None:
    usage = {
        "input_tokens": 1200,
        "output_tokens": 340,
        "cache_read_tokens": 5000,
        "cache_write_5m_tokens": 1000,
        "cache_write_1h_tokens": 2000,
    }
    cost = price(HAIKU, usage)
    assert cost.total == pytest.approx(haiku(inp=1200, out=340, read=5000, w5=1000, w1=2000), rel=1e-12)
    assert cost.input == pytest.approx(per_million(1200, 1.0))
    assert cost.output == pytest.approx(per_million(340, 5.0))
    assert cost.cache_read == pytest.approx(per_million(5000, 0.10))
    assert cost.cache_write == pytest.approx(per_million(1000, 1.25) + per_million(2000, 2.0))
    assert cost.model == "claude-haiku-4-5"
    assert cost.source == "catalog"
    assert dict(cost.components())["output"] == cost.output


def test_usage_object_same_as_its_dict() -> None:
    usage = Usage(input_tokens=1200, output_tokens=340, cache_read_tokens=5000)
    assert price(HAIKU, usage) == price(HAIKU, usage.as_dict())
    assert price(HAIKU, usage).total == pytest.approx(haiku(inp=1200, out=340, read=5000))


def test_the_issue_haiku_output_rate() -> None:
    # the drifted hand copy priced Haiku 3.5 output at $2.40/M; the list price is $4.00/M ($0.80/M in)
    assert price("claude-3-5-haiku-20241022", {"output_tokens": 1_000_000}).total == pytest.approx(4.00)
    assert price("claude-3-5-haiku-20241022", {"input_tokens": 1_000_000}).total == pytest.approx(0.80)


def test_anthropic_sdk_usage_object() -> None:
    from anthropic.types import CacheCreation, ServerToolUsage
    from anthropic.types import Usage as AnthropicUsage

    usage = AnthropicUsage(
        input_tokens=1200,  # Anthropic's input excludes cache reads and writes
        output_tokens=340,
        cache_read_input_tokens=5000,
        cache_creation_input_tokens=3000,
        cache_creation=CacheCreation(ephemeral_5m_input_tokens=1000, ephemeral_1h_input_tokens=2000),
        server_tool_use=ServerToolUsage(web_search_requests=2, web_fetch_requests=0),
    )
    cost = price("claude-haiku-4-5-20251001", usage)
    assert cost.total == pytest.approx(haiku(inp=1200, out=340, read=5000, w5=1000, w1=2000) + 2 * 10.0 / 1000)
    assert cost.request_fees == pytest.approx(0.02)


def test_anthropic_usage_dict() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 2000}
    assert price(HAIKU, usage).total == pytest.approx(haiku(inp=1000, out=100, read=2000))
    # an unsplit cache write is a 5-minute one (the default TTL)
    usage = {"input_tokens": 1000, "output_tokens": 100, "cache_creation_input_tokens": 4000}
    assert price(HAIKU, usage).total == pytest.approx(haiku(inp=1000, out=100, w5=4000))


def test_gemini_usage_metadata_object() -> None:
    from google.genai import types

    usage = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=10_000,  # includes the 4,000 cached
        cached_content_token_count=4_000,
        candidates_token_count=500,
        thoughts_token_count=300,  # thinking is billed as output
        total_token_count=10_800,
    )
    expected = per_million(6_000, 1.25) + per_million(4_000, 0.125) + per_million(800, 10.0)
    assert price(PRO, usage).total == pytest.approx(expected, rel=1e-12)


def test_gemini_dicts_snake_and_rest_camel_case() -> None:
    expected = per_million(6_000, 1.25) + per_million(4_000, 0.125) + per_million(800, 10.0)
    snake = {
        "prompt_token_count": 10_000,
        "cached_content_token_count": 4_000,
        "candidates_token_count": 500,
        "thoughts_token_count": 300,
    }
    camel = {
        "promptTokenCount": 10_000,
        "cachedContentTokenCount": 4_000,
        "candidatesTokenCount": 500,
        "thoughtsTokenCount": 300,
        "totalTokenCount": 10_800,
    }
    assert price(PRO, snake).total == pytest.approx(expected, rel=1e-12)
    assert price(PRO, camel).total == pytest.approx(expected, rel=1e-12)


def test_gemini_long_context_tier() -> None:
    usage = {"prompt_token_count": 250_000, "candidates_token_count": 1_000}
    assert price(PRO, usage).total == pytest.approx(per_million(250_000, 2.50) + per_million(1_000, 15.0))
    usage = {"prompt_token_count": 200_000, "candidates_token_count": 1_000}  # at the threshold: base
    assert price(PRO, usage).total == pytest.approx(per_million(200_000, 1.25) + per_million(1_000, 10.0))


def test_vertex_ai_reads_claude_and_gemini_reports() -> None:
    claude = price("claude-haiku-4-5@20251001", {"input_tokens": 1000, "cache_read_input_tokens": 2000})
    assert claude.total == pytest.approx(haiku(inp=1000, read=2000))
    gemini = price(PRO, {"promptTokenCount": 1000, "candidatesTokenCount": 10}, provider="gcp.vertex_ai")
    assert gemini.total == pytest.approx(per_million(1000, 1.25) + per_million(10, 10.0))


def test_usage_that_mixes_shapes_or_cannot_be_read_is_an_error() -> None:
    with pytest.raises(ValueError, match="mixes"):
        price(HAIKU, {"cache_read_tokens": 10, "cache_read_input_tokens": 10})
    with pytest.raises(ValueError, match="cannot read the usage"):
        price(HAIKU, {"promptTokenCount": 10})  # a Gemini report for a Claude model
    with pytest.raises(ValueError, match="cannot read the usage"):
        price(HAIKU, {"input_tokens": -5})
    with pytest.raises(ValueError, match="cannot read the usage"):
        price(HAIKU, Usage(output_tokens=-1))


# --- batch, tier, date ----------------------------------------------------------------------


def test_batch_rates() -> None:
    # Anthropic batch: 50% of every token rate. Gemini batch: 50% of input and output.
    assert price(HAIKU, {"input_tokens": 1000, "output_tokens": 100}, batch=True).total == pytest.approx(
        per_million(1000, 0.50) + per_million(100, 2.50)
    )
    usage = {"prompt_token_count": 10_000, "candidates_token_count": 1_000}
    assert price(PRO, usage, batch=True).total == pytest.approx(per_million(10_000, 0.625) + per_million(1_000, 5.0))


def test_tiers() -> None:
    # Claude Opus 5 fast mode: $10 / $50 (standard $5 / $25)
    usage = {"input_tokens": 1000, "output_tokens": 100}
    assert price("claude-opus-5", usage).total == pytest.approx(per_million(1000, 5.0) + per_million(100, 25.0))
    fast = per_million(1000, 10.0) + per_million(100, 50.0)
    assert price("claude-opus-5", usage, tier="fast").total == pytest.approx(fast)
    # an Anthropic report that says it ran fast is priced fast without tier=
    assert price("claude-opus-5", {**usage, "speed": "fast"}).total == pytest.approx(fast)
    # Gemini 3.8 Flash TTS flex: $0.25 / $4.50 (standard $0.50 / $9.00)
    g = {"promptTokenCount": 2000, "candidatesTokenCount": 1000}
    assert price("gemini-3.8-flash-tts", g, tier="flex").total == pytest.approx(
        per_million(2000, 0.25) + per_million(1000, 4.50)
    )
    with pytest.raises(ValueError, match="unknown tier"):
        price(HAIKU, usage, tier="turbo")  # type: ignore[arg-type]


def test_price_on_a_date() -> None:
    # Sonnet 4's >200k tier ($6 / $22.50) started 2025-08-12; before, all input was $3 / $15.
    usage = {"input_tokens": 300_000, "output_tokens": 10_000}
    before = price("claude-sonnet-4-20250514", usage, when=date(2025, 8, 1))
    after = price("claude-sonnet-4-20250514", usage, when=date(2025, 9, 1))
    assert before.total == pytest.approx(per_million(300_000, 3.0) + per_million(10_000, 15.0))
    assert after.total == pytest.approx(per_million(300_000, 6.0) + per_million(10_000, 22.50))


def test_scope_and_geo() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    # Anthropic data residency: inference_geo "us" is 1.1x for Opus 4.6 and later ($5 / $25 standard)
    us = per_million(1000, 5.50) + per_million(100, 27.50)
    assert price("claude-opus-4-6", usage).total == pytest.approx(per_million(1000, 5.0) + per_million(100, 25.0))
    assert price("claude-opus-4-6", usage, geo="us").total == pytest.approx(us)
    from anthropic.types import Usage as AnthropicUsage

    reported = AnthropicUsage(input_tokens=1000, output_tokens=100, inference_geo="us")
    assert price("claude-opus-4-6", reported).total == pytest.approx(us)
    # Vertex AI: Claude Sonnet 4.5 on a regional endpoint is 1.1x the global $3 / $15
    sonnet = "claude-sonnet-4-5@20250929"
    assert price(sonnet, usage, scope="global").total == pytest.approx(per_million(1000, 3.0) + per_million(100, 15.0))
    assert price(sonnet, usage, scope="regional").total == pytest.approx(
        per_million(1000, 3.30) + per_million(100, 16.50)
    )
    # Bedrock: Haiku 4.5 global profile $1 / $5; a geography profile (us.) $1.10 / $5.50
    bedrock = "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert price(bedrock, usage, scope="global").total == pytest.approx(haiku(inp=1000, out=100))
    assert price("us." + bedrock, usage).total == pytest.approx(per_million(1000, 1.10) + per_million(100, 5.50))
    with pytest.raises(ValueError, match="unknown scope 'usa'"):
        price(HAIKU, usage, scope="usa")
    with pytest.raises(ValueError, match="unknown geo 'mars'"):
        estimate(HAIKU, input_tokens=1, max_output_tokens=1, geo="mars")


def test_when_datetime_is_read_as_its_utc_day() -> None:
    usage = {"input_tokens": 300_000}
    tier_start = date(2025, 8, 12)
    # 01:00 on 2025-08-12 at UTC+5 is still 2025-08-11 in UTC: before the tier
    early = datetime(2025, 8, 12, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    assert price("claude-sonnet-4-20250514", usage, when=early).total == pytest.approx(per_million(300_000, 3.0))
    late = datetime(2025, 8, 12, 0, 30, tzinfo=UTC)
    assert price("claude-sonnet-4-20250514", usage, when=late).total == pytest.approx(per_million(300_000, 6.0))
    naive = datetime(tier_start.year, tier_start.month, tier_start.day, 23, 59)  # naive: UTC
    assert price("claude-sonnet-4-20250514", usage, when=naive).total == pytest.approx(per_million(300_000, 6.0))
    with pytest.raises(TypeError):
        price(HAIKU, usage, when="2025-08-12")  # type: ignore[arg-type]


# --- providers and errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("claude-haiku-4-5", "anthropic"),
        ("Claude-Sonnet-4-5-20250929", "anthropic"),
        ("claude-haiku-4-5@20251001", "gcp.vertex_ai"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "aws.bedrock"),
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "aws.bedrock"),
        ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0", "aws.bedrock"),
        ("gemini-2.5-pro", "gcp.gemini"),
        ("models/gemini-2.5-flash", "gcp.gemini"),
        ("imagen-4.0-generate-001", "gcp.gemini"),
        ("projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro", "gcp.vertex_ai"),
    ],
)
def test_provider_inference(model: str, provider: str) -> None:
    assert infer_provider(model) == provider


def test_provider_that_cannot_be_inferred_or_is_unknown() -> None:
    with pytest.raises(ValueError, match=r"cannot tell the provider of model 'gpt-4o'.*gcp\.gemini"):
        price("gpt-4o", {"input_tokens": 1})
    with pytest.raises(ValueError, match="unknown provider 'openai'"):
        price("gpt-4o", {"input_tokens": 1}, provider="openai")


def test_unknown_model_is_a_lookup_error() -> None:
    with pytest.raises(UnknownModelError) as caught:
        price("claude-nonexistent-9", {"input_tokens": 1})
    error = caught.value
    assert isinstance(error, LookupError)
    assert (error.model, error.provider) == ("claude-nonexistent-9", "anthropic")
    assert "claude-nonexistent-9" in str(error) and "'anthropic'" in str(error)
    assert "override file" in str(error)
    assert llm_cost_otel.UnknownModelError is UnknownModelError
    with pytest.raises(UnknownModelError):
        estimate("gemini-0-nothing", input_tokens=1, max_output_tokens=1)


# --- price files ------------------------------------------------------------------------------


def test_override_file_changes_the_price(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('[[discounts]]\nprovider = "anthropic"\nmodel = "claude-haiku-*"\nmultiplier = 0.5\n')
    usage = {"input_tokens": 1000, "output_tokens": 100}
    cost = price(HAIKU, usage, prices=path)
    assert cost.total == pytest.approx(0.5 * haiku(inp=1000, out=100))
    assert cost.source == "override"
    # the file changed: the new rates apply (the book is cached by path and modification time)
    path.write_text('[models.acme-ft]\nprovider = "anthropic"\ninput = 2.0\noutput = 8.0\n')
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert price(HAIKU, usage, prices=str(path)).total == pytest.approx(haiku(inp=1000, out=100))
    assert price("acme-ft", usage, provider="anthropic", prices=path).total == pytest.approx(
        per_million(1000, 2.0) + per_million(100, 8.0)
    )
    mapping = {"models": {"acme-ft": {"input": 3.0, "output": 9.0}}}
    assert price("acme-ft", usage, provider="anthropic", prices=mapping).total == pytest.approx(
        per_million(1000, 3.0) + per_million(100, 9.0)
    )


def test_default_book_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"discounts": [{"model": "claude-*", "multiplier": 0.8}]}')
    usage = {"input_tokens": 1000}
    assert price(HAIKU, usage).total == pytest.approx(haiku(inp=1000))
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(path))
    assert price(HAIKU, usage).total == pytest.approx(0.8 * haiku(inp=1000))


def test_bad_price_file_raises() -> None:
    with pytest.raises(llm_cost_otel.PriceOverrideError):
        price(HAIKU, {"input_tokens": 1}, prices={"models": {"x": {"input": "cheap"}}})


def test_instrumented_book_is_the_default(otel: Any) -> None:
    llm_cost_otel.instrument(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        prices={"discounts": [{"model": "claude-*", "multiplier": 0.5}]},
    )
    assert price(HAIKU, {"input_tokens": 1000}).total == pytest.approx(0.5 * haiku(inp=1000))
    llm_cost_otel.uninstrument()
    assert price(HAIKU, {"input_tokens": 1000}).total == pytest.approx(haiku(inp=1000))


def test_span_cost_equals_price_of_the_same_usage(otel: Any) -> None:
    usage = {
        "input_tokens": 1200,
        "output_tokens": 340,
        "cache_read_input_tokens": 5000,
        "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    }
    client = anthropic_client(lambda r: json_response(message_json(model="claude-haiku-4-5-20251001", usage=usage)))
    message = client.messages.create(model=HAIKU, max_tokens=400, messages=[{"role": "user", "content": "Hi"}])
    (span,) = otel.chat_spans()
    quoted = price(message.model, message.usage)
    assert span.attributes["gen_ai.usage.cost"] == quoted.total
    assert quoted.total == pytest.approx(haiku(inp=1200, out=340, read=5000, w5=1000, w1=2000), rel=1e-12)
    assert llm_cost_otel.cost_of(message) == quoted
    # the estimate before the call bounds it: the whole prompt, every max_tokens token, writes at 1h
    bound = estimate(
        HAIKU,
        input_tokens=1200 + 5000 + 3000,
        max_output_tokens=400,
        cached_input_tokens=5000,
        cache_write_tokens=3000,
        cache_write_ttl="1h",
    )
    assert bound.total == pytest.approx(haiku(inp=1200, out=400, read=5000, w1=3000))
    assert bound.total >= quoted.total


# --- estimate(): the worst case -----------------------------------------------------------------


def test_estimate_bills_every_output_token() -> None:
    cost = estimate(HAIKU, input_tokens=10_000, max_output_tokens=2_000)
    assert cost.total == pytest.approx(per_million(10_000, 1.0) + per_million(2_000, 5.0))
    assert cost.output == pytest.approx(per_million(2_000, 5.0))
    # any real call within those limits costs no more
    actual = price(HAIKU, {"input_tokens": 10_000, "output_tokens": 1_999})
    assert actual.total < cost.total


def test_estimate_cache_parts_of_the_prompt() -> None:
    cost = estimate(
        HAIKU, input_tokens=10_000, max_output_tokens=0, cached_input_tokens=6_000, cache_write_tokens=3_000
    )
    assert cost.total == pytest.approx(per_million(1_000, 1.0) + per_million(6_000, 0.10) + per_million(3_000, 1.25))
    one_hour = estimate(
        HAIKU, input_tokens=10_000, max_output_tokens=0, cache_write_tokens=10_000, cache_write_ttl="1h"
    )
    assert one_hour.total == pytest.approx(per_million(10_000, 2.0))


def test_estimate_crosses_the_200k_tier() -> None:
    at = estimate(PRO, input_tokens=200_000, max_output_tokens=8_000)
    assert at.total == pytest.approx(per_million(200_000, 1.25) + per_million(8_000, 10.0))
    above = estimate(PRO, input_tokens=200_001, max_output_tokens=8_000)
    assert above.total == pytest.approx(per_million(200_001, 2.50) + per_million(8_000, 15.0))
    # cached tokens count toward the threshold: the whole prompt decides the tier
    cached = estimate(PRO, input_tokens=250_000, max_output_tokens=0, cached_input_tokens=100_000)
    assert cached.total == pytest.approx(per_million(150_000, 2.50) + per_million(100_000, 0.25))


def test_estimate_thinking_searches_batch_tier_date() -> None:
    thinking = estimate(PRO, input_tokens=1_000, max_output_tokens=1_000, thinking_budget=4_000)
    assert thinking.total == pytest.approx(per_million(1_000, 1.25) + per_million(5_000, 10.0))
    searches = estimate(HAIKU, input_tokens=1_000, max_output_tokens=0, web_searches=3)
    assert searches.total == pytest.approx(per_million(1_000, 1.0) + 3 * 10.0 / 1000)
    batch = estimate(HAIKU, input_tokens=1_000, max_output_tokens=1_000, batch=True)
    assert batch.total == pytest.approx(per_million(1_000, 0.50) + per_million(1_000, 2.50))
    fast = estimate("claude-opus-5", input_tokens=1_000, max_output_tokens=1_000, tier="fast")
    assert fast.total == pytest.approx(per_million(1_000, 10.0) + per_million(1_000, 50.0))
    dated = estimate("claude-sonnet-4-20250514", input_tokens=300_000, max_output_tokens=0, when=date(2025, 8, 1))
    assert dated.total == pytest.approx(per_million(300_000, 3.0))


@pytest.mark.parametrize(
    "bad",
    [
        {"input_tokens": -1, "max_output_tokens": 1},
        {"input_tokens": 1, "max_output_tokens": 1.5},
        {"input_tokens": True, "max_output_tokens": 1},
        {"input_tokens": 10, "max_output_tokens": 1, "cached_input_tokens": 11},
        {"input_tokens": 10, "max_output_tokens": 1, "cache_write_ttl": "1d"},
    ],
)
def test_estimate_rejects_bad_counts(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        estimate(HAIKU, **bad)


# --- import cost ------------------------------------------------------------------------------


def test_import_loads_no_price_book() -> None:
    code = (
        "import sys, llm_cost_otel\n"
        "print(sorted(m for m in ('genai_prices', 'pydantic', 'llm_cost_otel.quote', 'llm_cost_otel.pricing') "
        "if m in sys.modules))\n"
        "llm_cost_otel.price\n"
        "print('llm_cost_otel.quote' in sys.modules, 'genai_prices' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True False"  # the names resolve without loading the catalog


def test_bedrock_ids_are_priced_at_the_scope_their_prefix_names() -> None:
    # as the instrumentation prices them: Sonnet 4.5 list $3 / $15 per million on global.,
    # +10% in-Region; GovCloud has no known rates (unpriced, never a commercial guess)
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)
    assert price("global.anthropic.claude-sonnet-4-5-20250929-v1:0", usage).total == pytest.approx(3.0 + 1.5)
    assert price("anthropic.claude-sonnet-4-5-20250929-v1:0", usage).total == pytest.approx(1.1 * (3.0 + 1.5))
    with pytest.raises(UnknownModelError):
        price("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", usage)
