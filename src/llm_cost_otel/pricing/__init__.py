"""The price book: which rates apply to a request, and what it cost.

Resolution (catalog lookup, corrections, overrides) runs once per distinct
(provider, model, batch, tier, UTC day) and is cached; pricing a call after that is a dict
lookup and a few multiplications.

Precedence: override > correction > catalog.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import date
from typing import Any

from ..usage import Cost, Usage
from . import catalog
from .corrections import CORRECTIONS, addition_for, cache_storage_rate
from .overrides import Overrides, PriceOverrideError, load_overrides
from .rates import RATE_NAMES, TOKEN_RATE_NAMES, Rates, RateSet, finite_or_none

__all__ = ["PriceBook", "Rates", "RateSet", "PriceOverrideError", "Overrides", "load_overrides", "CORRECTIONS_VERSION"]

CORRECTIONS_VERSION = "2026-11-22"
_PRECEDENCE = {"catalog": 0, "correction": 1, "override": 2}
_MAX_CACHE = 10_000


def _day(timestamp: float | None) -> int:
    return int((time.time() if timestamp is None else timestamp) // 86400)


def _date(day: int) -> date:
    return date.fromordinal(_EPOCH + day)


_EPOCH = date(1970, 1, 1).toordinal()


def _origins(before: RateSet, after: RateSet, origin: str, origins: dict[str, str]) -> None:
    for name in RATE_NAMES:
        if getattr(before, name) != getattr(after, name):
            origins[name] = origin


class PriceBook:
    """Rates for every model the catalog, the corrections and the user's overrides know."""

    def __init__(self, overrides: Overrides | None = None, error: str | None = None) -> None:
        self.overrides = overrides or Overrides()
        # Why the configured overrides did not load (see failed()): then nothing is priced,
        # rather than priced without the user's rates.
        self.error = error
        self._cache: dict[tuple[str, str, bool, int, str | None], Rates | None] = {}
        self._version: str | None = None

    @classmethod
    def from_config(cls, prices: str | os.PathLike[str] | Mapping[str, Any] | Overrides | None = None) -> PriceBook:
        """Build from ``prices=`` or, when it is None, ``$LLM_COST_OTEL_PRICES``. Raises PriceOverrideError."""
        if prices is None:
            prices = os.environ.get("LLM_COST_OTEL_PRICES") or None
        return cls(load_overrides(prices))

    @classmethod
    def failed(cls, error: PriceOverrideError) -> PriceBook:
        """A book for a price file that did not load: prices nothing, and says why on one line."""
        return cls(error="; ".join(line for line in str(error).splitlines() if line.strip()) or repr(error))

    @property
    def version(self) -> str:
        if self._version is None:
            version = f"{catalog.catalog_version()}+corrections.{CORRECTIONS_VERSION}"
            if self.overrides.models or self.overrides.discounts or self.overrides.aliases:
                version += f"+overrides:{os.path.basename(self.overrides.source)}"
            self._version = version
        return self._version

    def cost(
        self,
        provider: str,
        model: str,
        usage: Usage,
        *,
        batch: bool = False,
        timestamp: float | None = None,
        tier: str | None = None,
    ) -> Cost | None:
        """The cost of ``usage``, or None when no rates are known for the model (never $0)."""
        key = (provider, model, batch, _day(timestamp), tier)
        try:
            rates = self._cache[key]
        except KeyError:
            rates = self._resolve_cached(key)
        return None if rates is None else rates.cost(usage)

    def rates(
        self, provider: str, model: str, *, batch: bool = False, when: date | None = None, tier: str | None = None
    ) -> Rates | None:
        day = _day(None) if when is None else (when - date(1970, 1, 1)).days
        key = (provider, model, batch, day, tier)
        try:
            return self._cache[key]
        except KeyError:
            return self._resolve_cached(key)

    def _resolve_cached(self, key: tuple[str, str, bool, int, str | None]) -> Rates | None:
        rates = self._resolve(*key)
        # no lock: each dict operation is atomic, and racing resolutions store equal rates
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[key] = rates
        return rates

    def _resolve(self, provider: str, model: str, batch: bool, day: int, tier: str | None) -> Rates | None:
        if self.error is not None:
            return None  # cached like any unknown model: the hot path does not check
        overrides = self.overrides
        requested = catalog.normalize_model(model)
        name = overrides.aliases.get(requested, overrides.aliases.get(model.lower(), requested))
        origins: dict[str, str] = {}
        notes: list[str] = []

        custom = overrides.custom_model(provider, name)
        if custom is not None:
            base, tiers = custom.base, custom.tiers
            if batch:
                factor = custom.batch_multiplier
                base = base.scaled(factor, TOKEN_RATE_NAMES)
                tiers = tuple((t, r.scaled(factor, TOKEN_RATE_NAMES)) for t, r in tiers)
            origins = {n: "override" for n in RATE_NAMES if getattr(base, n) is not None}
            model_id = name
            notes.append(f"custom model from {overrides.source}")
        else:
            entry = catalog.lookup(provider, name, batch, day, tier)
            if entry is None:
                return self._addition(provider, name, batch, day)
            base, tiers, model_id = entry.base, entry.tiers, entry.model_id
            origins = {n: "catalog" for n in RATE_NAMES if getattr(base, n) is not None}
            notes.append(f"catalog: {entry.provider_id}/{entry.model_id}")
            if entry.ignored_keys:
                notes.append("catalog rates not applied: " + ", ".join(entry.ignored_keys))
            when = _date(day)
            for correction in CORRECTIONS:
                if when < correction.since or not correction.matches(
                    provider, entry.provider_id, model_id, entry.batch_variant
                ):
                    continue
                fixed_base, fixed_tiers = correction.fix(base, tiers, batch)
                if (fixed_base, fixed_tiers) != (base, tiers):
                    _origins(base, fixed_base, "correction", origins)
                    if fixed_tiers != tiers:
                        origins["tiers"] = "correction"
                    notes.append(f"correction {correction.name} (since {correction.since}): {correction.note}")
                    base, tiers = fixed_base, fixed_tiers

        # The glob may name the catalog entry, the alias target or the model as the caller spells it.
        factor = overrides.discount_for(provider, model_id, name, requested)
        if factor != 1.0:
            discounted = base.scaled(factor)
            _origins(base, discounted, "override", origins)
            base = discounted
            if tiers:
                tiers = tuple((t, r.scaled(factor)) for t, r in tiers)
                origins["tiers"] = "override"
            notes.append(f"discount x{factor:g} from {overrides.source}")
        if tiers and "tiers" not in origins:
            origins["tiers"] = "override" if custom is not None else "catalog"

        source = max(origins.values(), key=_PRECEDENCE.__getitem__, default="catalog")
        rates = Rates(
            model=model_id,
            source=source,
            version=self.version,
            base=base,
            tiers=tiers,
            origins=origins,
            notes=tuple(notes),
        )
        return finite_or_none(rates, provider)

    def _addition(self, provider: str, model: str, batch: bool, day: int) -> Rates | None:
        addition = addition_for(provider, model, _date(day))
        if addition is None:
            return None
        base = addition.rates.scaled(0.5, TOKEN_RATE_NAMES) if batch else addition.rates
        factor = self.overrides.discount_for(provider, model)
        source = "correction"
        if factor != 1.0:
            base, source = base.scaled(factor), "override"
        rates = Rates(
            model=model,
            source=source,
            version=self.version,
            base=base,
            origins={n: source for n in RATE_NAMES if getattr(base, n) is not None},
            notes=(f"not in the catalog; added by llm-cost-otel (since {addition.since}): {addition.note}",),
        )
        return finite_or_none(rates, provider)

    def cache_storage_rate(self, model: str) -> float | None:
        """USD per cached token per hour for an explicit context cache, when known."""
        if self.error is not None:
            return None
        return cache_storage_rate(catalog.normalize_model(model))

    def cache_storage(self, model: str, tokens: int, ttl_seconds: float | None) -> tuple[float, float | None] | None:
        """What an explicit context cache of ``tokens`` costs to keep: (USD per hour, USD for
        the ``ttl_seconds`` it was granted, or None without a TTL); None when the model's
        storage rate is unknown. Apart from any request cost: the cache may be deleted early."""
        rate = self.cache_storage_rate(model)
        if rate is None:
            return None
        per_hour = rate * tokens
        return per_hour, None if ttl_seconds is None else per_hour * ttl_seconds / 3600

    def explain(
        self, provider: str, model: str, *, batch: bool = False, when: date | None = None, tier: str | None = None
    ) -> Rates | None:
        """Same as :meth:`rates`; named for the CLI, which prints the origins and notes."""
        return self.rates(provider, model, batch=batch, when=when, tier=tier)

    def warm(self) -> None:
        catalog.warm()
