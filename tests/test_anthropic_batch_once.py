"""Anthropic batch results are billed once: downloading them again must not price them again.

Through the real SDK over httpx2.MockTransport. Every test uses its own batch ids: what was
counted is remembered for the life of the process. Expected costs come from published list
prices (batch = 50% of the standard token rates), never from the code under test.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

import llm_cost_otel
from llm_cost_otel import anthropic as adapter
from support import anthropic_client, async_anthropic_client, json_response, message_json, per_million

HAIKU = "claude-haiku-4-5-20251001"  # $1 in, $5 out per million tokens
SONNET = "claude-sonnet-4-5-20250929"  # $3 in, $15 out


def batch_cost() -> float:
    """What the two succeeded results of ``result_lines()`` cost, at batch rates."""
    return 0.5 * (per_million(1000, 1.0) + per_million(200, 5.0)) + 0.5 * (
        per_million(2000, 3.0) + per_million(100, 15.0)
    )


def result_lines(b_usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": "a",
            "result": {
                "type": "succeeded",
                "message": message_json(
                    model=HAIKU, msg_id="msg_a", usage={"input_tokens": 1000, "output_tokens": 200}
                ),
            },
        },
        {
            "custom_id": "b",
            "result": {
                "type": "succeeded",
                "message": message_json(
                    model=SONNET, msg_id="msg_b", usage=b_usage or {"input_tokens": 2000, "output_tokens": 100}
                ),
            },
        },
        {"custom_id": "c", "result": {"type": "errored", "error": {"type": "error", "error": {"type": "x"}}}},
    ]


def batch_json(batch_id: str) -> dict[str, Any]:
    return {
        "id": batch_id,
        "type": "message_batch",
        "processing_status": "ended",
        "request_counts": {"processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0},
        "ended_at": "2026-11-01T00:00:00Z",
        "created_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-11-02T00:00:00Z",
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": f"https://api.anthropic.com/v1/messages/batches/{batch_id}/results",
    }


def serve(lines: list[dict[str, Any]]) -> Any:
    """A handler serving any batch id: its metadata, and ``lines`` as its results file."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path.endswith("/results"):
            return httpx2.Response(200, content="\n".join(json.dumps(x) for x in lines).encode() + b"\n")
        return json_response(batch_json(path.rstrip("/").rsplit("/", 1)[-1]))

    return handler


