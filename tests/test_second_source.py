"""Every rate our price book charges, checked against a second source: LiteLLM's price table.

NOTE: this module needs LiteLLM's table on disk, fetched from PyPI at a pinned version by
``python scripts/fetch-second-source.py`` (``make test`` runs it first). Without it the tests
FAIL, naming that command: they never skip, so CI cannot pass by comparing nothing.

A price that differs fails unless tests/data/price_disagreements.toml says who is right and
why; an entry there that no longer differs fails too. Nothing here runs at import or run
time of the library: the table is read from the cache by the test alone.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import second_source
from llm_cost_otel.pricing import PriceBook
from llm_cost_otel.pricing.rates import RATE_NAMES
from llm_cost_otel.providers import PRICE_PROVIDERS
from second_source import (
    FETCH_COMMAND,
    NOT_IN_LITELLM,
    RATE_FIELDS,
    ROUTES,
    Comparison,
    KnownDisagreement,
    Report,
    SecondSourceMissing,
    check,
    compare,
    explain_failures,
    load_disagreements,
    load_litellm,
    route,
    summary,
)

# Floors, so the check cannot pass by comparing (almost) nothing: a renamed LiteLLM field or
# a broken route would otherwise shrink the comparison quietly. Today: 151 pairs, 1867 rates.
MIN_PAIRS = 120
MIN_RATES = 1500
MIN_PAIRS_PER_PROVIDER = 5


@pytest.fixture(scope="module")
def litellm() -> dict[str, Any]:
    try:
        return load_litellm()
    except SecondSourceMissing as missing:
        reason = str(missing)
    pytest.fail(reason, pytrace=False)  # outside the except: no chained traceback to read past


@pytest.fixture(scope="module")
def report(litellm: dict[str, Any]) -> Report:
    return compare(litellm, when=second_source.compared_on())


def test_every_difference_from_litellm_is_explained(report: Report) -> None:
    result = check(report.differences, load_disagreements())
    print(summary(report, result))  # shown with -s, and on failure
    assert result.ok, explain_failures(result, report.when)


def test_enough_is_compared(report: Report) -> None:
    pairs = report.compared_pairs
    assert len(pairs) >= MIN_PAIRS, summary(report)
    assert len(report.comparisons) >= MIN_RATES, summary(report)
    for provider in PRICE_PROVIDERS:
        count = sum(1 for p, _ in pairs if p == provider)
        assert count >= MIN_PAIRS_PER_PROVIDER, f"only {count} {provider} models compared:\n{summary(report)}"
    # the kinds of rate the brief asks about are each compared somewhere
    compared = {c.rate for c in report.comparisons}
    for rate in ("cache_write_1h", "input>200k", "input@batch", "web_search", "input_character"):
        assert rate in compared, f"no {rate} compared"


def test_a_missing_table_fails_naming_the_fetch_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(second_source, "litellm_json_path", lambda: tmp_path / "litellm-0.json")
    monkeypatch.setattr(second_source, "ROOT", tmp_path)
    with pytest.raises(SecondSourceMissing, match=FETCH_COMMAND):
        load_litellm()


def test_every_rate_name_is_mapped_or_excused() -> None:
    # a rate added to RateSet must be compared, or say why LiteLLM has nothing to compare it with
    assert set(RATE_FIELDS) | set(NOT_IN_LITELLM) == set(RATE_NAMES)
    assert not set(RATE_FIELDS) & set(NOT_IN_LITELLM)


def test_the_table_is_well_formed() -> None:
    entries = load_disagreements()
    assert entries, "an empty table: the stale check below would mean nothing"
    for entry in entries:
        assert entry.provider in PRICE_PROVIDERS, entry.describe()
        assert entry.since <= date.today(), entry.describe()


def test_routes_name_only_our_platforms() -> None:
    assert {r.provider for r in ROUTES} == set(PRICE_PROVIDERS)
    assert route("claude-opus-4-8", {"litellm_provider": "anthropic"}) == ("anthropic", "claude-opus-4-8")
    assert route("vertex_ai/claude-opus-4-8", {"litellm_provider": "vertex_ai-anthropic_models"}) == (
        "gcp.vertex_ai",
        "claude-opus-4-8",
    )
    assert route("gemini/gemini-2.5-pro", {"litellm_provider": "gemini"}) == ("gcp.gemini", "gemini-2.5-pro")
    # one Region's (or a commitment's) price, another vendor, or an API our adapters do not call
    assert route("bedrock/us-east-1/anthropic.claude-v2:1", {"litellm_provider": "bedrock"}) is None
    assert route("vertex_ai/xai/grok-4.3", {"litellm_provider": "vertex_ai"}) is None
    assert route("bedrock_mantle/anthropic.claude-haiku-4-5", {"litellm_provider": "bedrock_mantle"}) is None
    assert route("mistral.mistral-large-2402-v1:0", {"litellm_provider": "bedrock"}) is None


# --- the check itself can fail ---------------------------------------------------------------

OPUS = {
    "litellm_provider": "anthropic",
    "input_cost_per_token": 5e-06,
    "output_cost_per_token": 2.5e-05,
    "cache_read_input_token_cost": 5e-07,
    "cache_creation_input_token_cost": 6.25e-06,
    "cache_creation_input_token_cost_above_1hr": 1e-05,
    "input_cost_per_token_batches": 2.5e-06,
}
WHEN = date(2026, 12, 3)


def _differences(entry: dict[str, Any], key: str = "claude-opus-4-8") -> list[Comparison]:
    return compare({key: entry}, PriceBook(), WHEN).differences


def test_agreeing_prices_compare_equal() -> None:
    report = compare({"claude-opus-4-8": OPUS}, PriceBook(), WHEN)
    assert {c.rate for c in report.comparisons} == {
        "input",
        "output",
        "cache_read",
        "cache_write_5m",
        "cache_write_1h",
        "input@batch",
    }
    assert report.differences == []


def test_a_wrong_price_is_an_unexplained_difference() -> None:
    wrong = {**OPUS, "cache_creation_input_token_cost_above_1hr": 1.2e-05}
    [difference] = _differences(wrong)
    assert (difference.rate, difference.ours, difference.litellm) == ("cache_write_1h", 10.0, 12.0)
    result = check([difference], [])
    assert not result.ok and result.unknown == [difference]
    message = explain_failures(result, WHEN)
    assert 'model = "claude-opus-4-8", rate = "cache_write_1h", ours = 10, litellm = 12' in message


def test_a_long_context_tier_is_compared_with_what_we_bill_above_it() -> None:
    # we bill Opus 4.8 at one price at any size: LiteLLM's tier shows as a difference
    tiered = {**OPUS, "input_cost_per_token_above_200k_tokens": 1e-05}
    [difference] = _differences(tiered)
    assert (difference.rate, difference.ours, difference.litellm) == ("input>200k", 5.0, 10.0)


def _entry(c: Comparison, **changes: Any) -> KnownDisagreement:
    fields = {
        "provider": c.provider,
        "model": c.model,
        "rate": c.rate,
        "ours": c.ours,
        "litellm": c.litellm,
        "since": WHEN,
        "who_is_right": "ours",
        "why": "test",
        "source": "test",
    }
    return KnownDisagreement(**{**fields, **changes})


def test_a_listed_difference_passes_and_a_changed_or_stale_one_fails() -> None:
    [difference] = _differences({**OPUS, "output_cost_per_token": 3e-05})
    assert check([difference], [_entry(difference)]).ok
    changed = check([difference], [_entry(difference, litellm=31.0)])
    assert not changed.ok and changed.changed and not changed.unknown
    stale = check([], [_entry(difference)])
    assert not stale.ok and stale.stale
    assert "STALE" in explain_failures(stale, WHEN)


def test_a_malformed_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[reason]]\nwho_is_right = "probably"\nwhy = "TODO"\nsource = "x"\nsince = 2026-12-03\n'
        'differences = [{ provider = "anthropic", model = "m", rate = "input", ours = 1 }]\n'
    )
    with pytest.raises(ValueError) as error:
        load_disagreements(bad)
    text = str(error.value)
    assert "who_is_right" in text and "why" in text and "expected exactly the fields" in text
