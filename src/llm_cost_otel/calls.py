"""The lifecycle of one billed request: open a span, price the outcome, end exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace

from . import deferred
from ._safety import in_gc, log_once, warn_once
from .cost_lookup import Priced, remember_id
from .records import Outcome, Request, sanitize
from .usage import Cost, Usage

if TYPE_CHECKING:
    from .telemetry import Telemetry

_REMEMBERED_IDS = 4096
ErrorType = Callable[[BaseException], str]


class Call:
    """One request in flight. ``finish`` may be called from any path, any number of times:
    the first call records, the rest do nothing."""

    __slots__ = (
        "__weakref__",
        "_first_chunk",
        "_open",
        "attribution",
        "context",
        "priced",
        "request",
        "scope",
        "span",
        "started",
        "telemetry",
        "timestamp",
    )

    def __init__(self, telemetry: Telemetry, request: Request) -> None:
        if deferred.pending():  # calls the GC finalised since the last safe point end now
            deferred.settle()
        self.telemetry = telemetry
        self.request = request
        self.scope = scope = telemetry.scope()
        self.attribution = telemetry.attribution_key(scope)
        self.timestamp = time.time()
        self.started = time.perf_counter()
        self.span = telemetry.start_span(request, self.scope)
        # current while the request runs, and the exemplar context of the call's metrics
        self.context = trace.set_span_in_context(self.span)
        request.input_messages = request.system = None  # captured on the span (or not); don't hold it
        self._open = [True]
        self._first_chunk = True
        # what cost_of() keeps for a response: this small box, not the whole call
        self.priced = Priced()
        # last: a call that failed to start (a raising span processor) holds no run open
        for run in scope.runs:
            run.call_started()

    @property
    def cost(self) -> Cost | None:
        return self.priced.cost

    def send(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], error_type: ErrorType) -> Any:
        """Run the SDK's request with this call's span current; a failure ends the call with
        ``error.type`` from the adapter's ``error_type`` and is re-raised untouched."""
        token = context.attach(self.context)
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            self.finish(Outcome(error=exc, error_type=error_type(exc)))
            raise
        finally:
            context.detach(token)

    async def send_async(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], error_type: ErrorType) -> Any:
        token = context.attach(self.context)
        try:
            return await fn(*args, **kwargs)
        except BaseException as exc:
            self.finish(Outcome(error=exc, error_type=error_type(exc)))
            raise
        finally:
            context.detach(token)

    @property
    def finished(self) -> bool:
        return not self._open

    def first_chunk(self) -> None:
        """Mark the first streamed chunk (time to first chunk); cheap after the first time."""
        if self._first_chunk:
            self._first_chunk = False
            try:
                self.telemetry.record_first_chunk(
                    self.request,
                    self.attribution,
                    time.perf_counter() - self.started,
                    self.context,
                )
            except Exception:
                log_once("first_chunk")

    def finish(self, outcome: Outcome, record: bool = True) -> None:
        """Record ``outcome`` (price, span attributes, metrics, rollups) and end the span.

        ``record=False`` only sets the error status and ends the span, for adapters that
        recorded per-item themselves (batch results). Inside a garbage collection (a
        finaliser of an abandoned stream) the work is deferred to a safe point: it may take
        locks that the code the collector interrupted holds."""
        try:
            self._open.pop()  # atomic: only one caller gets past this line
        except IndexError:
            return
        if in_gc():
            deferred.defer(self._record, outcome, record, time.perf_counter(), time.time_ns())
        else:
            self._record(outcome, record, time.perf_counter(), None)

    def _record(self, outcome: Outcome, record: bool, ended: float, end_ns: int | None) -> None:
        duration = ended - self.started
        span = self.span
        cost = None
        usage = None
        try:
            telemetry = self.telemetry
            request = self.request
            priced = True
            sanitize(outcome)
            usage = outcome.usage
            if not record:
                telemetry.write_outcome(span, Outcome(error=outcome.error, error_type=outcome.error_type), None, True)
            else:
                if usage is not None:
                    try:
                        cost = self._price(outcome)
                    except Exception:
                        log_once("price")
                    priced = cost is not None
                elif outcome.usage_unknown:
                    priced = False
                telemetry.write_outcome(span, outcome, cost, priced)
                telemetry.record_metrics(request, outcome, cost, self.attribution, duration, self.context)
                self.priced.cost = cost
                if outcome.response_id:
                    remember_id(outcome.response_id, cost)
                ledger = telemetry.ledger
                if ledger is not None:  # a tuple on a queue: the writer thread builds the record
                    ledger.put_call(self, request, outcome, cost, duration)
        except Exception:
            log_once("finish")
        try:
            span.end(end_ns)
        except Exception:
            log_once("span.end")
        # after the call's span: this may end a track() span (children end first)
        runs = self.scope.runs
        if runs:
            failed = outcome.error is not None or outcome.error_type is not None
            for run in runs:
                try:
                    if record:
                        run.record(usage, cost, failed, outcome.usage_unknown)
                    else:
                        run.call_ended()
                except Exception:
                    log_once("run.record")

    def _price(self, outcome: Outcome) -> Cost | None:
        request = self.request
        assert outcome.usage is not None
        cost = self.telemetry.prices.cost
        tier = outcome.price_tier or request.price_tier
        scope = request.price_scope
        geo = outcome.inference_geo
        # the model that answered first (a dated snapshot), then the one asked for; ``scope``
        # prices where it ran
        models: tuple[str | None, str | None] = (outcome.response_model, request.model)
        if request.price_by_request_model:
            models = (request.model, outcome.response_model)
        for model in models:
            if model:
                found = cost(
                    request.provider,
                    model,
                    outcome.usage,
                    batch=request.batch,
                    timestamp=self.timestamp,
                    tier=tier,
                    scope=scope,
                    geo=geo,
                )
                if found is not None:
                    if models[0] is request.model and model is not request.model:
                        _warn_priced_as(request.model, model)
                    return found
        if self.telemetry.prices.error is not None:
            return None  # the price file is broken: that error was reported, not a missing model
        warn_once(
            f"unpriced:{request.provider}:{request.model}",
            "llm-cost-otel: no price known for model %r (provider %s); its calls are recorded as unpriced. "
            "Add it to a price override file (LLM_COST_OTEL_PRICES) to price it.",
            request.model,
            request.provider,
        )
        return None


