"""Telemetry must never break the host app: failures are swallowed and logged once per site."""

from __future__ import annotations

import logging

logger = logging.getLogger("llm_cost_otel")
_reported: set[str] = set()


def log_once(site: str, message: str = "llm-cost-otel telemetry failed in %s; the call itself is unaffected") -> None:
    """Log the exception being handled, once per ``site``; later failures there go to debug."""
    if site in _reported:
        logger.debug(message, site, exc_info=True)
        return
    _reported.add(site)
    logger.warning(message, site, exc_info=True)


def warn_once(key: str, message: str, *args: object) -> None:
    if key in _reported:
        return
    _reported.add(key)
    logger.warning(message, *args)
