"""CI guard for issue 7: ``bench/run.py --quick`` must find no gross overhead regression.

The quick benchmark takes a few seconds and fails only far past the goals (added cost over 6x
the OpenTelemetry floor measured next to the same SDK call, over 10 us per streamed chunk,
over 200 ms of import time, over 50 us to price a call, or genai_prices/pydantic imported by
``import llm_cost_otel``), and re-measures a timing failure before reporting it, so noise on
a loaded machine does not fail the build. The numbers are in the output of a failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_finds_no_gross_regression() -> None:
    pytest.importorskip("anthropic")
    pytest.importorskip("google.genai")
    pytest.importorskip("opentelemetry.sdk")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"{proc.stdout[-8000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
