"""The cost and token counters: each series keeps running sums that a call adds to and the
collection reports. Cumulative, one point per attribute set, nothing lost under threads,
no point for a sum that was never added to."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import llm_cost_otel
from llm_cost_otel import telemetry
from llm_cost_otel.usage import Usage
from support import anthropic_client, json_response, message_json

HAIKU = "claude-haiku-4-5-20251001"
MSGS = [{"role": "user", "content": "Hello"}]
USAGE = {"input_tokens": 30, "output_tokens": 7, "cache_read_input_tokens": 0}
# claude-haiku-4-5: $1 / MTok input, $5 / MTok output
CALL_USD = (30 * 1.0 + 7 * 5.0) / 1e6


def _client() -> Any:
    return anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=USAGE)))


def _call(client: Any) -> None:
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)


def _points(otel: Any, name: str, **attrs: Any) -> list[Any]:
    return [p for p in otel.metric_points(name) if all(p.attributes.get(k) == v for k, v in attrs.items())]


def test_counters_are_cumulative_across_collections(otel: Any) -> None:
    client = _client()
    for _ in range(3):
        _call(client)
    assert otel.metric_sum("llm_cost.tokens", **{"llm_cost.token.type": "input"}) == 90
    for _ in range(2):
        _call(client)
    [point] = _points(otel, "llm_cost.tokens", **{"llm_cost.token.type": "input"})
    assert point.value == 150
    assert isinstance(point.value, int)
    assert otel.metric_sum("llm_cost.tokens", **{"llm_cost.token.type": "output"}) == 35
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(5 * CALL_USD, rel=1e-12)


def test_a_sum_never_added_to_has_no_point(otel: Any) -> None:
    _call(_client())
    types = {p.attributes["llm_cost.token.type"] for p in otel.metric_points("llm_cost.tokens")}
    assert types == {"input", "output"}
    components = {p.attributes["llm_cost.component"] for p in otel.metric_points("llm_cost.usd")}
    assert components == {"input", "output"}
    assert otel.metric_points("llm_cost.cache_savings.usd") == []
    assert otel.metric_points("llm_cost.unpriced") == []


def test_one_owner_per_series_repeated_passes_add_no_series(otel: Any) -> None:
    """5,000 allowlisted values, three identical passes: the same series after each (the
    old per-instrument cache was cleared at 4,096 and re-registered every series)."""
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, metric_attributes=["user.id"]
    )
    active = telemetry.active()
    assert active is not None
    active.totals.cardinality_limit = 10_000
    request = telemetry.Request(provider="anthropic", operation="chat", model="claude-haiku-4-5")
    usage = Usage(input_tokens=10, output_tokens=5)
    counts = []
    for _ in range(3):
        for i in range(5000):
            key = (("user.id", f"u{i}"),)
            active.record_metrics(request, telemetry.Outcome(usage=usage), None, key, None)
        counts.append(len(active.totals.series))
    assert counts == [5000, 5000, 5000]
    # (the SDK's own per-metric limit, 2,000 by default, would fold these points further)
    assert {s.sums[0] for s in active.totals.series.values()} == {30}


def test_series_past_the_cardinality_limit_go_to_one_overflow_series(otel: Any, caplog: Any) -> None:
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, metric_attributes=["user.id"]
    )
    active = telemetry.active()
    assert active is not None
    active.totals.cardinality_limit = 50
    request = telemetry.Request(provider="anthropic", operation="chat", model="claude-haiku-4-5")
    with caplog.at_level("WARNING", logger="llm_cost_otel"):
        for i in range(500):
            active.record_metrics(
                request, telemetry.Outcome(usage=Usage(input_tokens=1)), None, (("user.id", f"u{i}"),), None
            )
    assert len(active.totals.series) == 50
    points = _points(otel, "llm_cost.tokens", **{"llm_cost.token.type": "input"})
    overflow = [p for p in points if p.attributes.get("otel.metric.overflow") is True]
    assert len(overflow) == 1 and overflow[0].value == 450
    assert sum(p.value for p in points) == 500  # nothing lost, only folded
    assert sum("otel.metric.overflow" in r.getMessage() for r in caplog.records) == 1


def test_concurrent_calls_lose_no_counter_update(otel: Any) -> None:
    threads, calls = 8, 40

    def work() -> None:
        client = _client()
        for _ in range(calls):
            _call(client)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    n = threads * calls
    assert otel.metric_sum("llm_cost.tokens", **{"llm_cost.token.type": "input"}) == 30 * n
    assert otel.metric_sum("llm_cost.tokens", **{"llm_cost.token.type": "output"}) == 7 * n
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(n * CALL_USD, rel=1e-9)


@pytest.mark.parametrize(
    ("usage", "unpriced"),
    [
        ({"input_tokens": 12, "output_tokens": 3}, 1),
        # paid requests and nothing else are still something billed that we could not price
        ({"input_tokens": 0, "output_tokens": 0, "server_tool_use": {"web_search_requests": 2}}, 1),
        ({"input_tokens": 0, "output_tokens": 0, "server_tool_use": {"web_fetch_requests": 1}}, 1),
        ({"input_tokens": 0, "output_tokens": 0}, 0),
    ],
)
def test_the_unpriced_counter_and_a_tracked_run_agree_on_what_went_unpriced(
    otel: Any, usage: dict[str, Any], unpriced: int
) -> None:
    model = "claude-nobody-has-priced-9"
    client = anthropic_client(lambda r: json_response(message_json(model=model, usage=usage)))
    with llm_cost_otel.track("job") as run:
        client.messages.create(model=model, max_tokens=10, messages=MSGS)
    assert run.calls == 1
    assert run.unpriced_calls == unpriced
    assert sum(p.value for p in otel.metric_points("llm_cost.unpriced")) == unpriced
    assert otel.metric_points("llm_cost.usd") == []
