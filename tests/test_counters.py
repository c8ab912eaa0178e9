"""The cost and token counters: each series keeps running sums that a call adds to and the
collection reports. Cumulative, one point per attribute set, nothing lost under threads,
no point for a sum that was never added to."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import llm_cost_otel
from conftest import anthropic_client, json_response, message_json
from llm_cost_otel import telemetry

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


def test_a_series_rebuilt_after_a_cache_reset_keeps_one_point_per_attribute_set(otel: Any) -> None:
    active = telemetry.active()
    assert active is not None
    client = _client()
    _call(client)
    _call(client)
    active._series_cache.clear()  # what a full cache does; the old series' sums must survive
    active._attr_cache.clear()
    _call(client)
    points = _points(otel, "llm_cost.tokens", **{"llm_cost.token.type": "input"})
    assert len(points) == 1
    assert points[0].value == 90
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(3 * CALL_USD, rel=1e-12)


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
