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
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .rates import FEE_NAMES, PER_MILLION, PER_UNIT_NAMES, RATE_NAMES, RateSet

MAX_FILE_BYTES = 1024 * 1024
"""A real price file is a few KB; anything over this is refused rather than read into memory."""
MAX_DEPTH = 32
"""Deepest nesting of objects/arrays accepted. The schema needs 5; the parsers, the schema
validator and the finiteness walk recurse, so a file nested thousands deep would exhaust the stack."""


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


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(path: Path, mode: int) -> PriceOverrideError:
    kind = next((kind for is_kind, kind in _NOT_REGULAR if is_kind(mode)), "an unsupported file type")
    return PriceOverrideError(f"{path}: is {kind}, not a regular file; refusing to read price overrides from it")


def _too_big(path: Path) -> PriceOverrideError:
    return PriceOverrideError(
        f"{path}: larger than {MAX_FILE_BYTES} bytes (1 MiB); a price override file is a few KB, refusing to read it"
    )


def _too_deep(source: str) -> PriceOverrideError:
    return PriceOverrideError(f"{source}: nested deeper than {MAX_DEPTH} levels")


def _read_bytes(path: Path) -> bytes:
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before the check below.
    nonblock: int = getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError) as exc:
        # A socket cannot be opened at all: say what it is, not just "No such device or address".
        try:
            mode = os.stat(path).st_mode
        except (OSError, ValueError):
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode) from exc
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PriceOverrideError(f"{path}: cannot read price override file: {reason}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        if info.st_size > MAX_FILE_BYTES:
            raise _too_big(path)
        if nonblock:
            os.set_blocking(fd, True)  # a regular file now; plain reads, whatever the filesystem
        # Bounded by the cap, not by st_size: the file may have grown since the fstat.
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0 and (chunk := os.read(fd, left)):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise PriceOverrideError(f"{path}: cannot read price override file: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > MAX_FILE_BYTES:
        raise _too_big(path)
    return raw


# A JSON string (possibly unterminated, so a broken file does not count its brackets), or a bracket.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')


def _json_too_deep(text: str) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH, checked before the recursive parser runs."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        bracket = match.group()
        if bracket == "[" or bracket == "{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif bracket == "]" or bracket == "}":
            depth -= 1
    return False


_FORMATS = ("", ".json", ".toml")


def _read(path: Path) -> Any:
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PriceOverrideError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise PriceOverrideError(
            f"{path}: unsupported price file type {suffix!r}: use a .json or .toml file (YAML is not read)"
        )
    try:
        if suffix == ".toml":
            import tomllib

            try:
                return tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise PriceOverrideError(f"{path}: invalid TOML: {exc}") from exc
        if _json_too_deep(text):
            raise _too_deep(source)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PriceOverrideError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
    except RecursionError:
        # The TOML parser recurses per nesting level; its traceback would only bury the cause.
        raise _too_deep(source) from None


def _deeper_than_limit(data: Any) -> bool:
    """Whether containers nest deeper than MAX_DEPTH. Iterative, so the depth cannot exhaust the
    stack; a mapping that contains itself counts as too deep rather than looping forever."""
    stack = [(data, 1)]
    seen: set[tuple[int, int]] = set()  # shared sub-objects in a mapping are walked once per depth
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        if (id(value), depth) in seen:
            continue
        seen.add((id(value), depth))
        stack.extend((child, depth + 1) for child in children)
    return False


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
    if _deeper_than_limit(data):
        raise _too_deep(source)
    try:
        _validate(data, source)
    except RecursionError:
        raise _too_deep(source) from None

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
    _check_providers(data, source)
    _check_alias_targets(aliases, models, source)
    discounts = tuple(
        Discount(provider=d.get("provider", "*"), model=d.get("model", "*"), multiplier=float(d["multiplier"]))
        for d in data.get("discounts", ())
    )
    overflows = _stacking_overflows(discounts)
    overflows += _custom_model_overflows(data.get("models", {}), models, aliases, discounts)
    if overflows:
        raise PriceOverrideError("\n".join(f"{source}: {problem}" for problem in overflows))
    return Overrides(source=source, models=models, aliases=aliases, discounts=discounts)


# Stacked multipliers can overflow to inf (and inf x 0 is NaN), which would poison a cumulative
# cost counter. What can be decided from the file alone is refused here; PriceBook treats any
# non-finite rate that still comes out at run time as unpriced.

_GLOB_CHARS = re.compile(r"[*?\[]")
_MAX_PATTERNS_COMPARED = 100


