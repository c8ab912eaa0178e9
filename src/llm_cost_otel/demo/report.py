"""The cost report, computed from the plugin's own telemetry: its metrics and its spans.

Two sources, read the way a backend would read them:

- metrics from an in-memory reader next to (or instead of) the OTLP exporter: ``llm_cost.usd``
  by provider, model, ``app.feature``, ``tenant.id`` and ``llm_cost.component``;
  ``llm_cost.tokens``, ``llm_cost.cache_savings.usd``, ``llm_cost.unpriced``, and
  ``gen_ai.client.operation.duration`` for latency and errors;
- spans through :class:`SpanTally`, a span processor that folds each finished span into
  running totals (memory stays flat however long the demo runs): ``gen_ai.usage.cost`` of
  every request span, ``llm_cost.rollup.*`` of every ``track()`` span, errors, and the cache
  hit rate over time.

The report's total is the metric total; the span total is printed next to it as a check.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from ..semconv import (
    BATCH_RESULTS,
    BATCH_RESULTS_OPERATION,
    CACHE_READ_TOKENS,
    COMPONENT,
    COST_METRIC,
    COST_TOTAL,
    ERROR_TYPE,
    INPUT_TOKENS,
    LATEST,
    LLM_TOKEN_TYPE,
    OPERATION,
    PRICE_SOURCE,
    PROVIDER,
    RELEASED,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    ROLLUP_PREFIX,
    SAVINGS_METRIC,
    TOKEN_TYPE,
    TOKENS_METRIC,
    UNPRICED,
    UNPRICED_METRIC,
)

__all__ = ["SpanTally", "Report", "build_report", "render"]

SCOPE = "llm_cost_otel"
COST = COST_TOTAL
ROLLUP = ROLLUP_PREFIX
FEATURE = "app.feature"
TENANT = "tenant.id"
USER = "user.id"
COMPONENTS = ("input", "output", "cache_read", "cache_write", "request_fees")
# released names, and the newest (OTEL_SEMCONV_STABILITY_OPT_IN), where inference calls have
# their own duration and input-token histograms
DURATION_METRICS = (RELEASED.operation_duration, LATEST.inference_duration)
INPUT_TOKEN_METRICS = (RELEASED.input_tokens_histogram, LATEST.input_tokens_histogram)
TIME_SLOTS = 3
CACHING_FEATURES = ("chat", "classify")
"""The features whose prompts repeat (a long system prompt, a growing conversation)."""
GRAFANA_HINT = (
    "Send it to Grafana: docker compose up -d; OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 llm-cost-otel demo"
)


@dataclass(order=True)
class RunSummary:
    """One ``track()`` block, from its span."""

    cost_usd: float
    name: str = field(compare=False)
    calls: int = field(compare=False)
    unpriced_calls: int = field(compare=False)
    errors: int = field(compare=False)
    attributes: dict[str, Any] = field(compare=False)
    duration_s: float = field(compare=False)


@dataclass
class RunGroup:
    runs: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    max_usd: float = 0.0


class SpanTally(SpanProcessor):
    """Folds the plugin's finished spans into running totals (thread-safe, bounded memory)."""

    def __init__(self, top: int = 5) -> None:
        self._lock = threading.Lock()
        self._top = top
        self.started = time.monotonic()
        self.requests = 0
        """Request spans (one per HTTP request the plugin saw; a batch retrieval is one)."""
        self.batch_results = 0
        self.batches = 0
        self.failed = 0
        self.cost_usd = 0.0
        self.priced = 0
        self.unpriced_spans = 0
        self.errors: dict[str, int] = defaultdict(int)
        self.by_user: dict[str, float] = defaultdict(float)
        self.providers: set[str] = set()
        self.runs: list[RunSummary] = []  # a min-heap of the most expensive runs
        self.run_groups: dict[str, RunGroup] = defaultdict(RunGroup)
        self.slot_seconds: float | None = None
        # per time slot: [cache read tokens, all input tokens]
        self.cache_by_slot: list[list[int]] = [[0, 0] for _ in range(TIME_SLOTS)]

    def start_clock(self, planned_seconds: float) -> None:
        self.started = time.monotonic()
        self.slot_seconds = planned_seconds / TIME_SLOTS if planned_seconds > 0 else None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return

    def on_end(self, span: ReadableSpan) -> None:
        scope = span.instrumentation_scope
        if scope is None or scope.name != SCOPE:
            return
        attrs: Mapping[str, Any] = span.attributes or {}
        with self._lock:
            if span.kind == SpanKind.CLIENT:
                self._request(span, attrs)
            elif span.kind == SpanKind.INTERNAL and ROLLUP + "cost_usd" in attrs:
                self._run(span, attrs)

    def _request(self, span: ReadableSpan, attrs: Mapping[str, Any]) -> None:
        self.requests += 1
        provider = attrs.get(PROVIDER)
        if isinstance(provider, str):
            self.providers.add(provider)
        if attrs.get(OPERATION) == BATCH_RESULTS_OPERATION:
            self.batches += 1
            self.batch_results += int(attrs.get(BATCH_RESULTS, 0) or 0)
        if span.status.status_code == StatusCode.ERROR:
            self.failed += 1
            self.errors[f"{provider} {attrs.get(ERROR_TYPE, 'error')}"] += 1
        cost = attrs.get(COST)
        if isinstance(cost, float | int):
            self.cost_usd += float(cost)
            self.priced += 1
            user = attrs.get(USER)
            if isinstance(user, str):
                self.by_user[f"{attrs.get(TENANT, '?')}/{user}"] += float(cost)
        if attrs.get(PRICE_SOURCE) == UNPRICED:
            self.unpriced_spans += 1
        if self.slot_seconds:
            slot = min(int((time.monotonic() - self.started) / self.slot_seconds), TIME_SLOTS - 1)
            read = attrs.get(CACHE_READ_TOKENS)
            total = attrs.get(INPUT_TOKENS)
            if isinstance(read, int) and isinstance(total, int) and attrs.get(FEATURE) in CACHING_FEATURES:
                self.cache_by_slot[slot][0] += read
                self.cache_by_slot[slot][1] += total

    def _run(self, span: ReadableSpan, attrs: Mapping[str, Any]) -> None:
        duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
        summary = RunSummary(
            cost_usd=float(attrs.get(ROLLUP + "cost_usd", 0.0) or 0.0),
            name=span.name,
            calls=int(attrs.get(ROLLUP + "calls", 0) or 0),
            unpriced_calls=int(attrs.get(ROLLUP + "unpriced_calls", 0) or 0),
            errors=int(attrs.get(ROLLUP + "errors", 0) or 0),
            attributes={k: v for k, v in attrs.items() if not k.startswith(ROLLUP)},
            duration_s=duration,
        )
        group = self.run_groups[span.name]
        group.runs += 1
        group.cost_usd += summary.cost_usd
        group.calls += summary.calls
        group.max_usd = max(group.max_usd, summary.cost_usd)
        if len(self.runs) < self._top:
            heapq.heappush(self.runs, summary)
        elif summary.cost_usd > self.runs[0].cost_usd:
            heapq.heapreplace(self.runs, summary)

    def snapshot(self) -> tuple[int, float, int]:
        """(request spans, USD so far, failed requests), for the progress line."""
        with self._lock:
            return self.requests, self.cost_usd, self.failed

    def shutdown(self) -> None:
        return

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


