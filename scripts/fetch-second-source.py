"""Fetch the second price source that tests/test_second_source.py checks our price book against.

That source is LiteLLM's published price table, ``model_prices_and_context_window_backup.json``,
as shipped inside the ``litellm`` wheel on PyPI at the version pinned below. The wheel is
downloaded (never installed), the one JSON file is taken out of it, and its SHA-256 checked, so
every machine compares against the same bytes. litellm is never imported: its table is data.

    python scripts/fetch-second-source.py      # -> .cache/second-source/litellm-<version>.json

Idempotent: does nothing when the checked JSON is already there. Exits non-zero when it cannot
fetch (the test then fails, naming this command): CI must not silently compare nothing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# Bump all four together (then re-run the test and update tests/data/price_disagreements.toml).
LITELLM_VERSION = "1.110.2"
# The day the comparison prices our book at: the table is a snapshot of that day, so a dated
# price change after it (the catalog announces some in advance) is not a disagreement with it.
COMPARED_ON = "2026-12-03"
# sha256 of the JSON inside the wheel: the table we reviewed, byte for byte.
JSON_SHA256 = "8943af58bf9f979c6a4bef815687117ffa341e462a41faed9be17b5c33d3dcc2"
# litellm ships only platform wheels (one JSON in each); naming one makes every machine,
# whatever its own platform, download the same file.
WHEEL_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--implementation", "cp", "--python-version", "3.11")

JSON_IN_WHEEL = "litellm/model_prices_and_context_window_backup.json"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "second-source"


def json_path(version: str = LITELLM_VERSION) -> Path:
    return CACHE / f"litellm-{version}.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wheel() -> Path:
    found = sorted(CACHE.glob(f"litellm-{LITELLM_VERSION}-*.whl"))
    if found:
        return found[0]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        *WHEEL_PLATFORM,
        f"litellm=={LITELLM_VERSION}",
        "-d",
        str(CACHE),
    ]
    print("fetch-second-source:", " ".join(command[2:]), file=sys.stderr)
    subprocess.run(command, check=True)
    found = sorted(CACHE.glob(f"litellm-{LITELLM_VERSION}-*.whl"))
    if not found:
        raise SystemExit(f"fetch-second-source: pip downloaded no litellm {LITELLM_VERSION} wheel into {CACHE}")
    return found[0]


def fetch() -> Path:
    target = json_path()
    if target.is_file() and sha256(target) == JSON_SHA256:
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    wheel = _wheel()
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(JSON_IN_WHEEL)
    digest = hashlib.sha256(data).hexdigest()
    if digest != JSON_SHA256:
        raise SystemExit(
            f"fetch-second-source: {JSON_IN_WHEEL} in {wheel.name} has sha256 {digest}, expected {JSON_SHA256}"
        )
    # write-then-rename: an interrupted run never leaves a half-written table for the test to read
    fd, tmp = tempfile.mkstemp(dir=CACHE, prefix=".litellm-", suffix=".json")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a public price list
    os.replace(tmp, target)
    return target


def main() -> int:
    try:
        path = fetch()
    except subprocess.CalledProcessError as error:
        print(f"fetch-second-source: pip download failed ({error.returncode}); is PyPI reachable?", file=sys.stderr)
        return 1
    print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
