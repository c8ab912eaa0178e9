"""instrument()/uninstrument() lifecycle, the entry point, and configuration errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import llm_cost_otel
from support import anthropic_client, json_response, message_json

MSGS = [{"role": "user", "content": "hi"}]


def _originals() -> dict[str, Any]:
    from anthropic import _base_client, _response, _streaming

    return {
        "sync": _base_client.SyncAPIClient.__dict__["request"],
        "async": _base_client.AsyncAPIClient.__dict__["request"],
        "close": _streaming.Stream.__dict__["close"],
        "parse": _response.APIResponse.__dict__["parse"],
    }


def test_uninstrument_restores_exact_originals_in_any_order() -> None:
    llm_cost_otel.uninstrument()
    before = _originals()
    llm_cost_otel.instrument()
    llm_cost_otel.instrument()  # idempotent: no double wrapping
    patched = _originals()
    assert all(patched[k] is not before[k] for k in before)
    assert patched["sync"].__wrapped__ is before["sync"]  # wrapped once, not twice
    llm_cost_otel.uninstrument()
    llm_cost_otel.uninstrument()
    assert _originals() == before


def test_instrumented_call_without_providers_still_works() -> None:
    # No SDK configured: the API's no-op providers; calls behave exactly as before.
    llm_cost_otel.instrument()
    try:
        client = anthropic_client(lambda r: json_response(message_json()))
        msg = client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
        assert msg.content[0].text == "Hello!"
    finally:
        llm_cost_otel.uninstrument()


def test_uninstrumented_client_records_nothing(otel: Any) -> None:
    llm_cost_otel.uninstrument()
    client = anthropic_client(lambda r: json_response(message_json()))
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert otel.chat_spans() == []


def test_bad_price_file_fails_instrument_and_patches_nothing(tmp_path: Path) -> None:
    llm_cost_otel.uninstrument()
    before = _originals()
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps({"models": {"my-model": {"input": -1, "output": 2}}}))
    with pytest.raises(llm_cost_otel.PriceOverrideError) as info:
        llm_cost_otel.instrument(prices=bad)
    assert str(bad) in str(info.value) and "models.my-model.input" in str(info.value)
    assert _originals() == before


def test_override_file_prices_custom_deployment(otel: Any, tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(
        textwrap.dedent(
            """
            [models.acme-claude-ft]
            input = 2.0
            output = 8.0
            """
        )
    )
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, prices=prices)
    client = anthropic_client(
        lambda r: json_response(
            message_json(model="acme-claude-ft", usage={"input_tokens": 1000, "output_tokens": 100})
        )
    )
    client.messages.create(model="acme-claude-ft", max_tokens=10, messages=MSGS)
    (span,) = otel.chat_spans()
    assert span.attributes["llm_cost.price.source"] == "override"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(1000 * 2.0 / 1e6 + 100 * 8.0 / 1e6)


def test_telemetry_failure_never_reaches_the_app(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_cost_otel import telemetry

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(telemetry.Telemetry, "record_metrics", boom)
    client = anthropic_client(lambda r: json_response(message_json()))
    msg = client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert msg.id == "msg_01"
    assert len(otel.chat_spans()) == 1  # the span still ended


def test_opentelemetry_instrument_loads_entry_point(tmp_path: Path) -> None:
    """Zero-code path: `opentelemetry-instrument python app.py` finds llm_cost_anthropic."""
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            import json, httpx2, anthropic
            from anthropic import _base_client
            body = {"id": "m", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
                    "content": [], "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": 1000, "output_tokens": 100}}
            client = anthropic.Anthropic(api_key="k", http_client=httpx2.Client(
                transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=body))))
            msg = client.messages.create(
                model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
            import llm_cost_otel
            print("WRAPPED", hasattr(_base_client.SyncAPIClient.request, "__wrapped__"))
            print("COST", llm_cost_otel.cost_of(msg).total)
            """
        )
    )
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "",
    }
    bindir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(app)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "WRAPPED True" in result.stdout
    cost_line = next(line for line in result.stdout.splitlines() if line.startswith("COST"))
    assert float(cost_line.split()[1]) == pytest.approx(1000 * 1.0 / 1e6 + 100 * 5.0 / 1e6)
    assert '"gen_ai.usage.cost"' in result.stdout  # the console exporter printed our span


def test_an_instrumentor_given_only_baggage_attributes_gets_them() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from llm_cost_otel.active import active
    from llm_cost_otel.anthropic import AnthropicInstrumentor

    tracer_provider = TracerProvider()
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(tracer_provider=tracer_provider)
    try:
        AnthropicInstrumentor().uninstrument()
        AnthropicInstrumentor().instrument(tracer_provider=tracer_provider, baggage_attributes=["tenant.id"])
        telemetry = active("llm_cost_otel.anthropic")
        assert telemetry is not None and "tenant.id" in telemetry.baggage_keys
    finally:
        llm_cost_otel.uninstrument()