def _warn_priced_as(asked: str, answered: str) -> None:
    warn_once(
        f"priced-as:{asked}",
        "llm-cost-otel: model %r has no price of its own (map it with an alias in the price override "
        "file); priced as the model that answered, %r",
        asked,
        answered,
    )


class BatchResults:
    """The results of a batch job, fetched by one call (the retrieval span).

    Each result is a billed request at batch rates: priced and counted on its own (metrics
    with its own model, ``track()`` rollups); the retrieval span carries the batch total."""

    __slots__ = ("call", "cost", "operation", "results", "source", "unpriced", "usage")

    def __init__(self, call: Call, operation: str) -> None:
        """``operation``: what each result was (``chat`` for Anthropic Messages,
        ``generate_content`` for Gemini), for its metrics."""
        self.call = call
        self.operation = operation
        self.usage = Usage()
        self.cost = 0.0
        self.results = 0
        self.unpriced = 0
        self.source: str | None = None

    def add(self, model: str, usage: Usage, response_id: str | None = None) -> None:
        checked = Outcome(usage=usage, response_model=model, response_id=response_id)
        sanitize(checked)
        if checked.usage is None:
            self.add_unknown(model)
            return
        model = checked.response_model or "unknown"
        response_id = checked.response_id
        call = self.call
        telemetry = call.telemetry
        request = Request(provider=call.request.provider, operation=self.operation, model=model, batch=True)
        cost = telemetry.prices.cost(request.provider, model, usage, batch=True, timestamp=call.timestamp)
        outcome = Outcome(usage=usage, response_model=model)
        telemetry.record_metrics(request, outcome, cost, call.attribution, None, call.context)
        for run in call.scope.runs:
            run.record(usage, cost, False, ends_call=False)
        if telemetry.ledger is not None:  # each result is a billed request: its own record
            telemetry.ledger.put_call(call, request, outcome, cost, None)
        self.results += 1
        self.usage.add(usage)
        if cost is None:
            self.unpriced += 1
        else:
            self.cost += cost.total
            self.source = cost.source
        if response_id:
            remember_id(response_id, cost)

    def add_unknown(self, model: str) -> None:
        """One result whose usage is unreadable: an unpriced result (totals, the unpriced
        counter, ``track()`` rollups), never $0."""
        call = self.call
        if not isinstance(model, str) or not model:
            model = "unknown"
        request = Request(provider=call.request.provider, operation=self.operation, model=model, batch=True)
        outcome = Outcome(response_model=request.model, usage_unknown=True)
        call.telemetry.record_metrics(request, outcome, None, call.attribution, None, call.context)
        for run in call.scope.runs:
            run.record(None, None, False, True, ends_call=False)
        if call.telemetry.ledger is not None:
            call.telemetry.ledger.put_call(call, request, outcome, None, None)
        self.results += 1
        self.unpriced += 1

    def finish(self, error: BaseException | None = None) -> None:
        call = self.call
        if call.finished:
            return
        try:
            call.telemetry.write_batch_totals(
                call.span, self.results, self.unpriced, self.cost, self.usage, self.source
            )
        except Exception:
            log_once("batch.finish")
        call.finish(Outcome(error=error), record=False)
