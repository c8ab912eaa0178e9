"""The ``llm-cost-otel`` command: ``prices`` output and exit codes, the top-level help and
``--version``, and the errors of ``demo`` and ``budgets render`` (one line, no traceback).

Expected rates are published list prices (USD per million tokens) written here as literals.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from llm_cost_otel.cli import main
from llm_cost_otel.version import __version__

DATA = Path(__file__).parent / "data"
DATE = ["--date", "2026-11-01"]

RATE_LINE = re.compile(
    r"^  (\w+)\s+([\d.]+) (USD / 1M tokens|USD / 1M chars|USD / image|USD / 1K requests)\s+\[(\w+)\]$"
)


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
        elif line.startswith("  "):
            raise AssertionError(f"a rate line in no known unit: {line!r}")
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


# --- units: each rate in the unit its price list uses ---------------------------------------------


def rate_lines(out: str) -> dict[str, tuple[float, str]]:
    """The base section's rates: name -> (number, unit), as printed."""
    found: dict[str, tuple[float, str]] = {}
    for line in out.split("rates (input >", 1)[0].splitlines():
        if (m := RATE_LINE.match(line)) is not None:
            found[m.group(1)] = (float(m.group(2)), m.group(3))
    return found


# Google's published prices, USD per generated image (Gemini API and Vertex AI alike).
IMAGEN_PRICES = {
    "imagen-4.0-generate-001": 0.04,
    "imagen-4.0-fast-generate-001": 0.02,
    "imagen-4.0-ultra-generate-001": 0.06,
}


@pytest.mark.parametrize("provider", ["gcp.vertex_ai", "gcp.gemini"])
@pytest.mark.parametrize("model", list(IMAGEN_PRICES))
def test_imagen_rate_is_usd_per_image(capsys: pytest.CaptureFixture[str], model: str, provider: str) -> None:
    code, out, err = run(capsys, "prices", model, "--provider", provider, *DATE)
    assert code == 0, err
    assert rate_lines(out) == {"output_image": (IMAGEN_PRICES[model], "USD / image")}
    assert "1M" not in out.split("rates (base):", 1)[1].split("note:", 1)[0]


def test_text_model_rates_are_usd_per_million_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "claude-haiku-4-5", *DATE)
    assert code == 0
    rates = rate_lines(out)
    assert rates["input"] == (1.0, "USD / 1M tokens")  # Haiku 4.5: $1 in, $5 out per MTok
    assert rates["output"] == (5.0, "USD / 1M tokens")


def test_web_search_fee_is_usd_per_thousand_requests(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "claude-sonnet-4-5", *DATE)
    assert code == 0
    rates = rate_lines(out)
    assert rates["web_search"] == (10.0, "USD / 1K requests")  # Claude web search: $10 per 1,000 searches
    assert rates["input"] == (3.0, "USD / 1M tokens")


def test_character_priced_embeddings_are_usd_per_million_chars(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "text-embedding-004", "--provider", "gcp.vertex_ai", *DATE)
    assert code == 0
    # Vertex AI legacy text embeddings: $0.000025 per 1,000 input characters
    assert rate_lines(out) == {"input_character": (0.025, "USD / 1M chars")}


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
    assert err.startswith("llm-cost-otel prices: error: ")
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


def test_unknown_provider_is_a_usage_error_listing_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    line = _usage_error(capsys, "prices", "claude-haiku-4-5", "--provider", "nope")
    assert line.startswith("llm-cost-otel prices: error: argument --provider: "), line
    assert "'nope'" in line
    for provider in ("anthropic", "aws.bedrock", "gcp.vertex_ai", "gcp.gemini", "azure.ai.foundry"):
        assert provider in line, line


def test_every_provider_the_price_book_knows_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    for provider in ("anthropic", "aws.bedrock", "gcp.vertex_ai", "gcp.gemini", "azure.ai.foundry"):
        code, out, err = run(capsys, "prices", "claude-sonnet-4-5", "--provider", provider, *DATE)
        assert code == 0, (provider, err)
        assert f"claude-sonnet-4-5 ({provider})" in out


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


# --- top level: --help and --version -----------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"llm-cost-otel {__version__}\n"


def test_top_level_help_lists_each_command_on_one_plain_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out and "MODEL [--provider P]" not in out  # no reST markup, no stale synopsis
    assert "--version" in out
    for command in ("prices", "demo", "budgets"):
        (line,) = [line for line in out.splitlines() if line.split()[:1] == [command]]
        assert len(line.split()) > 3, line  # the name and its help on the same line
    assert max(len(line) for line in out.splitlines()) <= 80


# --- errors: one line naming the bad value, exit status 2 (usage) or 1 (runtime), no traceback ---


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The error line of a usage error (argparse: usage lines, then ``PROG: error: ...``)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


