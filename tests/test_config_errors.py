"""A bad $LLM_COST_OTEL_PRICES under auto-instrumentation costs one clear error line, nothing more.

The distro calls our instrumentors' ``.instrument()`` without ``prices=``: a missing or invalid
price file must not fail OpenTelemetry's startup (no traceback, no "Failed to auto initialize",
every other instrumentor still loaded). Our calls are still recorded, flagged unpriced with the
error on the span, never priced without the user's overrides. The explicit API
(``instrument(prices=...)``, ``llm_cost_otel.instrument()``) still raises before patching.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

import llm_cost_otel
from llm_cost_otel.pricing import PriceOverrideError
from support import Telemetry as InMemoryOtel
from support import anthropic_client, json_response, message_json

BIN = Path(sys.executable).parent
MSGS = [{"role": "user", "content": "hi"}]
MESSAGE = message_json(usage={"input_tokens": 1000, "output_tokens": 100})
SCHEMA_ERROR = {"models": {"acme-ft": {"input": "cheap", "output": 1}}}


def missing_file(tmp_path: Path) -> tuple[Path, str]:
    return tmp_path / "prices_missing.toml", "cannot read price override file"


def schema_error_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "prices_schema.json"
    path.write_text(json.dumps(SCHEMA_ERROR))
    return path, "models.acme-ft.input"


BAD_FILES = [pytest.param(missing_file, id="missing"), pytest.param(schema_error_file, id="schema-error")]


# --- under opentelemetry-instrument ------------------------------------------------------


class _LocalAPI(BaseHTTPRequestHandler):
    """POST /v1/messages: a Messages response with usage; GET anything: "pong"."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._reply(json.dumps(MESSAGE).encode(), "application/json")

    def do_GET(self) -> None:
        self._reply(b"pong", "text/plain")

    def _reply(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_api() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _LocalAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


APP = """
import anthropic, requests, sys

client = anthropic.Anthropic(api_key="dummy", base_url={url!r}, max_retries=0)
message = client.messages.create(model="claude-haiku-4-5", max_tokens=16, messages={msgs!r})
pong = requests.get({url!r} + "/ping", timeout=10).text
# stdout is the console exporters': the app reports through a file
with open(sys.argv[1], "w") as out:
    out.write(f"{{message.usage.input_tokens}} {{pong}}")
"""


def run_instrumented(tmp_path: Path, url: str, prices: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(APP.format(url=url, msgs=MSGS)))
    report = tmp_path / "report.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_COST_OTEL_"))}
    env.pop("PYTHONPATH", None)
    env.update(
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="console",
        OTEL_LOGS_EXPORTER="none",
        OTEL_METRIC_EXPORT_INTERVAL="60000",  # one export, at shutdown
        LLM_COST_OTEL_PRICES=str(prices),
    )
    result = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, str(app), str(report)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    return result, report.read_text() if report.exists() else ""


