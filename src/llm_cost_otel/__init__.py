"""llm-cost-otel: OpenTelemetry spans and metrics with the exact USD cost of every LLM call.

Public API: ``instrument``, ``uninstrument``, ``attributes``, ``track``, ``cost_of``, and
``price``/``estimate`` to price a usage yourself (``quote``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from .attribution import attributes
from .cost_lookup import cost_of
from .providers import ADAPTERS
from .tracking import Run, track
from .usage import Cost, Usage
from .version import __version__

if TYPE_CHECKING:  # loaded on first use (``__getattr__``): the price book is not read at import
    from .pricing import PriceOverrideError
    from .quote import UnknownModelError, estimate, price

__all__ = [
    "instrument",
    "uninstrument",
    "attributes",
    "track",
    "cost_of",
    "price",
    "estimate",
    "UnknownModelError",
    "Cost",
    "Usage",
    "Run",
    "PriceOverrideError",
    "__version__",
]


_QUOTE = frozenset({"price", "estimate", "UnknownModelError"})


def __getattr__(name: str) -> Any:
    # The price book (and its JSON-schema validation) loads on first use, not at import.
    if name == "PriceOverrideError":
        from .pricing import PriceOverrideError

        return PriceOverrideError
    if name == "ledger":
        import importlib

        return importlib.import_module(".ledger", __name__)
    if name in _QUOTE:
        from . import quote

        return getattr(quote, name)
    raise AttributeError(f"module 'llm_cost_otel' has no attribute {name!r}")


def _instrumentors() -> list[Any]:
    """An instrumentor for every row of the provider table whose SDK is installed."""
    found = []
    for adapter in ADAPTERS:
        try:
            if importlib.util.find_spec(adapter.sdk) is None:
                continue
        except ImportError:  # a namespace parent (google.) is missing
            continue
        module = importlib.import_module(adapter.module)
        found.append(getattr(module, adapter.instrumentor)())
    return found


def instrument(
    tracer_provider: Any = None,
    meter_provider: Any = None,
    prices: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    metric_attributes: Collection[str] | str | None = None,
    baggage_attributes: Collection[str] | str | None = None,
    ledger: str | os.PathLike[str] | None = None,
) -> None:
    """Instrument every supported LLM SDK that is installed. Idempotent.

    ``prices``: a price override file (``.json``/``.toml``) or mapping; default
    ``$LLM_COST_OTEL_PRICES``. ``metric_attributes``: attribution keys allowed onto metrics;
    default ``$LLM_COST_OTEL_METRIC_ATTRIBUTES``. Raises :class:`PriceOverrideError` for a bad
    override file, before anything is patched. ``ledger``: a cost ledger to keep every call
    and ``track()`` run in (``sqlite:///path.db`` or a path; default ``$LLM_COST_OTEL_LEDGER``;
    see ``llm_cost_otel.ledger``); a bad one raises ``ledger.LedgerError`` naming the path.
    """
    from .instrumentation import ensure_telemetry

    ensure_telemetry(
        tracer_provider,
        meter_provider,
        prices,
        metric_attributes,
        replace=True,
        baggage_attributes=baggage_attributes,
        ledger=ledger,
    )
    for instrumentor in _instrumentors():
        instrumentor.instrument(skip_dep_check=True)


def uninstrument() -> None:
    """Restore every patched SDK function to its original."""
    from . import telemetry

    for instrumentor in _instrumentors():
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    from .threads import stop_carrying_scope

    stop_carrying_scope()
    telemetry.set_active(None)
    ledger = sys.modules.get("llm_cost_otel.ledger")
    if ledger is not None:  # write what is queued, stop the writers (a later instrument() starts new ones)
        ledger.close()
