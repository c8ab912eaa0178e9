"""Billing dimensions beyond the model id: where a request runs (``scope``), Anthropic's
``inference_geo`` (``geo``) and Gemini's service tiers (``tier``).

Adapters read each from the request or the response; the price book applies them once per
distinct (provider, model, batch, day, tier, scope, geo) and caches the result, so the hot
path stays a dict lookup. Every rule here is dated and sourced like a correction.
"""

from __future__ import annotations

import re

from .rates import RateSet

Tiers = tuple[tuple[int, RateSet], ...]

# Where a request runs. ``global``: any region; a geography (Bedrock's cross-region inference
# profiles, Vertex AI's multi-region endpoints); ``regional``: one region (in-Region ids,
# Vertex AI regional endpoints).
GEOGRAPHIES = ("us", "eu", "apac", "jp", "au", "us-gov")
SCOPES = ("global", *GEOGRAPHIES, "regional")
GEOS = ("global", "us")

# Token rates the dimensions below scale (fees per search and per image are unchanged).
_TOKEN_RATES = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "input_audio",
    "cache_read_audio",
    "output_audio",
)

_BEDROCK_PREFIX = re.compile(r"^(global|us-gov|us|eu|apac|jp|au)\.")
_BEDROCK_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[^:]*:[^:]*:([\w-]+)/(.*)$")


def bedrock_scope(model: str) -> str | None:
    """The scope a Bedrock model id (or ARN) names: its geography prefix (``global.`` ...),
    ``regional`` for an in-Region id (``anthropic.claude-...``), or None when the id does not
    say (an application inference profile ARN: map it in the price override file)."""
    match = _BEDROCK_ARN.match(model)
    if match is not None:
        kind, model = match.groups()
        if kind == "application-inference-profile":
            return None
    prefix = _BEDROCK_PREFIX.match(model)
    if prefix is not None:
        return prefix.group(1)
    return "regional" if "." in model else None


def model_scope(provider: str, model: str) -> str | None:
    """The scope a model id alone says (Bedrock's prefixes); None elsewhere. What the adapter,
    ``price()`` and ``llm-cost-otel prices`` assume when no scope is given."""
    return bedrock_scope(model) if provider == "aws.bedrock" else None


def vertex_scope(region: object) -> str | None:
    """Vertex AI location -> scope: ``global``, the multi-region ``us``/``eu``, else ``regional``."""
    if not isinstance(region, str) or not region:
        return None
    region = region.lower()
    if region in ("global", "us", "eu"):
        return region
    return "regional"


def catalog_name(provider: str, model: str, scope: str | None) -> str | None:
    """The id the catalog prices ``model`` under at ``scope``; None when the catalog has no
    rates for that scope. Bedrock Claude: ``global.anthropic.x`` for global, the bare
    ``anthropic.x`` (the catalog's regional row) for a geography or one region, and None for
    ``us-gov`` (GovCloud has its own rates, not in the catalog). Anything else: unchanged."""
    if provider != "aws.bedrock" or scope is None or "claude" not in model:
        return model
    if scope == "us-gov":
        return None
    bare = re.sub(r"^(?:[a-z-]+\.)?anthropic\.", "", model)
    return ("global.anthropic." if scope == "global" else "anthropic.") + bare


_CLAUDE_VERSION = re.compile(r"claude-(?:[a-z]+)-(\d+)(?:-(\d)(?!\d))?")


def claude_version(model_id: str) -> tuple[int, int] | None:
    """``claude-sonnet-4-5`` -> (4, 5); ``claude-opus-4-20250514`` -> (4, 0); ``claude-3-5-haiku`` -> None."""
    match = _CLAUDE_VERSION.search(model_id)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def _at_least(model_id: str, version: tuple[int, int]) -> bool:
    found = claude_version(model_id)
    return found is not None and found >= version


# Gemini Priority: a premium of 75-100% over standard that differs per model. The model
# families below are billed at 1.8x standard (every token rate, long-context tier included).
# Sources: Gemini API pricing page (ai.google.dev/gemini-api/docs/pricing), as quoted in the
# issue (Gemini 2.5 Pro: $2.25 / $18 per MTok), the Gemini 4 Hydrogen / Neon pricing
# ("Priority 1.8x: $2.70 / $13.50", "$5.40 / $27.00"), LiteLLM 1.110.2 (1.8x for every Gemini
# 2.5 / 3.x / 4 text model it lists). A model not listed keeps standard rates, with a note.
_PRIORITY = ((re.compile(r"^gemini-(?:2\.5|3|4)[.-]"), 1.8),)
_FLEX = 0.5  # "Flex: 50% discount" (Gemini API docs, 'Optimization'; Google blog, April 2026)


# Flex halves what batch halves: input and output; context cache reads stay at the standard
# rate (as for Gemini batch, see corrections; LiteLLM 1.110.2 agrees for 2.5 Pro / Flash, 3 Flash,
# 3.1 Pro).
_FLEX_RATES = ("input", "output", "input_audio", "output_audio")


def _scaled(base: RateSet, tiers: Tiers, factor: float, names: tuple[str, ...] = _TOKEN_RATES) -> tuple[RateSet, Tiers]:
    return base.scaled(factor, names), tuple((t, r.scaled(factor, names)) for t, r in tiers)


def adjust(
    provider: str,
    model_id: str,
    base: RateSet,
    tiers: Tiers,
    *,
    tier: str | None,
    scope: str | None,
    geo: str | None,
    catalog_had_tier: bool = False,
) -> tuple[RateSet, Tiers, list[str]]:
    """Apply the dimensions the catalog does not price to ``model_id``'s rates (our provider
    name ``provider``). Returns the rates and a note per dimension applied."""
    notes: list[str] = []
    claude = "claude" in model_id
    if tier in ("flex", "priority") and not claude and not catalog_had_tier and provider.startswith("gcp."):
        if tier == "flex":
            base, tiers = _scaled(base, tiers, _FLEX, _FLEX_RATES)
            notes.append(
                "Gemini Flex: 50% of standard input and output rates, cache reads at standard "
                "(ai.google.dev/gemini-api/docs/optimization: 'Flex: 50% discount'; Google blog "
                "'Introducing Flex and Priority inference', 2026-04)"
            )
        else:
            factor = next((f for pattern, f in _PRIORITY if pattern.search(model_id)), None)
            if factor is None:
                notes.append(f"Gemini Priority: no published premium known for {model_id}; standard rates used")
            else:
                base, tiers = _scaled(base, tiers, factor)
                notes.append(
                    f"Gemini Priority: x{factor:g} standard token rates (ai.google.dev/gemini-api/docs/pricing)"
                )
    if claude and provider == "gcp.vertex_ai" and scope not in (None, "global") and _at_least(model_id, (4, 5)):
        base, tiers = _scaled(base, tiers, 1.1)
        notes.append(
            f"Vertex AI {scope} endpoint: x1.1 token rates for Claude Sonnet 4.5 and later "
            "(cloud.google.com/vertex-ai/generative-ai/pricing, Claude: regional endpoints +10% over global)"
        )
    if claude and geo == "us" and _at_least(model_id, (4, 6)):
        base, tiers = _scaled(base, tiers, 1.1)
        notes.append(
            "inference_geo us: x1.1 token rates for Claude Opus 4.6 / Sonnet 4.6 and later "
            "(platform.claude.com/docs/en/manage-claude/data-residency; 'A 1.1x pricing multiplier applies')"
        )
    return base, tiers, notes
