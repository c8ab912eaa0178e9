"""The one table of rate units (``pricing.rates.RATE_UNITS``): every rate has a unit, and a
rate shown in its unit is what the pricing arithmetic really charges for that many units.

The CLI's output for real models is tested in test_cli.py.
"""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from llm_cost_otel.pricing.rates import RATE_NAMES, RATE_UNITS, Rates, RateSet
from llm_cost_otel.usage import Usage

# The Usage count each rate multiplies, read off Rates.cost. Written here, not derived, so a
# rate billed on some other count shows up as a mismatch with its unit's noun.
BILLED_COUNT = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write_5m": "cache_write_5m_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
    "input_audio": "input_audio_tokens",
    "cache_read_audio": "cache_read_audio_tokens",
    "output_audio": "output_audio_tokens",
    "web_search": "web_search_requests",
    "web_fetch": "web_fetch_requests",
    "output_image": "output_images",
    "input_character": "input_characters",
}
# The audio counts are parts of a parent count (Usage's docstrings): the parent must hold them.
PARENT_COUNT = {
    "input_audio_tokens": "input_tokens",
    "cache_read_audio_tokens": "cache_read_tokens",
    "output_audio_tokens": "output_tokens",
}
# A unit label's noun -> the suffix of the Usage counts it may price.
NOUN_SUFFIX = {"tokens": "_tokens", "chars": "_characters", "image": "_images", "requests": "_requests"}
LABEL = re.compile(r"USD / (?:(1M|1K) )?(tokens|chars|image|requests)")


def label_count(label: str) -> tuple[int, str]:
    """(how many units the label's price is for, the noun), read from the label's text alone."""
    m = LABEL.fullmatch(label)
    assert m is not None, f"unreadable unit label {label!r}"
    return {"1M": 1_000_000, "1K": 1_000, None: 1}[m.group(1)], m.group(2)


def test_every_rate_name_has_a_unit() -> None:
    """A rate added to RateSet without a unit fails here (and the CLI could not print it)."""
    settable = {f.name for f in fields(RateSet) if f.init}
    assert set(RATE_NAMES) == settable
    assert set(RATE_UNITS) == settable, f"no unit for {settable - set(RATE_UNITS)}; extra {set(RATE_UNITS) - settable}"


def test_every_rate_name_is_known_to_these_tests() -> None:
    """A new rate must also say here which Usage count it bills (the next tests read it)."""
    assert set(BILLED_COUNT) == set(RATE_NAMES)
    usage_fields = {f.name for f in fields(Usage)}
    assert set(BILLED_COUNT.values()) <= usage_fields


@pytest.mark.parametrize("name", RATE_NAMES)
def test_unit_label_and_scale_agree(name: str) -> None:
    count, noun = label_count(RATE_UNITS[name].label)
    assert RATE_UNITS[name].scale == count
    assert BILLED_COUNT[name].endswith(NOUN_SUFFIX[noun]), (name, RATE_UNITS[name].label, BILLED_COUNT[name])


@pytest.mark.parametrize("name", RATE_NAMES)
def test_shown_rate_is_the_price_of_that_many_units(name: str) -> None:
    """``per_million()[name]`` USD buys the label's count of the billed unit, per ``Rates.cost``."""
    rate_set = RateSet(**{name: 3.7e-6})  # USD per billed unit; only this rate set
    shown = rate_set.per_million()
    assert list(shown) == [name]
    count, _ = label_count(RATE_UNITS[name].label)
    billed = BILLED_COUNT[name]
    counts = {billed: count}
    if billed in PARENT_COUNT:
        counts[PARENT_COUNT[billed]] = count
    cost = Rates(model="m", source="catalog", version="v", base=rate_set).cost(Usage(**counts))
    assert cost is not None
    assert cost.total == pytest.approx(shown[name], rel=1e-12)
    assert cost.total == pytest.approx(3.7e-6 * count, rel=1e-12)
