"""Models the catalog lacks entirely (or matches to another model), priced here: dated,
with the page each price was read from. Source ``correction``, below user overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .rates import RateSet


@dataclass(frozen=True, slots=True)
class Addition:
    """A model the catalog lacks entirely, priced here (source ``correction``)."""

    platforms: tuple[str, ...]
    models: tuple[str, ...]
    since: date
    rates: RateSet
    note: str
    shadows: bool = False
    """The catalog matches these names to another model (its prefix matching): ours wins."""


def _mtok(input: float, output: float, cache_read: float, **more: float) -> RateSet:
    """A rate set from per-million-token list prices."""
    return RateSet(
        input=input / 1e6,
        output=output / 1e6,
        cache_read=cache_read / 1e6,
        **{name: value / 1e6 for name, value in more.items()},
    )


_ANTHROPIC_PRICING = "platform.claude.com/docs/en/about-claude/pricing (Model pricing table, read 2026-12-03)"
_GEMINI_PRICING = "ai.google.dev/gemini-api/docs/pricing"

ADDITIONS: tuple[Addition, ...] = (
    Addition(
        platforms=("gcp.vertex_ai",),
        models=("text-embedding-004", "text-embedding-005", "text-multilingual-embedding-002"),
        since=date(2024, 5, 14),
        rates=RateSet(input_character=0.025e-6),
        note="Vertex AI text embeddings: $0.000025 per 1,000 input characters (billable_character_count).",
    ),
    Addition(
        platforms=("gcp.gemini",),
        models=("text-embedding-004",),
        since=date(2024, 5, 14),
        rates=RateSet(input=0.0),
        note="Gemini Developer API: text-embedding-004 is offered free of charge.",
    ),
    Addition(
        platforms=("anthropic",),
        models=("claude-mythos-5",),
        since=date(2026, 12, 3),
        rates=_mtok(10.0, 50.0, 1.0, cache_write_5m=12.5, cache_write_1h=20.0),
        note="Claude Mythos 5: $10 in / $50 out, cache writes $12.50 (5m) / $20 (1h), cache hits $1 per MTok; "
        f"{_ANTHROPIC_PRICING}. First seen 2026-12-03.",
    ),
    Addition(
        platforms=("anthropic",),
        models=("claude-mythos-5-1",),
        since=date(2026, 12, 3),
        rates=_mtok(10.0, 50.0, 0.25, cache_write_5m=12.5, cache_write_1h=20.0),
        note="Claude Mythos 5.1: $10 in / $50 out, cache writes $12.50 (5m) / $20 (1h), cache hits $0.25 per MTok; "
        f"{_ANTHROPIC_PRICING}. First seen 2026-12-03.",
    ),
    Addition(
        platforms=("gcp.gemini", "gcp.vertex_ai"),
        models=("gemini-3.8-flash-cyber",),
        since=date(2026, 12, 3),
        rates=_mtok(1.5, 7.5, 0.15),
        note="Gemini 3.8 Flash Cyber: $1.50 in / $7.50 out / $0.15 cached per MTok, twice Gemini 3.8 Flash (which "
        "the catalog's prefix match priced it at). Vendor page not found in our sources; LiteLLM 1.110.2 "
        "(gemini-3.8-flash-cyber, vertex_ai/ and gemini/) lists these rates. First seen 2026-12-03.",
        shadows=True,
    ),
    Addition(
        platforms=("gcp.gemini", "gcp.vertex_ai"),
        models=("gemini-4-hydrogen",),
        since=date(2026, 11, 18),
        rates=_mtok(1.5, 7.5, 0.075).merged(RateSet(web_search=14.0 / 1000)),
        note="Gemini 4 Hydrogen: $1.50 in / $7.50 out per MTok (thinking included), cached input $0.075; "
        f"{_GEMINI_PRICING} as quoted by TokenMeter v0.17.0 release notes and LiteLLM discussion #51436; "
        "LiteLLM 1.110.2 agrees. Grounding with Google Search: $14 / 1,000 queries.",
    ),
    Addition(
        platforms=("gcp.gemini", "gcp.vertex_ai"),
        models=("gemini-4-neon",),
        since=date(2026, 11, 18),
        rates=_mtok(3.0, 15.0, 0.15).merged(RateSet(web_search=14.0 / 1000)),
        note="Gemini 4 Neon (GA 2026-11-18): $3 in / $15 out per MTok (thinking included), cached input $0.15; "
        f"{_GEMINI_PRICING} as quoted by apidog.com/blog/gemini-4-neon-api and TokenMeter v0.17.0 release "
        "notes. Grounding with Google Search: $14 / 1,000 queries.",
    ),
)


# Imagen on both Gemini platforms, USD per generated image (standard quality).
for _model, _price, _since in (
    ("imagen-4.0-generate-001", 0.04, date(2025, 1, 1)),
    ("imagen-4.0-fast-generate-001", 0.02, date(2025, 1, 1)),
    ("imagen-4.0-ultra-generate-001", 0.06, date(2025, 1, 1)),
    ("imagen-3.0-generate-002", 0.03, date(2025, 1, 1)),
    ("imagen-3.0-generate-001", 0.04, date(2024, 8, 1)),
    ("imagen-3.0-fast-generate-001", 0.02, date(2024, 8, 1)),
):
    ADDITIONS += (
        Addition(
            platforms=("gcp.gemini", "gcp.vertex_ai"),
            models=(_model,),
            since=_since,
            rates=RateSet(output_image=_price),
            note=f"Imagen: ${_price} per generated image ({_GEMINI_PRICING}; cloud.google.com/vertex-ai/"
            "generative-ai/pricing, Imagen).",
        ),
    )


def addition_for(platform: str, model: str, when: date) -> Addition | None:
    for addition in ADDITIONS:
        if platform in addition.platforms and model in addition.models and when >= addition.since:
            return addition
    return None
