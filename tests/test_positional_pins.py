"""Pins for the hot path's positional tricks: values handed on by position, not by name.

Three places rely on two sequences lining up:

- ``Rates.cost`` builds ``Cost(...)`` positionally (keywords make that call slower);
- span writing zips attribute names with ``attrgetter`` reads of a Usage (the usage details)
  and of a Cost (the dollar components);
- the metric counters add a call's amounts (token counts, dollars, unpriced) to sums laid
  out by ``totals.COUNTER_SLOTS``.

Each test gives every field its own distinctive value and checks that it comes out under the
name of that field, with the name -> field rule written here, not read from the code under
test. So a reordered field, a new field, or a name list out of step fails here.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_cost_otel.pricing import PriceBook
from llm_cost_otel.pricing.rates import Rates, RateSet
from llm_cost_otel.records import Outcome, Request
from llm_cost_otel.telemetry import Telemetry
from llm_cost_otel.usage import Cost, Usage

# What these pins know about. A field added to Usage or Cost must be placed here (and in the
# code that reads fields by position) before the suite passes again.
USAGE_FIELDS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "output_audio_tokens",
    "input_audio_tokens",
    "cache_read_audio_tokens",
    "output_images",
    "input_characters",
    "web_search_requests",
    "web_fetch_requests",
)
COST_DOLLAR_FIELDS = ("input", "output", "cache_read", "cache_write", "request_fees", "cache_savings")
COST_FIELDS = (
    "input",
    "output",
    "cache_read",
    "cache_write",
    "request_fees",
    "source",
    "model",
    "version",
    "cache_savings",
)
# Detail attributes on spans are llm_cost.<unit>.<stem> for the Usage field <stem>_<unit>.
DETAIL_UNITS = ("tokens", "requests", "characters", "images")
# llm_cost.tokens' token types: the Usage field (or property) <type>_tokens.
TOKEN_TYPES = ("input", "cache_read", "cache_write", "output")
# The Usage fields spans report as details (rare, so written only when non-zero).
SPAN_DETAIL_FIELDS = (
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "web_search_requests",
    "web_fetch_requests",
    "input_characters",
    "output_images",
)


def distinct_usage() -> Usage:
    """Every count different, and no count a sum of others (cache_write = 5m + 1h included)."""
    values = {name: 10 * 2**i + 1 for i, name in enumerate(USAGE_FIELDS)}
    return Usage(**values)


def distinct_cost() -> Cost:
    return Cost(
        input=0.125,
        output=2.5,
        cache_read=0.0625,
        cache_write=40.0,
        request_fees=0.75,
        source="catalog",
        model="pin-model",
        version="pin-version",
        cache_savings=9.0,
    )


def test_usage_and_cost_fields_are_the_ones_pinned() -> None:
    assert tuple(f.name for f in fields(Usage)) == USAGE_FIELDS, "Usage changed: update the pins here"
    assert tuple(f.name for f in fields(Cost)) == COST_FIELDS, "Cost changed: update Rates.cost and the pins here"
    assert {name for name, _ in distinct_cost().components()} | {"cache_savings"} == set(COST_DOLLAR_FIELDS)


def test_distinct_values_are_distinct() -> None:
    """The pins below mean something only if no two fields share a value."""
    usage = distinct_usage()
    counts = [getattr(usage, n) for n in USAGE_FIELDS] + [usage.cache_write_tokens]
    assert len(set(counts)) == len(counts)
    cost = distinct_cost()
    dollars = [getattr(cost, n) for n in COST_DOLLAR_FIELDS] + [cost.total]
    assert len(set(dollars)) == len(dollars)


# --- Rates.cost: Cost(...) built by position ---------------------------------------------------


def test_rates_cost_puts_each_component_in_its_named_field() -> None:
    rates = Rates(
        model="pin-model",
        source="pin-source",
        version="pin-version",
        base=RateSet(input=1.0, output=1.0, cache_read=0.25, cache_write_5m=2.0, cache_write_1h=3.0, web_search=5.0),
    )
    usage = Usage(
        input_tokens=2,
        output_tokens=30,
        cache_read_tokens=400,
        cache_write_5m_tokens=2_000,
        cache_write_1h_tokens=10_000,
        web_search_requests=100_000,
    )
    cost = rates.cost(usage)
    assert cost is not None
    expected: dict[str, Any] = {
        "input": 2 * 1.0,
        "output": 30 * 1.0,
        "cache_read": 400 * 0.25,
        "cache_write": 2_000 * 2.0 + 10_000 * 3.0,
        "request_fees": 100_000 * 5.0,
        "source": "pin-source",
        "model": "pin-model",
        "version": "pin-version",
        "cache_savings": 400 * (1.0 - 0.25),
    }
    assert set(expected) == set(COST_FIELDS)
    assert len(set(expected.values())) == len(expected)  # a swap of any two would show
    for name, value in expected.items():
        assert getattr(cost, name) == value, name


def test_tiered_rates_cost_puts_each_component_in_its_named_field() -> None:
    """The tiered path builds the same Cost: the tier's rates, still in the right fields."""
    tier = RateSet(input=10.0, output=20.0, cache_read=1.0, cache_write_5m=40.0, web_fetch=7.0)
    rates = Rates(model="m", source="correction", version="v", base=RateSet(input=1.0), tiers=((5, tier),))
    usage = Usage(
        input_tokens=3, output_tokens=5, cache_read_tokens=11, cache_write_5m_tokens=13, web_fetch_requests=17
    )
    cost = rates.cost(usage)  # 27 input tokens in all: above the tier's threshold
    assert cost is not None
    assert (cost.input, cost.output, cost.cache_read, cost.cache_write, cost.request_fees) == (
        30.0,
        100.0,
        11.0,
        520.0,
        119.0,
    )
    assert (cost.source, cost.model, cost.version, cost.cache_savings) == ("correction", "m", "v", 99.0)


