"""Work that must not run where it was asked for, and the thread that runs it.

Two kinds of work land here:

* **Finishes from inside the garbage collector.** A stream the app abandoned in a reference
  cycle is finalised by the GC, which can run inside any code that allocates, ours or the
  OpenTelemetry SDK's, while that code holds a lock. Ending the call there (price, span,
  metrics) could wait on that same lock in the same thread: the app would hang. So a finish
  that starts during a collection only enqueues itself (a lock-free ``deque.append``) and
  runs at the next safe point: the next LLM call, the next metric collection, the worker's
  next tick, or exit. Its span keeps the time it really ended.
* **Housekeeping off the request path**: the worker recording queued histogram points and
  folding spilled counter sums when they pile up between collections.

The worker is a daemon thread that wakes once a second (no lock or event is shared with the
request path, so nothing there can wait on it). A forked child starts its own and drops
the parent's deferred finishes (the parent runs them).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from ._safety import after_fork, log_once

TICK_SECONDS = 1.0

_queue: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
# Objects with a ``housekeeping()`` method (one per meter provider's totals), run each tick.
_housekeepers: weakref.WeakSet[Any] = weakref.WeakSet()
_worker: list[threading.Thread] = []


def defer(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` at the next safe point. Safe from finalisers: takes no lock."""
    _queue.append((fn, args))


# Checked at the start of every call: the deque's own C-level __len__, no Python frame.
pending = _queue.__len__


def settle() -> None:
    """Run what was deferred before this call (any thread; each item runs exactly once).
    Items added meanwhile wait for the next safe point, so a busy producer cannot keep a
    metric collection here forever."""
    pop = _queue.popleft
    for _ in range(len(_queue)):
        try:
            fn, args = pop()
        except IndexError:
            return
        try:
            fn(*args)
        except Exception:
            log_once("deferred")


def add_housekeeper(obj: Any) -> None:
    _housekeepers.add(obj)


def _tick() -> None:
    settle()
    for keeper in list(_housekeepers):
        try:
            keeper.housekeeping()
        except Exception:
            log_once("housekeeping")


def _run() -> None:
    while True:
        time.sleep(TICK_SECONDS)
        _tick()


def start_worker() -> None:
    """Start the worker once per process (idempotent)."""
    if _worker and _worker[0].is_alive():
        return
    thread = threading.Thread(target=_run, name="llm-cost-otel", daemon=True)
    _worker[:] = [thread]
    try:
        thread.start()
    except RuntimeError:  # interpreter shutting down
        _worker.clear()


def _child() -> None:
    # Deferred finishes end the parent's calls: the parent runs them; running the copies
    # here would export every such span twice. The parent's worker does not exist here.
    _queue.clear()
    if _worker:
        _worker.clear()
        start_worker()


after_fork(_child)
atexit.register(_tick)
