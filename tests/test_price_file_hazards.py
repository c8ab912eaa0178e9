"""Price override hazards: paths that are not regular files, oversized or deeply nested files,
and multipliers that overflow. Each must end in a PriceOverrideError that names the file (or an
unpriced call at run time), never a hang, a raw exception or an inf/NaN cost."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import llm_cost_otel
from llm_cost_otel import telemetry
from llm_cost_otel.pricing import Overrides, PriceBook, PriceOverrideError, RateSet, load_overrides
from llm_cost_otel.pricing.overrides import MAX_DEPTH, MAX_FILE_BYTES, CustomModel, Discount
from llm_cost_otel.usage import Usage
from support import anthropic_client, json_response, message_json

SONNET_45_ID = "claude-sonnet-4-5-20250929"
WATCHDOG_SECONDS = 10.0


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)


def _error(load: Callable[[], object]) -> str:
    with pytest.raises(PriceOverrideError) as info:
        load()
    return str(info.value)


# --- paths that are not regular files -----------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    path = tmp_path / "prices_pipe.json"
    os.mkfifo(path)
    yield path


def _run_with_watchdog(load: Callable[[], object], fifo: Path) -> BaseException | None:
    """Run ``load`` in a thread; fail (instead of hanging the suite) if it blocks on the FIFO."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            load()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, name="price-file-watchdog", daemon=True)
    thread.start()
    thread.join(WATCHDOG_SECONDS)
    if thread.is_alive():
        # A writer end releases an open() blocked on the pipe, so the stuck thread finishes.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(WATCHDOG_SECONDS)
        pytest.fail(f"loading {fifo} blocked for more than {WATCHDOG_SECONDS}s")
    return outcome[0]


def _assert_fifo_refused(exc: BaseException | None, fifo: Path) -> None:
    assert isinstance(exc, PriceOverrideError), repr(exc)
    message = str(exc)
    assert message.startswith(f"{fifo}: ")
    assert "FIFO" in message and "not a regular file" in message


def test_fifo_is_refused_without_blocking(fifo: Path) -> None:
    _assert_fifo_refused(_run_with_watchdog(lambda: load_overrides(fifo), fifo), fifo)


def test_fifo_from_env_var_is_refused_without_blocking(fifo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(fifo))
    _assert_fifo_refused(_run_with_watchdog(PriceBook.from_config, fifo), fifo)


def test_fifo_fails_instrument_before_anything_is_patched(fifo: Path) -> None:
    import anthropic._base_client as base_client

    request = base_client.SyncAPIClient.request
    active = telemetry.active()
    try:
        exc = _run_with_watchdog(lambda: llm_cost_otel.instrument(prices=fifo), fifo)
        _assert_fifo_refused(exc, fifo)
        assert base_client.SyncAPIClient.request is request
        assert telemetry.active() is active
    finally:
        llm_cost_otel.uninstrument()


@pytest.mark.skipif(not os.path.exists("/dev/zero") or sys.platform != "linux", reason="needs Linux /dev/zero")
def test_character_device_is_refused() -> None:
    # In a child with capped memory: a regression would read /dev/zero until memory runs out.
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from llm_cost_otel.pricing import PriceOverrideError, load_overrides\n"
        "try:\n"
        "    load_overrides('/dev/zero')\n"
        "except PriceOverrideError as exc:\n"
        "    print(exc)\n"
        "except BaseException as exc:\n"
        "    print('raised', type(exc).__name__)\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    message = child.stdout.strip()
    assert message.startswith("/dev/zero: "), (message, child.stderr[-2000:])
    assert "character device" in message


def test_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices_dir.json"
    path.mkdir()
    message = _error(lambda: PriceBook.from_config(path))
    assert message.startswith(f"{path}: ")
    assert "is a directory, not a regular file" in message


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        message = _error(lambda: load_overrides(path))
    assert message.startswith(f"{path}: ")
    assert "a socket" in message.removeprefix(str(path))


def test_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices_big.json"
    body = '{"models": {}}'
    path.write_text(body + " " * (MAX_FILE_BYTES + 1 - len(body)))
    message = _error(lambda: load_overrides(path))
    assert str(path) in message
    assert f"{MAX_FILE_BYTES} bytes" in message


def test_file_at_the_size_cap_loads(tmp_path: Path) -> None:
    path = tmp_path / "prices_full.json"
    body = '{"discounts": [{"multiplier": 0.5}]}'
    path.write_text(body + " " * (MAX_FILE_BYTES - len(body)))
    assert load_overrides(path).discounts[0].multiplier == 0.5


