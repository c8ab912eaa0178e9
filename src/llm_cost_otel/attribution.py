"""Context-propagated attribution: ``attributes()`` and ``track()``.

Both live in one ContextVar, so they follow the code the way OpenTelemetry context does:
through nested calls, ``asyncio`` tasks (which copy context) and threads started with a
copied context. A call captures the scope when it starts, so a stream consumed later, in
another task, still reports to the scope that made it.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry import trace

from .usage import Cost, Usage

AttributeValue = str | bool | int | float
F = TypeVar("F", bound=Callable[..., Any])


class Run:
    """The rollup of every LLM call made inside one ``track()`` block."""

    __slots__ = ("_lock", "attributes", "calls", "cost_usd", "errors", "name", "unpriced_calls", "usage")

    def __init__(self, name: str, attributes: Mapping[str, AttributeValue]) -> None:
        self.name = name
        self.attributes = dict(attributes)
        self.usage = Usage()
        self.calls = 0
        self.cost_usd = 0.0
        self.unpriced_calls = 0
        self.errors = 0
        self._lock = threading.Lock()

    def record(self, usage: Usage | None, cost: Cost | None, failed: bool, usage_unknown: bool = False) -> None:
        with self._lock:
            self.calls += 1
            if usage is not None:
                self.usage.add(usage)
            if cost is not None:
                self.cost_usd += cost.total
            elif usage_unknown or (usage is not None and not usage.is_empty):
                self.unpriced_calls += 1
            if failed:
                self.errors += 1

    def __repr__(self) -> str:
        return f"Run({self.name!r}, calls={self.calls}, cost_usd={self.cost_usd:.6f}, usage={self.usage})"


@dataclass(frozen=True, slots=True)
class Scope:
    attributes: Mapping[str, AttributeValue]
    runs: tuple[Run, ...]
    key: tuple[tuple[str, AttributeValue], ...]
    """The attributes as a hashable tuple, for caching metric attribute sets."""


EMPTY = Scope({}, (), ())
_scope: ContextVar[Scope] = ContextVar("llm_cost_otel_scope", default=EMPTY)


def current() -> Scope:
    return _scope.get()


def _check(values: Mapping[str, Any]) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"attribution key must be a non-empty string, got {key!r}")
        if not isinstance(value, str | bool | int | float):
            raise TypeError(
                f"attribution value for {key!r} must be str, bool, int or float, got {type(value).__name__}"
            )
        out[key] = value
    return out


def _push(extra: Mapping[str, AttributeValue], run: Run | None = None) -> Any:
    parent = _scope.get()
    merged = {**parent.attributes, **extra}
    runs = (*parent.runs, run) if run is not None else parent.runs
    return _scope.set(Scope(merged, runs, tuple(sorted(merged.items()))))


class attributes:
    """Attach attributes to every LLM call made inside; a context manager and a decorator.

    >>> with attributes(**{"user.id": "u1", "app.feature": "import"}):
    ...     client.messages.create(...)
    """

    def __init__(self, **values: AttributeValue) -> None:
        self._values = _check(values)
        self._tokens: list[Any] = []

    def __enter__(self) -> attributes:
        self._tokens.append(_push(self._values))
        return self

    def __exit__(self, *exc: object) -> None:
        _scope.reset(self._tokens.pop())

    def __call__(self, func: F) -> F:
        values = self._values
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                token = _push(values)
                try:
                    return await func(*args, **kwargs)
                finally:
                    _scope.reset(token)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _push(values)
            try:
                return func(*args, **kwargs)
            finally:
                _scope.reset(token)

        return wrapper  # type: ignore[return-value]


@contextmanager
def track(name: str, **values: AttributeValue) -> Iterator[Run]:
    """Roll up every LLM call inside into a :class:`Run`, and record it on an INTERNAL span.

    The span carries the attributes and ``llm_cost.rollup.*`` totals, never ``gen_ai.usage.*``,
    so a backend that sums usage over spans does not count these calls twice.
    """
    from . import telemetry

    checked = _check(values)
    run = Run(name, checked)
    tracer = telemetry.active_tracer()
    with tracer.start_as_current_span(name, kind=trace.SpanKind.INTERNAL, attributes=checked) as span:
        token = _push(checked, run)
        try:
            yield run
        finally:
            _scope.reset(token)
            telemetry.write_rollup(span, run)
