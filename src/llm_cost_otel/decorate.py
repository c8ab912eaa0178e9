"""Decorators that scope each invocation of a function: sync, async, generator and async
generator functions alike (a generator's scope covers each step of its body, never the
consumer's code between items)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Hooks:
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


def decorate(func: F, hooks: Hooks) -> F:
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