# --- spans: names zipped with attrgetter reads ---------------------------------------------------


def span_attributes(usage: Usage | None, cost: Cost | None) -> dict[str, Any]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
        prices=PriceBook(),
    )
    request = Request(provider="anthropic", operation="chat", model="pin-model")
    span = telemetry.start_span(request, telemetry.scope())
    telemetry.write_outcome(span, Outcome(usage=usage), cost, priced=cost is not None)
    span.end()
    (finished,) = exporter.get_finished_spans()
    return dict(finished.attributes or {})


def detail_field(attribute: str) -> str | None:
    """The Usage field a ``llm_cost.<unit>.<stem>`` detail attribute reports, by its name."""
    parts = attribute.split(".")
    if len(parts) == 3 and parts[0] == "llm_cost" and parts[1] in DETAIL_UNITS:
        return f"{parts[2]}_{parts[1]}"
    return None


def test_span_usage_details_carry_the_field_they_name() -> None:
    usage = distinct_usage()
    attrs = span_attributes(usage, None)
    details = {key: value for key, value in attrs.items() if detail_field(key) is not None}
    # the fields spans report as details today; a detail attribute must never be a sum or a copy
    assert {detail_field(key) for key in details} >= set(SPAN_DETAIL_FIELDS)
    for key, value in details.items():
        field = detail_field(key)
        assert field in USAGE_FIELDS, key
        assert value == getattr(usage, field), f"{key} = {value}, but Usage.{field} = {getattr(usage, field)}"


@pytest.mark.parametrize("field", SPAN_DETAIL_FIELDS)
def test_one_nonzero_usage_detail_lands_alone_under_its_name(field: str) -> None:
    """The zero details are filtered out in pairs: the one left is the right name and value."""
    attrs = span_attributes(Usage(**{field: 777}), None)
    details = {key: value for key, value in attrs.items() if detail_field(key) is not None}
    assert details == {f"llm_cost.{field.rsplit('_', 1)[1]}.{field.rsplit('_', 1)[0]}": 777}


def test_span_dollars_carry_the_cost_field_they_name() -> None:
    cost = distinct_cost()
    attrs = span_attributes(distinct_usage(), cost)
    dollars = {key: value for key, value in attrs.items() if key.startswith("llm_cost.usd.")}
    assert dollars == {f"llm_cost.usd.{name}": getattr(cost, name) for name in COST_DOLLAR_FIELDS}


@pytest.mark.parametrize("name", COST_DOLLAR_FIELDS)
def test_one_nonzero_dollar_component_lands_alone_under_its_name(name: str) -> None:
    values: dict[str, Any] = dict.fromkeys(COST_DOLLAR_FIELDS, 0.0)
    values[name] = 4.25
    cost = Cost(**values, source="catalog", model="m", version="v")
    attrs = span_attributes(Usage(input_tokens=1), cost)
    dollars = {key: value for key, value in attrs.items() if key.startswith("llm_cost.usd.")}
    assert dollars == {f"llm_cost.usd.{name}": 4.25}


