"""Our price book against a second source: LiteLLM's published price table, read as data.

tests/test_second_source.py runs this; ``python tests/second_source.py`` prints the same
report (every comparison, the coverage, the gaps). The table is fetched at a pinned version
by ``scripts/fetch-second-source.py`` (the version and its checksum live there); litellm itself
is never installed or imported.

What is compared, per LiteLLM entry that one of our platforms serves (``ROUTES``): every rate
LiteLLM publishes for it that we price (``RATE_FIELDS``), in each situation LiteLLM prices it
for (``MODES``, long-context tiers), against what ``PriceBook`` bills today in that same
situation. A difference fails the test unless tests/data/price_disagreements.toml explains it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from llm_cost_otel.pricing import PriceBook, Rates
from llm_cost_otel.pricing.corrections import ADDITIONS
from llm_cost_otel.pricing.dimensions import bedrock_scope
from llm_cost_otel.pricing.rates import RATE_UNITS, RateSet
from llm_cost_otel.providers import CATALOG_PROVIDERS

ROOT = Path(__file__).resolve().parent.parent
FETCH_SCRIPT = ROOT / "scripts" / "fetch-second-source.py"
FETCH_COMMAND = "python scripts/fetch-second-source.py"
DISAGREEMENTS = ROOT / "tests" / "data" / "price_disagreements.toml"
REL_TOL = 1e-9  # list prices are exact decimals: anything beyond float noise is a real difference
VERDICTS = ("ours", "litellm", "unknown")


@cache
def fetch_script() -> ModuleType:
    """scripts/fetch-second-source.py as a module: the pinned version and checksum live there only."""
    spec = importlib.util.spec_from_file_location("fetch_second_source", FETCH_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def litellm_version() -> str:
    return str(fetch_script().LITELLM_VERSION)


def litellm_json_path() -> Path:
    return Path(fetch_script().json_path())


class SecondSourceMissing(Exception):
    pass


def load_litellm() -> dict[str, Any]:
    """The pinned table, checked byte for byte; SecondSourceMissing says how to fetch it."""
    path = litellm_json_path()
    if not path.is_file():
        raise SecondSourceMissing(
            f"LiteLLM's price table {path.relative_to(ROOT)} is missing: run `{FETCH_COMMAND}` first "
            "(`make test` does; it downloads the pinned litellm wheel from PyPI and extracts the table)"
        )
    script = fetch_script()
    digest = script.sha256(path)
    if digest != script.JSON_SHA256:
        raise SecondSourceMissing(
            f"{path.relative_to(ROOT)} has sha256 {digest}, not the pinned {script.JSON_SHA256}: "
            f"delete it and run `{FETCH_COMMAND}`"
        )
    table: dict[str, Any] = json.loads(path.read_text())
    return table


# --- which LiteLLM entries are which of our (platform, model) --------------------------------

CLAUDE = re.compile(r"(?:^|\.)claude-")
# Gemini-family models google-genai calls: chat, live, TTS, image, embeddings.
GOOGLE = re.compile(r"^(?:gemini|gemma|imagen|text-embedding|text-multilingual-embedding)-")


@dataclass(frozen=True)
class Route:
    """LiteLLM entries with one of ``litellm_providers`` are our ``provider``'s ``family`` models,
    named as the caller sends them once ``prefix`` (LiteLLM's routing prefix) is cut off."""

    litellm_providers: tuple[str, ...]
    provider: str
    prefix: str
    family: re.Pattern[str]


# LiteLLM's conventions, read off the table: Anthropic's API `claude-*`; Bedrock
# `[geo.]anthropic.claude-*` (`bedrock` and `bedrock_converse` are two API styles at one price);
# Vertex AI `vertex_ai/claude-*` and bare or `vertex_ai/` `gemini-*`; the Gemini API
# `gemini/gemini-*`; Azure AI Foundry `azure_ai/claude-*`. A name with a `/` left after the
# prefix is skipped: `bedrock/us-east-1/...` (one region's or a commitment's price),
# `bedrock/claude_platform/...`, `vertex_ai/xai/...` (other vendors). Not routed at all:
# `bedrock_mantle` (Bedrock's OpenAI-compatible API, which the anthropic SDK does not call).
ROUTES: tuple[Route, ...] = (
    Route(("anthropic",), "anthropic", "", CLAUDE),
    Route(("bedrock", "bedrock_converse"), "aws.bedrock", "", CLAUDE),
    Route(("vertex_ai-anthropic_models",), "gcp.vertex_ai", "vertex_ai/", CLAUDE),
    Route(
        ("vertex_ai-language-models", "vertex_ai-embedding-models", "vertex_ai"), "gcp.vertex_ai", "vertex_ai/", GOOGLE
    ),
    Route(("gemini",), "gcp.gemini", "gemini/", GOOGLE),
    Route(("azure_ai",), "azure.ai.foundry", "azure_ai/", CLAUDE),
)

# Which models each platform's adapter can call, for listing what we price.
SCOPE: dict[str, tuple[re.Pattern[str], ...]] = {}
for _route in ROUTES:
    SCOPE[_route.provider] = (*SCOPE.get(_route.provider, ()), _route.family)


def route(key: str, entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """(our provider, model name as sent) for a LiteLLM key, or None when no adapter of ours calls it."""
    provider = entry.get("litellm_provider")
    for candidate in ROUTES:
        if provider not in candidate.litellm_providers:
            continue
        name = key.removeprefix(candidate.prefix)
        if "/" not in name and candidate.family.search(name):
            return candidate.provider, name
    return None


# --- which rates --------------------------------------------------------------------------

# Our rate name -> LiteLLM's field for it (USD per token, character, image or query, as ours).
RATE_FIELDS: dict[str, str] = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "input_audio": "input_cost_per_audio_token",
    "cache_read_audio": "cache_read_input_audio_token_cost",
    "output_audio": "output_cost_per_audio_token",
    "web_search": "search_context_cost_per_query",
    "output_image": "output_cost_per_image",
    "input_character": "input_cost_per_character",
}
# Rates with no LiteLLM counterpart; tests check every rate name is in one of the two tables.
NOT_IN_LITELLM: dict[str, str] = {
    "web_fetch": "LiteLLM publishes no web-fetch price (Anthropic's web fetch is free beyond its tokens)",
}

# A situation LiteLLM prices separately: the suffix of its field, and how we are asked for it.
# `fast` is no field suffix: LiteLLM multiplies every token rate by provider_specific_entry.fast.
MODES: dict[str, tuple[str, dict[str, Any]]] = {
    "": ("", {}),
    "batch": ("_batches", {"batch": True}),
    "flex": ("_flex", {"tier": "flex"}),
    "priority": ("_priority", {"tier": "priority"}),
    "fast": ("", {"tier": "fast"}),
}
TOKEN_RATES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "input_audio", "cache_read_audio")


