"""``bench/opcount.py`` counts real work: none, the floor and llm-cost-otel each run their call,
and the plugin's added bytecodes lie between nothing and a gross regression (6x the floor)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_opcount_reports_the_added_work_against_the_floor() -> None:
    pytest.importorskip("anthropic")
    pytest.importorskip("opentelemetry.sdk")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "opcount.py"), "anthropic.create", "--top", "40"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    head = re.search(r"none ([\d,]+) bytecodes per call; floor ([\d,]+)", proc.stdout)
    added = re.search(r"llm-cost-otel +\+([\d,]+) +\(([\d.]+)x the floor\)", proc.stdout)
    assert head and added, proc.stdout
    none, floor = (int(g.replace(",", "")) for g in head.groups())
    assert none > 10_000 and floor > 1_000  # the SDK call and the floor's span really ran
    assert 0 < int(added.group(1).replace(",", "")) < 6 * floor, proc.stdout
    # the count reaches into both the plugin's own code and the OpenTelemetry work it causes
    differences = proc.stdout.split("differ most", 1)[1]
    assert "llm_cost_otel/spans.py:write_outcome" in differences, differences
    assert "opentelemetry/sdk/trace/" in differences, differences
