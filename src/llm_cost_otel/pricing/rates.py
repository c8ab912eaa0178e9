"""Resolved rates for one model, and the arithmetic that turns a Usage into a Cost.

Everything here is plain floats in USD per billed unit (a token, a character, an image, a
request), so pricing a call after its rates are resolved is a handful of multiplications.
``RATE_UNITS`` says, for each rate, which unit that is and how price lists write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from math import isfinite
from typing import NamedTuple

from .._safety import warn_once
from ..usage import Cost, Usage

PER_MILLION = 1_000_000.0


class RateUnit(NamedTuple):
    """How price lists write a rate: ``scale`` billed units for ``label``'s price."""

    label: str
    """The unit of the written number, e.g. ``USD / 1M tokens``."""
    scale: float
    """Billed units per written price: the written number is the rate (USD per unit) times this."""


TOKENS = RateUnit("USD / 1M tokens", PER_MILLION)
CHARACTERS = RateUnit("USD / 1M chars", PER_MILLION)
IMAGES = RateUnit("USD / image", 1.0)
REQUESTS = RateUnit("USD / 1K requests", 1000.0)


class BilledRates(NamedTuple):
    """The rate each usage field is billed at, with a rate set's fallbacks applied."""

    input: float
    input_audio: float
    cache_read: float
    cache_read_audio: float
    cache_write_5m: float
    cache_write_1h: float
    output: float
    output_audio: float
    output_image: float
    input_character: float
    web_search: float
    web_fetch: float


@dataclass(frozen=True, slots=True)
class RateSet:
    """USD per billed unit for each usage component (the unit: ``RATE_UNITS``). ``None``: not offered."""

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
    effective: BilledRates = field(init=False, repr=False, compare=False)
    """Derived once from the rates above, so pricing a call applies no fallbacks."""

    def __post_init__(self) -> None:
        input_rate = self.input or 0.0
        audio_rate = self.input_audio if self.input_audio is not None else input_rate
        read_rate = self.cache_read if self.cache_read is not None else input_rate
        write_5m_rate = self.cache_write_5m if self.cache_write_5m is not None else input_rate
        output_rate = self.output or 0.0
        effective = BilledRates(
            input=input_rate,
            input_audio=audio_rate,
            cache_read=read_rate,
            cache_read_audio=self.cache_read_audio if self.cache_read_audio is not None else read_rate,
            cache_write_5m=write_5m_rate,
            # A provider that does not price 1h writes separately bills them like 5m writes.
            cache_write_1h=self.cache_write_1h if self.cache_write_1h is not None else write_5m_rate,
            output=output_rate,
            output_audio=self.output_audio if self.output_audio is not None else output_rate,
            output_image=self.output_image or 0.0,
            input_character=self.input_character or 0.0,
            web_search=self.web_search or 0.0,
            web_fetch=self.web_fetch or 0.0,
        )
        object.__setattr__(self, "effective", effective)

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
        """The rates set, each in its price-list unit (``RATE_UNITS``): USD per million tokens or
        characters, per image, per 1,000 requests."""
        out: dict[str, float] = {}
        for name in RATE_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value * RATE_UNITS[name].scale
        return out


RATE_NAMES = tuple(f.name for f in fields(RateSet) if f.init)
# The one table of rate units: the CLI prints these labels, price override files are written
# in them, and ``per_million`` converts to them. A rate name missing here fails the import
# (FEE_NAMES below reads every name) and tests/test_rate_units.py.
RATE_UNITS: dict[str, RateUnit] = {
    "input": TOKENS,
    "output": TOKENS,
    "cache_read": TOKENS,
    "cache_write_5m": TOKENS,
    "cache_write_1h": TOKENS,
    "input_audio": TOKENS,
    "cache_read_audio": TOKENS,
    "output_audio": TOKENS,
    "web_search": REQUESTS,
    "web_fetch": REQUESTS,
    "output_image": IMAGES,
    "input_character": CHARACTERS,
}
FEE_NAMES = tuple(n for n in RATE_NAMES if RATE_UNITS[n] is REQUESTS)
PER_UNIT_NAMES = tuple(n for n in RATE_NAMES if RATE_UNITS[n] is IMAGES)  # priced per item, unscaled
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

    def cost(self, usage: Usage) -> Cost | None:
        """The cost of ``usage``; None (unpriced) when it overflows: a huge rate times a huge count."""
        r = (self.rates_for(usage.total_input_tokens) if self.tiers else self.base).effective
        u = usage
        out_audio = min(u.output_audio_tokens, u.output_tokens)
        audio = min(u.input_audio_tokens, u.input_tokens)
        read_audio = min(u.cache_read_audio_tokens, u.cache_read_tokens)
        plain_read = u.cache_read_tokens - read_audio
        savings = plain_read * (r.input - r.cache_read) + read_audio * (r.input_audio - r.cache_read_audio)
        input_cost = (u.input_tokens - audio) * r.input + audio * r.input_audio + u.input_characters * r.input_character
        output_cost = (
            (u.output_tokens - out_audio) * r.output + out_audio * r.output_audio + u.output_images * r.output_image
        )
        read_cost = plain_read * r.cache_read + read_audio * r.cache_read_audio
        write_cost = u.cache_write_5m_tokens * r.cache_write_5m + u.cache_write_1h_tokens * r.cache_write_1h
        fees = u.web_search_requests * r.web_search + u.web_fetch_requests * r.web_fetch
        # One check covers every part: an inf or NaN anywhere makes the sum non-finite, and one
        # such cost would turn the cumulative cost counter into inf/NaN for good.
        if not isfinite(input_cost + output_cost + read_cost + write_cost + fees + savings):
            return None
        # positional, in Cost's field order: keywords make this call about a third slower.
        # tests/test_positional_pins.py fails if Cost's fields move or a new one is added.
        return Cost(
            input_cost,
            output_cost,
            read_cost,
            write_cost,
            fees,
            self.source,
            self.model,
            self.version,
            max(savings, 0.0),
        )

    def finite(self) -> bool:
        """Whether every rate, base and tiers, is a finite number (override multipliers can overflow)."""
        return all(isfinite(v) for rates in (self.base, *(r for _, r in self.tiers)) for v in rates.effective)


def finite_or_none(rates: Rates, provider: str) -> Rates | None:
    """``rates``, or None (the model is unpriced) when a multiplier overflowed a rate to inf or NaN."""
    if rates.finite():
        return rates
    warn_once(
        f"non-finite-rates:{provider}:{rates.model}",
        "llm-cost-otel: rates for %s/%s are not finite (override multipliers overflow: %s); its calls are unpriced",
        provider,
        rates.model,
        "; ".join(rates.notes),
    )
    return None
