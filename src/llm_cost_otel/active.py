"""Which ``Telemetry`` calls use: the shared one ``instrument()`` set up, or one an
instrumentor was given its own providers for. State only, so every module may import it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import trace

from .semconv import SCOPE_NAME
from .version import __version__

if TYPE_CHECKING:
    from .telemetry import Telemetry

_active: Telemetry | None = None
# Telemetry an instrumentor was given its own providers or settings for, by adapter
_by_adapter: dict[str, Telemetry] = {}


def set_active(telemetry: Telemetry | None, adapter: str = "") -> None:
    """The Telemetry calls use: the shared one (``adapter=""``; replacing it drops every
    adapter's own), or one adapter's own (None: the shared one again)."""
    global _active
    if adapter:
        if telemetry is None:
            _by_adapter.pop(adapter, None)
        else:
            _by_adapter[adapter] = telemetry
        return
    _active = telemetry
    _by_adapter.clear()


def active(adapter: str = "") -> Telemetry | None:
    if _by_adapter:
        own = _by_adapter.get(adapter)
        if own is not None:
            return own
    return _active


def active_tracer() -> trace.Tracer:
    if _active is not None:
        return _active.tracer
    return trace.get_tracer(SCOPE_NAME, __version__)