# --- metrics: amounts added to sums laid out by COUNTER_SLOTS --------------------------------------


def counter_points(usage: Usage, cost: Cost | None) -> dict[str, dict[str | None, float]]:
    """Per counter metric, its points by token type / cost component (None: neither)."""
    reader = InMemoryMetricReader()
    telemetry = Telemetry(
        tracer_provider=TracerProvider(), meter_provider=MeterProvider(metric_readers=[reader]), prices=PriceBook()
    )
    request = Request(provider="anthropic", operation="chat", model="pin-model")
    telemetry.record_metrics(request, Outcome(usage=usage), cost, (), None)
    found: dict[str, dict[str | None, float]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if not metric.name.startswith("llm_cost."):
                    continue
                for point in metric.data.data_points:
                    assert isinstance(point, NumberDataPoint), metric.name
                    attrs = point.attributes or {}
                    label = attrs.get("llm_cost.token.type", attrs.get("llm_cost.component"))
                    assert label is None or isinstance(label, str)
                    found.setdefault(metric.name, {})[label] = point.value
    return found


def test_counters_carry_the_field_their_attribute_names() -> None:
    usage, cost = distinct_usage(), distinct_cost()
    points = counter_points(usage, cost)
    assert points["llm_cost.tokens"] == {t: getattr(usage, f"{t}_tokens") for t in TOKEN_TYPES}
    components = [name for name in COST_DOLLAR_FIELDS if name != "cache_savings"]
    assert points["llm_cost.usd"] == {c: getattr(cost, c) for c in components}
    assert points["llm_cost.cache_savings.usd"] == {None: cost.cache_savings}
    assert "llm_cost.unpriced" not in points  # priced: the unpriced slot got 0


def test_unpriced_call_counts_tokens_and_one_unpriced_call_only() -> None:
    usage = distinct_usage()
    points = counter_points(usage, None)
    assert points["llm_cost.tokens"] == {t: getattr(usage, f"{t}_tokens") for t in TOKEN_TYPES}
    assert points["llm_cost.unpriced"] == {None: 1}
    assert "llm_cost.usd" not in points and "llm_cost.cache_savings.usd" not in points


def slot_field(metric: str | None, value: str | None) -> str | None:
    """The Usage or Cost field a counter slot sums, by the slot's name; None: the unpriced count."""
    if metric == "llm_cost.tokens" or (metric is None and value == "reasoning"):
        return f"{value}_tokens"
    if metric == "llm_cost.usd":
        return value
    if metric == "llm_cost.cache_savings.usd":
        return "cache_savings"
    if metric == "llm_cost.unpriced":
        return None
    raise AssertionError(f"a counter slot these pins do not know: {(metric, value)}")


@pytest.mark.parametrize("priced", [True, False])
def test_each_counter_slot_sums_the_field_it_names(priced: bool) -> None:
    """The table itself: after one call, slot i of the series holds the field slot i names."""
    from llm_cost_otel.series import COUNTER_SLOTS

    usage, cost = distinct_usage(), distinct_cost()
    telemetry = Telemetry(
        tracer_provider=TracerProvider(),
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
        prices=PriceBook(),
    )
    request = Request(provider="anthropic", operation="chat", model="pin-model")
    telemetry.record_metrics(request, Outcome(usage=usage), cost if priced else None, (), None)
    (series,) = telemetry.series.values()
    telemetry.totals.fold()  # amounts spilled past a busy lock (none expected in one thread)
    assert len(series.sums) == len(COUNTER_SLOTS)
    for (metric, _, value), total in zip(COUNTER_SLOTS, series.sums, strict=True):
        field = slot_field(metric, value)
        if field is None:
            expected: float = 0 if priced else 1
        elif field in USAGE_FIELDS or field == "cache_write_tokens":
            expected = getattr(usage, field)
        else:
            assert field in COST_DOLLAR_FIELDS, (metric, value)
            expected = getattr(cost, field) if priced else 0
        assert total == expected, f"slot {(metric, value)} holds {total}, but {field} is {expected}"
    assert {slot_field(m, v) for m, _, v in COUNTER_SLOTS if m == "llm_cost.tokens"} == {
        f"{t}_tokens" for t in TOKEN_TYPES
    }
    assert {
        slot_field(m, v) for m, _, v in COUNTER_SLOTS if m in ("llm_cost.usd", "llm_cost.cache_savings.usd")
    } == set(COST_DOLLAR_FIELDS)
