"""PriceBook against published list prices.

Every expected cost below is computed here from list prices written as literals (USD per
million tokens; web search USD per 1,000 requests), never from the code under test.

Sources: https://docs.claude.com/en/docs/about-claude/pricing,
https://ai.google.dev/gemini-api/docs/pricing, https://aws.amazon.com/bedrock/pricing/.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_cost_otel.pricing import PriceBook, Rates
from llm_cost_otel.pricing.catalog import normalize_model
from llm_cost_otel.usage import Cost, Usage

# --- published list prices, USD per million tokens ----------------------------------------
# (input, output, cache read, 5-minute cache write, 1-hour cache write)
SONNET_45 = (3.0, 15.0, 0.30, 3.75, 6.0)
SONNET_45_LONG = (6.0, 22.50, 0.60, 7.50, 12.0)  # every token of a request above 200k input
SONNET_4 = (3.0, 15.0, 0.30, 3.75, 6.0)
SONNET_4_LONG = (6.0, 22.50, 0.60, 7.50, 12.0)
HAIKU_45 = (1.0, 5.0, 0.10, 1.25, 2.0)
OPUS_41 = (15.0, 75.0, 1.50, 18.75, 30.0)
WEB_SEARCH_PER_1K = 10.0  # USD per 1,000 web search requests (Anthropic)

GEMINI_25_FLASH_TEXT_IN = 0.30
GEMINI_25_FLASH_AUDIO_IN = 1.00
GEMINI_25_FLASH_OUT = 2.50
GEMINI_25_FLASH_CACHE_READ = 0.03
GEMINI_25_PRO = (1.25, 10.0)  # input, output up to 200k prompt tokens
GEMINI_25_PRO_LONG = (2.50, 15.0)  # above 200k

# Bedrock: from Sonnet 4.5 on, regional/geo endpoints (us., eu., ... and plain ids) carry a 10%
# premium over the global endpoint (global. prefix), which is Anthropic's list price.
BEDROCK_SONNET_45_REGIONAL = (3.30, 16.50, 0.33, 4.125, 6.60)
BEDROCK_SONNET_45_GLOBAL = (3.0, 15.0, 0.30, 3.75, 6.0)

SONNET_45_ID = "claude-sonnet-4-5-20250929"
SONNET_4_ID = "claude-sonnet-4-20250514"
HAIKU_45_ID = "claude-haiku-4-5-20251001"
OPUS_41_ID = "claude-opus-4-1-20250805"
VERTEX_SONNET_4 = "claude-sonnet-4@20250514"

AFTER_ALL = date(2026, 11, 1)  # every correction in force, catalog batch prices (2026-10-14) too
BEFORE_CATALOG_BATCH = date(2026, 6, 1)


def usd(tokens: int, usd_per_million: float) -> float:
    return tokens * usd_per_million / 1_000_000


def noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()


def expected_claude(prices: tuple[float, float, float, float, float], u: Usage, search_per_1k: float = 0.0) -> dict:
    inp, out, read, w5m, w1h = prices
    return {
        "input": usd(u.input_tokens, inp),
        "output": usd(u.output_tokens, out),
        "cache_read": usd(u.cache_read_tokens, read),
        "cache_write": usd(u.cache_write_5m_tokens, w5m) + usd(u.cache_write_1h_tokens, w1h),
        "request_fees": u.web_search_requests * search_per_1k / 1000,
        "cache_savings": usd(u.cache_read_tokens, inp - read),
    }


def assert_cost(cost: Cost | None, expected: dict) -> None:
    assert cost is not None
    for name, value in expected.items():
        assert getattr(cost, name) == pytest.approx(value, rel=1e-12, abs=1e-15), name
    assert cost.total == pytest.approx(sum(v for k, v in expected.items() if k != "cache_savings"), rel=1e-12)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


MIXED = Usage(
    input_tokens=1_000,
    cache_read_tokens=20_000,
    cache_write_5m_tokens=3_000,
    cache_write_1h_tokens=4_000,
    output_tokens=500,
    web_search_requests=3,
)


# --- every component -------------------------------------------------------------------------


def test_every_component_sonnet_45_by_hand(book: PriceBook) -> None:
    cost = book.cost("anthropic", SONNET_45_ID, MIXED, timestamp=noon(AFTER_ALL))
    assert cost is not None
    # 1,000 x $3/M; 500 x $15/M; 20,000 x $0.30/M; 3,000 x $3.75/M + 4,000 x $6/M; 3 x $10/1000
    assert cost.input == pytest.approx(0.003)
    assert cost.output == pytest.approx(0.0075)
    assert cost.cache_read == pytest.approx(0.006)
    assert cost.cache_write == pytest.approx(0.01125 + 0.024)
    assert cost.request_fees == pytest.approx(0.03)
    # reads saved (3.00 - 0.30) per million on 20,000 tokens
    assert cost.cache_savings == pytest.approx(0.054)
    assert cost.total == pytest.approx(0.003 + 0.0075 + 0.006 + 0.03525 + 0.03)
    assert cost.total == pytest.approx(sum(v for _, v in cost.components()))
    assert cost.model == "claude-sonnet-4-5"
    assert cost.source == "catalog"
    assert "genai-prices" in cost.version


@pytest.mark.parametrize(
    ("model", "prices"),
    [
        (SONNET_45_ID, SONNET_45),
        ("claude-sonnet-4-5", SONNET_45),
        (HAIKU_45_ID, HAIKU_45),
        ("claude-haiku-4-5", HAIKU_45),
        (OPUS_41_ID, OPUS_41),
        ("claude-opus-4-1", OPUS_41),
        (SONNET_4_ID, SONNET_4),
    ],
)
def test_components_match_list_prices(book: PriceBook, model: str, prices: Any) -> None:
    cost = book.cost("anthropic", model, MIXED, timestamp=noon(AFTER_ALL))
    assert_cost(cost, expected_claude(prices, MIXED, WEB_SEARCH_PER_1K))


def test_5m_and_1h_cache_writes_are_priced_separately(book: PriceBook) -> None:
    ts = noon(AFTER_ALL)
    five = book.cost("anthropic", HAIKU_45_ID, Usage(cache_write_5m_tokens=1_000_000), timestamp=ts)
    hour = book.cost("anthropic", HAIKU_45_ID, Usage(cache_write_1h_tokens=1_000_000), timestamp=ts)
    assert five is not None and hour is not None
    assert five.cache_write == pytest.approx(1.25)
    assert hour.cache_write == pytest.approx(2.00)
    assert five.input == hour.input == 0
    assert five.total == pytest.approx(1.25)
    assert hour.total == pytest.approx(2.00)


def test_only_output_and_reasoning(book: PriceBook) -> None:
    # reasoning is part of output_tokens and adds nothing on top
    u = Usage(output_tokens=10_000, reasoning_tokens=8_000)
    cost = book.cost("anthropic", OPUS_41_ID, u, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.output == pytest.approx(0.75)  # 10,000 x $75/M
    assert cost.total == pytest.approx(0.75)
    assert cost.cache_savings == 0


def test_web_search_fee(book: PriceBook) -> None:
    cost = book.cost("anthropic", SONNET_45_ID, Usage(web_search_requests=1_000), timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.request_fees == pytest.approx(10.0)
    assert cost.total == pytest.approx(10.0)


def test_zero_usage_costs_zero_but_is_priced(book: PriceBook) -> None:
    cost = book.cost("anthropic", SONNET_45_ID, Usage(), timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.total == 0
    assert cost.source == "catalog"


def test_cache_savings_against_uncached_input(book: PriceBook) -> None:
    u = Usage(input_tokens=100, cache_read_tokens=1_000_000, output_tokens=10)
    cost = book.cost("anthropic", OPUS_41_ID, u, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.cache_read == pytest.approx(1.50)
    assert cost.cache_savings == pytest.approx(15.0 - 1.50)


def test_gemini_flash_text_and_audio_input(book: PriceBook) -> None:
    u = Usage(input_tokens=10_000, input_audio_tokens=4_000, cache_read_tokens=50_000, output_tokens=2_000)
    cost = book.cost("gcp.gemini", "gemini-2.5-flash", u, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.input == pytest.approx(usd(6_000, GEMINI_25_FLASH_TEXT_IN) + usd(4_000, GEMINI_25_FLASH_AUDIO_IN))
    assert cost.input == pytest.approx(0.0018 + 0.004)
    assert cost.output == pytest.approx(usd(2_000, GEMINI_25_FLASH_OUT))
    assert cost.cache_read == pytest.approx(usd(50_000, GEMINI_25_FLASH_CACHE_READ))
    assert cost.cache_savings == pytest.approx(usd(50_000, GEMINI_25_FLASH_TEXT_IN - GEMINI_25_FLASH_CACHE_READ))
    assert cost.model == "gemini-2.5-flash"


# --- the 200k cliff -------------------------------------------------------------------------


@pytest.mark.parametrize("model", [SONNET_45_ID, SONNET_4_ID])
def test_cliff_exactly_200k_is_base_and_200001_is_long_for_all_tokens(book: PriceBook, model: str) -> None:
    ts = noon(AFTER_ALL)
    at = Usage(input_tokens=200_000, output_tokens=1_000)
    above = Usage(input_tokens=200_001, output_tokens=1_000)
    assert_cost(book.cost("anthropic", model, at, timestamp=ts), expected_claude(SONNET_45, at))
    assert_cost(book.cost("anthropic", model, above, timestamp=ts), expected_claude(SONNET_45_LONG, above))
    # by hand: 200,000 x $3 + 1,000 x $15 vs 200,001 x $6 + 1,000 x $22.50
    assert book.cost("anthropic", model, at, timestamp=ts).total == pytest.approx(0.6 + 0.015)  # type: ignore[union-attr]
    assert book.cost("anthropic", model, above, timestamp=ts).total == pytest.approx(  # type: ignore[union-attr]
        1.200006 + 0.0225
    )


def test_cliff_counts_cache_reads_and_writes(book: PriceBook) -> None:
    ts = noon(AFTER_ALL)
    at = Usage(
        input_tokens=50_000,
        cache_read_tokens=100_000,
        cache_write_5m_tokens=30_000,
        cache_write_1h_tokens=20_000,
        output_tokens=2_000,
        web_search_requests=2,
    )
    assert at.total_input_tokens == 200_000
    above = replace(at, cache_read_tokens=100_001)
    below_cost = book.cost("anthropic", SONNET_45_ID, at, timestamp=ts)
    above_cost = book.cost("anthropic", SONNET_45_ID, above, timestamp=ts)
    assert_cost(below_cost, expected_claude(SONNET_45, at, WEB_SEARCH_PER_1K))
    assert_cost(above_cost, expected_claude(SONNET_45_LONG, above, WEB_SEARCH_PER_1K))
    # only 50,000 uncached input tokens, yet the whole request pays the long-context rates
    assert above_cost is not None
    assert above_cost.input == pytest.approx(0.3)  # 50,000 x $6/M
    assert above_cost.cache_read == pytest.approx(0.0600006)  # 100,001 x $0.60/M
    assert above_cost.cache_write == pytest.approx(0.225 + 0.24)  # 30,000 x $7.50/M + 20,000 x $12/M
    assert above_cost.output == pytest.approx(0.045)  # 2,000 x $22.50/M
    assert above_cost.request_fees == pytest.approx(0.02)  # web search is not tiered


def test_cliff_ignores_output_tokens(book: PriceBook) -> None:
    u = Usage(input_tokens=200_000, output_tokens=500_000)
    assert_cost(book.cost("anthropic", SONNET_45_ID, u, timestamp=noon(AFTER_ALL)), expected_claude(SONNET_45, u))


def test_cliff_1h_write_only_request(book: PriceBook) -> None:
    u = Usage(input_tokens=1, cache_write_1h_tokens=200_000)
    cost = book.cost("anthropic", SONNET_45_ID, u, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.cache_write == pytest.approx(2.4)  # 200,000 x $12/M
    assert cost.input == pytest.approx(0.000006)


def test_gemini_25_pro_cliff(book: PriceBook) -> None:
    ts = noon(AFTER_ALL)
    at = book.cost("gcp.gemini", "gemini-2.5-pro", Usage(input_tokens=200_000, output_tokens=1_000), timestamp=ts)
    above = book.cost(
        "gcp.gemini",
        "gemini-2.5-pro",
        Usage(input_tokens=199_999, cache_read_tokens=2, output_tokens=1_000),
        timestamp=ts,
    )
    assert at is not None and above is not None
    assert at.input == pytest.approx(usd(200_000, GEMINI_25_PRO[0]))
    assert at.output == pytest.approx(usd(1_000, GEMINI_25_PRO[1]))
    assert above.input == pytest.approx(usd(199_999, GEMINI_25_PRO_LONG[0]))
    assert above.output == pytest.approx(usd(1_000, GEMINI_25_PRO_LONG[1]))
    assert at.total == pytest.approx(0.25 + 0.01)


# --- Sonnet 4: the dated long-context correction ---------------------------------------------


def test_sonnet_4_long_context_tier_from_correction_date(book: PriceBook) -> None:
    u = Usage(input_tokens=300_000, output_tokens=10_000)
    before = book.cost("anthropic", SONNET_4_ID, u, timestamp=noon(date(2025, 8, 11)))
    since = book.cost("anthropic", SONNET_4_ID, u, timestamp=noon(date(2025, 8, 12)))
    assert before is not None and since is not None
    # before 2025-08-12 the catalog (no tier) applies: 300,000 x $3 + 10,000 x $15
    assert before.total == pytest.approx(0.9 + 0.15)
    assert before.source == "catalog"
    # from 2025-08-12: 300,000 x $6 + 10,000 x $22.50
    assert since.total == pytest.approx(1.8 + 0.225)
    assert since.source == "correction"


def test_sonnet_4_rates_before_and_after_correction(book: PriceBook) -> None:
    before = book.rates("anthropic", SONNET_4_ID, when=date(2025, 8, 11))
    after = book.rates("anthropic", SONNET_4_ID, when=date(2025, 8, 12))
    assert before is not None and after is not None
    assert before.tiers == ()
    assert not any("claude-sonnet-4-long-context" in n for n in before.notes)
    assert [t for t, _ in after.tiers] == [200_000]
    long = after.tiers[0][1].per_million()
    names = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
    for name, price in zip(names, SONNET_4_LONG, strict=True):
        assert long[name] == pytest.approx(price), name
    assert long["web_search"] == pytest.approx(WEB_SEARCH_PER_1K)
    assert any("claude-sonnet-4-long-context" in n for n in after.notes)


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", SONNET_45_ID, "claude-sonnet-4-6", OPUS_41_ID, HAIKU_45_ID])
def test_sonnet_4_correction_does_not_touch_other_models(book: PriceBook, model: str) -> None:
    rates = book.rates("anthropic", model, when=AFTER_ALL)
    assert rates is not None
    assert not any("claude-sonnet-4-long-context" in n for n in rates.notes)


@pytest.mark.parametrize("spelling", ["claude-sonnet-4-0", "claude-sonnet-4", "claude-4-sonnet-20250514"])
def test_sonnet_4_spellings_get_the_tier(book: PriceBook, spelling: str) -> None:
    rates = book.rates("anthropic", spelling, when=AFTER_ALL)
    assert rates is not None
    assert [t for t, _ in rates.tiers] == [200_000]
    assert rates.tiers[0][1].per_million()["input"] == pytest.approx(6.0)


# --- Vertex AI: 1h cache writes from a correction --------------------------------------------


def test_vertex_sonnet_4_1h_write_from_correction(book: PriceBook) -> None:
    u = Usage(input_tokens=1_000, cache_write_5m_tokens=10_000, cache_write_1h_tokens=10_000, output_tokens=100)
    cost = book.cost("gcp.vertex_ai", VERTEX_SONNET_4, u, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.cache_write == pytest.approx(0.0375 + 0.06)  # 10,000 x $3.75/M + 10,000 x $6/M
    assert cost.input == pytest.approx(0.003)
    assert cost.output == pytest.approx(0.0015)
    assert cost.source == "correction"
    rates = book.rates("gcp.vertex_ai", VERTEX_SONNET_4, when=AFTER_ALL)
    assert rates is not None
    assert rates.origins["cache_write_1h"] == "correction"
    assert rates.origins["input"] == rates.origins["cache_write_5m"] == "catalog"
    assert rates.origins["tiers"] == "correction"
    assert any("claude-1h-cache-write" in n for n in rates.notes)
    # the long tier has the 1h write too: 2 x $6
    assert rates.tiers[0][1].per_million()["cache_write_1h"] == pytest.approx(12.0)


def test_vertex_sonnet_4_long_context_with_1h_writes(book: PriceBook) -> None:
    u = Usage(input_tokens=150_000, cache_write_1h_tokens=50_001, output_tokens=1_000)
    cost = book.cost("gcp.vertex_ai", VERTEX_SONNET_4, u, timestamp=noon(AFTER_ALL))
    assert_cost(cost, expected_claude(SONNET_4_LONG, u))


def test_vertex_1h_correction_not_before_its_date(book: PriceBook) -> None:
    rates = book.rates("gcp.vertex_ai", VERTEX_SONNET_4, when=date(2025, 5, 21))
    assert rates is not None
    assert rates.base.cache_write_1h is None
    assert "cache_write_1h" not in rates.origins
    # the day's other Vertex AI correction (web search at $10 / 1,000) is there; the 1h one is not
    assert not any("claude-1h-cache-write" in note for note in rates.notes)
    assert rates.origins["web_search"] == "correction"
    on = book.rates("gcp.vertex_ai", VERTEX_SONNET_4, when=date(2025, 5, 22))
    assert on is not None and on.base.per_million()["cache_write_1h"] == pytest.approx(6.0)


# --- batch ----------------------------------------------------------------------------------


def half(prices: tuple[float, ...]) -> tuple[float, float, float, float, float]:
    a, b, c, d, e = (p * 0.5 for p in prices)
    return (a, b, c, d, e)


@pytest.mark.parametrize(
    ("day", "source"),
    [(AFTER_ALL, "catalog"), (date(2026, 10, 14), "catalog"), (date(2026, 10, 13), "correction")],
)
def test_batch_sonnet_45_catalog_batch_prices_and_before_them(book: PriceBook, day: date, source: str) -> None:
    u = MIXED
    cost = book.cost("anthropic", SONNET_45_ID, u, batch=True, timestamp=noon(day))
    # 50% of every token rate: $1.50 / $7.50 / $0.15 / $1.875 / $3; web search stays $10 per 1,000
    assert_cost(cost, expected_claude((1.5, 7.5, 0.15, 1.875, 3.0), u, WEB_SEARCH_PER_1K))
    assert cost is not None and cost.source == source


def test_batch_sonnet_45_long_tier_halved(book: PriceBook) -> None:
    u = Usage(input_tokens=200_001, output_tokens=1_000)
    for day in (BEFORE_CATALOG_BATCH, AFTER_ALL):
        cost = book.cost("anthropic", SONNET_45_ID, u, batch=True, timestamp=noon(day))
        assert_cost(cost, expected_claude((3.0, 11.25, 0.30, 3.75, 6.0), u))


@pytest.mark.parametrize("day", [BEFORE_CATALOG_BATCH, AFTER_ALL])
def test_batch_opus_41_without_catalog_batch_prices(book: PriceBook, day: date) -> None:
    cost = book.cost("anthropic", OPUS_41_ID, MIXED, batch=True, timestamp=noon(day))
    assert_cost(cost, expected_claude((7.5, 37.5, 0.75, 9.375, 15.0), MIXED, WEB_SEARCH_PER_1K))
    assert cost is not None and cost.source == "correction"
    rates = book.rates("anthropic", OPUS_41_ID, batch=True, when=day)
    assert rates is not None
    assert any("batch-discount" in n for n in rates.notes)
    assert rates.origins["web_search"] == "catalog"  # the fee is not discounted


@pytest.mark.parametrize("day", [BEFORE_CATALOG_BATCH, AFTER_ALL])
def test_batch_haiku_45(book: PriceBook, day: date) -> None:
    u = Usage(input_tokens=1_000, output_tokens=200)
    cost = book.cost("anthropic", HAIKU_45_ID, u, batch=True, timestamp=noon(day))
    assert cost is not None
    assert cost.total == pytest.approx(0.5 * (0.001 + 0.001))  # 50% of (1,000 x $1/M + 200 x $5/M)
    assert_cost(cost, expected_claude(half(HAIKU_45), u))


def test_batch_sonnet_4_with_long_tier(book: PriceBook) -> None:
    at = Usage(input_tokens=200_000, output_tokens=1_000)
    above = Usage(input_tokens=200_001, output_tokens=1_000)
    ts = noon(AFTER_ALL)
    assert_cost(book.cost("anthropic", SONNET_4_ID, at, batch=True, timestamp=ts), expected_claude(half(SONNET_4), at))
    assert_cost(
        book.cost("anthropic", SONNET_4_ID, above, batch=True, timestamp=ts),
        expected_claude(half(SONNET_4_LONG), above),
    )


def test_batch_vertex_sonnet_4_1h_write_halved(book: PriceBook) -> None:
    u = Usage(cache_write_1h_tokens=100_000)
    cost = book.cost("gcp.vertex_ai", VERTEX_SONNET_4, u, batch=True, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.cache_write == pytest.approx(0.3)  # 100,000 x 50% of $6/M
    u = Usage(cache_write_1h_tokens=1_000_000)
    cost = book.cost("gcp.vertex_ai", VERTEX_SONNET_4, u, batch=True, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.cache_write == pytest.approx(6.0)  # above 200k: 1,000,000 x 50% of $12/M


def test_batch_and_standard_rates_cached_separately(book: PriceBook) -> None:
    u = Usage(input_tokens=1_000_000)
    ts = noon(AFTER_ALL)
    fresh = PriceBook()
    standard = fresh.cost("anthropic", OPUS_41_ID, u, timestamp=ts)
    batch = fresh.cost("anthropic", OPUS_41_ID, u, batch=True, timestamp=ts)
    again = fresh.cost("anthropic", OPUS_41_ID, u, timestamp=ts)
    assert standard is not None and batch is not None and again is not None
    assert (standard.total, batch.total, again.total) == (pytest.approx(15.0), pytest.approx(7.5), pytest.approx(15.0))


@pytest.mark.parametrize("day", [BEFORE_CATALOG_BATCH, date(2026, 10, 13), AFTER_ALL])
def test_batch_gemini_flash_halves_input_and_output_not_caching(book: PriceBook, day: date) -> None:
    # Gemini batch: 50% of input and output; context caching stays at the standard rate.
    u = Usage(input_tokens=10_000, input_audio_tokens=2_000, cache_read_tokens=100_000, output_tokens=4_000)
    cost = book.cost("gcp.gemini", "gemini-2.5-flash", u, batch=True, timestamp=noon(day))
    assert cost is not None
    assert cost.input == pytest.approx(usd(8_000, 0.15) + usd(2_000, 0.50))
    assert cost.output == pytest.approx(usd(4_000, 1.25))
    assert cost.cache_read == pytest.approx(usd(100_000, GEMINI_25_FLASH_CACHE_READ))


@pytest.mark.parametrize("day", [BEFORE_CATALOG_BATCH, AFTER_ALL])
def test_batch_rates_continuous_across_catalog_batch_date(book: PriceBook, day: date) -> None:
    """The catalog's batch prices start 2026-10-14 only because history was not modelled; the
    correction before that date must give the same rates for models whose prices did not change."""
    for provider, model in (
        ("anthropic", SONNET_45_ID),
        ("anthropic", HAIKU_45_ID),
        ("gcp.gemini", "gemini-2.5-flash"),
        ("gcp.gemini", "gemini-2.5-pro"),
    ):
        earlier = book.rates(provider, model, batch=True, when=day)
        later = book.rates(provider, model, batch=True, when=date(2026, 10, 14))
        assert earlier is not None and later is not None
        assert earlier.base.per_million() == pytest.approx(later.base.per_million()), model
        assert [(t, r.per_million()) for t, r in earlier.tiers] == [
            (t, pytest.approx(r.per_million())) for t, r in later.tiers
        ], model


# --- model names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("projects/p/locations/l/publishers/google/models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("publishers/google/models/gemini-2.5-pro", "gemini-2.5-pro"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        ("  Claude-Sonnet-4-5 ", "claude-sonnet-4-5"),
    ],
)
def test_normalize_model(raw: str, normal: str) -> None:
    assert normalize_model(raw) == normal


@pytest.mark.parametrize(
    ("provider", "model", "prices"),
    [
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", BEDROCK_SONNET_45_REGIONAL),
        ("aws.bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", BEDROCK_SONNET_45_REGIONAL),
        ("aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", BEDROCK_SONNET_45_REGIONAL),
        (
            "aws.bedrock",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            BEDROCK_SONNET_45_REGIONAL,
        ),
        (
            "aws.bedrock",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
            BEDROCK_SONNET_45_REGIONAL,
        ),
        ("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", BEDROCK_SONNET_45_GLOBAL),
        (
            "aws.bedrock",
            "arn:aws:bedrock:us-west-2:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            BEDROCK_SONNET_45_GLOBAL,
        ),
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", SONNET_4),
        ("anthropic", "CLAUDE-SONNET-4-5-20250929", SONNET_45),
        ("anthropic", " claude-haiku-4-5 ", HAIKU_45),
        ("gcp.vertex_ai", VERTEX_SONNET_4, SONNET_4),
    ],
)
def test_claude_model_spellings(book: PriceBook, provider: str, model: str, prices: Any) -> None:
    u = Usage(input_tokens=10_000, cache_read_tokens=5_000, cache_write_5m_tokens=2_000, output_tokens=1_000)
    assert_cost(book.cost(provider, model, u, timestamp=noon(AFTER_ALL)), expected_claude(prices, u))


def test_bedrock_sonnet_4_gets_long_context_correction(book: PriceBook) -> None:
    u = Usage(input_tokens=250_000, output_tokens=1_000)
    cost = book.cost("aws.bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", u, timestamp=noon(AFTER_ALL))
    assert_cost(cost, expected_claude(SONNET_4_LONG, u))


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("gcp.gemini", "gemini-2.5-flash"),
        ("gcp.gemini", "models/gemini-2.5-flash"),
        ("gcp.vertex_ai", "gemini-2.5-flash"),
        ("gcp.vertex_ai", "projects/p/locations/l/publishers/google/models/gemini-2.5-flash"),
        ("gcp.vertex_ai", "publishers/google/models/gemini-2.5-flash"),
    ],
)
def test_gemini_model_spellings(book: PriceBook, provider: str, model: str) -> None:
    u = Usage(input_tokens=100_000, cache_read_tokens=100_000, output_tokens=10_000)
    cost = book.cost(provider, model, u, timestamp=noon(AFTER_ALL))
    assert cost is not None
    assert cost.model == "gemini-2.5-flash"
    assert cost.total == pytest.approx(0.03 + 0.003 + 0.025)  # $0.30, $0.03, $2.50 per M


# --- unknown models -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "claude-imaginary-9"),
        ("anthropic", "gpt-imaginary-9"),
        ("anthropic", ""),
        ("anthropic", "gemini-2.5-flash"),  # Anthropic does not serve Gemini
        ("gcp.gemini", "gemini-imaginary-9"),
        ("aws.bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"),
        ("no.such.provider", "claude-sonnet-4-5"),
    ],
)
def test_unknown_model_is_none_never_zero(book: PriceBook, provider: str, model: str) -> None:
    big = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert book.cost(provider, model, big) is None
    assert book.cost(provider, model, big, batch=True) is None
    assert book.rates(provider, model) is None
    assert book.rates(provider, model, when=AFTER_ALL) is None


# --- provenance -----------------------------------------------------------------------------


def test_provenance_catalog(book: PriceBook) -> None:
    rates = book.rates("anthropic", SONNET_45_ID, when=AFTER_ALL)
    assert isinstance(rates, Rates)
    assert rates.source == "catalog"
    assert rates.model == "claude-sonnet-4-5"
    assert set(rates.origins.values()) == {"catalog"}
    assert {"input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "web_search", "tiers"} <= set(
        rates.origins
    )
    assert rates.notes[0] == "catalog: anthropic/claude-sonnet-4-5"
    assert rates.version.startswith("genai-prices ")
    assert "+corrections." in rates.version
    assert "+overrides" not in rates.version


def test_provenance_correction_tiers_only(book: PriceBook) -> None:
    rates = book.rates("anthropic", SONNET_4_ID, when=AFTER_ALL)
    assert rates is not None
    assert rates.source == "correction"
    assert rates.model == "claude-sonnet-4-0"
    assert rates.origins["tiers"] == "correction"
    assert rates.origins["input"] == rates.origins["output"] == "catalog"


def test_provenance_batch_correction(book: PriceBook) -> None:
    rates = book.rates("anthropic", SONNET_45_ID, batch=True, when=BEFORE_CATALOG_BATCH)
    assert rates is not None
    assert rates.source == "correction"
    for name in ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "tiers"):
        assert rates.origins[name] == "correction", name
    assert rates.origins["web_search"] == "catalog"


def test_cost_carries_source_model_version(book: PriceBook) -> None:
    cost = book.cost("gcp.vertex_ai", VERTEX_SONNET_4, Usage(input_tokens=1), timestamp=noon(AFTER_ALL))
    rates = book.rates("gcp.vertex_ai", VERTEX_SONNET_4, when=AFTER_ALL)
    assert cost is not None and rates is not None
    assert (cost.source, cost.model, cost.version) == ("correction", rates.model, rates.version)


def test_default_timestamp_is_today(book: PriceBook) -> None:
    u = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    cost = book.cost("anthropic", HAIKU_45_ID, u)
    assert cost is not None
    assert cost.total == pytest.approx(1.0 + 5.0)
    assert book.rates("anthropic", HAIKU_45_ID) is not None


def test_cache_per_day(book: PriceBook) -> None:
    u = Usage(input_tokens=300_000)
    fresh = PriceBook()
    a = fresh.cost("anthropic", SONNET_4_ID, u, timestamp=noon(date(2025, 8, 11)))
    b = fresh.cost("anthropic", SONNET_4_ID, u, timestamp=noon(date(2025, 8, 12)))
    c = fresh.cost("anthropic", SONNET_4_ID, u, timestamp=noon(date(2025, 8, 11)))
    assert a is not None and b is not None and c is not None
    assert (a.total, b.total, c.total) == (pytest.approx(0.9), pytest.approx(1.8), pytest.approx(0.9))
    # the day boundary is UTC midnight
    last_second = datetime(2025, 8, 11, 23, 59, 59, tzinfo=UTC).timestamp()
    first_second = datetime(2025, 8, 12, 0, 0, 0, tzinfo=UTC).timestamp()
    assert fresh.cost("anthropic", SONNET_4_ID, u, timestamp=last_second).total == pytest.approx(0.9)  # type: ignore[union-attr]
    assert fresh.cost("anthropic", SONNET_4_ID, u, timestamp=first_second).total == pytest.approx(1.8)  # type: ignore[union-attr]


# --- properties -----------------------------------------------------------------------------

# (provider, model, batch) -> (base prices, long prices) as (input, output, read, 5m, 1h).
# Web search is asked for on the Anthropic API only (the catalog has no Vertex fee for it).
PROPERTY_MODELS: dict[tuple[str, str, bool], tuple[tuple[float, ...], tuple[float, ...]]] = {
    ("anthropic", SONNET_45_ID, False): (SONNET_45, SONNET_45_LONG),
    ("anthropic", SONNET_45_ID, True): (half(SONNET_45), half(SONNET_45_LONG)),
    ("anthropic", SONNET_4_ID, False): (SONNET_4, SONNET_4_LONG),
    ("anthropic", HAIKU_45_ID, False): (HAIKU_45, HAIKU_45),
    ("anthropic", OPUS_41_ID, True): (half(OPUS_41), half(OPUS_41)),
    ("gcp.vertex_ai", VERTEX_SONNET_4, False): (SONNET_4, SONNET_4_LONG),
}
PROPERTY_TS = noon(AFTER_ALL)
_PROPERTY_BOOK = PriceBook()

FIELDS = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens")


def _usage(values: list[int], searches: int) -> Usage:
    return Usage(**dict(zip(FIELDS, values, strict=True)), web_search_requests=searches)


_small = st.integers(min_value=0, max_value=40_000)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(PROPERTY_MODELS)),
    values=st.lists(_small, min_size=5, max_size=5),
    searches=st.integers(min_value=0, max_value=50),
    bump_field=st.sampled_from(FIELDS),
    bump=st.integers(min_value=0, max_value=40_000),
)
def test_property_base_tier(key: Any, values: list[int], searches: int, bump_field: str, bump: int) -> None:
    provider, model, batch = key
    u = _usage(values, searches if provider != "gcp.vertex_ai" else 0)
    assert u.total_input_tokens + bump <= 200_000  # stays in the base tier
    cost = _PROPERTY_BOOK.cost(provider, model, u, batch=batch, timestamp=PROPERTY_TS)
    assert cost is not None
    base, _ = PROPERTY_MODELS[key]
    _check(cost, u, base)
    bigger = replace(u, **{bump_field: getattr(u, bump_field) + bump})
    more = _PROPERTY_BOOK.cost(provider, model, bigger, batch=batch, timestamp=PROPERTY_TS)
    assert more is not None
    assert more.total >= cost.total
    for (name, a), (_, b) in zip(cost.components(), more.components(), strict=True):
        assert b >= a, name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(PROPERTY_MODELS)),
    values=st.lists(_small, min_size=5, max_size=5),
    searches=st.integers(min_value=0, max_value=50),
    bump_field=st.sampled_from(FIELDS),
    bump=st.integers(min_value=0, max_value=1_000_000),
)
def test_property_long_tier(key: Any, values: list[int], searches: int, bump_field: str, bump: int) -> None:
    provider, model, batch = key
    values = [values[0] + 200_001, *values[1:]]  # above the cliff whatever else happens
    u = _usage(values, searches if provider != "gcp.vertex_ai" else 0)
    cost = _PROPERTY_BOOK.cost(provider, model, u, batch=batch, timestamp=PROPERTY_TS)
    assert cost is not None
    _, long = PROPERTY_MODELS[key]
    _check(cost, u, long)
    bigger = replace(u, **{bump_field: getattr(u, bump_field) + bump})
    more = _PROPERTY_BOOK.cost(provider, model, bigger, batch=batch, timestamp=PROPERTY_TS)
    assert more is not None
    assert more.total >= cost.total


@settings(max_examples=100, deadline=None)
@given(
    text=st.integers(min_value=0, max_value=10_000_000),
    audio=st.integers(min_value=0, max_value=10_000_000),
    read=st.integers(min_value=0, max_value=10_000_000),
    out=st.integers(min_value=0, max_value=10_000_000),
)
def test_property_gemini_flash(text: int, audio: int, read: int, out: int) -> None:
    u = Usage(input_tokens=text + audio, input_audio_tokens=audio, cache_read_tokens=read, output_tokens=out)
    cost = _PROPERTY_BOOK.cost("gcp.gemini", "gemini-2.5-flash", u, timestamp=PROPERTY_TS)
    assert cost is not None
    expected = (
        usd(text, GEMINI_25_FLASH_TEXT_IN)
        + usd(audio, GEMINI_25_FLASH_AUDIO_IN)
        + usd(read, GEMINI_25_FLASH_CACHE_READ)
        + usd(out, GEMINI_25_FLASH_OUT)
    )
    assert cost.total == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert min(v for _, v in cost.components()) >= 0
    assert cost.total == sum(v for _, v in cost.components())


def _check(cost: Cost, u: Usage, prices: tuple[float, ...]) -> None:
    for name, value in cost.components():
        assert value >= 0, name
    assert cost.cache_savings >= 0
    assert cost.total == sum(v for _, v in cost.components())
    inp, out, read, w5m, w1h = prices
    expected = (
        usd(u.input_tokens, inp)
        + usd(u.output_tokens, out)
        + usd(u.cache_read_tokens, read)
        + usd(u.cache_write_5m_tokens, w5m)
        + usd(u.cache_write_1h_tokens, w1h)
        + u.web_search_requests * WEB_SEARCH_PER_1K / 1000
    )
    assert cost.total == pytest.approx(expected, rel=1e-9, abs=1e-12)
