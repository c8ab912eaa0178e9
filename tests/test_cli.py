"""``llm-cost-otel prices``: what it prints, its exit codes, and the installed console script.

Expected rates are published list prices (USD per million tokens) written here as literals.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llm_cost_otel.cli import main

DATA = Path(__file__).parent / "data"
DATE = ["--date", "2026-11-01"]

RATE_LINE = re.compile(r"^  (\w+)\s+([\d.]+) (USD / 1M tokens|USD / 1K requests)\s+\[(\w+)\]$")


def parse(out: str) -> tuple[dict[str, str], dict[str, dict[str, tuple[float, str]]], list[str]]:
    """Header fields, rates per section (name -> (value, origin)), and notes."""
    header: dict[str, str] = {}
    sections: dict[str, dict[str, tuple[float, str]]] = {}
    notes: list[str] = []
    current: dict[str, tuple[float, str]] | None = None
    for line in out.splitlines():
        if line.startswith("rates ("):
            current = sections.setdefault(line[len("rates (") : -2], {})
        elif line.startswith("note: "):
            notes.append(line[len("note: ") :])
        elif (m := RATE_LINE.match(line)) is not None:
            assert current is not None, line
            current[m.group(1)] = (float(m.group(2)), m.group(4))
        elif ":" in line:
            key, value = line.split(":", 1)
            header[key] = value.strip()
    return header, sections, notes


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)


def test_sonnet_4_shows_correction_and_both_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "prices", "claude-sonnet-4-20250514", *DATE)
    assert code == 0, err
    header, sections, notes = parse(out)
    assert header["model"] == "claude-sonnet-4-20250514 (anthropic)"
    assert header["matched"] == "claude-sonnet-4-0"
    assert header["source"] == "correction"
    assert header["version"].startswith("genai-prices ")
    assert list(sections) == ["base", "input > 200,000 tokens"]
    base, long = sections["base"], sections["input > 200,000 tokens"]
    assert base["input"] == (3.0, "catalog")
    assert base["output"] == (15.0, "catalog")
    assert base["cache_read"] == (0.3, "catalog")
    assert base["cache_write_5m"] == (3.75, "catalog")
    assert base["cache_write_1h"] == (6.0, "catalog")
    assert base["web_search"] == (10.0, "catalog")
    assert long["input"] == (6.0, "correction")
    assert long["output"] == (22.5, "correction")
    assert long["cache_read"] == (0.6, "correction")
    assert long["cache_write_5m"] == (7.5, "correction")
    assert long["cache_write_1h"] == (12.0, "correction")
    assert any(n.startswith("correction claude-sonnet-4-long-context (since 2025-08-12)") for n in notes)
    assert "USD / 1K requests" in out


def test_sonnet_4_before_correction_date_has_one_tier(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "claude-sonnet-4-20250514", "--date", "2025-08-11")
    assert code == 0
    header, sections, notes = parse(out)
    assert header["source"] == "catalog"
    assert list(sections) == ["base"]
    assert not any("long-context" in n for n in notes)


def test_batch_rates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "claude-opus-4-1", "--batch", *DATE)
    assert code == 0
    header, sections, notes = parse(out)
    assert header["model"] == "claude-opus-4-1 (anthropic, batch)"
    assert header["source"] == "correction"
    base = sections["base"]
    # 50% of $15 / $75 / $1.50 / $18.75 / $30; web search stays $10 per 1,000
    assert base["input"] == (7.5, "correction")
    assert base["output"] == (37.5, "correction")
    assert base["cache_read"] == (0.75, "correction")
    assert base["cache_write_5m"] == (9.375, "correction")
    assert base["cache_write_1h"] == (15.0, "correction")
    assert base["web_search"] == (10.0, "catalog")
    assert any("batch-discount" in n for n in notes)


@pytest.mark.parametrize(("day", "source"), [("2026-06-01", "correction"), ("2026-11-01", "catalog")])
def test_batch_sonnet_45_before_and_after_catalog_batch_prices(
    capsys: pytest.CaptureFixture[str], day: str, source: str
) -> None:
    code, out, _ = run(capsys, "prices", "claude-sonnet-4-5", "--batch", "--date", day)
    assert code == 0
    header, sections, _ = parse(out)
    assert header["source"] == source
    assert sections["base"]["input"][0] == 1.5
    assert sections["base"]["output"][0] == 7.5
    assert sections["input > 200,000 tokens"]["input"][0] == 3.0
    assert sections["input > 200,000 tokens"]["output"][0] == 11.25


def test_vertex_provider(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "claude-sonnet-4@20250514", "--provider", "gcp.vertex_ai", *DATE)
    assert code == 0
    header, sections, notes = parse(out)
    assert header["model"] == "claude-sonnet-4@20250514 (gcp.vertex_ai)"
    assert header["source"] == "correction"
    assert sections["base"]["input"] == (3.0, "catalog")
    assert sections["base"]["cache_write_1h"] == (6.0, "correction")
    assert sections["input > 200,000 tokens"]["cache_write_1h"] == (12.0, "correction")
    assert any(n.startswith("correction claude-1h-cache-write") for n in notes)
    assert any(n.startswith("catalog: google/") for n in notes)


def test_gemini_via_resource_path(capsys: pytest.CaptureFixture[str]) -> None:
    model = "projects/p/locations/l/publishers/google/models/gemini-2.5-flash"
    code, out, _ = run(capsys, "prices", model, "--provider", "gcp.vertex_ai", *DATE)
    assert code == 0
    header, sections, _ = parse(out)
    assert header["matched"] == "gemini-2.5-flash"
    assert sections["base"]["input"] == (0.3, "catalog")
    assert sections["base"]["input_audio"] == (1.0, "catalog")
    assert sections["base"]["output"] == (2.5, "catalog")
    assert sections["base"]["cache_read"] == (0.03, "catalog")


def test_unknown_model_exit_1_and_unpriced(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "claude-imaginary-9")
    assert code == 1
    assert "claude-imaginary-9 (anthropic)" in out
    assert "unpriced" in out
    assert "never as $0" in out


def test_default_date_is_today(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "claude-haiku-4-5")
    assert code == 0
    _, sections, _ = parse(out)
    assert sections["base"]["input"] == (1.0, "catalog")
    assert sections["base"]["output"] == (5.0, "catalog")


def test_bad_prices_file_exit_2_names_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "prices_unknown_key.json"
    code, out, err = run(capsys, "prices", "claude-haiku-4-5", "--prices", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert str(path) in err
    assert "models.acme-ft" in err


def test_bad_toml_prices_file_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "prices_bad_syntax.toml"
    code, _, err = run(capsys, "prices", "claude-haiku-4-5", "--prices", str(path))
    assert code == 2
    assert str(path) in err and "invalid TOML" in err


def test_bad_prices_from_env_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = DATA / "prices_negative.toml"
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(path))
    code, _, err = run(capsys, "prices", "claude-haiku-4-5")
    assert code == 2
    assert str(path) in err and "models.acme-ft.tiers.0.input" in err


def test_override_file_custom_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "acme-claude-ft", "--prices", str(DATA / "prices_custom.toml"), *DATE)
    assert code == 0
    header, sections, notes = parse(out)
    assert header["source"] == "override"
    assert header["version"].endswith("+overrides:prices_custom.toml")
    assert sections["base"]["input"] == (2.0, "override")
    assert sections["base"]["web_search"] == (12.0, "override")
    assert sections["input > 100,000 tokens"]["input"] == (4.0, "override")
    assert sections["input > 100,000 tokens"]["cache_read"] == (0.2, "override")
    assert any("custom model" in n for n in notes)


def test_override_file_discount_marks_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    # prices_custom.toml gives Claude on Vertex x0.9
    args = ["prices", "claude-sonnet-4@20250514", "--provider", "gcp.vertex_ai"]
    code, out, _ = run(capsys, *args, "--prices", str(DATA / "prices_custom.toml"), *DATE)
    assert code == 0
    header, sections, notes = parse(out)
    assert header["source"] == "override"
    assert sections["base"]["input"] == (2.7, "override")
    assert sections["input > 200,000 tokens"]["input"] == (5.4, "override")
    assert any("discount x0.9" in n for n in notes)


def test_alias_from_env(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(DATA / "prices_custom.toml"))
    code, out, _ = run(capsys, "prices", "prod-sonnet", *DATE)
    assert code == 0
    header, sections, _ = parse(out)
    assert header["matched"] == "claude-sonnet-4-5"
    assert sections["base"]["input"] == (3.0, "catalog")


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["prices", "claude-haiku-4-5", "--date", "01/11/2026"])
    assert info.value.code == 2
    assert "--date" in capsys.readouterr().err


def test_missing_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def _console_script() -> list[str]:
    beside_python = Path(sys.executable).with_name("llm-cost-otel")
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("llm-cost-otel")
    return [found] if found else [sys.executable, "-m", "llm_cost_otel.cli"]


def test_installed_console_script() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LLM_COST_OTEL_PRICES"}
    ok = subprocess.run(
        [*_console_script(), "prices", "claude-sonnet-4-20250514", *DATE],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    header, sections, _ = parse(ok.stdout)
    assert header["source"] == "correction"
    assert sections["input > 200,000 tokens"]["output"] == (22.5, "correction")

    unknown = subprocess.run(
        [*_console_script(), "prices", "claude-imaginary-9"], capture_output=True, text=True, env=env, timeout=60
    )
    assert unknown.returncode == 1
    assert "unpriced" in unknown.stdout

    bad = subprocess.run(
        [*_console_script(), "prices", "claude-haiku-4-5", "--prices", str(DATA / "prices_bad_syntax.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "prices_bad_syntax.json" in bad.stderr and "line 3" in bad.stderr
