"""Every ``gen_ai.*`` name the plugin writes exists in the pinned OpenTelemetry semantic
conventions package, or is a deliberate extra listed with its source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics

from llm_cost_otel import semconv


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _strings(item)


def _package_names() -> set[str]:
    return {
        value
        for module in (gen_ai_attributes, gen_ai_metrics)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str)
    }


def test_every_gen_ai_name_is_in_the_conventions_package_or_a_listed_extra() -> None:
    ours = {
        value
        for name, value in vars(semconv).items()
        if not name.startswith("_") and name != "EXTRA_GEN_AI_NAMES"
        for value in _strings(value)
        if value.startswith("gen_ai.")
    }
    assert len(ours) > 20  # the names really were found
    unknown = ours - _package_names() - set(semconv.EXTRA_GEN_AI_NAMES)
    assert not unknown, f"gen_ai.* names in neither the package nor EXTRA_GEN_AI_NAMES: {sorted(unknown)}"


def test_every_listed_extra_is_still_an_extra_and_says_why() -> None:
    for name, source in semconv.EXTRA_GEN_AI_NAMES.items():
        assert name not in _package_names(), f"{name} is in the package now: take it from there"
        assert len(source) > 20, name
