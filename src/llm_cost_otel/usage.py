"""Provider-neutral usage: what one billed request consumed.

The token fields form a disjoint partition, so their sum is every billed token and no
token is counted twice. Providers report overlapping totals (Gemini's prompt count
includes cached tokens, Anthropic's input count excludes them); adapters translate
into this partition and nothing downstream ever has to know which provider it was.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

__all__ = ["Usage", "Cost"]


@dataclass(slots=True)
class Usage:
    # Disjoint partition of billed tokens.
    input_tokens: int = 0
    """Input billed at the plain input rate: neither read from nor written to a cache."""
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    """All output, reasoning included (reasoning is billed as output)."""

    # Subsets of the partition above, for rates that differ by modality or for reporting.
    reasoning_tokens: int = 0
    """Part of ``output_tokens`` spent on thinking."""
    output_audio_tokens: int = 0
    """Part of ``output_tokens`` that was audio (priced separately where the provider does)."""
    input_audio_tokens: int = 0
    """Part of ``input_tokens`` that was audio (priced separately where the provider does)."""
    cache_read_audio_tokens: int = 0
    """Part of ``cache_read_tokens`` that was audio."""

    output_images: int = 0
    """Generated images, for models priced per image."""
    input_characters: int = 0
    """Billable input characters, for the few models priced per character (not tokens)."""

    # Per-request fees, counted in requests.
    web_search_requests: int = 0
    web_fetch_requests: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def total_input_tokens(self) -> int:
        """All input, cache reads and writes included: semconv's ``gen_ai.usage.input_tokens``."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.output_tokens

    @property
    def is_empty(self) -> bool:
        """Nothing was counted: every field is 0 (so a field added later counts without an edit here)."""
        return not any(field_values(self))

    def add(self, other: Usage) -> None:
        """Accumulate ``other`` into this usage (for rollups)."""
        for f in _FIELD_NAMES:
            setattr(self, f, getattr(self, f) + getattr(other, f))

    def as_dict(self) -> dict[str, int]:
        return dict(zip(_FIELD_NAMES, field_values(self), strict=True))


_FIELD_NAMES = tuple(f.name for f in fields(Usage))
field_values = attrgetter(*_FIELD_NAMES)
"""Every count of a Usage as a tuple, read in one C call."""


@dataclass(frozen=True, slots=True)
class Cost:
    """The USD cost of one request, split by what was billed."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    request_fees: float
    source: str
    """Where the rates came from: ``catalog``, ``correction`` or ``override``."""
    model: str
    """The price-book model the rates belong to (may differ from the requested name)."""
    version: str
    """Version of the price data (catalog package version plus local tables)."""
    cache_savings: float = 0.0
    """What the cache reads saved against paying the uncached input rate for them."""

    @property
    def total(self) -> float:
        return self.input + self.output + self.cache_read + self.cache_write + self.request_fees

    def components(self) -> tuple[tuple[str, float], ...]:
        return (
            ("input", self.input),
            ("output", self.output),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("request_fees", self.request_fees),
        )