def json_objects(text: str) -> list[dict[str, Any]]:
    """The console exporters' output: JSON objects one after another."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return found
        value, at = decoder.raw_decode(text, at)
        found.append(value)


def metric_points(objects: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        point
        for obj in objects
        for resource_metrics in obj.get("resource_metrics", ())
        for scope_metrics in resource_metrics["scope_metrics"]
        for metric in scope_metrics["metrics"]
        if metric["name"] == name
        for point in metric["data"]["data_points"]
    ]


@pytest.mark.parametrize("bad_file", BAD_FILES)
def test_bad_price_file_under_opentelemetry_instrument(tmp_path: Path, local_api: str, bad_file: Any) -> None:
    import opentelemetry.instrumentation.requests  # noqa: F401 - the [test] extra installs it: missing fails

    prices, reason = bad_file(tmp_path)
    result, report = run_instrumented(tmp_path, local_api, prices)

    # the app is untouched
    assert result.returncode == 0, result.stderr
    assert report == "1000 pong", (report, result.stderr)

    # one error line naming the file (and the key), nothing else of ours
    assert "Traceback" not in result.stderr, result.stderr
    assert "Failed to auto initialize" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if str(prices) in line]
    assert len(lines) == 1, result.stderr
    assert reason in lines[0] and "unpriced" in lines[0], lines[0]

    objects = json_objects(result.stdout)
    spans = [obj for obj in objects if "context" in obj and "name" in obj]
    # another library's instrumentation still ran
    assert any(
        span["name"] == "GET" and any(str(v).endswith("/ping") for v in span["attributes"].values()) for span in spans
    ), [span["name"] for span in spans]
    # our call is recorded, flagged unpriced with the error, never priced without the overrides
    (chat,) = (span for span in spans if span["name"].startswith("chat claude-"))
    attrs = chat["attributes"]
    assert attrs["gen_ai.usage.input_tokens"] == 1000 and attrs["gen_ai.usage.output_tokens"] == 100
    assert attrs["llm_cost.price.source"] == "unpriced"
    assert str(prices) in attrs["llm_cost.price.error"] and reason in attrs["llm_cost.price.error"]
    assert not any(key == "gen_ai.usage.cost" or key.startswith("llm_cost.usd") for key in attrs), attrs
    assert sum(point["value"] for point in metric_points(objects, "llm_cost.unpriced")) == 1
    assert sum(point["value"] for point in metric_points(objects, "llm_cost.usd")) == 0


# --- in process: the same rules, and the explicit API that must still raise ---------------


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryOtel]:
    """Nothing instrumented before the test; everything undone after it."""
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    llm_cost_otel.uninstrument()
    try:
        yield InMemoryOtel()
    finally:
        llm_cost_otel.uninstrument()


def _request_method() -> Any:
    from anthropic import _base_client

    return _base_client.SyncAPIClient.__dict__["request"]


@pytest.mark.parametrize("bad_file", BAD_FILES)
def test_instrumentor_without_prices_logs_one_line_and_records_unpriced(
    tmp_path: Path,
    fresh: InMemoryOtel,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    bad_file: Any,
) -> None:
    from llm_cost_otel.anthropic import AnthropicInstrumentor

    prices, reason = bad_file(tmp_path)
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(prices))
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        AnthropicInstrumentor().instrument(
            tracer_provider=fresh.tracer_provider, meter_provider=fresh.meter_provider, replace_telemetry=True
        )
        client = anthropic_client(lambda r: json_response(MESSAGE))
        message = client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    assert message.usage.input_tokens == 1000

    about_file = [r for r in caplog.records if str(prices) in r.getMessage()]
    assert len(about_file) == 1, [r.getMessage() for r in caplog.records]
    record = about_file[0]
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert "\n" not in record.getMessage() and reason in record.getMessage()

    (span,) = fresh.chat_spans()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["llm_cost.price.source"] == "unpriced"
    assert str(prices) in str(attrs["llm_cost.price.error"])
    assert "gen_ai.usage.cost" not in attrs
    assert llm_cost_otel.cost_of(message) is None
    assert fresh.metric_sum("llm_cost.unpriced") == 1
    assert fresh.metric_sum("llm_cost.usd") == 0


def test_schema_errors_are_logged_on_one_line(
    tmp_path: Path, fresh: InMemoryOtel, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from llm_cost_otel.anthropic import AnthropicInstrumentor

    prices = tmp_path / "prices_two_errors.json"
    prices.write_text(json.dumps({"models": {"a": {"input": -1, "output": 1}, "b": {"input": 1}}}))
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(prices))
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        AnthropicInstrumentor().instrument(tracer_provider=fresh.tracer_provider, replace_telemetry=True)
    (record,) = (r for r in caplog.records if str(prices) in r.getMessage())
    message = record.getMessage()
    assert "\n" not in message and "models.a.input" in message and "models.b" in message


def test_explicit_prices_to_the_instrumentor_still_raise_before_patching(tmp_path: Path, fresh: InMemoryOtel) -> None:
    from llm_cost_otel.anthropic import AnthropicInstrumentor

    prices, _ = schema_error_file(tmp_path)
    before = _request_method()
    with pytest.raises(PriceOverrideError, match=re.escape("models.acme-ft.input")):
        AnthropicInstrumentor().instrument(tracer_provider=fresh.tracer_provider, prices=prices)
    assert _request_method() is before


def test_instrument_with_a_bad_env_file_still_raises_before_patching(
    tmp_path: Path, fresh: InMemoryOtel, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices, _ = missing_file(tmp_path)
    monkeypatch.setenv("LLM_COST_OTEL_PRICES", str(prices))
    before = _request_method()
    with pytest.raises(PriceOverrideError, match="cannot read"):
        llm_cost_otel.instrument(tracer_provider=fresh.tracer_provider)
    assert _request_method() is before
