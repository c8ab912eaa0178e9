"""One ``instrument()``'s telemetry: its tracer, instruments, price book and settings.

The work is split by job: names in ``semconv``, the adapter contract in ``records``, span
writing in ``spans`` (``SpanWriter``), the metrics engine in ``metrics`` (``MetricRecorder``),
which ``Telemetry`` is active in ``active``.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider, get_meter
from opentelemetry.trace import TracerProvider

from . import attribution
from ._safety import warn_once
from .active import active, active_tracer, set_active
from .attribution import Scope
from .bounded import BoundedDict
from .metrics import MetricRecorder
from .records import Outcome, Request
from .semconv import DURATION_BUCKETS, LATEST, LATEST_OPT_IN, RELEASED, SCOPE_NAME, TOKEN_BUCKETS, GenAiNames
from .spans import SpanWriter, error_summary, write_rollup
from .totals import Totals, drain_pending, totals_for
from .version import __version__

if TYPE_CHECKING:
    from .pricing import PriceBook

__all__ = [
    "Outcome",
    "Request",
    "Telemetry",
    "Totals",
    "active",
    "active_tracer",
    "capture_content_enabled",
    "drain_pending",
    "error_summary",
    "set_active",
    "write_rollup",
]


def genai_names() -> GenAiNames:
    """The conventions' names to write: the released ones, or the latest when
    ``OTEL_SEMCONV_STABILITY_OPT_IN`` (a comma-separated list shared with other
    instrumentations) holds ``gen_ai_latest_experimental``. Read here rather than through
    opentelemetry-instrumentation's private ``_semconv`` module, which reads it once per
    process. A ``gen_ai`` entry we do not know warns instead of silently falling back."""
    if os.environ.get("LLM_COST_OTEL_GENAI_METRICS"):
        warn_once(
            "genai-metrics-env",
            "llm-cost-otel: LLM_COST_OTEL_GENAI_METRICS is no longer read; set "
            "OTEL_SEMCONV_STABILITY_OPT_IN=%s for the conventions' newest names",
            LATEST_OPT_IN,
        )
    entries = {e.strip() for e in os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "").split(",")}
    for entry in sorted(entries):
        if entry.startswith("gen_ai") and entry != LATEST_OPT_IN:
            warn_once(
                f"semconv-opt-in:{entry}"[:200],
                "llm-cost-otel: OTEL_SEMCONV_STABILITY_OPT_IN entry %r is not %r; using the released GenAI names",
                entry,
                LATEST_OPT_IN,
            )
    return LATEST if LATEST_OPT_IN in entries else RELEASED


def capture_content_enabled() -> bool:
    value = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
    return value.strip().lower() in ("true", "1", "yes", "span_only", "span_and_event")


class Telemetry(SpanWriter, MetricRecorder):
    """Tracer, instruments and the price book for one ``instrument()``."""

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        prices: PriceBook | None = None,
        metric_attributes: Collection[str] | str | None = None,
        baggage_attributes: Collection[str] | str | None = None,
    ) -> None:
        self.tracer = trace.get_tracer(SCOPE_NAME, __version__, tracer_provider)
        meter = get_meter(SCOPE_NAME, __version__, meter_provider)
        if prices is None:
            from .pricing import PriceBook

            prices = PriceBook()
        self.prices = prices
        self.providers = (tracer_provider, meter_provider)
        self.metric_keys = attribution.allowlist(metric_attributes, "LLM_COST_OTEL_METRIC_ATTRIBUTES")
        self.baggage_keys = attribution.allowlist(baggage_attributes, "LLM_COST_OTEL_BAGGAGE_ATTRIBUTES")
        self.capture_content = capture_content_enabled()
        self.ledger: Any = None  # the ledger's Writer (``instrumentation._create`` sets it), or None
        # Counters are summed in-process and observed at collection time: a few list adds per
        # call instead of a trip through the metrics SDK per point (the SDK's synchronous
        # counters cost ~10 us a point). Same names, units and cumulative semantics.
        self.totals = totals_for(meter_provider, meter)
        # one naming per meter provider: the first instrument() on it decides
        names = self.totals.settle_naming(genai_names())
        self.cache_write_attribute = names.cache_write_tokens
        # latest names: inference operations only, one token histogram per direction
        self.latest_names = names.latest

        def histogram(name: str, unit: str, description: str, buckets: tuple[float, ...]) -> Any:
            return meter.create_histogram(
                name, unit=unit, description=description, explicit_bucket_boundaries_advisory=list(buckets)
            )

        # where the two namings use one name for two roles, one instrument serves both
        self.duration = histogram(names.operation_duration, "s", "GenAI operation duration", DURATION_BUCKETS)
        self.inference_duration = self.duration
        if names.inference_duration != names.operation_duration:
            self.inference_duration = histogram(
                names.inference_duration, "s", "GenAI inference operation duration", DURATION_BUCKETS
            )
        self.input_tokens = histogram(
            names.input_tokens_histogram,
            "{token}",
            "Input tokens per operation" if names.latest else "Number of input and output tokens used",
            TOKEN_BUCKETS,
        )
        self.output_tokens = self.input_tokens
        if names.output_tokens_histogram != names.input_tokens_histogram:
            self.output_tokens = histogram(
                names.output_tokens_histogram, "{token}", "Output tokens per operation", TOKEN_BUCKETS
            )
        self.time_to_first_chunk = histogram(
            names.time_to_first_chunk, "s", "Time to receive the first chunk of a streamed response", DURATION_BUCKETS
        )
        # attribute sets with an error.type (the rest live on their Series), oldest forgotten first
        self._attr_cache: BoundedDict[tuple[Any, ...], dict[str, Any]] = BoundedDict(4096)
        self.series = self.totals.series  # the provider's one registry, read directly on the hot path
        self.totals.observe_usage_counters(meter, names)

    # --- attributes ---

    def scope(self) -> Scope:
        """The attribution of a call starting now: ``attributes()``/``track()`` scopes, plus the
        baggage entries the app opted in (``baggage_attributes``); the app's own scope wins."""
        scope = attribution.current()
        if self.baggage_keys:
            scope = attribution.with_baggage(scope, self.baggage_keys)
        return scope

    def attribution_key(self, scope: Scope) -> tuple[tuple[str, Any], ...]:
        """The allowlisted attribution that may go onto metrics (sorted, as ``scope.key`` is)."""
        keys = self.metric_keys
        if not keys:
            return ()
        return tuple(item for item in scope.key if item[0] in keys)
