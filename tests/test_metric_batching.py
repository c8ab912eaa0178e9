"""Histogram points are queued on the call path and recorded into the SDK when the meter
provider collects: none is lost, none is recorded twice, and each lands in the collection
that follows its call, with its exemplar."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.instrument import Histogram
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import llm_cost_otel
from llm_cost_otel import telemetry
from support import anthropic_client, json_response, message_json, stream_events

HAIKU = "claude-haiku-4-5-20251001"
MSGS = [{"role": "user", "content": "Hello"}]
USAGE = {"input_tokens": 30, "output_tokens": 7}


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    out: list[Any] = []
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    out.extend(metric.data.data_points)
    return out


def _count(reader: InMemoryMetricReader, name: str, **attrs: Any) -> int:
    return sum(p.count for p in _points(reader, name) if all(p.attributes.get(k) == v for k, v in attrs.items()))


def _client() -> Any:
    return anthropic_client(lambda r: json_response(message_json(model=HAIKU, usage=USAGE)))


def test_the_call_path_records_no_histogram_point_the_collection_records_all(
    otel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    phase = ["call"]
    recorded: list[tuple[str, str]] = []
    original = Histogram.record

    def spy(self: Any, amount: Any, attributes: Any = None, context: Any = None) -> None:
        recorded.append((phase[0], self.name))
        original(self, amount, attributes, context)

    monkeypatch.setattr(Histogram, "record", spy)
    client = _client()
    for _ in range(3):
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert recorded == [], "the SDK's per-point work ran on the request path"
    phase[0] = "collect"
    assert _count(otel.reader, "gen_ai.client.operation.duration") == 3
    assert sorted(recorded) == sorted(
        [("collect", "gen_ai.client.operation.duration")] * 3 + [("collect", "gen_ai.client.token.usage")] * 6
    )
    (input_point,) = [
        p for p in _points(otel.reader, "gen_ai.client.token.usage") if p.attributes["gen_ai.token.type"] == "input"
    ]
    assert (input_point.count, input_point.sum) == (3, 90)  # nothing recorded twice


def test_time_to_first_chunk_is_queued_too(otel: Any) -> None:
    from support import sse_response

    client = anthropic_client(lambda r: sse_response(stream_events(model=HAIKU)))
    for _ in client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS, stream=True):
        pass
    (span,) = otel.chat_spans()
    (point,) = _points(otel.reader, "gen_ai.client.operation.time_to_first_chunk")
    assert point.count == 1
    assert point.exemplars and point.exemplars[0].span_id == span.context.span_id


def test_every_reader_sees_every_point_once() -> None:
    first, second = InMemoryMetricReader(), InMemoryMetricReader()
    from opentelemetry.sdk.trace import TracerProvider

    llm_cost_otel.instrument(
        tracer_provider=TracerProvider(), meter_provider=MeterProvider(metric_readers=[first, second])
    )
    try:
        client = _client()
        for _ in range(5):
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        assert _count(first, "gen_ai.client.operation.duration") == 5
        assert _count(second, "gen_ai.client.operation.duration") == 5
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        assert _count(second, "gen_ai.client.operation.duration") == 6
        assert _count(first, "gen_ai.client.operation.duration") == 6
    finally:
        llm_cost_otel.uninstrument()


def test_the_request_path_never_runs_the_queue_and_the_worker_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_PENDING queued recordings the background worker's tick records them; the call
    that crosses the line does not (one call in ~4,096 used to stall recording them all)."""
    from opentelemetry.sdk.trace import TracerProvider

    monkeypatch.setattr(telemetry.Totals, "MAX_PENDING", 10)
    reader = InMemoryMetricReader()
    llm_cost_otel.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        active = telemetry.active()
        assert active is not None
        recorded_on: list[str] = []
        real = active.duration.record
        monkeypatch.setattr(
            active.duration, "record", lambda *a, **k: (recorded_on.append(threading.current_thread().name), real(*a))
        )
        client = _client()
        for _ in range(20):
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        assert recorded_on == []  # no call recorded the queue inline
        assert len(active.totals._pending) == 20
        active.totals.housekeeping()  # what the worker does each tick
        assert len(active.totals._pending) == 0 and len(recorded_on) == 20
        assert _count(reader, "gen_ai.client.operation.duration") == 20
        assert _count(reader, "gen_ai.client.token.usage") == 40
    finally:
        llm_cost_otel.uninstrument()


def test_a_provider_that_never_collects_keeps_the_queue_bounded(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    monkeypatch.setattr(telemetry.Totals, "MAX_QUEUED", 10)
    monkeypatch.setattr(telemetry.Totals, "MAX_PENDING", 10**9)  # and no worker help
    reader = InMemoryMetricReader()
    llm_cost_otel.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        active = telemetry.active()
        assert active is not None
        client = _client()
        with caplog.at_level("WARNING", logger="llm_cost_otel"):
            for _ in range(25):
                client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
                assert len(active.totals._pending) <= 10
        assert active.totals.dropped_points == 15
        assert sum("dropping the oldest" in r.getMessage() for r in caplog.records) == 1
        assert _count(reader, "gen_ai.client.operation.duration") == 10  # the newest kept
    finally:
        llm_cost_otel.uninstrument()


def test_concurrent_calls_and_collections_lose_and_repeat_nothing(otel: Any) -> None:
    threads, calls = 8, 60
    stop = threading.Event()
    seen: list[int] = []

    def collect_forever() -> None:
        while not stop.is_set():
            seen.append(_count(otel.reader, "gen_ai.client.operation.duration"))

    def work() -> None:
        client = _client()
        for _ in range(calls):
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)

    collector = threading.Thread(target=collect_forever)
    collector.start()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    collector.join()
    assert seen == sorted(seen), "a cumulative count went down"
    assert _count(otel.reader, "gen_ai.client.operation.duration") == threads * calls
    tokens = [
        p for p in _points(otel.reader, "gen_ai.client.token.usage") if p.attributes["gen_ai.token.type"] == "input"
    ]
    assert sum(p.sum for p in tokens) == threads * calls * USAGE["input_tokens"]


def test_drain_pending_records_now(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    active = telemetry.active()
    assert active is not None
    ours = (active.duration, active.input_tokens)
    recorded: list[str] = []
    original = Histogram.record

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        if self in ours:  # other tests' providers may have points queued too
            recorded.append(self.name)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Histogram, "record", spy)
    _client().messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert recorded == []
    telemetry.drain_pending()
    assert len(recorded) == 3
    telemetry.drain_pending()
    assert len(recorded) == 3


def test_a_failing_point_is_logged_and_the_rest_recorded(otel: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "llm_cost_otel")  # logged once per process: later ones at debug
    active = telemetry.active()
    assert active is not None

    class Broken:
        def record(self, *args: Any) -> None:
            raise RuntimeError("exporter bug")

    active.totals.record(Broken(), 1.0, {})
    _client().messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert _count(otel.reader, "gen_ai.client.operation.duration") == 1
    assert "histogram.record" in caplog.text
