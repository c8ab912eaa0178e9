"""Reading the counts in a provider's usage report, the same way for every adapter.

A count may come as an int, as an integral float (``1500.0``, from a gateway that re-encodes
JSON numbers) or as a string of digits (``"1500"``); each is read as the int it means, and an
absent count (``None``) as 0. Anything else in a count (a negative, a fraction, NaN, a bool,
any other string or type) means the report cannot be trusted, so the whole usage is
unreadable: the adapter records the call as billed with unknown usage (unpriced, flagged
``llm_cost.usage_unknown``), never as a partial $0. So does a report that holds no count at
all (``usageMetadata: {}``).

A usage reader calls ``has_counts`` once and ``count`` per field. The common case (plain
non-negative ints from the SDK's models) costs what a bare type check does; anything else
takes the slow path, which raises ``UnreadableUsage`` for what it cannot read, caught once
per usage read by the adapter (a ``try`` costs next to nothing when nothing is raised).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["UnreadableUsage", "count", "count_or_zero", "has_counts"]


class UnreadableUsage(ValueError):
    """A usage report is present but cannot be read: a malformed count, or no count at all."""


def count(value: Any) -> int:
    """One count from a usage report; raises ``UnreadableUsage`` if it is not a count."""
    # the common case first: what the SDKs' models hold
    if type(value) is int and value >= 0:
        return value
    if value is None:
        return 0
    return _read_slow(value)


def _read_slow(value: Any) -> int:
    if isinstance(value, float):
        # NaN and the infinities are not integral
        if value >= 0 and value.is_integer():
            return int(value)
    elif isinstance(value, str):
        # isdigit() alone accepts other scripts' digits and superscripts; int() would take
        # signs, spaces and underscores: a count is plain ASCII digits
        if value.isascii() and value.isdigit():
            try:
                return int(value)
            except ValueError:  # more digits than int() converts
                pass
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return int(value)  # an int subclass (IntEnum ...): its plain value
    raise UnreadableUsage(f"not a token count: a {type(value).__name__}")


def count_or_zero(value: Any) -> int:
    """A count where an unreadable one must not stop the rest (an attribute, not a price)."""
    try:
        return count(value)
    except UnreadableUsage:
        return 0


def has_counts(fields: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    """Whether the report's ``fields`` hold any of the counts ``names`` (not None).

    A report with none of them says nothing about what was billed: unknown, not zero."""
    get = fields.get
    for name in names:  # noqa: SIM110 - a loop, not any(genexpr): no generator per report
        if get(name) is not None:
            return True
    return False
