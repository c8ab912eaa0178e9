"""Report how the newest genai-prices release's data differs from the one we pin.

Our price book reads the catalog bundled with the installed (pinned) ``genai-prices``. This
script downloads the newest ``genai-prices`` wheel from the package index into
``.cache/second-source/``, reads its data in a subprocess with that wheel first on
``sys.path`` (so the installed copy is not the one read), and prints, for the catalog
providers our platforms are priced from (``--all``: every provider):

    changed  <provider>/<model> [<condition>] <price key>: <pinned> -> <newest>
    new      <provider>/<model>
    removed  <provider>/<model>

A report, not a check: it exits 0 whatever it finds, and when the index cannot be reached
it says so and exits 0. Run from CI so an upstream price change shows within one run.

    python scripts/price-drift.py [--all] [--against VERSION]

``--against VERSION`` compares with that release instead of the newest (e.g. to preview a bump).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "second-source"

# Runs in a fresh interpreter: argv[1] is a wheel to put first on sys.path ("" for the installed
# package), argv[2] a JSON list of provider ids ([] for all). Prints {"version", "file", "prices"},
# prices as {"provider/model": {"[condition] key": "value"}}. Walks attributes generically (no
# genai_prices types named) so a newer release with a reshaped schema still dumps what it can.
DUMP = r"""
import json, sys
from decimal import Decimal
wheel, wanted = sys.argv[1], json.loads(sys.argv[2])
if wheel:
    sys.path.insert(0, wheel)
import genai_prices
from genai_prices.data import providers

def fields(obj):
    return {k: v for k, v in vars(obj).items() if not k.startswith("_") and v is not None}

def condition(obj):
    parts = []
    when = getattr(obj, "when", None)
    if when:
        parts.append(",".join(f"{k}={v}" for k, v in sorted(when.items())))
    constraint = getattr(obj, "constraint", None)
    if constraint is not None:
        parts.append(" ".join(f"{k}={v}" for k, v in sorted(fields(constraint).items())))
    return " ".join(parts)

def flatten(prices, label, out):
    for key, value in sorted(fields(prices).items()):
        name = f"[{label}] {key}" if label else key
        if isinstance(value, (Decimal, int, float)):
            out[name] = str(value)
        elif hasattr(value, "base") and hasattr(value, "tiers"):
            out[name] = str(value.base)
            for tier in value.tiers:
                out[f"{name}>{tier.start}"] = str(tier.price)
        else:
            out[name] = repr(value)

dump = {}
for provider in providers:
    if wanted and provider.id not in wanted:
        continue
    for model in provider.models:
        out = {}
        prices = model.prices
        for entry in prices if isinstance(prices, list) else [prices]:
            inner = getattr(entry, "prices", entry)
            flatten(inner, condition(entry) if inner is not entry else "", out)
        for variant in getattr(model, "price_variants", None) or []:
            flatten(variant.prices, condition(variant), out)
        dump[f"{provider.id}/{model.id}"] = out
version = getattr(genai_prices, "__version__", None)
print(json.dumps({"version": version, "file": genai_prices.__file__, "prices": dump}))
"""


def _say(message: str) -> None:
    print(f"price-drift: {message}")


def _download_wheel(requirement: str) -> Path | None:
    """Download the genai-prices wheel ``requirement`` names (the newest, unpinned) into the cache;
    None, having said why, when that fails."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            # no network: fail in seconds, not after pip's default retries
            "--timeout",
            "15",
            "--retries",
            "1",
            requirement,
            "-d",
            tmp,
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            detail = getattr(error, "stderr", "") or ""
            last = detail.strip().splitlines()[-1:] or ["timed out"]
            _say(f"could not download genai-prices from the package index (no network?): {last[0]}")
            return None
        wheels = sorted(Path(tmp).glob("genai_prices-*.whl"))
        if not wheels:
            _say("pip downloaded no genai-prices wheel")
            return None
        target = CACHE / wheels[0].name
        if not target.exists():
            shutil.move(str(wheels[0]), target)
        return target


def _dump(wheel: Path | None, providers: list[str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", DUMP, str(wheel or ""), json.dumps(providers)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _our_catalog_providers() -> list[str]:
    from llm_cost_otel.providers import CATALOG_PROVIDERS

    return sorted({pid for ids in CATALOG_PROVIDERS.values() for pid in ids})


def main(argv: list[str]) -> int:
    try:
        pinned_version = version("genai-prices")
    except PackageNotFoundError:
        _say("genai-prices is not installed here; nothing to compare")
        return 0
    against = argv[argv.index("--against") + 1] if "--against" in argv[:-1] else None
    wheel = _download_wheel(f"genai-prices=={against}" if against else "genai-prices")
    if wheel is None:
        return 0
    newest_version = wheel.name.split("-")[1]
    label = "requested" if against else "newest on the index"
    providers = [] if "--all" in argv else _our_catalog_providers()
    scope = "all providers" if not providers else "providers " + ", ".join(providers)
    _say(f"genai-prices {pinned_version} (installed, pinned) vs {newest_version} ({label}), {scope}")
    if newest_version == pinned_version:
        _say("that release is the pinned one: no drift")
        return 0
    try:
        pinned = _dump(None, providers)
        newest = _dump(wheel, providers)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        detail = (getattr(error, "stderr", "") or str(error)).strip().splitlines()[-1:]
        _say(f"could not read genai-prices {newest_version}'s data: {detail[0] if detail else error!r}")
        return 0
    if not str(newest["file"]).startswith(str(wheel)):
        _say(f"the newest data was read from {newest['file']}, not the wheel: not comparing")
        return 0
    old = pinned["prices"]
    new = newest["prices"]
    assert isinstance(old, dict) and isinstance(new, dict)
    lines: list[str] = []
    changed = 0
    for model in sorted(old.keys() & new.keys()):
        before, after = old[model], new[model]
        for key in sorted(before.keys() | after.keys()):
            if before.get(key) != after.get(key):
                changed += 1
                lines.append(f"  changed  {model} {key}: {before.get(key, '-')} -> {after.get(key, '-')}")
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    lines += [f"  new      {model}" for model in added]
    lines += [f"  removed  {model}" for model in removed]
    _say(f"{changed} price(s) changed, {len(added)} model(s) new, {len(removed)} removed")
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
