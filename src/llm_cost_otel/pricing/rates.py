"""Resolved rates for one model, and the arithmetic that turns a Usage into a Cost.

Everything here is plain floats in USD per token (or per request for fees), so pricing a
call after its rates are resolved is a handful of multiplications.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from ..usage import Cost, Usage

PER_MILLION = 1_000_000.0


@dataclass(frozen=True, slots=True)
class RateSet:
    """USD per token for each usage component; fees in USD per request. ``None`` means not offered."""

    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None
    input_audio: float | None = None
    cache_read_audio: float | None = None
    output_audio: float | None = None
    web_search: float | None = None
    web_fetch: float | None = None
    output_image: float | None = None
    """USD per generated image."""
    input_character: float | None = None
    """USD per billable input character (Vertex AI's legacy text embeddings)."""

    def scaled(self, factor: float, names: tuple[str, ...] | None = None) -> RateSet:
        """A copy with the given rates (default: all) multiplied by ``factor``."""
        changes = {}
        for name in names or RATE_NAMES:
            value = getattr(self, name)
            if value is not None:
                changes[name] = value * factor
        return replace(self, **changes)

    def merged(self, other: RateSet) -> RateSet:
        """A copy where every rate ``other`` sets replaces ours."""
        changes = {name: getattr(other, name) for name in RATE_NAMES if getattr(other, name) is not None}
        return replace(self, **changes)

    def per_million(self) -> dict[str, float]:
        """Rates in the unit price lists use: USD per million tokens, USD per 1,000 requests for fees."""
        out: dict[str, float] = {}
        for name in RATE_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value * (1000.0 if name in FEE_NAMES else 1.0 if name in PER_UNIT_NAMES else PER_MILLION)
        return out


RATE_NAMES = tuple(f.name for f in fields(RateSet))
FEE_NAMES = ("web_search", "web_fetch")
PER_UNIT_NAMES = ("output_image",)
TOKEN_RATE_NAMES = tuple(n for n in RATE_NAMES if n not in FEE_NAMES)  # what batch discounts scale


@dataclass(frozen=True, slots=True)
class Rates:
    """Everything needed to price a request for one model on one day."""

    model: str
    source: str
    """The highest-precedence origin among the rates used: override > correction > catalog."""
    version: str
    base: RateSet
    tiers: tuple[tuple[int, RateSet], ...] = ()
    """(threshold, rates) ascending: a request whose total input exceeds the threshold pays those
    rates on all its tokens (the cliff model Anthropic and Google use)."""
    origins: dict[str, str] = field(default_factory=dict)
    """Per rate name, where it came from, for ``llm-cost-otel prices``."""
    notes: tuple[str, ...] = ()

    def rates_for(self, total_input_tokens: int) -> RateSet:
        chosen = self.base
        for threshold, rate_set in self.tiers:
            if total_input_tokens > threshold:
                chosen = rate_set
        return chosen

    def cost(self, usage: Usage) -> Cost:
        r = self.rates_for(usage.total_input_tokens) if self.tiers else self.base
        input_rate = r.input or 0.0
        audio_rate = r.input_audio if r.input_audio is not None else input_rate
        read_rate = r.cache_read if r.cache_read is not None else input_rate
        read_audio_rate = r.cache_read_audio if r.cache_read_audio is not None else read_rate
        # A provider that does not price 1h writes separately bills them like 5m writes.
        write_5m_rate = r.cache_write_5m if r.cache_write_5m is not None else input_rate
        write_1h_rate = r.cache_write_1h if r.cache_write_1h is not None else write_5m_rate

        output_rate = r.output or 0.0
        out_audio = min(usage.output_audio_tokens, usage.output_tokens)
        audio = min(usage.input_audio_tokens, usage.input_tokens)
        read_audio = min(usage.cache_read_audio_tokens, usage.cache_read_tokens)
        input_cost = (usage.input_tokens - audio) * input_rate + audio * audio_rate
        cache_read_cost = (usage.cache_read_tokens - read_audio) * read_rate + read_audio * read_audio_rate
        savings = (usage.cache_read_tokens - read_audio) * (input_rate - read_rate) + read_audio * (
            audio_rate - read_audio_rate
        )
        return Cost(
            input=input_cost + usage.input_characters * (r.input_character or 0.0),
            output=(usage.output_tokens - out_audio) * output_rate
            + out_audio * (r.output_audio if r.output_audio is not None else output_rate)
            + usage.output_images * (r.output_image or 0.0),
            cache_read=cache_read_cost,
            cache_write=usage.cache_write_5m_tokens * write_5m_rate + usage.cache_write_1h_tokens * write_1h_rate,
            request_fees=usage.web_search_requests * (r.web_search or 0.0)
            + usage.web_fetch_requests * (r.web_fetch or 0.0),
            source=self.source,
            model=self.model,
            version=self.version,
            cache_savings=max(savings, 0.0),
        )
