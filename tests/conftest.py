"""Shared fixtures (the ``otel`` fixture) and markers. The builders tests import (clients over
httpx2.MockTransport, payloads, the in-memory exporters) live in ``support.py``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanProcessor

import llm_cost_otel
from llm_cost_otel.deferred import settle
from support import Telemetry

warnings.filterwarnings("ignore", message="The model .* is deprecated", category=DeprecationWarning)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the stack and benchmark tests by where they live, so each group runs as its own step."""
    for item in items:
        if "stack" in item.path.parts:
            item.add_marker(pytest.mark.stack)
        elif item.path.name.startswith("test_bench_"):
            item.add_marker(pytest.mark.bench)


@pytest.fixture
def otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    """Instrument with in-memory providers; fail the test if any span is left open."""
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    monkeypatch.delenv("LLM_COST_OTEL_METRIC_ATTRIBUTES", raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    monkeypatch.delenv("LLM_COST_OTEL_GENAI_METRICS", raising=False)
    t = Telemetry()

    class Recorder(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            t.started.append(span)

    t.tracer_provider.add_span_processor(Recorder())
    llm_cost_otel.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    try:
        yield t
    finally:
        llm_cost_otel.uninstrument()
    settle()
    if t.open_spans():
        # only then: a stream in a reference cycle ends when the collector frees it (a full
        # collection after every test cost a quarter of the suite's time)
        import gc

        gc.collect()
        settle()  # the finishes the collector deferred
    assert t.open_spans() == 0, "a span was left open"
