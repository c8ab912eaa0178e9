"""README's "Zero-code path", run verbatim: the ```bash block is read from README.md at test
time and run with bash (the `pip install` line skipped: the venv has the packages and tests
have no network), with the OTLP endpoint's host:port pointed at a local OTLP/HTTP receiver.
The app makes one real Anthropic SDK call against a fake local Messages API and never imports
llm_cost_otel."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

# opentelemetry-proto comes with opentelemetry-exporter-otlp-proto-http (the [test] extra)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

README = Path(__file__).resolve().parent.parent / "README.md"
BIN = Path(sys.executable).parent
RUN_TIMEOUT = 120

MESSAGE = {
    "id": "msg_zero_code",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5-20251001",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 1000, "output_tokens": 100},
}


def readme_block() -> list[str]:
    """The lines of the first ```bash block under "## Zero-code path"."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Zero-code path\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "README.md has no '## Zero-code path' section"
    block = re.search(r"^```bash\s*\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the Zero-code path section has no ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        data = self.rfile.read(int(self.headers.get("content-length") or 0))
        encoding = (self.headers.get("content-encoding") or "").lower()
        if encoding == "gzip":
            return gzip.decompress(data)
        if encoding == "deflate":
            return zlib.decompress(data)
        return data

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeAnthropic(_Quiet):
    """POST /v1/messages -> one valid Messages response with usage."""

    def do_POST(self) -> None:
        self._body()
        if self.path.split("?")[0] != "/v1/messages":
            self._reply(404, b"{}", "application/json")
            return
        self._reply(200, json.dumps(MESSAGE).encode(), "application/json")


class Receiver:
    """What an OTLP/HTTP collector received: decoded traces and metrics, every path asked for."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class OTLPHandler(_Quiet):
            def do_POST(self) -> None:
                body = self._body()
                path = self.path.split("?")[0]
                with receiver.lock:
                    receiver.paths.append(path)
                    if path == "/v1/traces":
                        request: Any = ExportTraceServiceRequest()
                        request.ParseFromString(body)
                        receiver.traces.append(request)
                    elif path == "/v1/metrics":
                        request = ExportMetricsServiceRequest()
                        request.ParseFromString(body)
                        receiver.metrics.append(request)
                # an empty Export*ServiceResponse is a valid success for every signal
                self._reply(200, b"", "application/x-protobuf")

        return OTLPHandler

    def spans(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (span.name, {kv.key: _value(kv.value) for kv in span.attributes})
            for request in self.traces
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def metric_names(self) -> set[str]:
        return {
            metric.name
            for request in self.metrics
            for resource_metrics in request.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind)


@pytest.fixture
def fake_api() -> Iterator[str]:
    with serve(FakeAnthropic) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    received = Receiver()
    with serve(received.handler()) as server:
        yield received, f"127.0.0.1:{server.server_address[1]}"


def write_app(directory: Path, api_url: str) -> None:
    # zero code: the app knows nothing of llm_cost_otel
    (directory / "app.py").write_text(
        textwrap.dedent(
            f"""
            import anthropic

            client = anthropic.Anthropic(api_key="dummy", base_url={api_url!r}, max_retries=0)
            message = client.messages.create(
                model="claude-haiku-4-5", max_tokens=16, messages=[{{"role": "user", "content": "hi"}}]
            )
            print("APP", message.content[0].text, message.usage.input_tokens)
            """
        )
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_COST_OTEL_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    # short intervals so a short run still exports; shutdown flushes whatever is left
    env["OTEL_METRIC_EXPORT_INTERVAL"] = "500"
    env["OTEL_BSP_SCHEDULE_DELAY"] = "200"
    # bounds any export that cannot reach its endpoint (the gRPC run below)
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "5"  # seconds
    return env


def commands(lines: list[str], endpoint: str) -> str:
    """The block's lines after the pip line, with the endpoint's host:port rewritten."""
    script = "\n".join(line for line in lines if not line.lstrip().startswith("pip install"))
    script, rewritten = re.subn(r"(OTEL_EXPORTER_OTLP_ENDPOINT=https?://)[^/\s]+", rf"\g<1>{endpoint}", script)
    assert rewritten == 1, script
    return script


def run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )


def test_readme_block_is_what_the_test_runs() -> None:
    lines = readme_block()
    pip = [line for line in lines if line.lstrip().startswith("pip install")]
    assert len(pip) == 1, lines
    assert "opentelemetry-distro" in pip[0] and "opentelemetry-exporter-otlp" in pip[0]
    (export,) = (line for line in lines if line.startswith("export "))
    for setting in (
        "OTEL_SERVICE_NAME=",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
    ):
        assert setting in export, export
    assert any(line.strip() == "opentelemetry-instrument python app.py" for line in lines), lines


def test_readme_zero_code_path_delivers_cost_over_otlp_http(
    tmp_path: Path, fake_api: str, receiver: tuple[Receiver, str]
) -> None:
    received, endpoint = receiver
    write_app(tmp_path, fake_api)
    result = run(commands(readme_block(), endpoint), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "APP Hello! 1000" in result.stdout, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr

    chat = [(name, attrs) for name, attrs in received.spans() if name.startswith("chat claude-")]
    assert len(chat) == 1, (received.paths, received.spans(), result.stderr)
    name, attrs = chat[0]
    assert name == "chat claude-haiku-4-5"
    assert attrs["gen_ai.usage.input_tokens"] == 1000 and attrs["gen_ai.usage.output_tokens"] == 100
    # Claude Haiku 4.5 list prices: $1 / $5 per million input / output tokens
    assert attrs["gen_ai.usage.cost"] == pytest.approx(1000 * 1.0 / 1e6 + 100 * 5.0 / 1e6, rel=1e-9)
    assert attrs["llm_cost.price.source"] == "catalog"
    assert "llm_cost.usd" in received.metric_names(), received.metric_names()


def test_without_the_protocol_line_nothing_reaches_the_http_receiver(
    tmp_path: Path, fake_api: str, receiver: tuple[Receiver, str]
) -> None:
    """The distro's default protocol is gRPC: without OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
    nothing arrives at an OTLP/HTTP endpoint (port 4318), so the README's setting matters."""
    received, endpoint = receiver
    write_app(tmp_path, fake_api)
    script = commands(readme_block(), endpoint)
    script, removed = re.subn(r"\s*OTEL_EXPORTER_OTLP_PROTOCOL=\S+", "", script)
    assert removed == 1, script
    result = run(script, tmp_path)
    assert "APP Hello! 1000" in result.stdout, (result.stdout, result.stderr)  # the app runs either way
    assert received.paths == [], received.paths