def _can_overlap(a: str, b: str) -> bool:
    """Whether some name could match both patterns (two globs are assumed to)."""
    a_glob, b_glob = bool(_GLOB_CHARS.search(a)), bool(_GLOB_CHARS.search(b))
    if a_glob and b_glob:
        return True
    if a_glob:
        return fnmatch.fnmatchcase(b, a)
    return fnmatch.fnmatchcase(a, b)


def _stacking_overflows(discounts: tuple[Discount, ...]) -> list[str]:
    """Discounts whose multiplier, with every other discount that can match the same provider,
    multiplies to a non-finite factor. Only the provider is decided here: a call is matched under
    several model names (as requested, alias, catalog id), so any two model patterns may stack.
    Multipliers below 1 only shrink the product, so each subset is bounded by the ones above 1."""
    growth: dict[str, float] = {}
    for discount in discounts:
        if discount.multiplier > 1.0:
            growth[discount.provider] = growth.get(discount.provider, 1.0) * discount.multiplier
    if len(growth) > _MAX_PATTERNS_COMPARED:  # bound the pairwise work; assume they all stack
        everything = math.prod(growth.values())
        stacked = dict.fromkeys(growth, everything)
    else:
        stacked = {p: math.prod(g for q, g in growth.items() if _can_overlap(p, q)) for p in growth}
    return [
        f"discounts.{i}: multiplier {d.multiplier:g} and the other discounts that can match the same "
        f"provider multiply to a factor that is not finite"
        for i, d in enumerate(discounts)
        if d.multiplier > 1.0 and not math.isfinite(stacked[d.provider])
    ]


def _custom_model_overflows(
    specs: Mapping[str, Any], models: dict[str, CustomModel], aliases: dict[str, str], discounts: tuple[Discount, ...]
) -> list[str]:
    """Custom models whose highest rate times the discounts that can match them is not finite."""
    from .catalog import normalize_model

    problems = []
    for key in specs:
        name = key.lower()
        custom = models[name]
        # the names a call to this model is matched under: its own, and any alias to it as written or normalized
        names = {name}
        for alias, target in aliases.items():
            if target.lower() == name:
                names |= {alias, normalize_model(alias)}
        factor = 1.0
        for discount in discounts:
            if discount.multiplier > 1.0 and (
                (custom.provider is None or fnmatch.fnmatchcase(custom.provider, discount.provider))
                and any(fnmatch.fnmatchcase(n, discount.model.lower()) for n in names)
            ):
                factor *= discount.multiplier
        highest = max(
            (v for rates in (custom.base, *(r for _, r in custom.tiers)) for v in rates.effective), default=0.0
        )
        if not math.isfinite(highest * factor):
            problems.append(f"models.{key}: a rate times the discount multipliers that match it is not finite")
    return problems


def _check_providers(data: Mapping[str, Any], source: str) -> None:
    """A misspelled provider would make an entry match nothing, silently."""
    from .catalog import CATALOG_PROVIDERS

    known = sorted(CATALOG_PROVIDERS)
    found = [
        (f"models.{name}.provider", entry.get("provider"))
        for name, entry in data.get("models", {}).items()
        if entry.get("provider") is not None
    ]
    found += [(f"discounts.{i}.provider", d.get("provider")) for i, d in enumerate(data.get("discounts", ()))]
    for key, provider in found:
        if provider is not None and not any(fnmatch.fnmatchcase(p, provider) for p in known):
            raise PriceOverrideError(
                f"{source}: {key}: {provider!r} matches no provider llm-cost-otel records ({', '.join(known)})"
            )


def _check_alias_targets(aliases: Mapping[str, str], models: Mapping[str, CustomModel], source: str) -> None:
    """An alias to a misspelled model would leave the aliased calls unpriced, silently. Looks
    the targets up in the catalog (loading it now, only when the file has aliases)."""
    if not aliases:
        return
    import time

    from . import catalog
    from .corrections import addition_for

    today = int(time.time() // 86400)
    for alias, target in aliases.items():
        name = catalog.normalize_model(target)
        if name in models:
            continue
        if any(catalog.lookup(p, name, False, today) is not None for p in catalog.CATALOG_PROVIDERS):
            continue
        if any(addition_for(p, name, date.today()) is not None for p in catalog.CATALOG_PROVIDERS):
            continue
        raise PriceOverrideError(
            f"{source}: aliases.{alias[:80]}: target {target[:80]!r} is neither a model in the price catalog nor one "
            "this file defines"
        )