def test_file_growing_after_the_stat_is_read_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The size fstat reports may be stale by the time the file is read: the read itself is capped.
    path = tmp_path / "prices_growing.json"
    body = '{"models": {}}'
    path.write_text(body + " " * (4 * MAX_FILE_BYTES))
    real_fstat = os.fstat

    def stale_fstat(fd: int) -> os.stat_result:
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10, 0, 0, 0))

    monkeypatch.setattr(os, "fstat", stale_fstat)
    message = _error(lambda: load_overrides(path))
    assert str(path) in message
    assert f"{MAX_FILE_BYTES} bytes" in message


def test_file_that_is_not_utf8_names_it(tmp_path: Path) -> None:
    path = tmp_path / "prices_latin1.json"
    path.write_bytes(b'{"aliases": {"caf\xe9": "x"}}')
    message = _error(lambda: load_overrides(path))
    assert str(path) in message
    assert "UTF-8" in message


def test_path_with_a_nul_byte_is_an_override_error() -> None:
    message = _error(lambda: load_overrides("prices\0.json"))
    assert "cannot read" in message


# --- deep nesting --------------------------------------------------------------------------


def _nested_json(depth: int, kind: str) -> str:
    if kind == "array":
        return '{"models": ' + "[" * depth + "]" * depth + "}"
    return '{"models": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


def _nested_toml(depth: int, kind: str) -> str:
    if kind == "array":
        return "x = " + "[" * depth + "]" * depth + "\n"
    return "x = " + "{a = " * depth + "1" + "}" * depth + "\n"


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [900, 5_000])
def test_deeply_nested_json_is_refused(tmp_path: Path, depth: int, kind: str) -> None:
    path = tmp_path / "prices_deep.json"
    path.write_text(_nested_json(depth, kind))
    message = _error(lambda: PriceBook.from_config(path))
    assert message == f"{path}: nested deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [900, 5_000])
def test_deeply_nested_toml_is_refused(tmp_path: Path, depth: int, kind: str) -> None:
    path = tmp_path / "prices_deep.toml"
    path.write_text(_nested_toml(depth, kind))
    message = _error(lambda: PriceBook.from_config(path))
    assert message == f"{path}: nested deeper than {MAX_DEPTH} levels"


def test_deep_toml_table_header_is_refused(tmp_path: Path) -> None:
    # a dotted header nests without brackets, so only the parsed data shows the depth
    path = tmp_path / "prices_deep_header.toml"
    path.write_text("[models." + ".".join(["a"] * 3_000) + "]\nx = 1\n")
    message = _error(lambda: load_overrides(path))
    assert message == f"{path}: nested deeper than {MAX_DEPTH} levels"


def test_just_past_the_depth_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices_deep.json"
    path.write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(PriceOverrideError, match="<top level>"):
        load_overrides(path)  # at the limit: not too deep, just not an object
    path.write_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert _error(lambda: load_overrides(path)) == f"{path}: nested deeper than {MAX_DEPTH} levels"


def test_brackets_inside_json_strings_do_not_count(tmp_path: Path) -> None:
    path = tmp_path / "prices_brackets.json"
    alias = '[{\\"' * 2_000  # brackets and escaped quotes inside a string (an alias name)
    path.write_text('{"aliases": {"' + alias + '": "claude-haiku-4-5"}}')
    overrides = load_overrides(path)
    assert overrides.aliases['[{"' * 2_000] == "claude-haiku-4-5"


def test_deeply_nested_mapping_is_refused() -> None:
    data: dict[str, Any] = {}
    cur = data
    for _ in range(5_000):
        cur["a"] = {}
        cur = cur["a"]
    message = _error(lambda: PriceBook.from_config({"models": data}))
    assert message == f"prices=: nested deeper than {MAX_DEPTH} levels"


def test_self_referencing_mapping_is_refused() -> None:
    data: dict[str, Any] = {"models": {}}
    data["models"]["loop"] = data
    message = _error(lambda: load_overrides(data))
    assert message == f"prices=: nested deeper than {MAX_DEPTH} levels"


