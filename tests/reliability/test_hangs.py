"""Nothing the plugin does may hang the app: the garbage collector finalising abandoned
streams during metric collection, and children forked while the catalog loads or while
other threads are inside calls. Each scenario runs in a fresh interpreter under a
watchdog, so a deadlock fails the test instead of stopping the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ITERATIONS = int(os.environ.get("LLM_COST_OTEL_STRESS_ITERATIONS", "1000"))


def run_scenario(name: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-m", f"tests.reliability.scenarios.{name}", str(ITERATIONS)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{name}: hung (no exit within {timeout:.0f} s); output so far: {exc.stdout!r}")
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_gc_finalising_abandoned_streams_during_collections_never_deadlocks() -> None:
    """1,000 half-read streams abandoned in reference cycles, a metric collection right
    after each (400 allowlisted tenants, so the callback allocates), calls on another thread:
    every span ends exactly once, every call is counted, nothing blocks. (On Python 3.12 the
    code before this fix hung in this scenario: the collector runs finalisers at bytecode
    boundaries, inside the metrics callback's locked section.)"""
    out = run_scenario("gc_finaliser", timeout=600)
    assert f"ok iterations={ITERATIONS}" in out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() exists on POSIX only")
def test_forked_children_never_hang_on_their_first_call() -> None:
    """Children forked while the catalog loads and 1,000 forked while four threads are inside
    calls, streams, track() runs and collections: each child's first call is priced. (The
    code before this fix hung 4 of 300 busy forks.)"""
    out = run_scenario("fork_children", timeout=600)
    assert f"busy_forks={ITERATIONS}" in out
