"""Recording a finished call's metric points: counter amounts into its series' sums and
histogram points queued for the next collection (see ``totals``)."""

from __future__ import annotations

from typing import Any

from opentelemetry.context import Context

from ._safety import log_once
from .bounded import BoundedDict
from .records import Outcome, Request
from .semconv import (
    BATCH_RESULTS_OPERATION,
    ERROR_TYPE,
    INFERENCE_OPERATIONS,
    OPERATION,
    OVERFLOW,
    PROVIDER,
    REQUEST_MODEL,
    RESPONSE_MODEL,
)
from .series import NO_DOLLARS, ONE_UNPRICED, Series, dollars, token_counts
from .totals import Totals
from .usage import Cost


class MetricRecorder:
    """The metrics half of ``Telemetry``: needs ``totals``, ``series`` and the histograms.

    ``inference_duration`` and ``duration`` are one histogram under the released conventions
    and two under the latest (inference operations vs the rest); ``input_tokens`` and
    ``output_tokens`` likewise."""

    totals: Totals
    series: dict[tuple[Any, ...], Series]
    duration: Any
    inference_duration: Any
    input_tokens: Any
    output_tokens: Any
    time_to_first_chunk: Any
    # the conventions' newest names: inference operations only, one token histogram per
    # direction (with error.type); released: one histogram told apart by gen_ai.token.type
    latest_names: bool
    _attr_cache: BoundedDict[tuple[Any, ...], dict[str, Any]]

    def metric_attributes(
        self,
        request: Request,
        response_model: str | None,
        attribution: tuple[tuple[str, Any], ...],
        error_type: str | None,
    ) -> dict[str, Any]:
        """A failed call's attribute set (with ``error.type``), built once per distinct
        combination and reused (metric SDKs hash these on every add)."""
        key = (request.provider, request.operation, request.model, response_model, attribution, error_type)
        attrs = self._attr_cache.get(key)
        if attrs is None:
            attrs = _attributes(request, response_model, attribution)
            if error_type:
                attrs[ERROR_TYPE] = error_type
            self._attr_cache.put(key, attrs)
        return attrs

    def record_metrics(
        self,
        request: Request,
        outcome: Outcome,
        cost: Cost | None,
        attribution: tuple[tuple[str, Any], ...],
        duration_s: float | None,
        context: Context | None = None,
    ) -> None:
        """``context`` (the call's span) gives the duration point an exemplar linking to it (one
        exemplar per call is enough to get from a metric to its spans)."""
        totals = self.totals
        series = self._series(request, outcome.response_model, attribution)
        usage = outcome.usage
        input_tokens = output_tokens = 0
        if usage is not None:
            input_tokens = usage.total_input_tokens
            output_tokens = usage.output_tokens
        if duration_s is not None or input_tokens or output_tokens:
            attrs = series.base
            if outcome.error is not None or outcome.error_type:
                error_type = outcome.error_type or type(outcome.error).__qualname__
                if OVERFLOW in attrs:  # past the cardinality limit failures stay in the overflow series too
                    attrs = {**attrs, ERROR_TYPE: error_type}
                else:
                    attrs = self.metric_attributes(request, outcome.response_model, attribution, error_type)
            inference = request.operation in INFERENCE_OPERATIONS
            if not inference and self.latest_names:
                input_tokens = output_tokens = 0
            histogram = self.inference_duration if inference else self.duration
            totals.defer(
                self._record_points, (series, attrs, histogram, duration_s, input_tokens, output_tokens, context)
            )
        if usage is None:
            if outcome.usage_unknown:
                totals.add(series.sums, ONE_UNPRICED)
            return
        if cost is not None:
            amounts = (*token_counts(usage), *dollars(cost), 0)
        else:
            amounts = (*token_counts(usage), *NO_DOLLARS, 0 if usage.is_empty else 1)
        # in COUNTER_SLOTS order; adding 0 is harmless (zero sums are never reported)
        totals.add(series.sums, amounts)

    def _record_points(
        self,
        series: Series,
        attrs: dict[str, Any],
        duration: Any,
        duration_s: float | None,
        input_tokens: int,
        output_tokens: int,
        context: Context | None,
    ) -> None:
        """A call's histogram points, run by ``Totals.drain``; one failing point keeps the rest."""
        if duration_s is not None:
            try:
                duration.record(duration_s, attrs, context)
            except Exception:
                log_once("histogram.record")
        try:
            if input_tokens or output_tokens:
                # released: told apart by gen_ai.token.type; latest: one histogram each, and
                # like the duration they carry error.type
                if self.latest_names:
                    input_attrs = output_attrs = attrs
                else:
                    input_attrs, output_attrs = series.token_input, series.token_output
                if input_tokens:
                    self.input_tokens.record(input_tokens, input_attrs)
                if output_tokens:
                    self.output_tokens.record(output_tokens, output_attrs)
        except Exception:
            log_once("histogram.record")

    def _series(self, request: Request, response_model: str | None, attribution: tuple[tuple[str, Any], ...]) -> Series:
        key = (request.provider, request.operation, request.model, response_model, attribution)
        series = self.series.get(key)
        if series is None:
            series = self.totals.new_series(
                key,
                lambda: _attributes(request, response_model, attribution),  # kept by the series
                request.operation in INFERENCE_OPERATIONS,
            )
        return series

    def record_first_chunk(
        self, request: Request, attribution: tuple[tuple[str, Any], ...], seconds: float, context: Context | None = None
    ) -> None:
        """Streams of generated content only: not a batch's results download, and under the
        latest conventions (whose metric is gen_ai.client.inference.*) inference operations only."""
        operation = request.operation
        if operation == BATCH_RESULTS_OPERATION or (self.latest_names and operation not in INFERENCE_OPERATIONS):
            return
        self.totals.record(self.time_to_first_chunk, seconds, self._series(request, None, attribution).base, context)


def _attributes(
    request: Request, response_model: str | None, attribution: tuple[tuple[str, Any], ...]
) -> dict[str, Any]:
    attrs = {PROVIDER: request.provider, OPERATION: request.operation, REQUEST_MODEL: request.model}
    if response_model:
        attrs[RESPONSE_MODEL] = response_model
    attrs.update(attribution)
    return attrs
