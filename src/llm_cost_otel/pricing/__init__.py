"""The price book: which rates apply to a request, and what it cost.

Resolution (catalog lookup, corrections, billing dimensions, overrides) runs once per
distinct (provider, model, batch, UTC day, tier, scope, geo) and is cached; pricing a call
after that is a dict lookup and a few multiplications.

The dimensions beyond the model id (``pricing.dimensions``): ``tier`` (Gemini ``flex`` /
``priority``, Claude ``fast``), ``scope`` (where the request runs: ``global``, a geography
``us``/``eu``/``apac``/``jp``/``au``/``us-gov``, or ``regional``) and ``geo`` (Anthropic's
``inference_geo`` as the response reports it).

Precedence: override > correction > catalog.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import date
from typing import Any

from ..bounded import BoundedDict
from ..usage import Cost, Usage
from . import catalog
from .corrections import CORRECTIONS, addition_for, cache_storage_rate
from .dimensions import Tiers, adjust, catalog_name
from .overrides import Overrides, PriceOverrideError, load_overrides
from .rates import RATE_NAMES, TOKEN_RATE_NAMES, Rates, RateSet, finite_or_none

__all__ = ["PriceBook", "Rates", "RateSet", "PriceOverrideError", "Overrides", "load_overrides", "CORRECTIONS_VERSION"]

CORRECTIONS_VERSION = "2026-11-22"
_PRECEDENCE = {"catalog": 0, "correction": 1, "override": 2}
_MAX_CACHE = 10_000
# (provider, model, batch, UTC day, tier, scope, geo)
_Key = tuple[str, str, bool, int, str | None, str | None, str | None]


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
        # resolved rates per key, the oldest forgotten first (a dict read on the hot path)
        self._cache: BoundedDict[_Key, Rates | None] = BoundedDict(_MAX_CACHE)
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
        scope: str | None = None,
        geo: str | None = None,
    ) -> Cost | None:
        """The cost of ``usage``, or None when no rates are known for the model (never $0)."""
        key = (provider, model, batch, _day(timestamp), tier, scope, geo)
        try:
            rates = self._cache[key]
        except KeyError:
            rates = self._resolve_cached(key)
        return None if rates is None else rates.cost(usage)

    def rates(
        self,
        provider: str,
        model: str,
        *,
        batch: bool = False,
        when: date | None = None,
        tier: str | None = None,
        scope: str | None = None,
        geo: str | None = None,
    ) -> Rates | None:
        day = _day(None) if when is None else (when - date(1970, 1, 1)).days
        key = (provider, model, batch, day, tier, scope, geo)
        try:
            return self._cache[key]
        except KeyError:
            return self._resolve_cached(key)

    def _resolve_cached(self, key: _Key) -> Rates | None:
        rates = self._resolve(*key)
        # no lock: each dict operation is atomic, and racing resolutions store equal rates
        self._cache.put(key, rates)
        return rates

    def _resolve(
        self,
        provider: str,
        model: str,
        batch: bool,
        day: int,
        tier: str | None,
        scope: str | None = None,
        geo: str | None = None,
    ) -> Rates | None:
        if self.error is not None:
            return None  # cached like any unknown model: the hot path does not check
        overrides = self.overrides
        requested = catalog.normalize_model(model)
        name = overrides.aliases.get(requested, overrides.aliases.get(model.lower(), requested))
        origins: dict[str, str] = {}
        notes: list[str] = []
        catalog_had_tier = False
        entry: catalog.CatalogEntry | None = None
        tiers: Tiers

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
            addition = addition_for(provider, name, _date(day))
            if addition is not None and addition.shadows:
                entry = None  # the catalog would match this name to another model
            else:
                scoped = catalog_name(provider, name, scope)
                if scoped is None:
                    return None  # a scope the catalog has no rates for: unpriced, not guessed
                name = scoped
                entry = catalog.lookup(provider, name, batch, day, tier)
            if entry is None:
                if addition is None:
                    return None
                base, tiers, model_id = addition.rates, (), name
                if batch:
                    base = base.scaled(0.5, TOKEN_RATE_NAMES)
                origins = {n: "correction" for n in RATE_NAMES if getattr(base, n) is not None}
                notes.append(f"not in the catalog; added by llm-cost-otel (since {addition.since}): {addition.note}")
        if custom is None and entry is not None:
            base, tiers, model_id = entry.base, entry.tiers, entry.model_id
            catalog_had_tier = entry.tier_variant
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
        if custom is None and (tier or scope or geo):
            adjusted_base, adjusted_tiers, applied = adjust(
                provider, model_id, base, tiers, tier=tier, scope=scope, geo=geo, catalog_had_tier=catalog_had_tier
            )
            _origins(base, adjusted_base, "correction", origins)
            if adjusted_tiers != tiers:
                origins["tiers"] = "correction"
            base, tiers = adjusted_base, adjusted_tiers
            notes.extend(applied)

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

    def warm(self) -> None:
        catalog.warm()
