"""Attribution across thread pools.

A thread does not inherit context, so an LLM call made in a ``ThreadPoolExecutor`` worker
would fall out of the ``attributes()`` / ``track()`` scope that submitted it. While
instrumented, ``ThreadPoolExecutor.submit`` (and so ``map`` and asyncio's
``run_in_executor``, which go through it) runs the task under the submitter's scope. Only our
own context variable is carried: the app's other context variables behave as without us.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import wrapt

from .attribution import EMPTY, _scope

_patched: list[Any] = []


def _submit(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    scope = _scope.get()
    if scope is EMPTY or not args:
        return wrapped(*args, **kwargs)
    fn = args[0]

    def in_scope(*a: Any, **k: Any) -> Any:
        token = _scope.set(scope)
        try:
            return fn(*a, **k)
        finally:
            _scope.reset(token)

    return wrapped(in_scope, *args[1:], **kwargs)


def carry_scope_into_thread_pools() -> None:
    """Patch ``ThreadPoolExecutor.submit`` once per process (idempotent)."""
    if _patched:
        return
    original = ThreadPoolExecutor.__dict__["submit"]
    wrapt.wrap_function_wrapper(ThreadPoolExecutor, "submit", _submit)
    _patched.append(original)


def stop_carrying_scope() -> None:
    if not _patched:
        return
    current = ThreadPoolExecutor.__dict__["submit"]
    if getattr(current, "__wrapped__", None) is _patched[0]:
        setattr(ThreadPoolExecutor, "submit", _patched[0])  # noqa: B010 - restoring what we replaced
    _patched.clear()
