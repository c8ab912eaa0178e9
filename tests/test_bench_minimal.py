"""The benchmark's ``minimal`` configuration (the least an instrumentation can add) really does
the floor's work around every real SDK call: one span with the floor's 15 attributes, current
while the SDK runs, and the floor's three histogram points once its queue is drained. Without
that, the bound it reports next to llm-cost-otel's cost would be a bound on nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh process: the minimal configuration patches the SDK classes for good.
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
import worker
import anthropic._base_client as anthropic_base
import google.genai._api_client as google_base
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

setup = worker.Setup("minimal")
exporter = InMemorySpanExporter()
setup.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
current = []  # the span current when each SDK sends its request

def spy(original):
    def send(*args, **kwargs):
        current.append(trace.get_current_span().get_span_context().span_id)
        return original(*args, **kwargs)
    return send

anthropic_base.SyncAPIClient.post = spy(anthropic_base.SyncAPIClient.post)
google_base.BaseApiClient.request = spy(google_base.BaseApiClient.request)
for scenario in ("anthropic.create", "google.generate_content"):
    run = worker.scenario_run(setup, scenario, 40)
    run()
    run()
spans = exporter.get_finished_spans()
print("spans", len(spans))
print("attributes", sorted({len(s.attributes) for s in spans}))
print("current_is_own_span", current == [s.context.span_id for s in spans])
setup.deferred()
reader = setup.metric_reader
points = {
    metric.name: sum(p.count for p in metric.data.data_points)
    for rm in reader.get_metrics_data().resource_metrics
    for sm in rm.scope_metrics
    for metric in sm.metrics
}
print("points", sorted(points.items()))
"""


def test_minimal_instrumentation_does_the_floors_work_around_each_call() -> None:
    pytest.importorskip("anthropic")
    pytest.importorskip("google.genai")
    pytest.importorskip("opentelemetry.sdk")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "bench")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert lines["spans"] == "4", proc.stdout  # two anthropic calls, two google calls
    assert lines["attributes"] == "[15]", proc.stdout  # the floor's 15, on every span
    assert lines["current_is_own_span"] == "True", proc.stdout  # each request ran inside its span
    # after the drain: one duration point and two token points per call
    assert lines["points"] == "[('bench.duration', 4), ('bench.tokens', 8)]", proc.stdout