def rate_label(name: str, threshold: int | None, mode: str) -> str:
    """``output``, ``output>200k``, ``output@batch``, ``output>200k@batch``: the table's ``rate``."""
    label = name if threshold is None else f"{name}>{threshold // 1000}k"
    return f"{label}@{mode}" if mode else label


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _litellm_rate(entry: Mapping[str, Any], field_name: str) -> float | None:
    value = entry.get(field_name)
    if isinstance(value, dict):
        # search_context_cost_per_query: {search_context_size_low/medium/high: USD per query}.
        # Anthropic and Google charge one price whatever the size; differing sizes do not map to ours.
        prices = {_number(v) for v in value.values()}
        return prices.pop() if len(prices) == 1 else None
    return _number(value)


def _tier_thresholds(entry: Mapping[str, Any], field_name: str, suffix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(field_name)}_above_(\d+)k_tokens{re.escape(suffix)}$")
    return sorted(int(m.group(1)) * 1000 for key in entry if (m := pattern.match(key)))


def _differs(a: Rates, b: Rates) -> bool:
    return (a.base, a.tiers) != (b.base, b.tiers)


# --- the comparison -----------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    provider: str
    model: str
    """The model as the caller sends it (LiteLLM's key less its routing prefix)."""
    litellm_key: str
    priced_as: str
    """The catalog (or correction) model id our price book resolved ``model`` to."""
    rate: str
    ours: float
    """In the rate's price-list unit (RATE_UNITS): USD per 1M tokens or characters, per image, per 1K requests."""
    litellm: float

    @property
    def matches(self) -> bool:
        return math.isclose(self.ours, self.litellm, rel_tol=REL_TOL)


