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

from collections.abc import Collection, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import baggage

from ._safety import warn_once
from .decorate import F, Hooks, decorate

if TYPE_CHECKING:
    from .tracking import Run

AttributeValue = str | bool | int | float | tuple[str, ...] | tuple[bool, ...] | tuple[int, ...] | tuple[float, ...]

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


def push(owner: object, extra: Mapping[str, AttributeValue], run: Run | None = None) -> None:
    parent = _scope.get()
    merged = {**parent.attributes, **extra}
    runs = (*parent.runs, run) if run is not None else parent.runs
    _scope.set(Scope(merged, runs, tuple(sorted(merged.items())), parent, owner))


def pop(owner: object) -> None:
    """Restore the scope from before ``owner``'s innermost push in this context."""
    scope: Scope | None = _scope.get()
    while scope is not None and scope.owner is not owner:
        scope = scope.parent
    if scope is not None and scope.parent is not None:
        _scope.set(scope.parent)


class attributes:
    """Attach attributes to every LLM call made inside; a context manager and a decorator
    (sync, async, generator and async generator functions).

    >>> with attributes(**{"user.id": "u1", "app.feature": "import"}):
    ...     client.messages.create(...)

    One object may be entered by many tasks or threads at once."""

    def __init__(self, **values: Any) -> None:
        self._values = clean(values)

    def __enter__(self) -> attributes:
        push(self, self._values)
        return self

    def __exit__(self, *exc: object) -> None:
        pop(self)

    def __call__(self, func: F) -> F:
        return decorate(func, _AttributeHooks(self._values))


class _AttributeHooks(Hooks):
    def __init__(self, values: dict[str, AttributeValue]) -> None:
        self.values = values

    def start(self) -> object:
        return object()  # this invocation's marker

    def activate(self, marker: object) -> None:
        push(marker, self.values)

    def deactivate(self, marker: object, token: Any) -> None:
        pop(marker)

    def finish(self, marker: object, error: BaseException | None) -> None:
        pass