def test_recursion_error_during_parse_is_an_override_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Even within the depth limit, a parser that runs out of stack must not escape as RecursionError.
    import json as json_module

    def exhausted(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(json_module, "loads", exhausted)
    path = tmp_path / "prices_ok.json"
    path.write_text('{"models": {}}')
    assert _error(lambda: load_overrides(path)) == f"{path}: nested deeper than {MAX_DEPTH} levels"


def test_legitimate_depth_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "prices_tiers.json"
    spec = {"models": {"m": {"input": 1, "output": 2, "tiers": [{"above_input_tokens": 10, "input": 3}]}}}
    path.write_text(json.dumps(spec))
    assert [t for t, _ in load_overrides(path).models["m"].tiers] == [10]


# --- overflowing multipliers: refused at load time ---------------------------------------


def test_stacked_discounts_that_overflow_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices_stack.json"
    path.write_text(json.dumps({"discounts": [{"multiplier": 1e308}, {"model": "claude-*", "multiplier": 1e308}]}))
    message = _error(lambda: PriceBook.from_config(path))
    assert message.startswith(f"{path}: discounts.")
    assert "not finite" in message


def test_discounts_that_can_never_stack_are_not_multiplied_together() -> None:
    # literal providers that differ never match the same call
    book = PriceBook.from_config(
        {
            "discounts": [
                {"provider": "anthropic", "multiplier": 1e200},
                {"provider": "gcp.vertex_ai", "multiplier": 1e200},
            ]
        }
    )
    cost = book.cost("anthropic", SONNET_45_ID, Usage(input_tokens=1))
    assert cost is not None and math.isfinite(cost.total)


def test_custom_rate_times_discount_that_overflows_is_refused() -> None:
    spec = {
        "models": {"big-model": {"input": 1e300, "output": 1}},
        "aliases": {"big": "big-model"},
        "discounts": [{"model": "big", "multiplier": 1e20}],  # matches through the alias
    }
    message = _error(lambda: load_overrides(spec))
    assert message.startswith("prices=: models.big-model: ")
    assert "not finite" in message


# --- overflowing multipliers: unpriced at run time, never inf/NaN ---------------------------


def _stacked(*extra: Discount) -> Overrides:
    # built directly, past load-time validation, to exercise the run-time guard
    return Overrides(source="stacked.toml", discounts=(Discount("*", "*", 1e308), Discount("*", "*", 1e308), *extra))


def test_non_finite_discounted_rates_leave_the_model_unpriced(caplog: pytest.LogCaptureFixture) -> None:
    book = PriceBook(_stacked())
    with caplog.at_level(logging.DEBUG, logger="llm_cost_otel"):  # a warning the first time, then debug
        assert book.rates("anthropic", SONNET_45_ID) is None
        assert book.cost("anthropic", SONNET_45_ID, Usage(input_tokens=10, output_tokens=10)) is None
    messages = [r.getMessage() for r in caplog.records]
    assert any("anthropic/claude-sonnet-4-5 " in m and "not finite" in m and "stacked.toml" in m for m in messages)


def test_nan_from_stacked_discounts_leaves_the_model_unpriced() -> None:
    # inf x 0 is NaN: no rate must come out of it
    book = PriceBook(_stacked(Discount("*", "*", 0.0)))
    assert book.rates("anthropic", SONNET_45_ID) is None
    assert book.cost("anthropic", SONNET_45_ID, Usage(input_tokens=10)) is None


def test_non_finite_rates_on_an_addition_leave_it_unpriced() -> None:
    # text-embedding-004 on Vertex AI is priced by llm-cost-otel's additions, not the catalog
    book = PriceBook(_stacked())
    assert PriceBook().rates("gcp.vertex_ai", "text-embedding-004") is not None
    assert book.rates("gcp.vertex_ai", "text-embedding-004") is None


def test_non_finite_custom_model_is_unpriced() -> None:
    custom = CustomModel(provider=None, base=RateSet(input=math.inf, output=1e-6), tiers=(), batch_multiplier=0.5)
    book = PriceBook(Overrides(source="direct", models={"inf-model": custom}))
    assert book.rates("anthropic", "inf-model") is None
    assert book.cost("anthropic", "inf-model", Usage(input_tokens=1)) is None


def test_huge_finite_rate_times_huge_usage_is_unpriced_not_inf() -> None:
    book = PriceBook.from_config({"models": {"huge": {"input": 1e300, "output": 1e300}}})
    assert book.cost("x", "huge", Usage(input_tokens=1)) is not None
    assert book.cost("x", "huge", Usage(input_tokens=10**20)) is None
    # each part is finite (1e308), their total is not
    assert book.cost("x", "huge", Usage(input_tokens=10**14, output_tokens=10**14)) is None


def test_huge_cache_savings_are_unpriced_not_inf() -> None:
    book = PriceBook.from_config({"models": {"huge": {"input": 1e300, "output": 1, "cache_read": 0}}})
    assert book.cost("x", "huge", Usage(cache_read_tokens=10**20)) is None


def test_overflowing_call_counts_unpriced_and_never_poisons_the_cost_counter(otel: Any) -> None:
    llm_cost_otel.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, prices=_stacked()
    )
    usage = {"input_tokens": 10, "output_tokens": 5}
    overflowing = anthropic_client(lambda r: json_response(message_json(model=SONNET_45_ID, usage=usage)))
    overflowing.messages.create(model=SONNET_45_ID, max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert sum(p.value for p in otel.metric_points("llm_cost.unpriced")) == 1
    assert all(math.isfinite(p.value) for p in otel.metric_points("llm_cost.usd"))
