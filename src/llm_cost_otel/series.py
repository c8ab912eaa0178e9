"""A metric series and its counter slots: what one (provider, operation, model, response
model, attribution) keeps, and the order a call's amounts arrive in."""

from __future__ import annotations

import os
from operator import attrgetter
from typing import Any

from opentelemetry.metrics import Observation

from ._safety import warn_once
from .semconv import (
    COMPONENT,
    COST_COMPONENT_ATTRS,
    COST_METRIC,
    LLM_TOKEN_TYPE,
    SAVINGS_METRIC,
    TOKEN_TYPE,
    TOKENS_METRIC,
    UNPRICED_METRIC,
)

# llm_cost.tokens by token type: the Usage field each type counts (cache writes: 5m + 1h)
TOKEN_TYPE_FIELDS = {
    "input": "input_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "output": "output_tokens",
}
# The counters every series keeps, as (metric, distinguishing attribute, its value). A call's
# amounts come in the same order: its token counts, its reasoning tokens, its dollars, then 1
# if it went unpriced. Reasoning is a part of output, not an llm_cost.tokens type: its sum is
# read only by the conventions' reasoning counter (no metric of ours reads the slot).
COUNTER_SLOTS = (
    *((TOKENS_METRIC, LLM_TOKEN_TYPE, t) for t in TOKEN_TYPE_FIELDS),
    (None, None, "reasoning"),
    *((COST_METRIC, COMPONENT, c) for c in COST_COMPONENT_ATTRS),
    (SAVINGS_METRIC, None, None),
    (UNPRICED_METRIC, None, None),
)
_UNPRICED_SLOT = len(COUNTER_SLOTS) - 1
# attrgetter reads several fields in one C call, in the order given
token_counts = attrgetter(*TOKEN_TYPE_FIELDS.values(), "reasoning_tokens")
dollars = attrgetter(*COST_COMPONENT_ATTRS, "cache_savings")  # the cost slots, in COUNTER_SLOTS order
NO_DOLLARS = (0,) * (len(COST_COMPONENT_ATTRS) + 1)
ONE_UNPRICED = tuple(1 if i == _UNPRICED_SLOT else 0 for i in range(len(COUNTER_SLOTS)))


class Series:
    """The metrics of one (provider, operation, model, response model, attribution), built
    once: the base attribute set, the token-type sets of the token histogram, and one
    attribute set and running sum per counter slot."""

    __slots__ = ("attributes", "base", "sums", "token_input", "token_output")

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        self.token_input = {**base, TOKEN_TYPE: "input"}
        self.token_output = {**base, TOKEN_TYPE: "output"}
        self.attributes = tuple({**base, key: value} if key else base for _, key, value in COUNTER_SLOTS)
        self.sums: list[float] = [0] * len(COUNTER_SLOTS)


# A series makes up to 5 attribute sets per metric (the cost components): 400 keeps each
# metric within the OpenTelemetry SDK's default limit of 2,000, so our overflow series
# (which keeps the token types and components apart) is reached before the SDK's.
DEFAULT_CARDINALITY_LIMIT = 400


def merged_observations(items: list[tuple[dict[str, Any], float]]) -> list[Observation]:
    """One observation per attribute set (several series can share one: the overflow series)."""
    merged: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
    for attrs, value in items:
        k = tuple(sorted(attrs.items()))
        if k in merged:
            merged[k][1] += value
        else:
            merged[k] = [attrs, value]
    return [Observation(value, attrs) for attrs, value in merged.values()]


def cardinality_limit_from_env() -> int:
    raw = os.environ.get("LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT", "").strip()
    if raw:
        try:
            value = int(raw)
            if value > 0:
                return value
        except ValueError:
            pass
        warn_once(
            "cardinality-limit-env",
            "llm-cost-otel: LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT=%r is not a positive integer; using %d",
            raw,
            DEFAULT_CARDINALITY_LIMIT,
        )
    return DEFAULT_CARDINALITY_LIMIT
