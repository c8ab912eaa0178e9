"""Dated corrections for known gaps in the catalog data (models it lacks: ``additions``).

Each correction says which models it touches, from which date, and why. They apply on top
of the catalog and below user overrides. Checked against the providers' published price
pages; the tests assert the corrected figures from those pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .additions import ADDITIONS, Addition, addition_for
from .rates import TOKEN_RATE_NAMES, RateSet

__all__ = ["ADDITIONS", "CORRECTIONS", "Addition", "Correction", "addition_for", "cache_storage_rate"]

Tiers = tuple[tuple[int, RateSet], ...]


@dataclass(frozen=True, slots=True)
class Correction:
    name: str
    since: date
    note: str
    matches: Callable[[str, str, str, bool], bool]
    """(our provider name, catalog provider id, catalog model id, catalog had batch prices) -> applies?"""
    fix: Callable[[RateSet, Tiers, bool], tuple[RateSet, Tiers]]
    """(base, tiers, batch requested) -> corrected (base, tiers)."""


def _is_claude(model_id: str) -> bool:
    return "claude" in model_id


def _add_1h_writes(base: RateSet, tiers: Tiers, batch: bool) -> tuple[RateSet, Tiers]:
    # Anthropic prices a 1-hour cache write at 2x the base input rate, on every platform.
    def fix(r: RateSet) -> RateSet:
        if r.cache_write_1h is not None or r.input is None or r.cache_write_5m is None:
            return r
        return r.merged(RateSet(cache_write_1h=r.input * 2))

    return fix(base), tuple((t, fix(r)) for t, r in tiers)


# Sonnet 4 under any spelling (claude-sonnet-4-0, claude-4-sonnet, ...-sonnet-4-20250514-v1:0),
# but not Sonnet 4.5 / 4.6 (a single digit after the dash, not a date).
_SONNET_4 = re.compile(r"claude-(?:sonnet-4|4-sonnet)(?!-[1-9](?!\d{7}))")


def _is_sonnet_4(model_id: str) -> bool:
    return bool(_SONNET_4.search(model_id))


def _sonnet_4_long_context(base: RateSet, tiers: Tiers, batch: bool) -> tuple[RateSet, Tiers]:
    # Sonnet 4's 1M-context window: above 200k input tokens, input-side rates double and
    # output is 1.5x (applies to every token of that request).
    if tiers or base.input is None:
        return base, tiers
    long = base.scaled(2.0, ("input", "cache_read", "cache_write_5m", "cache_write_1h", "input_audio"))
    long = long.scaled(1.5, ("output",))
    return base, ((200_000, long),)


def _halve_for_batch(base: RateSet, tiers: Tiers, batch: bool) -> tuple[RateSet, Tiers]:
    if not batch:
        return base, tiers
    return base.scaled(0.5, TOKEN_RATE_NAMES), tuple((t, r.scaled(0.5, TOKEN_RATE_NAMES)) for t, r in tiers)


# Gemini batch halves input and output only; context caching stays at the standard rate
# (as the catalog's own batch prices for these models say).
_GEMINI_BATCH_RATES = ("input", "output", "input_audio")


def _halve_for_gemini_batch(base: RateSet, tiers: Tiers, batch: bool) -> tuple[RateSet, Tiers]:
    if not batch:
        return base, tiers
    return base.scaled(0.5, _GEMINI_BATCH_RATES), tuple((t, r.scaled(0.5, _GEMINI_BATCH_RATES)) for t, r in tiers)


def _vertex_claude_web_search(base: RateSet, tiers: Tiers, batch: bool) -> tuple[RateSet, Tiers]:
    def fix(r: RateSet) -> RateSet:
        return r if r.web_search is not None else r.merged(RateSet(web_search=10.0 / 1000))

    return fix(base), tuple((t, fix(r)) for t, r in tiers)


def _vertex_2_0_flash(base: RateSet, tiers: Tiers, batch: bool) -> tuple[RateSet, Tiers]:
    factor = 0.5 if batch else 1.0
    return base.merged(RateSet(input=0.15e-6 * factor, output=0.60e-6 * factor, cache_read=0.0375e-6)), tiers


CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        name="claude-1h-cache-write",
        since=date(2025, 5, 22),
        note="Catalog lacks 1h cache-write rates for some Claude models (notably on Vertex AI); "
        "Anthropic bills them at 2x base input.",
        matches=lambda platform, provider, model, had_batch: _is_claude(model),
        fix=_add_1h_writes,
    ),
    Correction(
        name="claude-sonnet-4-long-context",
        since=date(2025, 8, 12),
        note="Catalog lacks Sonnet 4's >200k input tier: $6 in / $22.50 out per MTok, cache rates scaled alike.",
        matches=lambda platform, provider, model, had_batch: _is_sonnet_4(model),
        fix=_sonnet_4_long_context,
    ),
    Correction(
        name="batch-discount",
        since=date(2024, 10, 8),
        note="Batch requests are billed at 50% of standard token rates; the catalog has batch prices "
        "only for some models and dates.",
        matches=lambda platform, provider, model, had_batch: (
            not had_batch and (provider in ("anthropic", "aws") or (provider == "google" and _is_claude(model)))
        ),
        fix=_halve_for_batch,
    ),
    Correction(
        name="gemini-batch-discount",
        since=date(2024, 10, 8),
        note="Gemini batch requests are billed at 50% of standard input and output rates; context caching "
        "stays at the standard rate. The catalog has batch prices only from 2026-10-14.",
        matches=lambda platform, provider, model, had_batch: (
            not had_batch and provider == "google" and not _is_claude(model)
        ),
        fix=_halve_for_gemini_batch,
    ),
    Correction(
        name="vertex-gemini-2.0-flash",
        since=date(2025, 2, 5),
        note="Vertex AI bills Gemini 2.0 Flash at $0.15 in / $0.60 out per MTok (text); the catalog's single "
        "google table has the Developer API's $0.10 / $0.40.",
        matches=lambda platform, provider, model, had_batch: (
            platform == "gcp.vertex_ai" and re.fullmatch(r"gemini-2\.0-flash(?:-\d{3})?", model) is not None
        ),
        fix=_vertex_2_0_flash,
    ),
    Correction(
        name="vertex-claude-web-search",
        since=date(2025, 5, 7),
        note="Claude's web search tool on Vertex AI is billed at $10 per 1,000 searches, as on the Claude API; "
        "the catalog's google Claude rows have no search price, so searches were priced at $0 "
        "(platform.claude.com/docs/en/about-claude/pricing, 'Web search tool: $10 per 1,000 searches'; "
        "cloud.google.com/vertex-ai/generative-ai/pricing, Claude tools).",
        matches=lambda platform, provider, model, had_batch: platform == "gcp.vertex_ai" and _is_claude(model),
        fix=_vertex_claude_web_search,
    ),
)


# Explicit context caches: storage per million cached tokens per hour (the catalog has no
# storage prices). Used to record the storage rate and the cost of the TTL asked for.
CACHE_STORAGE_USD_PER_MTOK_HOUR: dict[str, float] = {
    "gemini-2.5-pro": 4.50,
    "gemini-2.5-flash": 1.00,
    "gemini-2.5-flash-lite": 1.00,
    "gemini-2.0-flash": 1.00,
    "gemini-2.0-flash-lite": 1.00,
}


def cache_storage_rate(model: str) -> float | None:
    """USD per cached token per hour, matching versioned names (gemini-2.5-flash-001) too."""
    for name, rate in sorted(CACHE_STORAGE_USD_PER_MTOK_HOUR.items(), key=lambda kv: -len(kv[0])):
        if model == name or model.startswith(name + "-0") or model.startswith(name + "@"):
            return rate / 1_000_000
    return None
