"""Rates from the bundled ``genai-prices`` data, read through a private snapshot.

``genai-prices`` is imported on first use only (it costs ~0.3 s and pulls in pydantic) and
its auto-updater is never touched: the data shipped with the installed package is the
whole catalog, so nothing reaches the network.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from .. import providers
from .._safety import after_fork
from .rates import PER_MILLION, RateSet

# Our `gen_ai.provider.name` values -> genai-prices provider ids, most specific first: from
# the provider table, where each adapter lists the names it emits.
CATALOG_PROVIDERS = providers.CATALOG_PROVIDERS

# genai-prices price keys -> our rate names and the divisor that gives USD per unit.
_PRICE_KEYS: dict[str, tuple[str, float]] = {
    "input_mtok": ("input", PER_MILLION),
    "output_mtok": ("output", PER_MILLION),
    "cache_read_mtok": ("cache_read", PER_MILLION),
    "cache_write_mtok": ("cache_write_5m", PER_MILLION),
    "cache_write_1h_mtok": ("cache_write_1h", PER_MILLION),
    "input_audio_mtok": ("input_audio", PER_MILLION),
    "cache_audio_read_mtok": ("cache_read_audio", PER_MILLION),
    "output_audio_mtok": ("output_audio", PER_MILLION),
    "web_searches_kcount": ("web_search", 1000.0),
}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    provider_id: str
    model_id: str
    base: RateSet
    tiers: tuple[tuple[int, RateSet], ...]
    batch_variant: bool
    """True when the catalog itself had batch prices for this date."""
    ignored_keys: tuple[str, ...]
    tier_variant: bool = False
    """True when the catalog itself had prices for the requested tier (flex, priority, fast)."""


_lock = threading.Lock()
_snapshot: Any = None
_MAX_FOUND = 4096


def _reset_lock() -> None:
    # a child forked while another thread loaded the catalog must not inherit its held lock
    global _lock
    _lock = threading.Lock()


after_fork(_reset_lock)


def catalog_version() -> str:
    try:
        from importlib.metadata import version

        return f"genai-prices {version('genai-prices')}"
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "genai-prices"


def _get_snapshot() -> Any:
    global _snapshot
    if _snapshot is None:
        with _lock:
            if _snapshot is None:
                from genai_prices.data import providers
                from genai_prices.data_snapshot import DataSnapshot

                _snapshot = DataSnapshot(providers=providers, from_auto_update=False)
    return _snapshot


def warm() -> None:
    """Load the catalog now (e.g. in a background thread) so no request pays for it."""
    _get_snapshot()


_VERTEX_PATH = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?models/")
_BEDROCK_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[^:]*:[^:]*:(?:inference-profile|foundation-model)/")


def normalize_model(model: str) -> str:
    """The name a price table knows a model by: no resource paths or ARNs around it."""
    name = model.strip()
    name = _BEDROCK_ARN.sub("", name)
    name = _VERTEX_PATH.sub("", name)
    return name.lower()


def _bare_claude_name(model: str) -> str:
    """``us.anthropic.claude-x-20250101-v1:0`` or ``claude-x@20250101`` -> ``claude-x-20250101``."""
    name = re.sub(r"^(?:[a-z]{2,6}\.)?anthropic\.", "", model)
    name = re.sub(r"-v\d+(?::\d+)?$", "", name)
    return name.replace("@", "-")


def _to_rate(value: Any, divisor: float) -> float:
    return float(value) / divisor


def _rate_sets(model_price: Any) -> tuple[RateSet, tuple[tuple[int, RateSet], ...], tuple[str, ...]]:
    from genai_prices.types import TieredPrices

    base: dict[str, float] = {}
    by_threshold: dict[int, dict[str, float]] = {}
    tiered: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in model_price.__dict__.items():
        if value is None or key.startswith("_"):
            continue
        if key not in _PRICE_KEYS:
            ignored.append(key)
            continue
        name, divisor = _PRICE_KEYS[key]
        if isinstance(value, TieredPrices):
            base[name] = _to_rate(value.base, divisor)
            tiered[name] = value
            for tier in value.tiers:
                by_threshold.setdefault(int(tier.start), {})
        elif isinstance(value, Decimal | int | float):
            base[name] = _to_rate(value, divisor)
    tiers: list[tuple[int, RateSet]] = []
    for threshold in sorted(by_threshold):
        rates = dict(base)
        for name, prices in tiered.items():
            divisor = PER_MILLION if name != "web_search" else 1000.0
            applicable = prices.base
            for tier in prices.tiers:
                if threshold >= tier.start:
                    applicable = tier.price
            rates[name] = _to_rate(applicable, divisor)
        tiers.append((threshold, RateSet(**rates)))
    return RateSet(**base), tuple(tiers), tuple(ignored)


@lru_cache(maxsize=4096)
def _price_context(batch: bool, tier: str | None) -> dict[str, str]:
    """genai-prices' request context: batch processing, Gemini service tiers, Claude fast mode."""
    context = {"processing": "batch"} if batch else {}
    if tier in ("flex", "priority"):
        context["service_tier"] = tier
    elif tier == "fast":
        context["speed"] = "fast"
    return context


def lookup(provider: str, model: str, batch: bool, day: int, tier: str | None = None) -> CatalogEntry | None:
    """Catalog rates for ``model`` as ``provider`` serves it on UTC day number ``day``."""
    snapshot = _get_snapshot()
    when = datetime.fromtimestamp(day * 86400 + 43200, tz=UTC)
    name = normalize_model(model)
    candidates = [name]
    if "claude" in name:
        bare = _bare_claude_name(name)
        if bare != name:
            candidates.append(bare)
    # genai-prices caches every (model, provider) it was asked about, found or not: bound it,
    # or each distinct unknown model id (fine-tunes) would stay in memory for good
    found_cache = getattr(snapshot, "_provider_cache", None)
    if isinstance(found_cache, dict) and len(found_cache) > _MAX_FOUND:
        found_cache.clear()
    for provider_id in CATALOG_PROVIDERS.get(provider, (provider,)):
        for ref in candidates:
            try:
                found_provider, info = snapshot.find_provider_model(ref, None, provider_id, None)
            except Exception:
                continue
            if found_provider.id != provider_id:
                continue
            standard = info.get_prices(when)
            context = _price_context(batch, tier)
            model_price = info.get_prices(when, context) if context else standard
            had_batch = batch and info.get_prices(when, {"processing": "batch"}) != standard
            tier_context = _price_context(False, tier)
            had_tier = bool(tier_context) and info.get_prices(when, tier_context) != standard
            base, tiers, ignored = _rate_sets(model_price)
            return CatalogEntry(
                provider_id=found_provider.id,
                model_id=info.id,
                base=base,
                tiers=tiers,
                batch_variant=had_batch,
                ignored_keys=ignored,
                tier_variant=had_tier,
            )
    return None
