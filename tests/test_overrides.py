"""Price override files: custom models, aliases, discounts, precedence, and bad files.

Expected costs are computed here from the prices written in the override files under
tests/data/ (USD per million tokens) and from published list prices written as literals.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import llm_cost_otel
from llm_cost_otel import telemetry
from llm_cost_otel.pricing import Overrides, PriceBook, PriceOverrideError, load_overrides
from llm_cost_otel.usage import Usage

DATA = Path(__file__).parent / "data"
CUSTOM_TOML = DATA / "prices_custom.toml"
CUSTOM_JSON = DATA / "prices_custom.json"
DAY = date(2026, 11, 1)
TS = datetime(2026, 11, 1, 12, tzinfo=UTC).timestamp()

SONNET_45_ID = "claude-sonnet-4-5-20250929"
SONNET_4_ID = "claude-sonnet-4-20250514"
HAIKU_45_ID = "claude-haiku-4-5-20251001"
VERTEX_SONNET_4 = "claude-sonnet-4@20250514"


def usd(tokens: int, usd_per_million: float) -> float:
    return tokens * usd_per_million / 1_000_000


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)


@pytest.fixture(scope="module")
def toml_book() -> PriceBook:
    return PriceBook.from_config(CUSTOM_TOML)


# --- custom models --------------------------------------------------------------------------


def test_custom_model_from_toml_every_component(toml_book: PriceBook) -> None:
    # prices_custom.toml: acme-claude-ft = $2 in, $8 out, $0.20 read, $2.50 5m, $4 1h, $12 / 1K searches
    u = Usage(
        input_tokens=10_000,
        cache_read_tokens=20_000,
        cache_write_5m_tokens=4_000,
        cache_write_1h_tokens=2_000,
        output_tokens=1_000,
        web_search_requests=5,
    )
    cost = toml_book.cost("anthropic", "acme-claude-ft", u, timestamp=TS)
    assert cost is not None
    assert cost.input == pytest.approx(0.02)
    assert cost.output == pytest.approx(0.008)
    assert cost.cache_read == pytest.approx(0.004)
    assert cost.cache_write == pytest.approx(0.01 + 0.008)
    assert cost.request_fees == pytest.approx(0.06)
    assert cost.cache_savings == pytest.approx(usd(20_000, 2.0 - 0.2))
    assert cost.total == pytest.approx(0.02 + 0.008 + 0.004 + 0.018 + 0.06)
    assert cost.source == "override"
    assert cost.model == "acme-claude-ft"
    assert cost.version.endswith("+overrides:prices_custom.toml")


def test_custom_model_case_insensitive(toml_book: PriceBook) -> None:
    cost = toml_book.cost("anthropic", "ACME-Claude-FT", Usage(input_tokens=100_000), timestamp=TS)
    assert cost is not None and cost.total == pytest.approx(0.2)  # 100,000 x $2/M (not above the 100k tier)


def test_custom_model_tier_above_threshold(toml_book: PriceBook) -> None:
    # tier above 100,000 input tokens: $4 in / $12 out; everything else inherited from the base
    at = Usage(input_tokens=90_000, cache_read_tokens=10_000, output_tokens=1_000)
    above = Usage(input_tokens=90_001, cache_read_tokens=10_000, output_tokens=1_000)
    c_at = toml_book.cost("anthropic", "acme-claude-ft", at, timestamp=TS)
    c_above = toml_book.cost("anthropic", "acme-claude-ft", above, timestamp=TS)
    assert c_at is not None and c_above is not None
    assert c_at.total == pytest.approx(usd(90_000, 2.0) + usd(10_000, 0.2) + usd(1_000, 8.0))
    assert c_above.input == pytest.approx(usd(90_001, 4.0))
    assert c_above.output == pytest.approx(usd(1_000, 12.0))
    assert c_above.cache_read == pytest.approx(usd(10_000, 0.2))  # not set in the tier: base rate


def test_custom_model_rates_and_origins(toml_book: PriceBook) -> None:
    rates = toml_book.rates("anthropic", "acme-claude-ft", when=DAY)
    assert rates is not None
    assert rates.source == "override"
    assert rates.base.per_million() == pytest.approx(
        {
            "input": 2.0,
            "output": 8.0,
            "cache_read": 0.2,
            "cache_write_5m": 2.5,
            "cache_write_1h": 4.0,
            "web_search": 12.0,
        }
    )
    assert set(rates.origins.values()) == {"override"}
    assert rates.origins["tiers"] == "override"
    assert [t for t, _ in rates.tiers] == [100_000]
    assert any("custom model" in n and "prices_custom.toml" in n for n in rates.notes)


def test_custom_model_is_provider_scoped(toml_book: PriceBook) -> None:
    # acme-claude-ft has provider = "anthropic": on Bedrock it is unknown
    assert toml_book.cost("aws.bedrock", "acme-claude-ft", Usage(input_tokens=1)) is None
    # flat-model has no provider: any provider
    for provider in ("anthropic", "aws.bedrock", "gcp.gemini"):
        cost = toml_book.cost(provider, "flat-model", Usage(input_tokens=1_000_000, output_tokens=1_000_000))
        assert cost is not None and cost.total == pytest.approx(1.0 + 2.0)


def test_custom_model_batch_multiplier(toml_book: PriceBook) -> None:
    u = Usage(input_tokens=1_000_000, output_tokens=1_000_000, web_search_requests=1_000)
    # default batch multiplier 0.5 on token rates; the search fee is not discounted
    default = toml_book.cost("anthropic", "acme-claude-ft", u, batch=True, timestamp=TS)
    assert default is not None
    assert default.input == pytest.approx(usd(1_000_000, 4.0 * 0.5))  # 1M input > 100k: tier rate $4, halved
    assert default.output == pytest.approx(usd(1_000_000, 12.0 * 0.5))
    assert default.request_fees == pytest.approx(12.0)
    # flat-model: batch_multiplier = 0.25
    flat = toml_book.cost("anthropic", "flat-model", u, batch=True, timestamp=TS)
    assert flat is not None
    assert flat.input == pytest.approx(0.25) and flat.output == pytest.approx(0.5)


def test_custom_model_from_json_with_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    book = PriceBook.from_config(CUSTOM_JSON)
    # acme-gemini-tuned (gcp.vertex_ai only): $0.50 in, $4 out, $0.05 read;
    # above 100k: output $5; above 500k: $1 in, $6 out (tiers listed out of order in the file)
    name = "acme-gemini-tuned"
    low = book.cost("gcp.vertex_ai", name, Usage(input_tokens=100_000, output_tokens=1_000), timestamp=TS)
    mid = book.cost("gcp.vertex_ai", name, Usage(input_tokens=100_001, output_tokens=1_000), timestamp=TS)
    high = book.cost(
        "gcp.vertex_ai", name, Usage(input_tokens=400_000, cache_read_tokens=100_001, output_tokens=1_000), timestamp=TS
    )
    assert low is not None and mid is not None and high is not None
    assert low.total == pytest.approx(0.05 + 0.004)
    assert mid.total == pytest.approx(usd(100_001, 0.5) + 0.005)
    assert high.input == pytest.approx(0.4)
    assert high.output == pytest.approx(0.006)
    assert high.cache_read == pytest.approx(usd(100_001, 0.05))
    assert book.cost("gcp.gemini", name, Usage(input_tokens=1)) is None


def test_custom_model_shadows_catalog_and_corrections() -> None:
    """override > correction > catalog: a custom entry for a catalog model replaces it whole."""
    book = PriceBook.from_config({"models": {SONNET_4_ID: {"input": 2.0, "output": 10.0}}})
    u = Usage(input_tokens=300_000, output_tokens=1_000)
    cost = book.cost("anthropic", SONNET_4_ID, u, timestamp=TS)
    assert cost is not None
    # no tier in the custom entry: 300,000 x $2 + 1,000 x $10 (not the corrected $6 / $22.50)
    assert cost.total == pytest.approx(0.6 + 0.01)
    assert cost.source == "override"
    rates = book.rates("anthropic", SONNET_4_ID, when=DAY)
    assert rates is not None and rates.tiers == ()
    assert not any("correction" in n for n in rates.notes)
    # another spelling of the same catalog model is not shadowed
    other = book.cost("anthropic", "claude-sonnet-4-0", u, timestamp=TS)
    assert other is not None and other.total == pytest.approx(1.8 + 0.0225)


# --- aliases --------------------------------------------------------------------------------


def test_alias_to_catalog_model(toml_book: PriceBook) -> None:
    u = Usage(input_tokens=1_000, cache_read_tokens=10_000, output_tokens=100)
    via_alias = toml_book.cost("anthropic", "prod-sonnet", u, timestamp=TS)
    assert via_alias is not None
    assert via_alias.total == pytest.approx(usd(1_000, 3.0) + usd(10_000, 0.30) + usd(100, 15.0))
    assert via_alias.model == "claude-sonnet-4-5"
    assert via_alias.source == "catalog"
    assert toml_book.cost("anthropic", "PROD-SONNET", u, timestamp=TS) == via_alias


def test_alias_gets_corrections_of_its_target(toml_book: PriceBook) -> None:
    # "Team-Deploy-Sonnet4" -> claude-sonnet-4-20250514, whose >200k tier comes from a correction
    u = Usage(input_tokens=250_000, output_tokens=1_000)
    cost = toml_book.cost("anthropic", "team-deploy-sonnet4", u, timestamp=TS)
    assert cost is not None
    assert cost.total == pytest.approx(usd(250_000, 6.0) + usd(1_000, 22.5))
    assert cost.source == "correction"
    assert cost.model == "claude-sonnet-4-0"


def test_alias_with_resource_path() -> None:
    book = PriceBook.from_config({"aliases": {"my-flash": "gemini-2.5-flash"}})
    cost = book.cost(
        "gcp.vertex_ai", "projects/p/locations/l/publishers/google/models/my-flash", Usage(input_tokens=1_000_000)
    )
    assert cost is not None and cost.total == pytest.approx(0.30)


def test_alias_to_custom_model() -> None:
    book = PriceBook.from_config({"models": {"ft": {"input": 7, "output": 9}}, "aliases": {"ft-prod": "ft"}})
    cost = book.cost("anthropic", "ft-prod", Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    assert cost is not None and cost.total == pytest.approx(16.0)
    assert cost.source == "override"


def test_alias_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    book = PriceBook.from_config(CUSTOM_JSON)
    cost = book.cost("gcp.gemini", "prod-flash", Usage(input_tokens=1_000_000, output_tokens=1_000_000), timestamp=TS)
    assert cost is not None and cost.total == pytest.approx(0.30 + 2.50)


def test_unaliased_unknown_deployment_is_unpriced(toml_book: PriceBook) -> None:
    assert toml_book.cost("anthropic", "prod-opus", Usage(input_tokens=1)) is None


# --- discounts ------------------------------------------------------------------------------


def test_discount_by_provider_and_glob() -> None:
    book = PriceBook.from_config({"discounts": [{"provider": "anthropic", "model": "claude-*", "multiplier": 0.85}]})
    u = Usage(input_tokens=100_000, cache_read_tokens=10_000, cache_write_1h_tokens=1_000, output_tokens=1_000)
    cost = book.cost("anthropic", SONNET_45_ID, u, timestamp=TS)
    assert cost is not None
    list_price = usd(100_000, 3.0) + usd(10_000, 0.30) + usd(1_000, 6.0) + usd(1_000, 15.0)
    assert cost.total == pytest.approx(0.85 * list_price)
    assert cost.source == "override"
    # the long tier is discounted too
    long = Usage(input_tokens=300_000, output_tokens=1_000)
    long_cost = book.cost("anthropic", SONNET_45_ID, long, timestamp=TS)
    assert long_cost is not None
    assert long_cost.total == pytest.approx(0.85 * (usd(300_000, 6.0) + usd(1_000, 22.5)))
    rates = book.rates("anthropic", SONNET_45_ID, when=DAY)
    assert rates is not None
    assert rates.origins["input"] == rates.origins["tiers"] == "override"
    assert any("discount x0.85" in n for n in rates.notes)
    # other providers and other model families are untouched
    gemini = book.cost("gcp.gemini", "gemini-2.5-flash", Usage(input_tokens=1_000_000), timestamp=TS)
    assert gemini is not None and gemini.total == pytest.approx(0.30) and gemini.source == "catalog"
    bedrock = book.cost("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", Usage(input_tokens=100_000))
    assert bedrock is not None and bedrock.total == pytest.approx(0.3)


def test_discount_from_file_applies_to_vertex_claude_only(toml_book: PriceBook) -> None:
    # prices_custom.toml: provider gcp.vertex_ai, model claude-*, x0.9
    u = Usage(input_tokens=100_000, cache_write_1h_tokens=10_000, output_tokens=1_000)
    vertex = toml_book.cost("gcp.vertex_ai", VERTEX_SONNET_4, u, timestamp=TS)
    direct = toml_book.cost("anthropic", SONNET_4_ID, u, timestamp=TS)
    assert vertex is not None and direct is not None
    list_price = usd(100_000, 3.0) + usd(10_000, 6.0) + usd(1_000, 15.0)
    assert vertex.total == pytest.approx(0.9 * list_price)
    assert direct.total == pytest.approx(list_price)
    assert vertex.source == "override"
    rates = toml_book.rates("gcp.vertex_ai", VERTEX_SONNET_4, when=DAY)
    assert rates is not None
    # a discounted correction is an override now; the per-rate origins show the top layer
    assert rates.origins["cache_write_1h"] == "override"
    assert rates.origins["tiers"] == "override"


def test_discount_matches_model_as_requested() -> None:
    # the user names the model id they send, not the catalog's entry name (claude-sonnet-4-0)
    book = PriceBook.from_config({"discounts": [{"model": "claude-sonnet-4-2025*", "multiplier": 0.5}]})
    cost = book.cost("anthropic", SONNET_4_ID, Usage(input_tokens=100_000), timestamp=TS)
    assert cost is not None and cost.total == pytest.approx(0.5 * 0.3)  # 100,000 x $3/M, halved
    # Bedrock profile ids too
    book = PriceBook.from_config(
        {"discounts": [{"provider": "aws.bedrock", "model": "us.anthropic.claude-*", "multiplier": 0.5}]}
    )
    cost = book.cost("aws.bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", Usage(input_tokens=100_000))
    assert cost is not None and cost.total == pytest.approx(0.5 * 0.3)


def test_discount_applies_once_even_if_several_names_match() -> None:
    book = PriceBook.from_config(
        {"discounts": [{"model": "*sonnet*", "multiplier": 0.5}], "aliases": {"my-sonnet": SONNET_45_ID}}
    )
    cost = book.cost("anthropic", "my-sonnet", Usage(input_tokens=100_000), timestamp=TS)
    assert cost is not None and cost.total == pytest.approx(0.5 * 0.3)


def test_discounts_multiply() -> None:
    book = PriceBook.from_config(
        {
            "discounts": [
                {"provider": "anthropic", "multiplier": 0.9},
                {"model": "claude-haiku-*", "multiplier": 0.5},
            ]
        }
    )
    haiku = book.cost("anthropic", HAIKU_45_ID, Usage(output_tokens=1_000_000), timestamp=TS)
    opus = book.cost("anthropic", "claude-opus-4-1", Usage(output_tokens=1_000_000), timestamp=TS)
    assert haiku is not None and opus is not None
    assert haiku.total == pytest.approx(5.0 * 0.9 * 0.5)
    assert opus.total == pytest.approx(75.0 * 0.9)


def test_discount_on_batch_rates() -> None:
    book = PriceBook.from_config({"discounts": [{"model": "claude-opus-*", "multiplier": 0.8}]})
    cost = book.cost("anthropic", "claude-opus-4-1", Usage(input_tokens=1_000_000), batch=True, timestamp=TS)
    assert cost is not None and cost.total == pytest.approx(15.0 * 0.5 * 0.8)


def test_discount_on_custom_model() -> None:
    book = PriceBook.from_config(
        {"models": {"ft": {"input": 10, "output": 20}}, "discounts": [{"model": "ft", "multiplier": 0.5}]}
    )
    cost = book.cost("anthropic", "ft", Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    assert cost is not None and cost.total == pytest.approx(15.0)


def test_precedence_per_rate_origins() -> None:
    """catalog < correction < override, shown per rate."""
    plain = PriceBook().rates("gcp.vertex_ai", VERTEX_SONNET_4, when=DAY)
    assert plain is not None
    assert plain.origins["input"] == "catalog"
    assert plain.origins["cache_write_1h"] == "correction"
    assert plain.source == "correction"
    book = PriceBook.from_config({"models": {"claude-sonnet-4@20250514": {"input": 1, "output": 2}}})
    custom = book.rates("gcp.vertex_ai", VERTEX_SONNET_4, when=DAY)
    assert custom is not None
    assert custom.source == "override"
    assert set(custom.origins.values()) == {"override"}


# --- loading --------------------------------------------------------------------------------


def test_env_var_loads_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(CUSTOM_TOML))
    book = PriceBook.from_config()
    cost = book.cost("anthropic", "acme-claude-ft", Usage(input_tokens=100_000))
    assert cost is not None and cost.total == pytest.approx(0.2)
    assert book.version.endswith("+overrides:prices_custom.toml")


def test_explicit_prices_beat_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(CUSTOM_TOML))
    book = PriceBook.from_config(CUSTOM_JSON)
    assert book.cost("anthropic", "acme-claude-ft", Usage(input_tokens=1)) is None
    assert book.cost("gcp.vertex_ai", "acme-gemini-tuned", Usage(input_tokens=1)) is not None


def test_empty_env_var_means_no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", "")
    book = PriceBook.from_config()
    assert book.overrides == Overrides()
    assert "+overrides" not in book.version


def test_bad_env_var_file_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(DATA / "prices_negative.toml"))
    with pytest.raises(PriceOverrideError, match=r"prices_negative\.toml"):
        PriceBook.from_config()


def test_mapping_and_overrides_instances() -> None:
    overrides = load_overrides({"models": {"m": {"input": 1, "output": 1}}})
    assert overrides.source == "prices="
    assert PriceBook.from_config(overrides).overrides is overrides
    assert load_overrides(None) == Overrides()


def test_toml_and_json_are_equivalent(tmp_path: Path) -> None:
    spec = {
        "models": {"x": {"input": 1.5, "output": 4, "tiers": [{"above_input_tokens": 1000, "input": 3}]}},
        "aliases": {"y": "x"},
        "discounts": [{"provider": "anthropic", "model": "x", "multiplier": 0.5}],
    }
    json_file = tmp_path / "prices_eq.json"
    json_file.write_text(json.dumps(spec))
    toml_file = tmp_path / "prices_eq.toml"
    toml_file.write_text(
        "[models.x]\ninput = 1.5\noutput = 4\ntiers = [{ above_input_tokens = 1000, input = 3 }]\n"
        '[aliases]\ny = "x"\n'
        '[[discounts]]\nprovider = "anthropic"\nmodel = "x"\nmultiplier = 0.5\n'
    )
    u = Usage(input_tokens=1_001, output_tokens=10)
    costs = [PriceBook.from_config(f).cost("anthropic", "y", u) for f in (json_file, toml_file)]
    assert costs[0] is not None and costs[1] is not None
    assert costs[0].total == costs[1].total == pytest.approx(0.5 * (usd(1_001, 3.0) + usd(10, 4.0)))


# --- bad files ------------------------------------------------------------------------------


def _error(spec: Any) -> str:
    with pytest.raises(PriceOverrideError) as info:
        PriceBook.from_config(spec)
    return str(info.value)


def test_invalid_json_names_file_and_line() -> None:
    path = DATA / "prices_bad_syntax.json"
    message = _error(path)
    assert str(path) in message
    assert "invalid JSON" in message
    assert "line 3" in message  # the trailing comma is on line 3


def test_invalid_toml_names_file_and_line() -> None:
    path = DATA / "prices_bad_syntax.toml"
    message = _error(path)
    assert str(path) in message
    assert "invalid TOML" in message
    assert "line 3" in message


def test_unknown_key_names_file_and_key_path() -> None:
    path = DATA / "prices_unknown_key.json"
    message = _error(path)
    assert message.startswith(f"{path}: models.acme-ft: ")
    assert "cache_wrte_5m" in message


def test_unknown_top_level_key() -> None:
    message = _error({"model": {}})
    assert message.startswith("prices=: ")
    assert "'model'" in message


def test_negative_price_names_file_and_key_path() -> None:
    path = DATA / "prices_negative.toml"
    message = _error(path)
    assert f"{path}: models.acme-ft.tiers.0.input: " in message
    assert "-2.0" in message


def test_missing_required_field_names_file_and_key_path() -> None:
    path = DATA / "prices_missing_field.json"
    message = _error(path)
    assert message.startswith(f"{path}: models.acme-ft: ")
    assert "'output'" in message and "required" in message


def test_wrong_type_names_file_and_key_path() -> None:
    path = DATA / "prices_wrong_type.toml"
    message = _error(path)
    assert f"{path}: models.acme-ft.input: " in message
    assert "'3.00'" in message and "number" in message


def test_non_finite_prices_rejected() -> None:
    path = DATA / "prices_non_finite.json"
    message = _error(path)
    assert f"{path}: models.acme-ft.input: nan is not a finite number" in message
    assert f"{path}: models.acme-ft.output: inf is not a finite number" in message


def test_non_finite_in_toml_rejected(tmp_path: Path) -> None:
    path = tmp_path / "prices_inf.toml"
    path.write_text("[[discounts]]\nmultiplier = inf\n[models.m]\ninput = 1\noutput = nan\n")
    message = _error(path)
    assert f"{path}: discounts.0.multiplier: inf is not a finite number" in message
    assert f"{path}: models.m.output: nan is not a finite number" in message


def test_every_error_is_reported_at_once() -> None:
    message = _error(
        {
            "models": {"a": {"input": -1, "output": 1}, "b": {"input": 1}},
            "discounts": [{"model": "x"}],
            "aliases": {"z": 3},
        }
    )
    lines = message.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("prices=: ") for line in lines)
    for key in ("models.a.input", "models.b", "discounts.0", "aliases.z"):
        assert any(line.startswith(f"prices=: {key}: ") for line in lines), key


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"models": {"m": {"input": 1, "output": 2, "batch_multiplier": 1.5}}}, "models.m.batch_multiplier"),
        ({"models": {"m": {"input": 1, "output": 2, "tiers": [{"input": 3}]}}}, "models.m.tiers.0"),
        (
            {"models": {"m": {"input": 1, "output": 2, "tiers": [{"above_input_tokens": 1.5}]}}},
            "models.m.tiers.0.above_input_tokens",
        ),
        ({"models": {"m": {"input": True, "output": 2}}}, "models.m.input"),
        ({"discounts": [{"multiplier": -0.1}]}, "discounts.0.multiplier"),
        ({"discounts": [{"multiplier": 0.9, "model": ""}]}, "discounts.0.model"),
        ({"aliases": {"a": ""}}, "aliases.a"),
        ({"aliases": {"a": "b", "b": "c"}}, "aliases.a"),
        ({"models": []}, "models"),
    ],
)
def test_schema_errors_name_the_key(spec: Any, key: str) -> None:
    message = _error(spec)
    assert f"prices=: {key}: " in message


def test_top_level_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "prices_list.json"
    path.write_text("[1, 2]")
    message = _error(path)
    assert message.startswith(f"{path}: <top level>: ")


def test_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "prices_nowhere.toml"
    message = _error(path)
    assert str(path) in message
    assert "cannot read" in message


def test_bad_file_changes_nothing(tmp_path: Path) -> None:
    good = PriceBook.from_config(CUSTOM_TOML)
    before = good.cost("anthropic", "acme-claude-ft", Usage(input_tokens=1_000_000))
    overrides_before = good.overrides
    # a file that is valid up to one bad entry must not be half applied anywhere
    bad = tmp_path / "prices_half.json"
    bad.write_text(
        json.dumps({"models": {"new-model": {"input": 1, "output": 1}, "broken": {"input": -1, "output": 1}}})
    )
    with pytest.raises(PriceOverrideError, match=re.escape(str(bad))):
        PriceBook.from_config(bad)
    assert good.overrides is overrides_before
    assert good.cost("anthropic", "acme-claude-ft", Usage(input_tokens=1_000_000)) == before
    assert good.cost("anthropic", "new-model", Usage(input_tokens=1)) is None
    assert PriceBook().cost("anthropic", "new-model", Usage(input_tokens=1)) is None


def test_bad_file_leaves_instrumentation_as_it_was(otel: Any, tmp_path: Path) -> None:
    active = telemetry.active()
    assert active is not None
    book = active.prices
    path = tmp_path / "prices_bad.toml"
    shutil.copy(DATA / "prices_wrong_type.toml", path)
    with pytest.raises(PriceOverrideError, match=re.escape(str(path))):
        llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, prices=path)
    assert telemetry.active() is active
    assert active.prices is book


# --- misconfigurations that used to be accepted silently ------------------------------------------


def test_an_alias_to_a_misspelled_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"aliases": {"my-sonnet": "claude-sonet-4-5"}}))
    with pytest.raises(PriceOverrideError, match=r"aliases\.my-sonnet: target 'claude-sonet-4-5'"):
        load_overrides(path)
    path.write_text(json.dumps({"aliases": {"my-sonnet": "claude-sonnet-4-5"}}))
    assert load_overrides(path).aliases == {"my-sonnet": "claude-sonnet-4-5"}


def test_a_misspelled_provider_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"acme": {"input": 1, "output": 2, "provider": "antropic"}}}))
    with pytest.raises(PriceOverrideError, match=r"models\.acme\.provider: 'antropic' matches no provider"):
        load_overrides(path)
    path.write_text(json.dumps({"discounts": [{"provider": "gcp.vertexai", "multiplier": 0.9}]}))
    with pytest.raises(PriceOverrideError, match=r"discounts\.0\.provider"):
        load_overrides(path)
    path.write_text(json.dumps({"discounts": [{"provider": "gcp.*", "multiplier": 0.9}]}))
    assert load_overrides(path).discounts[0].provider == "gcp.*"


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".txt"])
def test_a_price_file_of_another_type_says_so(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"prices{suffix}"
    path.write_text("models:\n  acme:\n    input: 1\n")
    with pytest.raises(PriceOverrideError, match=rf"prices{suffix}: unsupported price file type '{suffix}'"):
        load_overrides(path)
