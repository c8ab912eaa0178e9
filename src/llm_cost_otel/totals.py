"""Cumulative counter sums and queued histogram points of one meter provider: the series
registry that owns every metric series, bounded, and never waited on by a request."""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from operator import add
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter_provider

from . import deferred
from ._safety import log_once, reset_after_fork, warn_once
from .semconv import (
    COST_METRIC,
    INFERENCE_OPERATIONS,
    OPERATION,
    OVERFLOW,
    SAVINGS_METRIC,
    TOKEN_MODALITY,
    TOKENS_METRIC,
    UNPRICED_METRIC,
    GenAiNames,
)
from .series import (
    COUNTER_SLOTS,
    DEFAULT_CARDINALITY_LIMIT,
    Series,
    cardinality_limit_from_env,
    merged_observations,
)


class Totals:
    """Per meter provider: the metric series, their cumulative counter sums, and histogram
    points not yet recorded. One instance owns every series of its provider.

    Counters: each ``Series`` holds its own running sums (a list indexed by
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
    DEFAULT_CARDINALITY_LIMIT = DEFAULT_CARDINALITY_LIMIT  # see series.py

    def __init__(self, cardinality_limit: int | None = None) -> None:
        self.lock = threading.Lock()
        self.cardinality_limit = cardinality_limit or cardinality_limit_from_env()
        self.series: dict[tuple[Any, ...], Series] = {}
        # made up front: two threads creating one at once would orphan one's sums. Two: the
        # conventions' inference usage counters must not count other operations' overflow.
        self._overflow = Series({OVERFLOW: True})
        self._overflow_other = Series({OVERFLOW: True})
        self.naming: GenAiNames | None = None
        self._overflowed = False
        self._spill: deque[tuple[list[float], tuple[float, ...]]] = deque()
        self._pending: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self.dropped_points = 0
        self._usage_counters: set[str] = set()
        reset_after_fork(self)
        deferred.add_housekeeper(self)

    def _after_fork(self) -> None:
        # the parent's lock may have been held by a thread that does not exist here
        self.lock = threading.Lock()

    def settle_naming(self, wanted: GenAiNames) -> GenAiNames:
        """The conventions' naming of this provider's metrics: the first one asked for. A later
        instrument() asking for the other keeps it (two namings in one process would count its
        calls under both), with a warning."""
        with self.lock:
            if self.naming is None:
                self.naming = wanted
        if self.naming is not wanted:
            warn_once(
                "semconv-naming-switch",
                "llm-cost-otel: OTEL_SEMCONV_STABILITY_OPT_IN changed after metrics were set up on this meter "
                "provider; keeping the %s GenAI names it started with",
                "newest" if self.naming.latest else "released",
            )
        return self.naming

    def new_series(
        self, key: tuple[Any, ...], attributes: Callable[[], dict[str, Any]], inference: bool = True
    ) -> Series:
        """The series for ``key``, created (``attributes()`` builds its base attribute set)
        while under the cardinality limit, else the overflow series."""
        series = self.series.get(key)
        if series is not None:
            return series
        if len(self.series) >= self.cardinality_limit:
            if not self._overflowed:
                self._overflowed = True
                warn_once(
                    f"metric-cardinality:{id(self)}",  # once per meter provider
                    "llm-cost-otel: more than %d metric series; further attribute sets are counted in one "
                    "series with otel.metric.overflow=true (raise LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT or "
                    "allow fewer attribution keys onto metrics)",
                    self.cardinality_limit,
                )
            return self._overflow if inference else self._overflow_other
        # dict.setdefault is atomic: two threads creating the same series keep one
        return self.series.setdefault(key, Series(attributes()))

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

    def all_series(self) -> tuple[Series, ...]:
        return (*self.series.values(), self._overflow, self._overflow_other)

    def callback(self, metric: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        slots = tuple(i for i, (name, _, _) in enumerate(COUNTER_SLOTS) if name == metric)

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            self._catch_up()
            # reading a list item is atomic: no lock needed to read the sums
            items = [(s.attributes[i], s.sums[i]) for s in self.all_series() for i in slots if s.sums[i]]
            return merged_observations(items)

        return observe

    def usage_callback(self, token_types: tuple[str, ...]) -> Callable[[CallbackOptions], Iterable[Observation]]:
        """A conventions usage counter (``gen_ai.client.inference.usage.*``): the sum of the
        given token sums over the series of inference operations, modality ``unknown`` (the
        providers' usage reports do not split every count by modality)."""
        slots = tuple(
            i
            for i, (metric, _, kind) in enumerate(COUNTER_SLOTS)
            if metric in (TOKENS_METRIC, None) and kind in token_types
        )

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            self._catch_up()
            items = []
            for s in self.all_series():
                operation = s.base.get(OPERATION)
                if s is self._overflow_other or (operation is not None and operation not in INFERENCE_OPERATIONS):
                    continue
                value = sum(s.sums[i] for i in slots)
                if value:
                    items.append(({**s.base, TOKEN_MODALITY: "unknown"}, value))
            return merged_observations(items)

        return observe

    def observe_usage_counters(self, meter: Any, names: GenAiNames) -> None:
        """Register the conventions' usage counters ``names`` defines, once per provider."""
        with self.lock:
            wanted = [name for name in names.usage_counters if name not in self._usage_counters]
            self._usage_counters.update(wanted)
        for name in wanted:
            meter.create_observable_counter(
                name,
                callbacks=[self.usage_callback(names.usage_counters[name])],
                unit="{token}",
                description="Tokens used by inference operations (gen_ai.client.inference.usage)",
            )

    def _catch_up(self) -> None:
        # calls the GC finalised since the last safe point end now, so they are in this collection
        deferred.settle()
        self.drain()
        self.fold()


def drain_pending() -> None:
    """Record the histogram points every meter provider has queued (what a collection does
    first). For benchmarks and tests that want the deferred work done, and timed, now."""
    for totals in list(_totals_by_provider.values()):
        totals.drain()


_totals_by_provider: weakref.WeakKeyDictionary[Any, Totals] = weakref.WeakKeyDictionary()


def totals_for(meter_provider: MeterProvider | None, meter: Any) -> Totals:
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