# --- metrics -----------------------------------------------------------------------------


@dataclass
class _Point:
    attributes: Mapping[str, Any]
    value: float
    count: int = 0
    buckets: tuple[tuple[float, int], ...] = ()


def _points(reader: InMemoryMetricReader) -> dict[str, list[_Point]]:
    out: dict[str, list[_Point]] = defaultdict(list)
    data = reader.get_metrics_data()
    if data is None:
        return out
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            if scope_metrics.scope.name != SCOPE:
                continue
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    attrs = point.attributes or {}
                    if isinstance(point, HistogramDataPoint):
                        bounds = (*point.explicit_bounds, float("inf"))
                        buckets = tuple(zip(bounds, point.bucket_counts, strict=False))
                        out[metric.name].append(_Point(attrs, float(point.sum), int(point.count), buckets))
                    elif isinstance(point, NumberDataPoint):
                        out[metric.name].append(_Point(attrs, float(point.value)))
    return out


def _model(attrs: Mapping[str, Any]) -> str:
    return str(attrs.get(RESPONSE_MODEL) or attrs.get(REQUEST_MODEL) or "?")


def _sum_by(points: Iterable[_Point], key: Any) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for point in points:
        out[key(point.attributes)] += point.value
    return dict(out)


def _percentile(buckets: dict[float, int], total: int, q: float) -> float:
    """Upper bound of the bucket holding the q-quantile."""
    seen = 0
    for bound in sorted(buckets):
        seen += buckets[bound]
        if seen >= q * total:
            return bound
    return float("inf")


