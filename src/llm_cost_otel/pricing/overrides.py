"""User price overrides: custom models, aliases and negotiated discounts.

Loaded and validated completely before anything is applied, so a bad file changes nothing.
Prices in the file are USD per million tokens (fees: USD per 1,000 requests), the unit every
provider's price page uses.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rates import FEE_NAMES, PER_MILLION, PER_UNIT_NAMES, RATE_NAMES, RateSet


class PriceOverrideError(ValueError):
    """A price override file or mapping is invalid. The message names the file and the key."""


_RATE_PROPERTIES = {name: {"type": "number", "minimum": 0} for name in RATE_NAMES}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "models": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["input", "output"],
                "properties": {
                    **_RATE_PROPERTIES,
                    "provider": {"type": "string", "minLength": 1},
                    "batch_multiplier": {"type": "number", "minimum": 0, "maximum": 1},
                    "tiers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["above_input_tokens"],
                            "properties": {**_RATE_PROPERTIES, "above_input_tokens": {"type": "integer", "minimum": 0}},
                        },
                    },
                },
            },
        },
        "aliases": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "discounts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["multiplier"],
                "properties": {
                    "provider": {"type": "string", "minLength": 1},
                    "model": {"type": "string", "minLength": 1},
                    "multiplier": {"type": "number", "minimum": 0},
                },
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class CustomModel:
    provider: str | None
    base: RateSet
    tiers: tuple[tuple[int, RateSet], ...]
    batch_multiplier: float


@dataclass(frozen=True, slots=True)
class Discount:
    provider: str
    model: str
    multiplier: float

    def matches(self, provider: str, model: str) -> bool:
        return fnmatch.fnmatchcase(provider, self.provider) and fnmatch.fnmatchcase(model.lower(), self.model.lower())


@dataclass(frozen=True)
class Overrides:
    source: str = "<none>"
    models: dict[str, CustomModel] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    discounts: tuple[Discount, ...] = ()

    def custom_model(self, provider: str, model: str) -> CustomModel | None:
        custom = self.models.get(model.lower())
        if custom is not None and custom.provider not in (None, provider):
            return None
        return custom

    def discount_for(self, provider: str, model: str, *other_names: str) -> float:
        """Product of every discount multiplier matching any of the names (1.0 when none); each applies once."""
        factor = 1.0
        for discount in self.discounts:
            if any(discount.matches(provider, name) for name in (model, *other_names)):
                factor *= discount.multiplier
        return factor


def _rate_set(spec: Mapping[str, Any]) -> RateSet:
    values = {}
    for name in RATE_NAMES:
        if name in spec:
            values[name] = float(spec[name]) / (
                1000.0 if name in FEE_NAMES else 1.0 if name in PER_UNIT_NAMES else PER_MILLION
            )
    return RateSet(**values)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceOverrideError(f"{path}: cannot read price override file: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on 3.10 only
            import tomli as tomllib  # type: ignore[import-not-found,no-redef]
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PriceOverrideError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PriceOverrideError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc


def _validate(data: Any, source: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    found = [(list(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(data)]
    # JSON's NaN/Infinity and TOML's nan/inf are numbers to the schema, and NaN passes "minimum".
    found += [(path, f"{value!r} is not a finite number") for path, value in _non_finite(data, [])]
    if found:
        lines = []
        for path, message in sorted(found, key=lambda f: f[0]):
            key = ".".join(path) or "<top level>"
            lines.append(f"{source}: {key}: {message}")
        raise PriceOverrideError("\n".join(lines))


def _non_finite(data: Any, path: list[str]) -> list[tuple[list[str], float]]:
    if isinstance(data, float):
        return [] if math.isfinite(data) else [(path, data)]
    if isinstance(data, Mapping):
        return [found for key, value in data.items() for found in _non_finite(value, [*path, str(key)])]
    if isinstance(data, list | tuple):
        return [found for i, value in enumerate(data) for found in _non_finite(value, [*path, str(i)])]
    return []


def load_overrides(spec: str | os.PathLike[str] | Mapping[str, Any] | Overrides | None) -> Overrides:
    """Parse and validate overrides from a path (``.json`` or ``.toml``) or a mapping."""
    if spec is None:
        return Overrides()
    if isinstance(spec, Overrides):
        return spec
    if isinstance(spec, Mapping):
        data: Any = spec
        source = "prices="
    else:
        path = Path(spec)
        data = _read(path)
        source = str(path)
    _validate(data, source)

    models: dict[str, CustomModel] = {}
    for name, entry in data.get("models", {}).items():
        tiers = tuple(
            sorted(((int(t["above_input_tokens"]), _rate_set(t)) for t in entry.get("tiers", ())), key=lambda t: t[0])
        )
        base = _rate_set(entry)
        # A tier inherits every rate it does not set from the base rates.
        tiers = tuple((threshold, base.merged(rates)) for threshold, rates in tiers)
        models[name.lower()] = CustomModel(
            provider=entry.get("provider"),
            base=base,
            tiers=tiers,
            batch_multiplier=float(entry.get("batch_multiplier", 0.5)),
        )
    aliases = {k.lower(): v for k, v in data.get("aliases", {}).items()}
    for alias, target in aliases.items():
        if target.lower() in aliases:
            raise PriceOverrideError(f"{source}: aliases.{alias}: target {target!r} is itself an alias")
    discounts = tuple(
        Discount(provider=d.get("provider", "*"), model=d.get("model", "*"), multiplier=float(d["multiplier"]))
        for d in data.get("discounts", ())
    )
    return Overrides(source=source, models=models, aliases=aliases, discounts=discounts)