@dataclass(repr=False)  # a failing test prints its fixtures: one line, not every comparison
class Report:
    when: date
    comparisons: list[Comparison] = field(default_factory=list)
    ours: set[tuple[str, str]] = field(default_factory=set)
    """Every (provider, catalog model) our price book prices for a model our adapters call."""
    unpriced: list[tuple[str, str]] = field(default_factory=list)
    """(provider, model) LiteLLM prices and we do not."""
    not_modelled: set[tuple[str, str, str]] = field(default_factory=set)
    """(provider, priced_as, mode) LiteLLM prices separately and we bill at the standard rates."""
    only_ours: set[tuple[str, str, str]] = field(default_factory=set)
    """(provider, priced_as, rate) tiers we publish that LiteLLM does not (it bills the base rate)."""

    def __repr__(self) -> str:
        return f"Report({self.when}: {len(self.comparisons)} rates, {len(self.differences)} differ)"

    @property
    def compared_pairs(self) -> set[tuple[str, str]]:
        return {(c.provider, c.priced_as) for c in self.comparisons}

    @property
    def differences(self) -> list[Comparison]:
        return [c for c in self.comparisons if not c.matches]

    @property
    def missing_from_litellm(self) -> list[tuple[str, str]]:
        return sorted(self.ours - self.compared_pairs)


def _our_rates(book: PriceBook, provider: str, model: str, **ask: Any) -> Any:
    """The rates a span would use: on Bedrock with the scope the adapter reads from the model
    id's prefix (``us-gov.``, ``global.``, ...), as ``llm-cost-otel prices`` does too."""
    if provider == "aws.bedrock":
        ask.setdefault("scope", bedrock_scope(model))
    return book.rates(provider, model, **ask)


def _scaled(name: str, value: float) -> float:
    return value * RATE_UNITS[name].scale


def _published(entry: Mapping[str, Any], name: str, mode: str) -> list[tuple[int | None, float]]:
    """LiteLLM's prices for rate ``name`` in ``mode``: (None, base) and (threshold, rate above it)."""
    field_name = RATE_FIELDS[name]
    if mode == "fast":
        # no field: LiteLLM multiplies the whole token cost by provider_specific_entry.fast
        fast = _number((entry.get("provider_specific_entry") or {}).get("fast"))
        base = _litellm_rate(entry, field_name)
        return [(None, base * fast)] if fast is not None and base is not None and name in TOKEN_RATES else []
    suffix = MODES[mode][0]
    found: list[tuple[int | None, float | None]] = [(None, _litellm_rate(entry, field_name + suffix))]
    found += [
        (t, _litellm_rate(entry, f"{field_name}_above_{t // 1000}k_tokens{suffix}"))
        for t in _tier_thresholds(entry, field_name, suffix)
    ]
    return [(t, v) for t, v in found if v is not None]