@dataclass
class Report:
    seconds: float
    total_usd: float
    """Sum of ``llm_cost.usd`` (all components, all attribute sets)."""
    span_total_usd: float
    """Sum of ``gen_ai.usage.cost`` over the plugin's request spans (batch retrievals carry their batch's total)."""
    requests: int
    failed: int
    batches: int
    batch_results: int
    billed_requests: dict[str, int]
    """Requests with usage, by provider (from the token usage histogram; batch results count each)."""
    by_provider: dict[str, float]
    by_model: dict[str, float]
    by_feature: dict[str, float]
    by_tenant: dict[str, float]
    by_component: dict[str, float]
    requests_by_model: dict[str, int]
    tokens_by_model: dict[str, dict[str, float]]
    tokens_by_type: dict[str, float]
    cache_savings_usd: float
    cache_savings_by_model: dict[str, float]
    cache_hit_by_slot: list[float | None]
    unpriced: dict[str, float]
    errors: dict[str, int]
    latency: dict[str, tuple[int, float, float]]
    """provider -> (requests, mean seconds, p95 bucket bound)."""
    top_runs: list[RunSummary]
    run_groups: dict[str, RunGroup]
    top_users: list[tuple[str, float]]
    providers_seen: set[str]
    notes: list[str] = field(default_factory=list)


def build_report(reader: InMemoryMetricReader, tally: SpanTally, seconds: float) -> Report:
    points = _points(reader)
    cost = points.get(COST_METRIC, [])
    input_tokens = [p for n in INPUT_TOKEN_METRICS for p in points.get(n, [])]
    durations = [p for n in DURATION_METRICS for p in points.get(n, [])]
    billed: dict[str, int] = defaultdict(int)
    requests_by_model: dict[str, int] = defaultdict(int)
    for point in input_tokens:
        if point.attributes.get(TOKEN_TYPE, "input") == "input":
            billed[str(point.attributes.get(PROVIDER))] += point.count
            requests_by_model[_model(point.attributes)] += point.count
    tokens_by_model: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    tokens_by_type: dict[str, float] = defaultdict(float)
    for point in points.get(TOKENS_METRIC, []):
        kind = str(point.attributes.get(LLM_TOKEN_TYPE))
        tokens_by_model[_model(point.attributes)][kind] += point.value
        tokens_by_type[kind] += point.value
    latency_acc: dict[str, list[Any]] = {}
    errors: dict[str, int] = defaultdict(int)
    for point in durations:
        provider = str(point.attributes.get(PROVIDER))
        if point.attributes.get(ERROR_TYPE) is not None:
            errors[f"{provider} {point.attributes[ERROR_TYPE]}"] += point.count
        entry = latency_acc.setdefault(provider, [0, 0.0, defaultdict(int)])
        entry[0] += point.count
        entry[1] += point.value
        for bound, count in point.buckets:
            entry[2][bound] += count
    latency = {
        provider: (count, total / count if count else 0.0, _percentile(buckets, count, 0.95))
        for provider, (count, total, buckets) in latency_acc.items()
    }
    savings = points.get(SAVINGS_METRIC, [])
    slots: list[float | None] = [(read / total if total else None) for read, total in tally.cache_by_slot]
    with tally._lock:
        top_runs = sorted(tally.runs, reverse=True)
        groups = dict(tally.run_groups)
        users = sorted(tally.by_user.items(), key=lambda kv: kv[1], reverse=True)[:5]
        span_total, requests, failed = tally.cost_usd, tally.requests, tally.failed
    return Report(
        seconds=seconds,
        total_usd=sum(p.value for p in cost),
        span_total_usd=span_total,
        requests=requests,
        failed=failed,
        batches=tally.batches,
        batch_results=tally.batch_results,
        billed_requests=dict(billed),
        by_provider=_sum_by(cost, lambda a: str(a.get(PROVIDER))),
        by_model=_sum_by(cost, _model),
        by_feature=_sum_by(cost, lambda a: str(a.get(FEATURE, "(none)"))),
        by_tenant=_sum_by(cost, lambda a: str(a.get(TENANT, "(none)"))),
        by_component=_sum_by(cost, lambda a: str(a.get(COMPONENT))),
        requests_by_model=dict(requests_by_model),
        tokens_by_model={m: dict(v) for m, v in tokens_by_model.items()},
        tokens_by_type=dict(tokens_by_type),
        cache_savings_usd=sum(p.value for p in savings),
        cache_savings_by_model=_sum_by(savings, _model),
        cache_hit_by_slot=slots,
        unpriced=_sum_by(points.get(UNPRICED_METRIC, []), _model),
        errors=dict(errors),
        latency=latency,
        top_runs=top_runs,
        run_groups=groups,
        top_users=users,
        providers_seen=set(tally.providers),
    )


