"""Telemetry must never break, hang or flood the host app.

* Failures are swallowed and logged once per site; the set of sites and warning keys is
  bounded, so an unbounded input (one warning per unknown model id) cannot grow memory.
* Code that can run inside the garbage collector (finalisers, weakref callbacks) must not
  block: ``in_gc()`` tells it that a collection is running, so it can enqueue its work for
  a safe point instead (see ``calls.finish``).
* Per-process state is reset in forked children: ``after_fork`` registers what to run.
"""

from __future__ import annotations

import gc
import logging
import os
import weakref
from collections.abc import Callable
from threading import get_ident
from typing import Any

logger = logging.getLogger("llm_cost_otel")

MAX_REPORTED = 1000
_reported: set[str] = set()


def _first_time(key: str) -> bool:
    """Whether ``key`` has not been reported yet (and remember it, up to ``MAX_REPORTED`` keys)."""
    if key in _reported:
        return False
    if len(_reported) >= MAX_REPORTED:
        if "<too-many-warnings>" not in _reported:
            _reported.add("<too-many-warnings>")
            logger.warning("llm-cost-otel: more than %d distinct warnings; further ones go to debug", MAX_REPORTED)
        return False
    _reported.add(key)
    return True


def log_once(site: str, message: str = "llm-cost-otel telemetry failed in %s; the call itself is unaffected") -> None:
    """Log the exception being handled, once per ``site``; later failures there go to debug."""
    if _first_time(site):
        logger.warning(message, site, exc_info=True)
    else:
        logger.debug(message, site, exc_info=True)


def warn_once(key: str, message: str, *args: object) -> None:
    if _first_time(key):
        logger.warning(message, *args)
    else:
        logger.debug(message, *args)


# --- the garbage collector ------------------------------------------------------------------

# The thread a collection is running in (0 when none): finalisers run in that thread, in
# the middle of whatever it was doing. Other threads go on as usual.
_collecting = [0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    _collecting[0] = get_ident() if phase == "start" else 0


def in_gc() -> bool:
    """Whether this thread is inside a garbage collection (running a finaliser)."""
    return _collecting[0] == get_ident()


if _on_gc not in gc.callbacks:
    gc.callbacks.append(_on_gc)


# --- fork ----------------------------------------------------------------------------------

_fork_hooks: list[Callable[[], None]] = []
_fork_objects: weakref.WeakSet[Any] = weakref.WeakSet()


def after_fork(hook: Callable[[], None]) -> None:
    """Run ``hook`` in every forked child (module-level state: locks, threads)."""
    _fork_hooks.append(hook)


def reset_after_fork(obj: Any) -> None:
    """Call ``obj._after_fork()`` in every forked child while ``obj`` lives (its locks)."""
    _fork_objects.add(obj)


def _in_child() -> None:
    for hook in list(_fork_hooks):
        try:
            hook()
        except Exception:
            log_once("fork.hook")
    for obj in list(_fork_objects):
        try:
            obj._after_fork()
        except Exception:
            log_once("fork.object")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)
