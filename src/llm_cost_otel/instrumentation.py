"""Shared machinery for provider instrumentors and the one-call ``instrument()``."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Collection
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from . import active as _telemetry
from . import deferred
from ._safety import after_fork
from .telemetry import Telemetry
from .threads import carry_scope_into_thread_pools

logger = logging.getLogger("llm_cost_otel")

_setup_lock = threading.Lock()


def ensure_telemetry(
    tracer_provider: Any = None,
    meter_provider: Any = None,
    prices: Any = None,
    metric_attributes: Collection[str] | str | None = None,
    replace: bool = False,
    baggage_attributes: Collection[str] | str | None = None,
    tolerate_bad_prices: bool = False,
    ledger: str | os.PathLike[str] | None = None,
) -> Telemetry:
    """The active Telemetry, created on first use. Price overrides and the ledger are
    validated here, before anything is patched, so a bad file fails ``instrument()`` and
    changes nothing. ``tolerate_bad_prices``: log a bad file instead (see ``_create``)."""
    with _setup_lock:
        current = _telemetry.active()
        explicit = any(
            x is not None
            for x in (tracer_provider, meter_provider, prices, metric_attributes, baggage_attributes, ledger)
        )
        if current is not None and not (replace and explicit):
            return current
        created = _create(
            tracer_provider, meter_provider, prices, metric_attributes, baggage_attributes, tolerate_bad_prices, ledger
        )
        _telemetry.set_active(created)
        return created


def _create(
    tracer_provider: Any,
    meter_provider: Any,
    prices: Any,
    metric_attributes: Collection[str] | str | None,
    baggage_attributes: Collection[str] | str | None,
    tolerate_bad_prices: bool = False,
    ledger: str | os.PathLike[str] | None = None,
) -> Telemetry:
    """``tolerate_bad_prices``: a PriceOverrideError is logged on one line (once per message)
    instead of raised, and every call is recorded unpriced with the error on its span; a bad
    ``$LLM_COST_OTEL_LEDGER`` is logged the same way and calls run without the ledger (a bad
    ``ledger=`` argument always raises)."""
    from ._safety import _first_time
    from .pricing import PriceBook, PriceOverrideError

    try:
        book = PriceBook.from_config(prices)
    except PriceOverrideError as exc:
        if not tolerate_bad_prices:
            raise
        book = PriceBook.failed(exc)
        if _first_time(f"price-file:{book.error}"):
            logger.error(
                "llm-cost-otel: %s; price overrides not applied, LLM calls are recorded as unpriced", book.error
            )
    writer = _ledger_writer(ledger, tolerate_bad_prices)
    created = Telemetry(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        prices=book,
        metric_attributes=metric_attributes,
        baggage_attributes=baggage_attributes,
    )
    created.ledger = writer
    _start_warming(book)
    deferred.start_worker()
    carry_scope_into_thread_pools()
    return created


def _ledger_writer(ledger: str | os.PathLike[str] | None, tolerate: bool) -> Any:
    """The ledger's writer for ``ledger`` (default ``$LLM_COST_OTEL_LEDGER``), or None when
    there is no ledger: then nothing is imported and no thread started."""
    from ._safety import _first_time
    from .semconv import LEDGER_ENV

    url = ledger if ledger is not None else os.environ.get(LEDGER_ENV, "").strip()
    if not url:
        return None
    from .ledger import LedgerError, writer_for

    try:
        return writer_for(url)
    except LedgerError as exc:
        if ledger is not None or not tolerate:
            raise
        if _first_time(f"ledger:{exc}"):
            logger.error("%s (from $%s); continuing without the ledger", exc, LEDGER_ENV)
        return None


# Load the price catalog off the hot path so the first call does not pay for it. A fork
# waits for the load to finish (see _before_fork): a child must not inherit a lock or a
# half-done import from a thread it does not have.
_warming: list[threading.Thread] = []


def _start_warming(book: Any) -> None:
    thread = threading.Thread(target=_warm, args=(book,), name="llm-cost-otel-warm", daemon=True)
    _warming[:] = [thread]
    thread.start()


def _warm(book: Any) -> None:
    # A failure here surfaces (and is logged) on first real use instead.
    with contextlib.suppress(Exception):
        book.warm()


FORK_WAIT_SECONDS = 10.0


def _before_fork() -> None:
    for thread in list(_warming):
        if thread.is_alive() and thread is not threading.current_thread():
            thread.join(FORK_WAIT_SECONDS)


def _child() -> None:
    global _setup_lock
    _setup_lock = threading.Lock()
    _warming.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork)
after_fork(_child)


class CostInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A BaseInstrumentor that patches with wrapt and restores the exact originals."""

    _patches: list[tuple[Any, str, _Patch]]

    def instrumentation_dependencies(self) -> Collection[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def targets(self) -> list[tuple[Any, str, Callable[..., Any]]]:  # pragma: no cover - overridden
        """(owner object, attribute name, wrapper) for every function to patch."""
        raise NotImplementedError

    @property
    def adapter(self) -> str:
        """The adapter's key in ``telemetry.active(adapter)``: its module's name."""
        return type(self).__module__

    def _instrument(self, **kwargs: Any) -> None:
        settings = {
            "tracer_provider": kwargs.get("tracer_provider"),
            "meter_provider": kwargs.get("meter_provider"),
            "prices": kwargs.get("prices"),
            "metric_attributes": kwargs.get("metric_attributes"),
            "baggage_attributes": kwargs.get("baggage_attributes"),
            "ledger": kwargs.get("ledger"),
        }
        # Without prices= (the distro's opentelemetry-instrument, or a bare .instrument()) the
        # price file comes from $LLM_COST_OTEL_PRICES: a bad one must not fail the app's startup
        # (nor the other instrumentors), so it is logged and our calls recorded as unpriced.
        # instrument(prices=...) and llm_cost_otel.instrument() still raise before patching.
        tolerate = settings["prices"] is None
        shared = ensure_telemetry(
            **settings, replace=bool(kwargs.get("replace_telemetry")), tolerate_bad_prices=tolerate
        )
        own = None
        if not kwargs.get("replace_telemetry") and any(v is not None for v in settings.values()):
            # providers or settings given to this instrumentor alone: its calls use them,
            # whatever another instrumentor (or instrument()) set up before
            same_providers = shared.providers == (settings["tracer_provider"], settings["meter_provider"])
            own_settings = (v for k, v in settings.items() if k not in ("tracer_provider", "meter_provider"))
            if not same_providers or any(v is not None for v in own_settings):
                own = _create(**settings, tolerate_bad_prices=tolerate)
        _telemetry.set_active(own, self.adapter)
        self._patches = []
        for owner, name, wrapper in self.targets():
            if getattr(owner, name, None) is None:
                continue
            leftover = _leftovers.pop((owner, name), None)
            if leftover is not None and _in_chain(owner.__dict__.get(name), leftover):
                # still in the chain under another library's wrapper
                leftover.enabled = True
                self._patches.append((owner, name, leftover))
                continue
            patch = _Patch(wrapper)
            wrapt.wrap_object(owner, name, wrapt.FunctionWrapper, (wrapper, patch.switch))
            self._patches.append((owner, name, patch))

    def _uninstrument(self, **kwargs: Any) -> None:
        _telemetry.set_active(None, self.adapter)
        for owner, name, patch in reversed(getattr(self, "_patches", [])):
            current = owner.__dict__.get(name)
            if _is_ours(current, patch):
                setattr(owner, name, current.__wrapped__)
            else:
                # Another library wrapped over ours: leave its wrapper in place, make ours a
                # pass-through, and re-enable it (never stack a second one) on instrument().
                patch.enabled = False
                _leftovers[(owner, name)] = patch
                logger.info(
                    "llm-cost-otel: %s.%s is wrapped by another library; ours left as a pass-through", owner, name
                )
        self._patches = []


def _in_chain(current: Any, patch: _Patch) -> bool:
    """Whether ``patch`` is one of the wrappers stacked on this attribute."""
    for _ in range(64):
        if current is None:
            return False
        if _is_ours(current, patch):
            return True
        current = getattr(current, "__wrapped__", None)
    return False


def _is_ours(current: Any, patch: _Patch) -> bool:
    return (
        getattr(current, "_self_wrapper", None) is patch.wrapper
        and getattr(current, "_self_enabled", None) is patch.switch
    )


class _Patch:
    """Our wrapper as installed, with a switch to make it a pass-through.

    The switch is wrapt's ``enabled`` callable, checked in C on every call: the bound
    ``__len__`` of a one-item list (true while enabled, emptied to disable), so no Python
    frame runs in front of the wrapper."""

    __slots__ = ("_flag", "switch", "wrapper")

    def __init__(self, wrapper: Callable[..., Any]) -> None:
        self.wrapper = wrapper
        self._flag: list[bool] = [True]
        self.switch = self._flag.__len__

    @property
    def enabled(self) -> bool:
        return bool(self._flag)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._flag[:] = [True] if value else []


_leftovers: dict[tuple[Any, str], _Patch] = {}
