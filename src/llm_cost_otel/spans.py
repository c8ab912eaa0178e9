"""Writing spans: a call's request and outcome attributes, batch totals, ``track()``
rollups, and error statuses that carry no upstream text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ._safety import log_once
from .records import Outcome, Request
from .semconv import (
    BATCH,
    BATCH_RESULTS,
    BATCH_UNPRICED,
    CACHE_READ_TOKENS,
    COST_CACHE_SAVINGS,
    COST_COMPONENT_ATTRS,
    COST_TOTAL,
    ERROR_TYPE,
    FINISH_REASONS,
    INPUT_MESSAGES,
    INPUT_TOKENS,
    MAX_CONTENT_CHARS,
    OPERATION,
    OUTPUT_MESSAGES,
    OUTPUT_TOKENS,
    PRICE_ERROR,
    PRICE_GEO,
    PRICE_MODEL,
    PRICE_SCOPE,
    PRICE_SOURCE,
    PRICE_TIER,
    PRICE_VERSION,
    PROVIDER,
    REASONING_TOKENS,
    REQUEST_MODEL,
    REQUEST_PARAMS,
    RESPONSE_ID,
    RESPONSE_MODEL,
    ROLLUP_PREFIX,
    SERVER_ADDRESS,
    SERVER_PORT,
    SERVICE_TIER,
    SYSTEM_INSTRUCTIONS,
    UNPRICED,
    USAGE_DETAIL_ATTRS,
    USAGE_UNKNOWN,
)
from .usage import Cost, Usage

if TYPE_CHECKING:
    from .attribution import Scope
    from .pricing import PriceBook
    from .tracking import Run

# attrgetter reads several fields in one C call, in the order given
_dollars = attrgetter(*COST_COMPONENT_ATTRS, "cache_savings")
_DOLLAR_NAMES = (*COST_COMPONENT_ATTRS.values(), COST_CACHE_SAVINGS)
_usage_details = attrgetter(*USAGE_DETAIL_ATTRS)
_DETAIL_NAMES = tuple(USAGE_DETAIL_ATTRS.values())
_second = itemgetter(1)


class SpanWriter:
    """The span half of ``Telemetry``: needs ``tracer``, ``capture_content``, ``prices`` and
    ``cache_write_attribute`` (its name differs between the conventions' releases)."""

    tracer: trace.Tracer
    capture_content: bool
    prices: PriceBook
    cache_write_attribute: str

    def start_span(self, request: Request, scope: Scope, start_ns: int | None = None) -> trace.Span:
        attrs: dict[str, Any] = {
            OPERATION: request.operation,
            PROVIDER: request.provider,
            REQUEST_MODEL: request.model,
        }
        if request.server_address:
            attrs[SERVER_ADDRESS] = request.server_address
            if request.server_port:
                attrs[SERVER_PORT] = request.server_port
        for key, value in request.params.items():
            name = REQUEST_PARAMS.get(key)
            if name is not None and value is not None:
                attrs[name] = value
        if request.batch:
            attrs[BATCH] = True
        if request.price_tier:
            attrs[PRICE_TIER] = request.price_tier
        if request.price_scope:
            attrs[PRICE_SCOPE] = request.price_scope
        if scope.attributes:
            attrs.update(scope.attributes)
        if self.capture_content:
            if request.system is not None:
                attrs[SYSTEM_INSTRUCTIONS] = _to_json(request.system)
            if request.input_messages is not None:
                attrs[INPUT_MESSAGES] = _to_json(request.input_messages)
        return self.tracer.start_span(
            f"{request.operation} {request.model}" if request.model else request.operation,
            kind=SpanKind.CLIENT,
            attributes=attrs,
            start_time=start_ns,
        )

    def write_outcome(self, span: trace.Span, outcome: Outcome, cost: Cost | None, priced: bool) -> None:
        attrs: dict[str, Any] = {}
        if outcome.response_model:
            attrs[RESPONSE_MODEL] = outcome.response_model
        if outcome.response_id:
            attrs[RESPONSE_ID] = outcome.response_id
        if outcome.finish_reasons:
            attrs[FINISH_REASONS] = outcome.finish_reasons  # the SDK stores a tuple copy
        if outcome.service_tier:
            attrs[SERVICE_TIER] = outcome.service_tier
        if outcome.price_tier:
            attrs[PRICE_TIER] = outcome.price_tier
        if outcome.inference_geo:
            attrs[PRICE_GEO] = outcome.inference_geo
        usage = outcome.usage
        if usage is not None:
            attrs[INPUT_TOKENS] = usage.total_input_tokens
            attrs[OUTPUT_TOKENS] = usage.output_tokens
            attrs[CACHE_READ_TOKENS] = usage.cache_read_tokens
            attrs[self.cache_write_attribute] = usage.cache_write_tokens
            if usage.reasoning_tokens:
                attrs[REASONING_TOKENS] = usage.reasoning_tokens
            # only the non-zero ones, filtered in C (most calls have none)
            attrs.update(filter(_second, zip(_DETAIL_NAMES, _usage_details(usage), strict=True)))
        if cost is not None:
            attrs[COST_TOTAL] = cost.total
            # a component of $0 is left off: fewer attributes per span
            attrs.update(filter(_second, zip(_DOLLAR_NAMES, _dollars(cost), strict=True)))
            attrs[PRICE_SOURCE] = cost.source
            attrs[PRICE_MODEL] = cost.model
            attrs[PRICE_VERSION] = cost.version
        elif not priced:
            attrs[PRICE_SOURCE] = UNPRICED
            if usage is None:
                attrs[USAGE_UNKNOWN] = True
            if self.prices.error is not None:
                attrs[PRICE_ERROR] = self.prices.error
        if outcome.attributes:
            attrs.update(outcome.attributes)
        if self.capture_content and outcome.output_messages is not None:
            messages = outcome.output_messages
            if callable(messages):
                messages = messages()
            if messages is not None:
                attrs[OUTPUT_MESSAGES] = _to_json(messages)
        if outcome.error is not None or outcome.error_type:
            error_type = outcome.error_type or type(outcome.error).__qualname__
            attrs[ERROR_TYPE] = error_type
            span.set_status(Status(StatusCode.ERROR, error_summary(outcome.error, error_type)))
        span.set_attributes(attrs)

    def write_batch_totals(
        self, span: trace.Span, results: int, unpriced: int, cost: float, usage: Usage, source: str | None
    ) -> None:
        span.set_attributes(
            {
                BATCH_RESULTS: results,
                BATCH_UNPRICED: unpriced,
                COST_TOTAL: cost,
                INPUT_TOKENS: usage.total_input_tokens,
                OUTPUT_TOKENS: usage.output_tokens,
                CACHE_READ_TOKENS: usage.cache_read_tokens,
                self.cache_write_attribute: usage.cache_write_tokens,
            }
        )
        if results:  # a download of results all counted before prices nothing
            span.set_attribute(PRICE_SOURCE, source or UNPRICED)
            if source is None and self.prices.error is not None:
                span.set_attribute(PRICE_ERROR, self.prices.error)


def write_rollup(span: trace.Span, run: Run) -> None:
    """Totals of a ``track()`` block, under llm_cost.rollup.* (never gen_ai.usage.*)."""
    try:
        attrs: dict[str, Any] = {
            ROLLUP_PREFIX + "cost_usd": run.cost_usd,
            ROLLUP_PREFIX + "calls": run.calls,
            ROLLUP_PREFIX + "unpriced_calls": run.unpriced_calls,
            ROLLUP_PREFIX + "errors": run.errors,
        }
        for name, value in run.usage.as_dict().items():
            attrs[ROLLUP_PREFIX + name] = value
        span.set_attributes(attrs)
    except Exception:
        log_once("write_rollup")


def _to_json(value: Any) -> str:
    try:
        text = json.dumps(value, default=_jsonable, ensure_ascii=False)
    except Exception:
        text = repr(value)
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS] + "...(truncated)"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


def error_summary(error: BaseException | None, error_type: str | None = None) -> str:
    """A span status description that cannot carry request content or credentials: the
    exception's class and the error type, never its message (an API error's message is the
    upstream body, which a gateway may fill with the key it rejected). The exception object
    itself is untouched for the app."""
    parts = [] if error is None else [type(error).__qualname__[:100]]
    if error_type and error_type not in parts:
        parts.append(("HTTP " if error_type.isdigit() else "") + error_type[:100])
    return ": ".join(parts) or "error"
