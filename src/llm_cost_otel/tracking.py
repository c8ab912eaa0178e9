"""``track()``: roll up every LLM call made inside a block into a ``Run``, on a span."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode

from . import spans
from ._safety import log_once, reset_after_fork
from .active import active, active_tracer
from .attribution import AttributeValue, Scope, _scope, clean, current, pop, push
from .decorate import F, Hooks, decorate
from .usage import Cost, Usage


class Run:
    """The rollup of every LLM call made inside one ``track()`` block.

    Its numbers include a call (a stream, say) that is still open when the block exits
    once that call ends; the ``track()`` span ends then too, so its rollup is complete."""

    __slots__ = (
        "__weakref__",
        "_calls",
        "_cost_usd",
        "_ending",
        "_errors",
        "_lock",
        "_on_end",
        "_open",
        "_spill",
        "_unpriced_calls",
        "_usage",
        "attributes",
        "id",
        "name",
        "parent_id",
        "started_ns",
    )

    def __init__(self, name: str, attributes: Mapping[str, AttributeValue]) -> None:
        self.name = name
        self.attributes = dict(attributes)
        self.id: str | None = None
        """The run's id: its span's id (hex), or a random one when there is no valid span."""
        self.parent_id: str | None = None
        """The id of the enclosing run, if any."""
        self.started_ns = time.time_ns()
        self._usage = Usage()
        self._calls = 0
        self._cost_usd = 0.0
        self._unpriced_calls = 0
        self._errors = 0
        self._lock = threading.Lock()
        self._spill: deque[tuple[Usage | None, Cost | None, bool, bool]] = deque()
        self._open: list[None] = []  # one item per call in flight (list append/pop are atomic)
        self._ending: list[Callable[[], None]] = []  # set when the block exits
        self._on_end: list[Callable[[], None]] = []
        reset_after_fork(self)

    def call_started(self) -> None:
        self._open.append(None)

    def call_ended(self) -> None:
        try:
            self._open.pop()
        except IndexError:
            return
        self._maybe_end()

    def record(
        self, usage: Usage | None, cost: Cost | None, failed: bool, usage_unknown: bool = False, ends_call: bool = True
    ) -> None:
        """Add a finished call (``ends_call``) or one batch result. Never waits on a lock:
        when it is busy (another thread, or this one re-entered) the call is spilled and
        folded in by the next reader."""
        if self._lock.acquire(False):
            try:
                self._add(usage, cost, failed, usage_unknown)
            finally:
                self._lock.release()
        else:
            self._spill.append((usage, cost, failed, usage_unknown))
        if ends_call:
            self.call_ended()

    def _add(self, usage: Usage | None, cost: Cost | None, failed: bool, usage_unknown: bool) -> None:
        self._calls += 1
        if usage is not None:
            self._usage.add(usage)
        if cost is not None:
            self._cost_usd += cost.total
        elif usage_unknown or (usage is not None and not usage.is_empty):
            self._unpriced_calls += 1
        if failed:
            self._errors += 1

    def _fold(self) -> None:
        if self._spill and self._lock.acquire(timeout=0.1):
            try:
                while self._spill:
                    self._add(*self._spill.popleft())
            finally:
                self._lock.release()

    def _block_exited(self, end: Callable[[], None]) -> None:
        self._on_end.append(end)
        self._ending.append(end)
        self._maybe_end()

    def _maybe_end(self) -> None:
        if self._ending and not self._open:
            try:
                end = self._on_end.pop()  # atomic: the span ends once
            except IndexError:
                return
            end()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    @property
    def usage(self) -> Usage:
        self._fold()
        return self._usage

    @property
    def calls(self) -> int:
        self._fold()
        return self._calls

    @property
    def cost_usd(self) -> float:
        self._fold()
        return self._cost_usd

    @property
    def unpriced_calls(self) -> int:
        self._fold()
        return self._unpriced_calls

    @property
    def errors(self) -> int:
        self._fold()
        return self._errors

    @property
    def open_calls(self) -> int:
        """Calls started inside the block that have not ended yet."""
        return len(self._open)

    def __repr__(self) -> str:
        return f"Run({self.name!r}, calls={self.calls}, cost_usd={self.cost_usd:.6f}, usage={self.usage})"


class track:
    """Roll up every LLM call inside into a :class:`Run`, and record it on an INTERNAL span.

    A context manager (``with track("job", **attrs) as run``) and a decorator
    (``@track("job")`` on sync, async and generator functions: one run per invocation).
    The span carries the attributes and ``llm_cost.rollup.*`` totals, never
    ``gen_ai.usage.*``, so a backend that sums usage over spans does not count these calls
    twice. It ends when the block has exited and every call started inside has ended.
    """

    def __init__(self, name: str, /, **values: Any) -> None:
        self.name = name if isinstance(name, str) and name else "track"
        self._values = clean(values)
        self._entered: list[tuple[Run, Any, Any]] = []

    def _begin(self) -> tuple[Run, Any]:
        """A new run and its span (not yet current)."""
        run = Run(self.name, self._values)
        enclosing = current().runs
        run.parent_id = enclosing[-1].id if enclosing else None
        span: Any = trace.INVALID_SPAN
        try:
            span = active_tracer().start_span(self.name, kind=trace.SpanKind.INTERNAL, attributes=self._values)
        except Exception:
            log_once("track.start")
        ids = span.get_span_context()
        run.id = f"{ids.span_id:016x}" if ids.is_valid else os.urandom(8).hex()
        return run, span

    @staticmethod
    def _activate(run: Run, span: Any) -> Any:
        token = None
        try:
            token = context.attach(trace.set_span_in_context(span))
        except Exception:
            log_once("track.attach")
        push(run, run.attributes, run)
        return token

    @staticmethod
    def _deactivate(run: Run, token: Any) -> None:
        pop(run)
        if token is not None:
            try:
                context.detach(token)
            except Exception:
                log_once("track.detach")

    @staticmethod
    def _end(run: Run, span: Any, error: BaseException | None) -> None:
        """The block is done: end the span when its last call has ended too."""

        def end() -> None:
            run._fold()
            spans.write_rollup(span, run)
            telemetry = active()
            if telemetry is not None and telemetry.ledger is not None:  # the writer reads the rollup
                telemetry.ledger.put_run(run, span, telemetry, time.time_ns())
            try:
                if error is not None and not isinstance(error, GeneratorExit):
                    span.set_status(Status(StatusCode.ERROR, spans.error_summary(error)))
                span.end()
            except Exception:
                log_once("track.end")

        run._block_exited(end)

    def __enter__(self) -> Run:
        run, span = self._begin()
        self._entered.append((run, span, self._activate(run, span)))
        return run

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        # the innermost entry made in this context (the same object may be entered by
        # several tasks at once)
        scope: Scope | None = _scope.get()
        while scope is not None and not any(scope.owner is s[0] for s in self._entered):
            scope = scope.parent
        index = len(self._entered) - 1  # exited in another context than it was entered in: the last
        for i, state in enumerate(self._entered):
            if scope is not None and state[0] is scope.owner:
                index = i
        if index < 0:
            return
        run, span, token = self._entered.pop(index)
        self._deactivate(run, token)
        self._end(run, span, error)

    def __call__(self, func: F) -> F:
        return decorate(func, _TrackHooks(self))


class _TrackHooks(Hooks):
    def __init__(self, owner: track) -> None:
        self.owner = owner

    def start(self) -> tuple[Run, Any]:
        return self.owner._begin()

    def activate(self, state: tuple[Run, Any]) -> Any:
        return track._activate(*state)

    def deactivate(self, state: tuple[Run, Any], token: Any) -> None:
        track._deactivate(state[0], token)

    def finish(self, state: tuple[Run, Any], error: BaseException | None) -> None:
        track._end(state[0], state[1], error)