# --- text --------------------------------------------------------------------------------


def usd(value: float) -> str:
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.4f}"
    return f"${value:.6f}"


def _tokens(value: float) -> str:
    value = float(value)
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _bar(share: float, width: int = 20) -> str:
    filled = round(share * width)
    return "#" * filled + "." * (width - filled)


def _table(title: str, values: Mapping[str, float], total: float, extra: Mapping[str, str] | None = None) -> list[str]:
    if not values:
        return []
    width = max(24, *(len(k) for k in values)) + 2
    lines = [title]
    for key, value in sorted(values.items(), key=lambda kv: kv[1], reverse=True):
        share = value / total if total else 0.0
        tail = f"  {extra[key]}" if extra and key in extra else ""
        lines.append(f"  {key:<{width}}{usd(value):>12}  {share:6.1%}  {_bar(share)}{tail}")
    return lines


def render(report: Report, exported_to: str | None = None, service_name: str = "llm-cost-otel-demo") -> str:
    r = report
    lines: list[str] = []
    providers = ", ".join(sorted(r.providers_seen)) or "none"
    lines.append("")
    lines.append("=" * 78)
    lines.append(f"llm-cost-otel demo: cost report ({r.seconds:.1f} s of simulated traffic)")
    lines.append("=" * 78)
    calls = r.requests - r.batches
    batch_note = f" + {r.batches} batch retrievals carrying {r.batch_results} batch results" if r.batches else ""
    lines.append(f"Requests: {calls} calls ({r.failed} failed){batch_note}; instrumented: {providers}")
    match = abs(r.total_usd - r.span_total_usd) <= 1e-9 * max(abs(r.total_usd), 1e-12)
    check = "matches" if match else "DOES NOT MATCH"
    lines.append(f"Total spend: {usd(r.total_usd)}  (metric llm_cost.usd; span gen_ai.usage.cost sum {check})")
    per_hour = r.total_usd / r.seconds * 3600 if r.seconds > 0 else 0.0
    lines.append(f"             (~{usd(per_hour)} an hour at this rate)")
    lines.append("")
    billed = {p: f"{n} billed requests" for p, n in r.billed_requests.items()}
    lines += _table("By provider", r.by_provider, r.total_usd, billed)
    lines.append("")
    model_extra = {}
    for model in r.by_model:
        tokens = r.tokens_by_model.get(model, {})
        model_extra[model] = (
            f"{r.requests_by_model.get(model, 0)} req, in {_tokens(tokens.get('input', 0))}"
            f" + cache {_tokens(tokens.get('cache_read', 0))}r/{_tokens(tokens.get('cache_write', 0))}w"
            f", out {_tokens(tokens.get('output', 0))}"
        )
    lines += _table("By model (response model)", r.by_model, r.total_usd, model_extra)
    lines.append("")
    lines += _table("By feature (app.feature)", r.by_feature, r.total_usd)
    lines.append("")
    lines += _table("By tenant (tenant.id)", r.by_tenant, r.total_usd)
    lines.append("")
    ordered = {c: r.by_component.get(c, 0.0) for c in COMPONENTS if c in r.by_component}
    lines += _table("By component (llm_cost.component)", ordered, r.total_usd)
    lines.append("")
    lines.append("Prompt caching")
    read = r.tokens_by_type.get("cache_read", 0)
    all_input = sum(r.tokens_by_type.get(k, 0) for k in ("input", "cache_read", "cache_write"))
    lines.append(
        f"  saved {usd(r.cache_savings_usd)} against uncached input prices"
        f" (llm_cost.cache_savings.usd); {_tokens(read)} of {_tokens(all_input)} input tokens read from cache"
    )
    slots = [f"{s:.0%}" if s is not None else "-" for s in r.cache_hit_by_slot]
    if any(s is not None for s in r.cache_hit_by_slot):
        lines.append(
            f"  warming up: cache reads / input tokens of chat and classify, by third of the run: {' -> '.join(slots)}"
        )
    for model, saved in sorted(r.cache_savings_by_model.items(), key=lambda kv: kv[1], reverse=True)[:4]:
        lines.append(f"  {model:<30}{usd(saved):>12} saved")
    lines.append("")
    lines.append("Unpriced calls (llm_cost.unpriced: a model with no known price is never counted as $0)")
    if r.unpriced:
        for model, count in sorted(r.unpriced.items(), key=lambda kv: kv[1], reverse=True):
            lines.append(f"  {model:<30}{count:>6.0f} calls   -> price it: llm-cost-otel prices {model}")
        lines.append("  (add it to a price override file and set LLM_COST_OTEL_PRICES; see the README)")
    else:
        lines.append("  none")
    lines.append("")
    lines.append("Errors and latency (gen_ai.client.operation.duration)")
    for provider, (count, mean, p95) in sorted(r.latency.items()):
        p95_text = f"{p95:.2f} s" if p95 != float("inf") else "> 82 s"
        lines.append(f"  {provider:<14} {count:>5} requests, mean {mean * 1000:6.0f} ms, p95 <= {p95_text}")
    for kind, count in sorted(r.errors.items(), key=lambda kv: kv[1], reverse=True):
        lines.append(f"  {kind:<22}{count:>5} failed")
    lines.append("")
    if r.run_groups:
        lines.append("track() runs (llm_cost.rollup.* on their spans)")
        for name, group in sorted(r.run_groups.items(), key=lambda kv: kv[1].cost_usd, reverse=True):
            mean = group.cost_usd / group.runs if group.runs else 0.0
            lines.append(
                f"  {name:<22}{group.runs:>5} runs {usd(group.cost_usd):>12} total, {usd(mean)} mean,"
                f" {usd(group.max_usd)} max, {group.calls} calls"
            )
        lines.append("  most expensive:")
        for run in r.top_runs:
            who = ", ".join(f"{k}={run.attributes[k]}" for k in (TENANT, USER, FEATURE) if k in run.attributes)
            label = f"{run.calls} call" + ("" if run.calls == 1 else "s")
            lines.append(f"    {usd(run.cost_usd):>10}  {run.name:<20} {label:>9}  {run.duration_s:5.2f} s  {who}")
        lines.append("")
    if r.top_users:
        lines.append("Top users (user.id on the spans)")
        for user, value in r.top_users:
            lines.append(f"  {user:<24}{usd(value):>12}")
        lines.append("")
    for note in r.notes:
        lines.append(f"Note: {note}")
    if exported_to:
        lines.append(
            f"Spans and metrics were also sent over OTLP to {exported_to} (service.name {service_name});"
            " see your Grafana / backend."
        )
    else:
        lines.append(GRAFANA_HINT)
    lines.append("")
    return "\n".join(lines)