def _compare_entry(
    book: PriceBook, report: Report, provider: str, model: str, key: str, entry: Mapping[str, Any]
) -> None:
    standard = _our_rates(book, provider, model, when=report.when)
    if standard is None:
        report.unpriced.append((provider, model))
        return
    # compared only where both price it: a rate we set and LiteLLM has a base price for
    names = [
        n
        for n in RATE_FIELDS
        if getattr(standard.base, n) is not None and _litellm_rate(entry, RATE_FIELDS[n]) is not None
    ]
    for mode, (_, ask) in MODES.items():
        rates = _our_rates(book, provider, model, when=report.when, **ask) if ask else standard
        if rates is None:
            continue
        for name in names:
            published = _published(entry, name, mode)
            if not published:
                continue
            if mode in ("flex", "priority", "fast") and not _differs(rates, standard):
                # we bill this mode at the standard rates: a gap of ours, listed, not a price to compare
                report.not_modelled.add((provider, standard.model, mode))
                continue
            for threshold, theirs in published:
                # both bill a whole request at the tier's rates once its input passes the threshold
                billed: RateSet = rates.base if threshold is None else rates.rates_for(threshold + 1)
                ours = getattr(billed, name)
                if ours is None:
                    continue
                report.comparisons.append(
                    Comparison(
                        provider=provider,
                        model=model,
                        litellm_key=key,
                        priced_as=rates.model,
                        rate=rate_label(name, threshold, mode),
                        ours=_scaled(name, ours),
                        litellm=_scaled(name, theirs),
                    )
                )
            if not mode:
                theirs_at = {t for t, _ in published if t is not None}
                for threshold, tier in standard.tiers:
                    if threshold not in theirs_at and getattr(tier, name) != getattr(standard.base, name):
                        report.only_ours.add((provider, standard.model, rate_label(name, threshold, "")))


def _priced_fields(entry: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in entry.items() if "cost" in k))


def our_models(book: PriceBook, when: date) -> set[tuple[str, str]]:
    """(provider, catalog model id) for every model our adapters call that the price book prices.

    Listed from each platform's own catalog table (the first of its catalog providers with any
    model of the family), plus the models our corrections add; each resolved through the book,
    so a catalog entry another one shadows counts as the model it resolves to.
    """
    from genai_prices.data import providers as catalog_providers

    catalog = {p.id: [m.id for m in p.models] for p in catalog_providers}
    found: set[tuple[str, str]] = set()
    for provider, families in SCOPE.items():
        for family in families:
            for catalog_id in CATALOG_PROVIDERS[provider]:
                models = [m for m in catalog.get(catalog_id, []) if family.search(m)]
                if not models:
                    continue
                for model in models:
                    rates = _our_rates(book, provider, model, when=when)
                    if rates is not None:
                        found.add((provider, rates.model))
                break
    for addition in ADDITIONS:
        for provider in addition.platforms:
            for model in addition.models:
                if addition.since <= when and _our_rates(book, provider, model, when=when) is not None:
                    found.add((provider, model))
    return found


def compared_on() -> date:
    """The day the pinned table is compared at (``COMPARED_ON`` in the fetch script)."""
    return date.fromisoformat(fetch_script().COMPARED_ON)


def compare(litellm: Mapping[str, Any], book: PriceBook | None = None, when: date | None = None) -> Report:
    book = book or PriceBook()
    report = Report(when=when or datetime.now(UTC).date())
    report.ours = our_models(book, report.when)
    seen: dict[tuple[str, str], set[tuple[tuple[str, Any], ...]]] = {}
    for key in sorted(litellm):
        entry = litellm[key]
        if not isinstance(entry, dict) or key == "sample_spec":
            continue
        target = route(key, entry)
        if target is None:
            continue
        # `gemini-x` and `gemini/gemini-x` (or `vertex_ai/gemini-x`) often repeat one entry:
        # compare each distinct price list once, so the counts are not doubled
        priced = _priced_fields(entry)
        if priced in seen.setdefault(target, set()):
            continue
        seen[target].add(priced)
        _compare_entry(book, report, *target, key, entry)
    return report


# --- the table of known disagreements -------------------------------------------------------


@dataclass(frozen=True)
class KnownDisagreement:
    """One (provider, model, rate) that differs, with its two values and its group's verdict."""

    provider: str
    model: str
    """The model as the caller sends it (LiteLLM's key less its routing prefix)."""
    rate: str
    ours: float
    litellm: float
    since: date
    who_is_right: str
    why: str
    source: str

    def covers(self, c: Comparison) -> bool:
        return (self.provider, self.model, self.rate) == (c.provider, c.model, c.rate)

    def agrees(self, c: Comparison) -> bool:
        return math.isclose(self.ours, c.ours, rel_tol=REL_TOL) and math.isclose(
            self.litellm, c.litellm, rel_tol=REL_TOL
        )

    def describe(self) -> str:
        return f"{self.provider} {self.model} {self.rate} (ours {self.ours:g}, litellm {self.litellm:g})"


