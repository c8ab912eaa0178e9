"""The provider table: one row per adapter llm-cost-otel ships.

A new provider is an adapter module (built from ``kit``), one row here, its entry point in
pyproject.toml (which cannot read this table: ``tests/test_providers.py`` checks the two
agree) and its tests. ``instrument()`` loads the adapters from here, and the price catalog
maps provider names to catalog providers from here. Data only: no adapter is imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ADAPTERS", "CATALOG_PROVIDERS", "PRICE_PROVIDERS", "Adapter", "provider_of"]


@dataclass(frozen=True)
class Adapter:
    name: str
    sdk: str
    """The module that must be importable for the adapter to load (its SDK)."""
    module: str
    instrumentor: str
    """The BaseInstrumentor subclass in ``module``."""
    entry_point: str
    """Its name in the ``opentelemetry_instrumentor`` entry-point group."""
    prices: Mapping[str, tuple[str, ...]]
    """Each ``gen_ai.provider.name`` it can emit -> the price-catalog (genai-prices) provider
    ids that price it, most specific first: a cloud's own table wins, the model maker's list
    price is the fallback."""


ADAPTERS: tuple[Adapter, ...] = (
    Adapter(
        name="anthropic",
        sdk="anthropic",
        module="llm_cost_otel.anthropic",
        instrumentor="AnthropicInstrumentor",
        entry_point="llm_cost_anthropic",
        prices={
            "anthropic": ("anthropic",),
            "aws.bedrock": ("aws", "anthropic"),
            "gcp.vertex_ai": ("google", "anthropic"),
            "azure.ai.foundry": ("azure", "anthropic"),
        },
    ),
    Adapter(
        name="google_genai",
        sdk="google.genai",
        module="llm_cost_otel.google_genai",
        instrumentor="GoogleGenAIInstrumentor",
        entry_point="llm_cost_google_genai",
        prices={
            "gcp.vertex_ai": ("google",),
            "gcp.gemini": ("google",),
        },
    ),
)


def _catalog_providers() -> dict[str, tuple[str, ...]]:
    # A name two adapters emit (gcp.vertex_ai: Claude and Gemini on Vertex AI) is priced from
    # the ids of both, in table order, each id once.
    merged: dict[str, tuple[str, ...]] = {}
    for adapter in ADAPTERS:
        for name, ids in adapter.prices.items():
            known = merged.get(name, ())
            merged[name] = known + tuple(i for i in ids if i not in known)
    return merged


_BEDROCK_ID = re.compile(r"(?:[a-z]{2,6}(?:-[a-z]+)?\.)?anthropic\.")


def provider_of(model: str) -> str | None:
    """The provider a model name implies, or None when it says nothing: Bedrock ids
    (``anthropic.…``, ``global.anthropic.…``, ``us-gov.anthropic.…``, ARNs) -> ``aws.bedrock``;
    ``claude-…@date`` or a Vertex AI resource path -> ``gcp.vertex_ai``; ``claude-*`` ->
    ``anthropic``; ``gemini-*`` / ``imagen-*`` / ``text-embedding-*`` -> ``gcp.gemini``."""
    name = model.strip().lower()
    if name.startswith("arn:aws") or _BEDROCK_ID.match(name):
        return "aws.bedrock"
    vertex_path = "/publishers/" in name or name.startswith("publishers/")
    name = name.rsplit("/", 1)[-1]
    if name.startswith("claude-"):
        return "gcp.vertex_ai" if vertex_path or "@" in name else "anthropic"
    if name.startswith(("gemini-", "imagen-", "text-embedding-")):
        return "gcp.vertex_ai" if vertex_path else "gcp.gemini"
    return None


CATALOG_PROVIDERS: Mapping[str, tuple[str, ...]] = _catalog_providers()
"""``gen_ai.provider.name`` -> the price-catalog provider ids that price it, most specific first."""

PRICE_PROVIDERS: tuple[str, ...] = tuple(CATALOG_PROVIDERS)
"""Every provider name a price can be asked for (``llm-cost-otel prices --provider``)."""
