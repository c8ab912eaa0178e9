"""The one place that knows span, attribute and metric names, and writes them.

Adapters describe a request and its outcome in provider-neutral terms (``Request``,
``Usage``, response fields); this module turns that into OpenTelemetry GenAI semantic
convention attributes, the ``llm_cost.*`` cost attributes and the metric points.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from operator import add, attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter, get_meter_provider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from . import attribution, deferred
from ._safety import log_once, reset_after_fork, warn_once
from .attribution import Scope
from .usage import Cost, Usage
from .version import __version__

if TYPE_CHECKING:
    from .attribution import Run
    from .pricing import PriceBook

SCOPE_NAME = "llm_cost_otel"

# --- span attributes (OpenTelemetry GenAI semantic conventions) ---
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_WRITE_TOKENS = "gen_ai.usage.cache_write.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOKEN_TYPE = "gen_ai.token.type"
# Request parameters: our neutral key -> semconv attribute.
REQUEST_PARAMS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "stop_sequences": "gen_ai.request.stop_sequences",
    "seed": "gen_ai.request.seed",
    "choice_count": "gen_ai.request.choice.count",
    "batch_id": "llm_cost.batch.id",
}

# --- cost attributes (no standard yet; gen_ai.usage.cost is what Langfuse and OpenLIT read) ---
COST_TOTAL = "gen_ai.usage.cost"
COST_COMPONENT_ATTRS = {
    "input": "llm_cost.usd.input",
    "output": "llm_cost.usd.output",
    "cache_read": "llm_cost.usd.cache_read",
    "cache_write": "llm_cost.usd.cache_write",
    "request_fees": "llm_cost.usd.request_fees",
}
COST_CACHE_SAVINGS = "llm_cost.usd.cache_savings"
PRICE_SOURCE = "llm_cost.price.source"
PRICE_MODEL = "llm_cost.price.model"
PRICE_VERSION = "llm_cost.price.version"
UNPRICED = "unpriced"
USAGE_UNKNOWN = "llm_cost.usage_unknown"
# Usage fields most calls leave at 0 (checked together before any is written). Uncached
# input is not written: it is gen_ai.usage.input_tokens less the cache reads and writes.
USAGE_DETAIL_ATTRS = {
    "cache_write_5m_tokens": "llm_cost.tokens.cache_write_5m",
    "cache_write_1h_tokens": "llm_cost.tokens.cache_write_1h",
    "web_search_requests": "llm_cost.requests.web_search",
    "web_fetch_requests": "llm_cost.requests.web_fetch",
    "input_characters": "llm_cost.characters.input",
    "output_images": "llm_cost.images.output",
}
BATCH = "llm_cost.batch"
SERVICE_TIER = "llm_cost.service_tier"
PRICE_TIER = "llm_cost.price.tier"
BATCH_RESULTS = "llm_cost.batch.results"
BATCH_UNPRICED = "llm_cost.batch.unpriced_results"
ROLLUP_PREFIX = "llm_cost.rollup."
CACHE_TOKENS = "llm_cost.cache.tokens"
CACHE_TTL = "llm_cost.cache.ttl_seconds"
CACHE_STORAGE_RATE = "llm_cost.cache.storage_usd_per_hour"
CACHE_STORAGE_ESTIMATE = "llm_cost.cache.storage_usd_for_ttl"

# --- metrics ---
COMPONENT = "llm_cost.component"
OVERFLOW = "otel.metric.overflow"
LLM_TOKEN_TYPE = "llm_cost.token.type"
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
# `classic` = the names released instrumentations and GenAI dashboards use today;
# `inference` = the gen_ai.client.inference.* set on the conventions' main branch.
SEMCONV_METRIC_SETS = {
    "classic": (
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
    ),
    "inference": (
        "gen_ai.client.inference.operation.duration",
        "gen_ai.client.inference.token.usage",
        "gen_ai.client.inference.time_to_first_chunk",
    ),
}
COST_METRIC = "llm_cost.usd"
TOKENS_METRIC = "llm_cost.tokens"
SAVINGS_METRIC = "llm_cost.cache_savings.usd"
UNPRICED_METRIC = "llm_cost.unpriced"

MAX_CONTENT_CHARS = 16_384


@dataclass(slots=True)
class Request:
    """What an adapter knows about a request before sending it."""

    provider: str
    operation: str
    model: str
    server_address: str | None = None
    server_port: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    batch: bool = False
    input_messages: Any = None
    system: Any = None
    price_tier: str | None = None
    """A request option that changes the price: Gemini ``flex``/``priority``, Claude ``fast``."""


@dataclass(slots=True)
class Outcome:
    """What an adapter learned from the response (all optional: a failed call may know nothing)."""

    usage: Usage | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: tuple[str, ...] | None = None
    service_tier: str | None = None
    output_messages: Any = None
    """The response as semconv output messages, or a function that builds them: only called
    when content capture is on, so a call does not pay for it otherwise."""
    error: BaseException | None = None
    error_type: str | None = None
    attributes: dict[str, Any] | None = None
    """Extra span attributes (names from this module) an adapter learned."""
    price_tier: str | None = None
    """The price tier the response says was used (overrides the request's)."""
    usage_unknown: bool = False
    """The request was billed but its usage could not be read (counted as unpriced, never $0)."""


def capture_content_enabled() -> bool:
    value = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
    return value.strip().lower() in ("true", "1", "yes", "span_only", "span_and_event")


class Totals:
    """Per meter provider: the metric series, their cumulative counter sums, and histogram
    points not yet recorded. One instance owns every series of its provider.

    Counters: each ``_Series`` holds its own running sums (a list indexed by
    ``COUNTER_SLOTS``); observable counters report every series' non-zero sums at collection.
    A call adds its amounts under ``lock`` taken *without blocking*: if the lock is busy
    (another thread, or this one re-entered from a GC finaliser or a callback) the amounts
    are spilled to a lock-free queue that the next collection folds in. So the request path
    never waits on a lock, and nothing can deadlock on it.

    Series: at most ``cardinality_limit`` distinct attribute sets; later ones are counted
    in one overflow series (``otel.metric.overflow=true``, as the OpenTelemetry SDK does),
    with one warning, so an unbounded key cannot grow memory forever.

    Histogram points: a call queues one deferred recording (a deque append) and the first of
    our observable callbacks runs the queue into the SDK when the meter provider collects,
    before the collection reads the histograms. So every point, with its exemplar context, is
    in the collection that follows its call, and the SDK's per-point work (~10 us) runs in a
    batch off the request path. Past ``MAX_PENDING`` queued entries the background worker
    records them (never the request path); past ``MAX_QUEUED`` the oldest are dropped with a
    warning (a provider that never collects and a stopped worker)."""

    MAX_PENDING = 4096
    MAX_QUEUED = 65536
    # A series makes up to 5 attribute sets per metric (the cost components): 400 keeps each
    # metric within the OpenTelemetry SDK's default limit of 2,000, so our overflow series
    # (which keeps the token types and components apart) is reached before the SDK's.
    DEFAULT_CARDINALITY_LIMIT = 400

    def __init__(self, cardinality_limit: int | None = None) -> None:
        self.lock = threading.Lock()
        self.cardinality_limit = cardinality_limit or _cardinality_limit()
        self.series: dict[tuple[Any, ...], _Series] = {}
        # made up front: two threads creating it at once would orphan one's sums
        self._overflow = _Series({OVERFLOW: True})
        self._overflowed = False
        self._spill: deque[tuple[list[float], tuple[float, ...]]] = deque()
        self._pending: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self.dropped_points = 0
        reset_after_fork(self)
        deferred.add_housekeeper(self)

    def _after_fork(self) -> None:
        # the parent's lock may have been held by a thread that does not exist here
        self.lock = threading.Lock()

    def new_series(self, key: tuple[Any, ...], attributes: Callable[[], dict[str, Any]]) -> _Series:
        """The series for ``key``, created (``attributes()`` builds its base attribute set)
        while under the cardinality limit, else the overflow series."""
        series = self.series.get(key)
        if series is not None:
            return series
        if len(self.series) >= self.cardinality_limit:
            if not self._overflowed:
                self._overflowed = True
                warn_once(
                    "metric-cardinality",
                    "llm-cost-otel: more than %d metric series; further attribute sets are counted in one "
                    "series with otel.metric.overflow=true (raise LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT or "
                    "allow fewer attribution keys onto metrics)",
                    self.cardinality_limit,
                )
            return self._overflow
        # dict.setdefault is atomic: two threads creating the same series keep one
        return self.series.setdefault(key, _Series(attributes()))

    def add(self, sums: list[float], amounts: tuple[float, ...]) -> None:
        """Add a call's amounts to a series' sums without ever waiting on the lock."""
        lock = self.lock
        if lock.acquire(False):
            try:
                sums[:] = map(add, sums, amounts)
            finally:
                lock.release()
        else:
            self._spill.append((sums, amounts))

    def fold(self) -> None:
        """Fold spilled amounts into their sums (collection and the worker; never the request path)."""
        if not self._spill:
            return
        lock = self.lock
        # bounded wait: a collection re-entered from inside our own critical section (a GC
        # finaliser of the app's that forces a collection) folds next time instead of hanging
        if not lock.acquire(timeout=0.1):
            return
        try:
            pop = self._spill.popleft
            while True:
                try:
                    sums, amounts = pop()
                except IndexError:
                    break
                sums[:] = map(add, sums, amounts)
        finally:
            lock.release()

    def record(self, histogram: Any, value: float, attributes: dict[str, Any], context: Context | None = None) -> None:
        """Queue a histogram point (recorded at the next collection)."""
        self.defer(histogram.record, (value, attributes, context))

    def defer(self, record: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Queue ``record(*args)``, a recording into the metrics SDK, for the next collection."""
        pending = self._pending
        pending.append((record, args))
        if len(pending) > self.MAX_QUEUED:
            try:
                pending.popleft()
            except IndexError:
                return
            self.dropped_points += 1
            warn_once(
                "histogram-queue-full",
                "llm-cost-otel: more than %d histogram recordings queued (is the meter provider collecting?); "
                "dropping the oldest",
                self.MAX_QUEUED,
            )

    def drain(self) -> None:
        """Run every queued recording. Safe from any thread: deque pops are atomic, so each
        is run exactly once. Runs what was queued before it: a busy producer cannot keep a
        collection here."""
        pop = self._pending.popleft
        for _ in range(len(self._pending)):
            try:
                record, args = pop()
            except IndexError:
                return
            try:
                record(*args)
            except Exception:
                log_once("histogram.record")

    def housekeeping(self) -> None:
        """The worker's tick: keep the queues short between collections."""
        if len(self._pending) > self.MAX_PENDING:
            self.drain()
        self.fold()

    def all_series(self) -> tuple[_Series, ...]:
        return (*self.series.values(), self._overflow)

    def callback(self, metric: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        slots = tuple(i for i, (name, _, _) in enumerate(COUNTER_SLOTS) if name == metric)

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            # calls the GC finalised since the last safe point end now, so they are in this collection
            deferred.settle()
            self.drain()
            self.fold()
            # reading a list item is atomic: no lock needed to read the sums
            items = [(s.attributes[i], s.sums[i]) for s in self.all_series() for i in slots if s.sums[i]]
            merged: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
            for attrs, value in items:
                k = tuple(sorted(attrs.items()))
                if k in merged:
                    merged[k][1] += value
                else:
                    merged[k] = [attrs, value]
            return [Observation(value, attrs) for attrs, value in merged.values()]

        return observe


def _cardinality_limit() -> int:
    raw = os.environ.get("LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT", "").strip()
    if raw:
        try:
            value = int(raw)
            if value > 0:
                return value
        except ValueError:
            pass
        warn_once(
            "cardinality-limit-env",
            "llm-cost-otel: LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT=%r is not a positive integer; using %d",
            raw,
            Totals.DEFAULT_CARDINALITY_LIMIT,
        )
    return Totals.DEFAULT_CARDINALITY_LIMIT


# llm_cost.tokens by token type: the Usage field each type counts (cache writes: 5m + 1h)
TOKEN_TYPE_FIELDS = {
    "input": "input_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "output": "output_tokens",
}
# The counters every series keeps, as (metric, distinguishing attribute, its value). A call's
# amounts come in the same order: its token counts, its dollars, then 1 if it went unpriced.
COUNTER_SLOTS = (
    *((TOKENS_METRIC, LLM_TOKEN_TYPE, t) for t in TOKEN_TYPE_FIELDS),
    *((COST_METRIC, COMPONENT, c) for c in COST_COMPONENT_ATTRS),
    (SAVINGS_METRIC, None, None),
    (UNPRICED_METRIC, None, None),
)
_UNPRICED_SLOT = len(COUNTER_SLOTS) - 1
# attrgetter reads several fields in one C call, in the order given
_token_counts = attrgetter(*TOKEN_TYPE_FIELDS.values())
_dollars = attrgetter(*COST_COMPONENT_ATTRS, "cache_savings")
_DOLLAR_NAMES = (*COST_COMPONENT_ATTRS.values(), COST_CACHE_SAVINGS)
_NO_DOLLARS = (0,) * len(_DOLLAR_NAMES)
_usage_details = attrgetter(*USAGE_DETAIL_ATTRS)
_DETAIL_NAMES = tuple(USAGE_DETAIL_ATTRS.values())
_second = itemgetter(1)
_ONE_UNPRICED = tuple(1 if i == _UNPRICED_SLOT else 0 for i in range(len(COUNTER_SLOTS)))


class _Series:
    """The metrics of one (provider, operation, model, response model, attribution), built
    once: the base attribute set, the token-type sets of the token histogram, and one
    attribute set and running sum per counter slot."""

    __slots__ = ("attributes", "base", "sums", "token_input", "token_output")

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        self.token_input = {**base, TOKEN_TYPE: "input"}
        self.token_output = {**base, TOKEN_TYPE: "output"}
        self.attributes = tuple({**base, key: value} if key else base for _, key, value in COUNTER_SLOTS)
        self.sums: list[float] = [0] * len(COUNTER_SLOTS)


def drain_pending() -> None:
    """Record the histogram points every meter provider has queued (what a collection does
    first). For benchmarks and tests that want the deferred work done, and timed, now."""
    for totals in list(_totals_by_provider.values()):
        totals.drain()


_totals_by_provider: weakref.WeakKeyDictionary[Any, Totals] = weakref.WeakKeyDictionary()


def _totals_for(meter_provider: MeterProvider | None, meter: Any) -> Totals:
    """One Totals per meter provider: observable instruments cannot be registered twice under
    one name, so a second ``instrument()`` on the same provider keeps adding to the first's."""
    key = meter_provider if meter_provider is not None else get_meter_provider()
    totals = _totals_by_provider.get(key)
    if totals is None:
        totals = Totals()
        for name, unit, description in (
            (COST_METRIC, "{USD}", "Cost of LLM calls in US dollars"),
            (TOKENS_METRIC, "{token}", "Billed tokens by disjoint type (sum = all billed tokens)"),
            (SAVINGS_METRIC, "{USD}", "What cache reads saved against the uncached input price"),
            (UNPRICED_METRIC, "{call}", "Calls whose model has no known price"),
        ):
            meter.create_observable_counter(name, callbacks=[totals.callback(name)], unit=unit, description=description)
        _totals_by_provider[key] = totals
    return totals


class Telemetry:
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
        metric_set = os.environ.get("LLM_COST_OTEL_GENAI_METRICS", "classic").strip().lower()
        names = SEMCONV_METRIC_SETS.get(metric_set, SEMCONV_METRIC_SETS["classic"])
        self.duration = meter.create_histogram(
            names[0],
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.token_usage = meter.create_histogram(
            names[1],
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )
        self.time_to_first_chunk = meter.create_histogram(
            names[2],
            unit="s",
            description="Time to receive the first chunk of a streamed response",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        # Counters are summed in-process and observed at collection time: a few list adds per
        # call instead of a trip through the metrics SDK per point (the SDK's synchronous
        # counters cost ~10 us a point). Same names, units and cumulative semantics.
        self.totals = _totals_for(meter_provider, meter)
        self._attr_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.series = self.totals.series  # the provider's one registry, read directly on the hot path

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

    def metric_attributes(
        self,
        request: Request,
        response_model: str | None,
        attribution: tuple[tuple[str, Any], ...],
        error_type: str | None,
    ) -> dict[str, Any]:
        """Built once per distinct combination and reused (metric SDKs hash these on every add)."""
        key = (request.provider, request.operation, request.model, response_model, attribution, error_type)
        attrs = self._attr_cache.get(key)
        if attrs is None:
            attrs = {PROVIDER: request.provider, OPERATION: request.operation, REQUEST_MODEL: request.model}
            if response_model:
                attrs[RESPONSE_MODEL] = response_model
            attrs.update(attribution)
            if error_type:
                attrs[ERROR_TYPE] = error_type
            if len(self._attr_cache) > 4096:
                self._attr_cache.clear()
            self._attr_cache[key] = attrs
        return attrs

    # --- spans ---

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
        usage = outcome.usage
        if usage is not None:
            attrs[INPUT_TOKENS] = usage.total_input_tokens
            attrs[OUTPUT_TOKENS] = usage.output_tokens
            attrs[CACHE_READ_TOKENS] = usage.cache_read_tokens
            attrs[CACHE_WRITE_TOKENS] = usage.cache_write_tokens
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
                CACHE_WRITE_TOKENS: usage.cache_write_tokens,
            }
        )
        if results:  # a download of results all counted before prices nothing
            span.set_attribute(PRICE_SOURCE, source or UNPRICED)

    # --- metrics ---

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
                attrs = self.metric_attributes(request, outcome.response_model, attribution, error_type)
            totals.defer(self._record_points, (series, attrs, duration_s, input_tokens, output_tokens, context))
        if usage is None:
            if outcome.usage_unknown:
                totals.add(series.sums, _ONE_UNPRICED)
            return
        if cost is not None:
            amounts = (*_token_counts(usage), *_dollars(cost), 0)
        else:
            amounts = (*_token_counts(usage), *_NO_DOLLARS, 0 if usage.is_empty else 1)
        # in COUNTER_SLOTS order; adding 0 is harmless (zero sums are never reported)
        totals.add(series.sums, amounts)

    def _record_points(
        self,
        series: _Series,
        attrs: dict[str, Any],
        duration_s: float | None,
        input_tokens: int,
        output_tokens: int,
        context: Context | None,
    ) -> None:
        """A call's histogram points, run by ``Totals.drain``; one failing point keeps the rest."""
        if duration_s is not None:
            try:
                self.duration.record(duration_s, attrs, context)
            except Exception:
                log_once("histogram.record")
        try:
            if input_tokens:
                self.token_usage.record(input_tokens, series.token_input)
            if output_tokens:
                self.token_usage.record(output_tokens, series.token_output)
        except Exception:
            log_once("histogram.record")

    def _series(
        self, request: Request, response_model: str | None, attribution: tuple[tuple[str, Any], ...]
    ) -> _Series:
        key = (request.provider, request.operation, request.model, response_model, attribution)
        series = self.series.get(key)
        if series is None:
            series = self.totals.new_series(
                key, lambda: self.metric_attributes(request, response_model, attribution, None)
            )
        return series

    def record_first_chunk(
        self, request: Request, attribution: tuple[tuple[str, Any], ...], seconds: float, context: Context | None = None
    ) -> None:
        self.totals.record(self.time_to_first_chunk, seconds, self._series(request, None, attribution).base, context)


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


_active: Telemetry | None = None
# Telemetry an instrumentor was given its own providers or settings for, by adapter
_by_adapter: dict[str, Telemetry] = {}


def set_active(telemetry: Telemetry | None, adapter: str = "") -> None:
    """The Telemetry calls use: the shared one (``adapter=""``; replacing it drops every
    adapter's own), or one adapter's own (None: the shared one again)."""
    global _active
    if adapter:
        if telemetry is None:
            _by_adapter.pop(adapter, None)
        else:
            _by_adapter[adapter] = telemetry
        return
    _active = telemetry
    _by_adapter.clear()


def active(adapter: str = "") -> Telemetry | None:
    if _by_adapter:
        own = _by_adapter.get(adapter)
        if own is not None:
            return own
    return _active


def active_tracer() -> trace.Tracer:
    if _active is not None:
        return _active.tracer
    return trace.get_tracer(SCOPE_NAME, __version__)


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
