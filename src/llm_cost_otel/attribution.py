"""Context-propagated attribution: ``attributes()`` and ``track()``.

Both live in one ContextVar, so they follow the code the way OpenTelemetry context does:
through nested calls, ``asyncio`` tasks (which copy context) and threads started with a
copied context. A call captures the scope when it starts, so a stream consumed later, in
another task, still reports to the scope that made it.

Nothing here raises into the app for what it passes: values are coerced (ids such as UUIDs
become strings) or dropped (``None``) with one warning, and keys under our own or the
conventions' namespaces are refused, so attribution can never overwrite a call's model,
usage or cost.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import baggage, context, trace
from opentelemetry.trace import Status, StatusCode

from ._safety import log_once, reset_after_fork, warn_once
from .usage import Cost, Usage

AttributeValue = str | bool | int | float | tuple[str, ...] | tuple[bool, ...] | tuple[int, ...] | tuple[float, ...]
F = TypeVar("F", bound=Callable[..., Any])

# Names the plugin writes itself (GenAI conventions, ours, the server and error attributes):
# attribution under them would forge a call's model, usage or cost.
RESERVED_PREFIXES = ("gen_ai.", "llm_cost.", "server.", "error.", "otel.")
MAX_BAGGAGE_VALUE_CHARS = 256
MAX_COERCED_CHARS = 256  # a value we turned into text (its __str__ is not the app's chosen string)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PRIMITIVES = (str, bool, int, float)


def _refused(key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return "is not a non-empty string"
    if key.startswith(RESERVED_PREFIXES):
        return "is reserved (" + ", ".join(p + "*" for p in RESERVED_PREFIXES) + " are written by llm-cost-otel)"
    return None


def _coerce(value: Any) -> Any:
    """An OpenTelemetry attribute value for ``value``, or None to drop it."""
    if isinstance(value, _PRIMITIVES):
        if type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
            return str(value)  # OTLP carries int64: a UUID's .int would be dropped at export
        return value
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value[: MAX_COERCED_CHARS * 4]).decode("utf-8", "replace")[:MAX_COERCED_CHARS]
    if isinstance(value, list | tuple):
        items = [v for v in value if v is not None]
        kinds = {type(v) for v in items}
        homogeneous = len(kinds) == 1 and kinds <= {str, bool, int, float}
        if homogeneous and (kinds != {int} or all(_INT64_MIN <= v <= _INT64_MAX for v in items)):
            return tuple(items)
        return tuple(str(v)[:MAX_COERCED_CHARS] for v in items)
    return str(value)[:MAX_COERCED_CHARS]  # ids: UUID, Decimal, enums, dates


def clean(values: Mapping[Any, Any]) -> dict[str, AttributeValue]:
    """Attribution as the app gave it, made safe: never raises."""
    out: dict[str, AttributeValue] = {}
    for key, value in values.items():
        reason = _refused(key)
        if reason is not None:
            warn_once(f"attribution-key:{key!r}"[:200], "llm-cost-otel: attribution key %r %s; ignored", key, reason)
            continue
        try:
            coerced = _coerce(value)
        except Exception:
            coerced = None
        if coerced is None:
            warn_once(
                f"attribution-value:{key}:{type(value).__name__}"[:200],
                "llm-cost-otel: attribution %r=%s dropped (no value); the call is still recorded",
                key,
                type(value).__name__,
            )
            continue
        if coerced is not value and not isinstance(value, _PRIMITIVES):
            warn_once(
                f"attribution-coerced:{key}:{type(value).__name__}"[:200],
                "llm-cost-otel: attribution %r: %s recorded as %s",
                key,
                type(value).__name__,
                type(coerced).__name__,
            )
        out[key] = coerced
    return out


def allowlist(keys: Collection[str] | str | None, env: str) -> frozenset[str]:
    """An allowlist of attribution keys from ``keys`` (a collection, or a comma-separated
    string as in the environment variable ``env``, read when ``keys`` is None)."""
    import os

    source = env if keys is None else "argument"
    if keys is None:
        keys = os.environ.get(env, "")
    if isinstance(keys, str):
        keys = keys.split(",")
    found = set()
    for raw in keys:
        key = raw.strip() if isinstance(raw, str) else raw
        if not key:
            continue
        reason = _refused(key)
        if reason is None and any(c in key for c in ";*? "):
            reason = "is not an attribute key (separate keys with commas; no wildcards)"
        if reason is not None:
            warn_once(f"allowlist:{env}:{key!r}"[:200], "llm-cost-otel: %s: key %r %s; ignored", source, key, reason)
            continue
        found.add(key)
    return frozenset(found)


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
        "name",
    )

    def __init__(self, name: str, attributes: Mapping[str, AttributeValue]) -> None:
        self.name = name
        self.attributes = dict(attributes)
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


@dataclass(frozen=True, slots=True, eq=False)
class Scope:
    attributes: Mapping[str, AttributeValue]
    runs: tuple[Run, ...]
    key: tuple[tuple[str, AttributeValue], ...]
    """The attributes as a sorted tuple, for caching metric attribute sets."""
    parent: Scope | None = None
    owner: object = None
    """The ``attributes``/``track`` that pushed this scope (so its exit restores the parent
    in whatever context it runs, without a token)."""


EMPTY = Scope({}, (), ())
_scope: ContextVar[Scope] = ContextVar("llm_cost_otel_scope", default=EMPTY)


def current() -> Scope:
    return _scope.get()


def with_baggage(scope: Scope, keys: frozenset[str]) -> Scope:
    """``scope`` plus the allowlisted entries of the current OpenTelemetry baggage, which is
    untrusted input (any HTTP client can send it): string values only, length-bounded, and
    the app's own attribution wins."""
    extra = {}
    for key, value in baggage.get_all().items():
        if key in keys and key not in scope.attributes and isinstance(value, str):
            extra[key] = value[:MAX_BAGGAGE_VALUE_CHARS]
    if not extra:
        return scope
    merged = {**scope.attributes, **extra}
    return Scope(merged, scope.runs, tuple(sorted(merged.items())), scope.parent, scope.owner)


