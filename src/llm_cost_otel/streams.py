"""Observe a stream without changing it, and end its call exactly once on every path.

Adapters give a ``Watcher`` (how to read usage out of the provider's items) and the
stream's own iterator; these generators pass every item through untouched. The call ends
when the stream is exhausted, fails, is closed, is dropped (generator finalisation, plus a
``weakref.finalize`` on the stream object for streams never iterated), or its task is
cancelled.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

from . import deferred
from ._safety import in_gc, log_once
from .calls import Call
from .records import Outcome

T = TypeVar("T")


class Watcher:
    """Base class: adapters override ``item`` and ``outcome``."""

    __slots__ = ("call",)

    def __init__(self, call: Call) -> None:
        self.call = call

    def item(self, item: Any) -> None:  # pragma: no cover - overridden
        pass

    def outcome(self) -> Outcome:  # pragma: no cover - overridden
        return Outcome()

    def error_type(self, error: BaseException) -> str | None:
        """The provider's low-cardinality name for ``error`` (default: its class name)."""
        return None

    def end(self, error: BaseException | None = None) -> None:
        call = self.call
        if call.finished:
            return
        try:
            outcome = self.outcome()
        except Exception:
            log_once("stream.outcome")
            outcome = Outcome()
        if error is not None:
            outcome.error = error
            try:
                outcome.error_type = self.error_type(error)
            except Exception:
                log_once("stream.error_type")
        elif outcome.usage is None:
            outcome.usage_unknown = True  # sent and billed, but nothing was read
        call.finish(outcome)


def end_soon(watcher: Watcher) -> None:
    """End a stream's call from a finaliser or generator close: now, or at the next safe
    point when the garbage collector is running (see ``deferred``)."""
    if in_gc():
        deferred.defer(watcher.end)
    else:
        watcher.end()


def observe(source: Iterator[T], watcher: Watcher) -> Iterator[T]:
    call = watcher.call
    item_fn = watcher.item
    try:
        first = True
        for item in source:
            if first:
                first = False
                call.first_chunk()
            try:
                item_fn(item)
            except Exception:
                log_once("stream.item")
            yield item
    except GeneratorExit:
        end_soon(watcher)
        raise
    except BaseException as exc:
        watcher.end(exc)
        raise
    watcher.end()


async def observe_async(source: AsyncIterator[T], watcher: Watcher) -> AsyncIterator[T]:
    call = watcher.call
    item_fn = watcher.item
    try:
        first = True
        async for item in source:
            if first:
                first = False
                call.first_chunk()
            try:
                item_fn(item)
            except Exception:
                log_once("stream.item")
            yield item
    except GeneratorExit:
        end_soon(watcher)
        raise
    except BaseException as exc:
        watcher.end(exc)
        raise
    watcher.end()


# stream object -> its watcher, so a close() hook can end the call at once.
_open_streams: weakref.WeakKeyDictionary[Any, Watcher] = weakref.WeakKeyDictionary()


def track_stream_object(obj: Any, watcher: Watcher) -> None:
    """End the call when ``obj`` is closed (via ``closed``) or garbage-collected."""
    try:
        _open_streams[obj] = watcher
        weakref.finalize(obj, end_soon, watcher)
    except TypeError:
        log_once("stream.weakref")


def closed(obj: Any) -> None:
    """End the call of a tracked stream object now (its close() was called)."""
    watcher = _open_streams.pop(obj, None)
    if watcher is not None:
        watcher.end()


def close_hook(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """wrapt wrapper for an SDK stream class's ``close()``: the span ends at close, not at GC."""
    try:
        return wrapped(*args, **kwargs)
    finally:
        closed(instance)


async def async_close_hook(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The same for an ``async def close()``."""
    try:
        return await wrapped(*args, **kwargs)
    finally:
        closed(instance)