GROUP_FIELDS = {"who_is_right", "why", "source", "since", "differences"}
ENTRY_FIELDS = {"provider", "model", "rate", "ours", "litellm"}


def _is_date(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def load_disagreements(path: Path = DISAGREEMENTS) -> list[KnownDisagreement]:
    """The table, flattened and validated: each ``[[reason]]`` gives who is right, why, the
    source checked and since when; its ``differences`` list the (provider, model, rate) it
    explains with both values. Raises ValueError listing every malformed part."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    entries: list[KnownDisagreement] = []
    problems: list[str] = []
    if set(raw) - {"reason"}:
        problems.append(f"{path.name}: unexpected top-level keys {sorted(set(raw) - {'reason'})}")
    for number, group in enumerate(raw.get("reason", []), 1):
        where = f"{path.name} [[reason]] #{number}"
        if set(group) != GROUP_FIELDS:
            problems.append(f"{where}: fields {sorted(group)}, expected exactly {sorted(GROUP_FIELDS)}")
            continue
        if group["who_is_right"] not in VERDICTS:
            problems.append(f"{where}: who_is_right must be one of {VERDICTS}")
        if not _is_date(group["since"]):
            problems.append(f"{where}: since must be a TOML date (YYYY-MM-DD)")
        for name in ("why", "source"):
            if not isinstance(group[name], str) or not group[name].strip() or "TODO" in group[name]:
                problems.append(f"{where}: {name} must say something (and no TODO)")
        if not isinstance(group["differences"], list) or not group["differences"]:
            problems.append(f"{where}: differences must be a non-empty list")
            continue
        for index, item in enumerate(group["differences"], 1):
            at = f"{where} difference {index}"
            if not isinstance(item, dict) or set(item) != ENTRY_FIELDS:
                problems.append(f"{at}: expected exactly the fields {sorted(ENTRY_FIELDS)}")
                continue
            if any(_number(item[name]) is None for name in ("ours", "litellm")):
                problems.append(f"{at}: ours and litellm must be numbers")
                continue
            if any(not isinstance(item[name], str) or not item[name] for name in ("provider", "model", "rate")):
                problems.append(f"{at}: provider, model and rate must be non-empty strings")
                continue
            entries.append(
                KnownDisagreement(
                    provider=item["provider"],
                    model=item["model"],
                    rate=item["rate"],
                    ours=float(item["ours"]),
                    litellm=float(item["litellm"]),
                    since=group["since"],
                    who_is_right=group["who_is_right"],
                    why=group["why"],
                    source=group["source"],
                )
            )
    keys = [(e.provider, e.model, e.rate) for e in entries]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    problems += [f"{path.name}: {key} is listed more than once" for key in repeated]
    if problems:
        raise ValueError("\n".join(problems))
    return entries


@dataclass
class Check:
    unknown: list[Comparison] = field(default_factory=list)
    """Differences no entry explains."""
    changed: list[tuple[KnownDisagreement, Comparison]] = field(default_factory=list)
    """Differences an entry names, but with other values than it recorded: re-check who is right."""
    stale: list[KnownDisagreement] = field(default_factory=list)
    """Entries for differences that are gone (or never were)."""
    explained: dict[str, int] = field(default_factory=dict)
    """Differences explained, by verdict."""

    @property
    def ok(self) -> bool:
        return not (self.unknown or self.changed or self.stale)


def check(differences: Iterable[Comparison], known: list[KnownDisagreement]) -> Check:
    result = Check(explained=dict.fromkeys(VERDICTS, 0))
    used: set[int] = set()
    for difference in differences:
        named = [(i, e) for i, e in enumerate(known) if e.covers(difference)]
        agreeing = [(i, e) for i, e in named if e.agrees(difference)]
        if agreeing:
            index, entry = agreeing[0]
            used.add(index)
            result.explained[entry.who_is_right] += 1
        elif named:
            used.update(i for i, _ in named)
            result.changed.append((named[0][1], difference))
        else:
            result.unknown.append(difference)
    result.stale = [e for i, e in enumerate(known) if i not in used]
    return result


def toml_stub(differences: list[Comparison], today: date) -> str:
    """A ``[[reason]]`` to paste and complete, for differences nobody has explained yet."""
    lines = [
        "[[reason]]",
        'who_is_right = "unknown"  # ours / litellm / unknown, after reading the vendor\'s price page',
        'why = "TODO"',
        'source = "TODO"',
        f"since = {today.isoformat()}",
        "differences = [",
    ]
    lines += [
        f'  {{ provider = "{c.provider}", model = "{c.model}", rate = "{c.rate}", '
        f"ours = {c.ours:.12g}, litellm = {c.litellm:.12g} }},  # LiteLLM {c.litellm_key}; ours {c.priced_as}"
        for c in differences
    ]
    return "\n".join([*lines, "]", ""])


def explain_failures(result: Check, today: date) -> str:
    lines: list[str] = []
    if result.unknown:
        lines.append(
            f"{len(result.unknown)} price difference(s) from LiteLLM {litellm_version()} that "
            f"{DISAGREEMENTS.relative_to(ROOT)} does not explain. Check the vendor's price page; fix our "
            "price (a correction) or add an entry saying who is right and why:\n"
        )
        lines.append(toml_stub(result.unknown, today))
    for entry, c in result.changed:
        lines.append(
            f"CHANGED: {entry.describe()} is now ours {c.ours:.12g}, litellm {c.litellm:.12g}: re-check who is right"
        )
    for entry in result.stale:
        lines.append(f"STALE: {entry.describe()} no longer differs (or matches no model): remove the entry")
    return "\n".join(lines)


# --- the report ---------------------------------------------------------------------------


def summary(report: Report, result: Check | None = None) -> str:
    differences = report.differences
    lines = [
        f"second source: LiteLLM {litellm_version()} vs our price book on {report.when.isoformat()}",
        f"  (provider, model) pairs compared: {len(report.compared_pairs)} of {len(report.ours)} we price "
        f"({len({(c.provider, c.model) for c in report.comparisons})} LiteLLM entries)",
        f"  rates compared: {len(report.comparisons)}; matched: {len(report.comparisons) - len(differences)}; "
        f"differ: {len(differences)}",
    ]
    if result is not None:
        by_verdict = ", ".join(f"{verdict} {count}" for verdict, count in result.explained.items())
        lines.append(
            f"  differences explained by who is right: {by_verdict}; unexplained {len(result.unknown)}, "
            f"changed {len(result.changed)}, stale entries {len(result.stale)}"
        )
    lines.append(f"  ours, missing from LiteLLM ({len(report.missing_from_litellm)}):")
    lines += [f"    {provider} {model}" for provider, model in report.missing_from_litellm]
    unpriced = sorted(set(report.unpriced))
    lines.append(f"  LiteLLM's, unpriced by us ({len(unpriced)}):")
    lines += [f"    {provider} {model}" for provider, model in unpriced]
    lines.append(f"  modes LiteLLM prices that we bill at standard rates ({len(report.not_modelled)}):")
    lines += [f"    {provider} {model} @{mode}" for provider, model, mode in sorted(report.not_modelled)]
    lines.append(f"  tiers we publish that LiteLLM does not ({len(report.only_ours)}):")
    lines += [f"    {provider} {model} {rate}" for provider, model, rate in sorted(report.only_ours)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    report = compare(load_litellm(), when=compared_on())
    result = check(report.differences, load_disagreements())
    if "-v" in argv:
        for c in report.comparisons:
            mark = "==" if c.matches else "!="
            print(f"{c.provider:17} {c.model:45} {c.rate:28} ours {c.ours:<12.6g} {mark} litellm {c.litellm:.6g}")
    print(summary(report, result))
    if not result.ok:
        print(explain_failures(result, report.when))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
