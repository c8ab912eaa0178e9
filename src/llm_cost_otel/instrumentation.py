"""Shared machinery for provider instrumentors and the one-call ``instrument()``."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from . import telemetry as _telemetry
from .pricing import PriceBook
from .telemetry import Telemetry

logger = logging.getLogger("llm_cost_otel")

_setup_lock = threading.Lock()


def ensure_telemetry(
    tracer_provider: Any = None,
    meter_provider: Any = None,
    prices: Any = None,
    metric_attributes: Collection[str] | None = None,
    replace: bool = False,
) -> Telemetry:
    """The active Telemetry, created on first use. Price overrides are validated here, before
    anything is patched, so a bad file fails ``instrument()`` and changes nothing."""
    with _setup_lock:
        current = _telemetry.active()
        explicit = any(x is not None for x in (tracer_provider, meter_provider, prices, metric_attributes))
        if current is not None and not (replace and explicit):
            return current
        book = PriceBook.from_config(prices)
        created = Telemetry(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            prices=book,
            metric_attributes=frozenset(metric_attributes) if metric_attributes is not None else None,
        )
        # Load the price catalog off the hot path so the first call does not pay for it.
        threading.Thread(target=_warm, args=(book,), name="llm-cost-otel-warm", daemon=True).start()
        _telemetry.set_active(created)
        return created


def _warm(book: PriceBook) -> None:
    # A failure here surfaces (and is logged) on first real use instead.
    with contextlib.suppress(Exception):
        book.warm()


class CostInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A BaseInstrumentor that patches with wrapt and restores the exact originals."""

    _patches: list[tuple[type, str, Any]]

    def instrumentation_dependencies(self) -> Collection[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def targets(self) -> list[tuple[Any, str, Callable[..., Any]]]:  # pragma: no cover - overridden
        """(owner object, attribute name, wrapper) for every function to patch."""
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        ensure_telemetry(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            prices=kwargs.get("prices"),
            metric_attributes=kwargs.get("metric_attributes"),
            replace=bool(kwargs.get("replace_telemetry")),
        )
        self._patches = []
        for owner, name, wrapper in self.targets():
            if getattr(owner, name, None) is None:
                continue
            wrapt.wrap_function_wrapper(owner, name, wrapper)
            self._patches.append((owner, name, owner.__dict__[name]))

    def _uninstrument(self, **kwargs: Any) -> None:
        for owner, name, ours in reversed(getattr(self, "_patches", [])):
            if owner.__dict__.get(name) is ours:
                setattr(owner, name, ours.__wrapped__)
            else:  # someone wrapped on top of us: leave their wrapper, make ours a pass-through
                logger.warning("llm-cost-otel: %s.%s was re-wrapped by another library; not restored", owner, name)
        self._patches = []