def _push(owner: object, extra: Mapping[str, AttributeValue], run: Run | None = None) -> None:
    parent = _scope.get()
    merged = {**parent.attributes, **extra}
    runs = (*parent.runs, run) if run is not None else parent.runs
    _scope.set(Scope(merged, runs, tuple(sorted(merged.items())), parent, owner))


def _pop(owner: object) -> None:
    """Restore the scope from before ``owner``'s innermost push in this context."""
    scope: Scope | None = _scope.get()
    while scope is not None and scope.owner is not owner:
        scope = scope.parent
    if scope is not None and scope.parent is not None:
        _scope.set(scope.parent)


class _Hooks:
    """How a decorator scopes one invocation: ``start`` it once, ``activate`` it around each
    stretch of the body that runs (the whole body for a function; each step for a
    generator, so what the consumer does between items is not inside it), ``finish`` it once."""

    def start(self) -> Any:
        raise NotImplementedError

    def activate(self, state: Any) -> Any:
        raise NotImplementedError

    def deactivate(self, state: Any, token: Any) -> None:
        raise NotImplementedError

    def finish(self, state: Any, error: BaseException | None) -> None:
        raise NotImplementedError


def _decorate(func: F, hooks: _Hooks) -> F:
    """Wrap ``func`` so its body (not just the creation of its coroutine or generator) runs
    inside one scope per invocation."""
    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def run_async_gen(*args: Any, **kwargs: Any) -> Any:
            state = hooks.start()
            error: BaseException | None = None
            agen = func(*args, **kwargs)
            try:
                sent: Any = None
                thrown: BaseException | None = None
                while True:
                    token = hooks.activate(state)
                    try:
                        item = await (agen.athrow(thrown) if thrown is not None else agen.asend(sent))
                    except StopAsyncIteration:
                        return
                    finally:
                        hooks.deactivate(state, token)
                    thrown = None
                    try:
                        sent = yield item
                    except GeneratorExit:
                        token = hooks.activate(state)
                        try:
                            await agen.aclose()
                        finally:
                            hooks.deactivate(state, token)
                        raise
                    except BaseException as exc:
                        thrown = exc
            except BaseException as exc:
                error = exc
                raise
            finally:
                hooks.finish(state, error)

        return run_async_gen  # type: ignore[return-value]
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def run_gen(*args: Any, **kwargs: Any) -> Any:
            state = hooks.start()
            error: BaseException | None = None
            gen = func(*args, **kwargs)
            try:
                sent: Any = None
                thrown: BaseException | None = None
                while True:
                    token = hooks.activate(state)
                    try:
                        item = gen.throw(thrown) if thrown is not None else gen.send(sent)
                    except StopIteration as stop:
                        return stop.value
                    finally:
                        hooks.deactivate(state, token)
                    thrown = None
                    try:
                        sent = yield item
                    except GeneratorExit:
                        token = hooks.activate(state)
                        try:
                            gen.close()
                        finally:
                            hooks.deactivate(state, token)
                        raise
                    except BaseException as exc:
                        thrown = exc
            except BaseException as exc:
                error = exc
                raise
            finally:
                hooks.finish(state, error)

        return run_gen  # type: ignore[return-value]
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            state = hooks.start()
            token = hooks.activate(state)
            error: BaseException | None = None
            try:
                return await func(*args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                hooks.deactivate(state, token)
                hooks.finish(state, error)

        return run_async  # type: ignore[return-value]

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        state = hooks.start()
        token = hooks.activate(state)
        error: BaseException | None = None
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            hooks.deactivate(state, token)
            hooks.finish(state, error)

    return run  # type: ignore[return-value]


class attributes:
    """Attach attributes to every LLM call made inside; a context manager and a decorator
    (sync, async, generator and async generator functions).

    >>> with attributes(**{"user.id": "u1", "app.feature": "import"}):
    ...     client.messages.create(...)

    One object may be entered by many tasks or threads at once."""

    def __init__(self, **values: Any) -> None:
        self._values = clean(values)

    def __enter__(self) -> attributes:
        _push(self, self._values)
        return self

    def __exit__(self, *exc: object) -> None:
        _pop(self)

    def __call__(self, func: F) -> F:
        return _decorate(func, _AttributeHooks(self._values))


class _AttributeHooks(_Hooks):
    def __init__(self, values: dict[str, AttributeValue]) -> None:
        self.values = values

    def start(self) -> object:
        return object()  # this invocation's marker

    def activate(self, marker: object) -> None:
        _push(marker, self.values)

    def deactivate(self, marker: object, token: Any) -> None:
        _pop(marker)

    def finish(self, marker: object, error: BaseException | None) -> None:
        pass


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
        from . import telemetry

        run = Run(self.name, self._values)
        span: Any = trace.INVALID_SPAN
        try:
            span = telemetry.active_tracer().start_span(
                self.name, kind=trace.SpanKind.INTERNAL, attributes=self._values
            )
        except Exception:
            log_once("track.start")
        return run, span

    @staticmethod
    def _activate(run: Run, span: Any) -> Any:
        token = None
        try:
            token = context.attach(trace.set_span_in_context(span))
        except Exception:
            log_once("track.attach")
        _push(run, run.attributes, run)
        return token

    @staticmethod
    def _deactivate(run: Run, token: Any) -> None:
        _pop(run)
        if token is not None:
            try:
                context.detach(token)
            except Exception:
                log_once("track.detach")

    @staticmethod
    def _end(run: Run, span: Any, error: BaseException | None) -> None:
        """The block is done: end the span when its last call has ended too."""

        def end() -> None:
            from . import telemetry

            run._fold()
            telemetry.write_rollup(span, run)
            try:
                if error is not None and not isinstance(error, GeneratorExit):
                    span.set_status(Status(StatusCode.ERROR, telemetry.error_summary(error)))
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
        return _decorate(func, _TrackHooks(self))


class _TrackHooks(_Hooks):
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