@pytest.fixture(scope="module", autouse=True)
def _cheap_gc() -> Iterator[None]:
    """The ``otel`` fixture collects garbage after every test: keep what was alive before this
    module (imported SDKs, OpenTelemetry) out of those collections, as the reliability suite does."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def new_batch_id() -> str:
    return f"msgbatch_{uuid.uuid4().hex}"


def retrievals(otel: Any) -> list[Any]:
    return otel.spans("batch_results")


def test_downloading_results_twice_counts_them_once(otel: Any) -> None:
    batch_id = new_batch_id()
    client = anthropic_client(serve(result_lines()))
    with llm_cost_otel.track("nightly") as run:
        first = list(client.messages.batches.results(batch_id))
        second = list(client.messages.batches.results(batch_id))
    # the app gets every result both times
    assert [r.custom_id for r in first] == [r.custom_id for r in second] == ["a", "b", "c"]
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(batch_cost())  # not twice
    assert otel.metric_sum("llm_cost.tokens") == 1000 + 200 + 2000 + 100
    assert run.calls == 2
    assert run.cost_usd == pytest.approx(batch_cost())
    # both downloads are real requests: two retrieval spans, the second saying why it is empty
    one, two = retrievals(otel)
    assert one.attributes["llm_cost.batch.id"] == two.attributes["llm_cost.batch.id"] == batch_id
    assert one.attributes["llm_cost.batch.results"] == 2
    assert one.attributes["llm_cost.batch.already_counted"] == 0
    assert one.attributes["gen_ai.usage.cost"] == pytest.approx(batch_cost())
    assert two.attributes["llm_cost.batch.results"] == 0
    assert two.attributes["llm_cost.batch.already_counted"] == 2
    assert two.attributes["gen_ai.usage.cost"] == 0


def test_downloading_results_twice_async_counts_them_once(otel: Any) -> None:
    batch_id = new_batch_id()

    async def main() -> None:
        client = async_anthropic_client(serve(result_lines()))
        for _ in range(2):
            results = await client.messages.batches.results(batch_id)
            assert len([r async for r in results]) == 3

    with llm_cost_otel.track("nightly") as run:
        asyncio.run(main())
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(batch_cost())
    assert run.calls == 2
    assert run.cost_usd == pytest.approx(batch_cost())
    assert [s.attributes["llm_cost.batch.already_counted"] for s in retrievals(otel)] == [0, 2]


def test_a_download_read_in_part_is_completed_by_the_next(otel: Any) -> None:
    batch_id = new_batch_id()
    client = anthropic_client(serve(result_lines()))
    with llm_cost_otel.track("nightly") as run:
        results = client.messages.batches.results(batch_id)
        next(iter(results))  # result "a" only, then the app stops
        results.close()
        list(client.messages.batches.results(batch_id))
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(batch_cost())
    assert run.calls == 2
    one, two = retrievals(otel)
    assert (one.attributes["llm_cost.batch.results"], one.attributes["llm_cost.batch.already_counted"]) == (1, 0)
    assert (two.attributes["llm_cost.batch.results"], two.attributes["llm_cost.batch.already_counted"]) == (1, 1)


def test_other_batches_with_the_same_custom_ids_are_counted(otel: Any) -> None:
    client = anthropic_client(serve(result_lines()))
    list(client.messages.batches.results(new_batch_id()))
    list(client.messages.batches.results(new_batch_id()))
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(2 * batch_cost())


def test_results_without_custom_id_are_told_apart_by_message_id(otel: Any) -> None:
    lines = result_lines()
    for line in lines:
        del line["custom_id"]  # not what the API sends: the message id is the fallback key
    batch_id = new_batch_id()
    client = anthropic_client(serve(lines))
    list(client.messages.batches.results(batch_id))
    list(client.messages.batches.results(batch_id))
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(batch_cost())
    assert [s.attributes["llm_cost.batch.results"] for s in retrievals(otel)] == [2, 0]


def test_two_threads_downloading_one_batch_count_each_result_once(otel: Any) -> None:
    batch_id = new_batch_id()
    client = anthropic_client(serve(result_lines()))
    start = threading.Barrier(4)

    def download() -> None:
        start.wait()
        list(client.messages.batches.results(batch_id))

    threads = [threading.Thread(target=download) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(batch_cost())
    spans = retrievals(otel)
    assert len(spans) == 4
    assert sum(s.attributes["llm_cost.batch.results"] for s in spans) == 2
    assert sum(s.attributes["llm_cost.batch.already_counted"] for s in spans) == 3 * 2


def test_memory_is_bounded_and_forgets_the_oldest_batch(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter, "_COUNTED_BATCHES", 2)
    client = anthropic_client(serve(result_lines()))
    a, b, c = new_batch_id(), new_batch_id(), new_batch_id()
    for batch_id in (a, b, c):
        list(client.messages.batches.results(batch_id))
    assert len(adapter._counted) <= 2 and a not in adapter._counted
    list(client.messages.batches.results(c))  # remembered: not counted again
    list(client.messages.batches.results(a))  # forgotten: counted again (the bound's price)
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(4 * batch_cost())
    assert [s.attributes["llm_cost.batch.results"] for s in retrievals(otel)] == [2, 2, 2, 0, 2]


def test_memory_is_bounded_by_remembered_results_too(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # checked as a batch is first downloaded: at most the bound, plus the batch being read
    monkeypatch.setattr(adapter, "_COUNTED_RESULTS", 3)
    client = anthropic_client(serve(result_lines()))
    a, b, c = new_batch_id(), new_batch_id(), new_batch_id()
    list(client.messages.batches.results(a))
    list(client.messages.batches.results(b))
    assert a in adapter._counted  # 2 results remembered before b: within the bound
    list(client.messages.batches.results(c))  # 4 before c: a is forgotten
    assert a not in adapter._counted and b in adapter._counted and c in adapter._counted
    assert sum(len(seen) for seen in adapter._counted.values()) <= 3 + 2


def test_unreadable_usage_in_a_result_is_one_unpriced_result_counted_once(otel: Any) -> None:
    batch_id = new_batch_id()
    client = anthropic_client(serve(result_lines(b_usage={"input_tokens": "abc", "output_tokens": 100})))
    with llm_cost_otel.track("nightly") as run:
        list(client.messages.batches.results(batch_id))
        list(client.messages.batches.results(batch_id))
    haiku_only = 0.5 * (per_million(1000, 1.0) + per_million(200, 5.0))
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(haiku_only)  # never a $0 for the other
    assert otel.metric_sum("llm_cost.unpriced") == 1
    assert run.calls == 2 and run.unpriced_calls == 1
    assert run.cost_usd == pytest.approx(haiku_only)
    one, two = retrievals(otel)
    assert one.attributes["llm_cost.batch.results"] == 2
    assert one.attributes["llm_cost.batch.unpriced_results"] == 1
    assert one.attributes["gen_ai.usage.cost"] == pytest.approx(haiku_only)
    assert two.attributes["llm_cost.batch.already_counted"] == 2
