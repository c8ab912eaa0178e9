"""What every adapter is built from, so a provider adapter holds only what is its own: how
to describe a request, how to read a response, which SDK functions to patch.

* ``traced``: the (sync, async) wrapt wrapper pair for an SDK function that sends one billed
  request: start a call or pass through, send with the call current, hand the result over.
* ``starter``: the same start-or-pass-through alone, for calls that begin elsewhere (the
  first chunk of a lazy stream, a Live API turn).
* ``observing``: a wrapper pair that shows an SDK method's result to an observer.
* ``tap``: put a stream watcher between a stream and its items, sync or async.
* ``server_of``: ``(server.address, server.port)`` of a base URL, one rule for every adapter.
* ``BoundedDict``: the bounded map for anything remembered across calls.

Wrappers run on every SDK call and watchers on every streamed item: closures are built once,
when the SDK is patched, and what runs per call is inlined in the wrapper rather than called
(a Python frame each); nothing here runs per chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from . import streams
from ._safety import log_once
from .active import active
from .bounded import BoundedDict
from .calls import Call, ErrorType
from .cost_lookup import remember
from .instrumentation import CostInstrumentor
from .records import Request

__all__ = [
    "BoundedDict",
    "CostInstrumentor",
    "Describe",
    "Finish",
    "Start",
    "Wrapper",
    "observing",
    "server_of",
    "starter",
    "tap",
    "traced",
]

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]
"""A wrapt wrapper: ``wrapper(wrapped, instance, args, kwargs)``."""
Describe = Callable[[Any, tuple[Any, ...], dict[str, Any]], Request | None]
"""``describe(instance, args, kwargs)``: the request about to be sent, or None if it is not
one we trace (then the SDK runs untouched). May raise: that call is then passed through."""
Finish = Callable[[Call, Any], Any]
"""``finish(call, result)``: end (or hand over) the call; returns what the caller gets."""
Start = Callable[[Any, tuple[Any, ...], dict[str, Any]], Call | None]


def starter(adapter: str, describe: Describe, site: str) -> Start:
    """``start(instance, args, kwargs)``: a started Call, or None when the adapter is not
    active, the request is not ours, or describing it failed (logged once at ``site``)."""

    def start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
        telemetry = active(adapter)
        if telemetry is None:
            return None
        try:
            request = describe(instance, args, kwargs)
            return None if request is None else Call(telemetry, request)
        except Exception:
            log_once(site)
            return None

    return start


def traced(
    adapter: str,
    describe: Describe,
    finish: Finish,
    error_type: ErrorType,
    site: str,
    current: ContextVar[tuple[Call, Any] | None] | None = None,
) -> tuple[Wrapper, Wrapper]:
    """wrapt wrappers (sync, async) for an SDK function that sends one billed request.

    ``adapter`` is the adapter's module name (its key in ``active``); ``describe``, ``site``
    as for ``starter``; the SDK's failure ends the call with ``error_type(exc)`` and is
    re-raised untouched; ``finish(call, result)`` gets what the SDK returned. ``current``,
    if given, holds ``(call, instance)`` while the SDK sends: for hooks deeper in the SDK."""

    # starter's body is inlined in both: one Python frame less on every SDK call.
    def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        telemetry = active(adapter)
        if telemetry is None:
            return wrapped(*args, **kwargs)
        try:
            request = describe(instance, args, kwargs)
            call = None if request is None else Call(telemetry, request)
        except Exception:
            log_once(site)
            call = None
        if call is None:
            return wrapped(*args, **kwargs)
        if current is None:
            return finish(call, call.send(wrapped, args, kwargs, error_type))
        token = current.set((call, instance))
        try:
            result = call.send(wrapped, args, kwargs, error_type)
        finally:
            current.reset(token)
        return finish(call, result)

    async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        telemetry = active(adapter)
        if telemetry is None:
            return await wrapped(*args, **kwargs)
        try:
            request = describe(instance, args, kwargs)
            call = None if request is None else Call(telemetry, request)
        except Exception:
            log_once(site)
            call = None
        if call is None:
            return await wrapped(*args, **kwargs)
        if current is None:
            return finish(call, await call.send_async(wrapped, args, kwargs, error_type))
        token = current.set((call, instance))
        try:
            result = await call.send_async(wrapped, args, kwargs, error_type)
        finally:
            current.reset(token)
        return finish(call, result)

    return sync_wrapper, async_wrapper


def observing(observe: Callable[[Any, Any], None]) -> tuple[Wrapper, Wrapper]:
    """wrapt wrappers (sync, async) that return the SDK's result untouched after showing it to
    ``observe(instance, result)``; a failure in ``observe`` is logged once, never raised."""

    site = f"observe:{getattr(observe, '__name__', observe)}"

    # The look is inlined in both: these run on every call of the SDK method they wrap.
    def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = wrapped(*args, **kwargs)
        try:
            observe(instance, result)
        except Exception:
            log_once(site)
        return result

    async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = await wrapped(*args, **kwargs)
        try:
            observe(instance, result)
        except Exception:
            log_once(site)
        return result

    return sync_wrapper, async_wrapper


def tap(stream: Any, watcher: streams.Watcher, attribute: str | None = None) -> Any:
    """Put ``watcher`` between a stream and its items (sync or async iterator alike); returns
    what the caller gets. With ``attribute``, the stream is an object whose ``attribute`` is
    its item iterator: that is replaced in place and the caller keeps the object it was
    given. Without, ``stream`` is the iterator itself and the observed iterator is returned.
    Either way the call ends when what the caller holds is closed (the SDK class's
    ``close`` patched with ``streams.close_hook``) or dropped, and ``cost_of`` finds it."""
    source = stream if attribute is None else getattr(stream, attribute)
    observed = (
        streams.observe_async(source, watcher) if hasattr(source, "__anext__") else streams.observe(source, watcher)
    )
    if attribute is None:
        stream = observed
    else:
        setattr(stream, attribute, observed)
    streams.track_stream_object(stream, watcher)
    remember(stream, watcher.call)
    return stream


# --- server.address and server.port --------------------------------------------------------

_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}
# id(base URL) -> (the URL, (host, port)): clients keep their one URL object (httpx URLs hash
# in Python), held here so its id is not reused while cached. A string is also kept under
# its value, for callers that build an equal one each time.
_servers: BoundedDict[Any, tuple[Any, tuple[str | None, int | None]]] = BoundedDict(256)


def server_of(url: Any) -> tuple[str | None, int | None]:
    """``(host, port)`` of a base URL: an ``httpx``/``httpx2`` URL object or a string. The
    port is the URL's own, else the scheme's default (semconv wants ``server.port`` whenever
    ``server.address`` is set): 443 for https/wss, 80 for http/ws, None for another scheme.
    ``(None, None)`` for no host or a URL that does not parse. Parsed once per URL."""
    entry = _servers.get(id(url))
    if entry is not None and entry[0] is url:
        return entry[1]
    return _new_server(url)


def _new_server(url: Any) -> tuple[str | None, int | None]:
    text = isinstance(url, str)
    if text:
        entry = _servers.get(url)
        if entry is not None:
            return entry[1]
    server = _parse_server(url)
    _servers.put(id(url), (url, server))
    if text:
        _servers.put(url, (url, server))
    return server


def _parse_server(url: Any) -> tuple[str | None, int | None]:
    try:
        if isinstance(url, str):
            parts = urlsplit(url)
            host, port, scheme = parts.hostname, parts.port, parts.scheme
        else:
            host, port, scheme = url.host, url.port, url.scheme
    except (AttributeError, TypeError, ValueError):  # not a URL, or a port that is not a number
        return None, None
    if not host or not isinstance(host, str):
        return None, None
    if not port or not isinstance(port, int):
        port = _DEFAULT_PORTS.get(scheme) if isinstance(scheme, str) else None
    return host, port