DEMO_USAGE_ERRORS = [
    (["--serve", "--port", "70000"], ["argument --port", "'70000'", "0 and 65535"]),
    (["--serve", "--port", "-1"], ["argument --port", "'-1'"]),
    (["--serve", "--port", "http"], ["argument --port", "not a port number: 'http'"]),
    (["--rate", "-1"], ["argument --rate", "must be > 0", "'-1'"]),
    (["--rate", "0"], ["argument --rate", "must be > 0", "'0'"]),
    (["--rate", "1e400"], ["argument --rate", "not a finite number: '1e400'"]),
    (["--rate", "inf"], ["argument --rate", "not a finite number: 'inf'"]),
    (["--rate", "nan"], ["argument --rate", "not a finite number: 'nan'"]),
    (["--rate", "5000"], ["argument --rate", "at most 1000", "'5000'"]),
    (["--latency", "nan"], ["argument --latency", "'nan'"]),
    (["--latency", "1e6"], ["argument --latency", "between 0 and 100", "'1e6'"]),
    (["--error-rate", "nan"], ["argument --error-rate", "'nan'"]),
    (["--duration", "0s"], ["argument --duration", "more than 0s and at most 24h", "'0s'"]),
    (["--duration", "25h"], ["argument --duration", "more than 0s and at most 24h", "'25h'"]),
    (["--duration", "1e400"], ["argument --duration", "'1e400'"]),
    (["--duration", "nan"], ["argument --duration", "'nan'"]),
    (["--duration", "1m30"], ["argument --duration", "not a duration: '1m30'"]),
    (["--duration", "1.5.5s"], ["argument --duration", "not a duration"]),
    (["--seed", "1.5"], ["argument --seed", "'1.5'"]),
    (["--port", "8765"], ["argument --port", "only applies with --serve"]),
    (["--serve", "--duration", "10s"], ["argument --duration", "not allowed with --serve"]),
    (["--serve", "--rate", "5"], ["argument --rate", "not allowed with --serve"]),
    (["--rate", "5", "--serve", "--port", "0"], ["argument --rate", "not allowed with --serve"]),
]


@pytest.mark.parametrize(("argv", "words"), DEMO_USAGE_ERRORS, ids=[" ".join(argv) for argv, _ in DEMO_USAGE_ERRORS])
def test_bad_demo_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], words: list[str]
) -> None:
    from llm_cost_otel.demo import command

    # an option let through would serve until Ctrl-C, or run a demo: fail instead of hanging
    monkeypatch.setattr(command, "_serve", lambda args: pytest.fail("served"))
    monkeypatch.setattr(command, "run", lambda options: pytest.fail("ran the demo"))
    line = _usage_error(capsys, "demo", *argv)
    assert line.startswith("llm-cost-otel demo: error: "), line
    for word in words:
        assert word in line, line


@pytest.mark.parametrize(
    ("argv", "duration", "rate"),
    [([], 30.0, 8.0), (["--duration", "2m", "--rate", "3"], 120.0, 3.0), (["--rate", "0.5"], 30.0, 0.5)],
)
def test_demo_duration_and_rate_reach_the_run(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], duration: float, rate: float
) -> None:
    """Without --serve the two options (or their documented defaults: 30s, 8/s) drive the run."""
    from llm_cost_otel.demo import command

    seen: list[command.Options] = []
    monkeypatch.setattr(command, "run", seen.append)
    assert main(["demo", "--no-progress", *argv]) == 0
    (options,) = seen
    assert (options.duration, options.rate) == (duration, rate)


def test_serve_on_a_busy_port_is_a_runtime_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run(capsys, "demo", "--serve", "--port", str(port))
    assert code == 1 and out == ""
    assert err == f"llm-cost-otel demo: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


EXAMPLE_BUDGETS = Path(__file__).parents[1] / "budgets.example.yaml"


def test_budgets_output_in_a_missing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "x.yml"
    code, out, err = run(capsys, "budgets", "render", str(EXAMPLE_BUDGETS), "-o", str(target))
    assert code == 1 and out == ""
    assert err == f"llm-cost-otel budgets render: error: cannot write {target}: No such file or directory\n"
    assert not target.parent.exists()


def test_budgets_output_is_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "budgets", "render", str(EXAMPLE_BUDGETS), "-o", str(tmp_path))
    assert code == 1
    assert err == f"llm-cost-otel budgets render: error: cannot write {tmp_path}: Is a directory\n"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"budgets: [\n", ["not valid YAML at line 2, column 1", "expected the node content"]),
        (b"budgets:\n  - name: a\n\twindow: 1d\n", ["not valid YAML at line 3, column 1", "'\\t'"]),
        (b"budgets:\n  - name: \x01\n", ["not valid YAML at line 2, column 11", "#x0001"]),
        (b"a: 1\n---\nb: 2\n", ["not valid YAML at line 2, column 1", "a single document"]),
        (b"[" * 20_000, ["not valid YAML: nested too deeply"]),
        (b"budgets:\n  - name: caf\xe9\n", ["not UTF-8 text (byte 0xe9 at line 2)"]),
        (b"x" * (1024 * 1024 + 1), ["larger than 1 MiB"]),
        (b"budgets: [{name: a, window: [1d], limit_usd: 1}]\n", ["budget 'a': window must be one of"]),
        (b"budgets: [{name: a, window: 1d, limit_usd: 1" + b"0" * 400 + b"}]\n", ["limit_usd must be a positive"]),
    ],
)
def test_bad_budgets_files_name_the_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, words: list[str]
) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_bytes(content)
    code, out, err = run(capsys, "budgets", "render", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"llm-cost-otel budgets render: error: {path}: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("name", ["missing.yaml", "."])
def test_unreadable_budgets_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    code, _, err = run(capsys, "budgets", "render", str(path))
    assert code == 2
    assert err.startswith(f"llm-cost-otel budgets render: error: {path}: cannot read: ") and err.count("\n") == 1


def test_the_reported_commands_print_no_traceback(tmp_path: Path) -> None:
    """The two commands from the bug report, through the installed console script."""
    for argv, status, words in (
        (["demo", "--serve", "--port", "70000"], 2, "argument --port"),
        (["budgets", "render", str(EXAMPLE_BUDGETS), "-o", "/nonexistent/dir/x.yml"], 1, "/nonexistent/dir/x.yml"),
    ):
        done = subprocess.run([*_console_script(), *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == status, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
        assert words in done.stderr.splitlines()[-1]


# --- demo --seed ---------------------------------------------------------------------------------

MODEL_LINE = re.compile(r"^  (\S+) .* (\d+) req, in .* out (\S+)$")
TOTAL_LINE = re.compile(r"^Total spend: \$([\d,.]+) ")


def _seeded(report: str) -> tuple[list[str], float]:
    """What a seed fixes, read from a demo report: the calls and the spend.

    The calls: the ``Requests:`` line and, per model, its requests and output tokens. Not its
    cache read/write split: two requests with one cached prefix that overlap in time may swap
    which one writes the cache (as on the real APIs), which moves the total by a fraction of a
    percent on a loaded machine. Nor what the clock decides: durations, latencies, the hourly rate.
    """
    calls = [line for line in report.splitlines() if line.startswith("Requests:")]
    calls += [" ".join(m.groups()) for line in report.splitlines() if (m := MODEL_LINE.match(line))]
    (total,) = [float(m.group(1).replace(",", "")) for line in report.splitlines() if (m := TOTAL_LINE.match(line))]
    return calls, total


def test_demo_runs_with_one_seed_send_the_same_calls() -> None:
    """Three short demos side by side, as separate processes: seed 7 twice, seed 8 once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_COST_OTEL_"))}
    runs = {
        name: subprocess.Popen(
            [*_console_script(), "demo", "--duration", "2s", "--seed", seed, "--no-progress"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, seed in (("a", "7"), ("b", "7"), ("other", "8"))
    }
    seeded = {}
    for name, process in runs.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        seeded[name] = _seeded(out)
    (calls_a, total_a), (calls_b, total_b), (calls_other, _) = seeded["a"], seeded["b"], seeded["other"]
    assert len(calls_a) > 3 and total_a > 0
    assert calls_a == calls_b
    assert total_b == pytest.approx(total_a, rel=0.005)
    assert calls_other != calls_a


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gemini-2.5-pro", "gcp.gemini"),
        ("imagen-3.0-generate-001", "gcp.gemini"),
        ("claude-sonnet-4-6", "anthropic"),
        ("claude-sonnet-4-5@20250929", "gcp.vertex_ai"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "aws.bedrock"),
        ("us.anthropic.claude-opus-4-6-v1", "aws.bedrock"),
    ],
)
def test_provider_is_inferred_from_the_model_name(
    capsys: pytest.CaptureFixture[str], model: str, provider: str
) -> None:
    code, out, _ = run(capsys, "prices", model)
    assert code == 0
    assert f"provider: {provider} (inferred from the model name" in out
    assert f"model:    {model} ({provider}" in out


def test_scope_and_geo_change_the_rates(capsys: pytest.CaptureFixture[str]) -> None:
    # Bedrock Sonnet 4.5: global $3 / $15, a geography or one Region $3.30 / $16.50; the
    # geography comes from the model id's prefix unless --scope says otherwise
    _, out, _ = run(capsys, "prices", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert "scope us" in out and re.search(r"input\s+3\.3000 ", out)
    _, out, _ = run(capsys, "prices", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "--scope", "global")
    assert "scope global" in out and re.search(r"input\s+3\.0000 ", out)
    # Claude API Opus 4.6 with inference_geo us: x1.1 ($5.50 / $27.50)
    _, out, _ = run(capsys, "prices", "claude-opus-4-6", "--geo", "us")
    assert re.search(r"output\s+27\.5000 ", out) and "inference_geo us" in out
