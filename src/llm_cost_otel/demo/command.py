"""``llm-cost-otel demo``: realistic LLM traffic against a local fake API, instrumented, with a cost report.

Only the standard library at import time (the CLI imports this to build its parser); the
OpenTelemetry SDK, the provider SDKs and the OTLP exporter are imported when the demo runs.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

    from .report import Report

__all__ = ["Options", "DemoError", "configure_parser", "main", "run", "run_from_args", "parse_duration"]

INSTALL_HINT = "pip install 'llm-cost-otel[demo]'"
OTLP_HINT = "pip install opentelemetry-exporter-otlp-proto-http"
# The attribution keys the stack's dashboards group by (docs/STACK.md); all bounded in the demo.
METRIC_ATTRIBUTES = ("app.feature", "tenant.id", "user.id", "agent.name")
DEFAULT_SERVICE_NAME = "llm-cost-otel-demo"


class DemoError(Exception):
    """A problem the user can fix (a missing package, a busy port); one line, no traceback, exit status 1."""


DEFAULT_DURATION = 30.0
DEFAULT_RATE = 8.0


@dataclass
class Options:
    duration: float = DEFAULT_DURATION
    """Seconds of traffic."""
    rate: float = DEFAULT_RATE
    """Target LLM requests per second."""
    error_rate: float = 0.02
    latency: float = 1.0
    seed: int | None = None
    progress: bool = True
    batch_seconds: float = 1.0
    otlp_endpoint: str | None = field(default_factory=lambda: os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
MAX_DURATION = 24 * 3600.0
# Far above what the demo reaches (at most 48 user actions in flight); it only refuses nonsense.
MAX_RATE = 1000.0
# At 100 a Claude Opus answer takes about half a minute: slower than that is a typo.
MAX_LATENCY = 100.0


def parse_duration(text: str) -> float:
    """``30s``, ``2m``, ``1m30s``, ``500ms``, ``1h`` or a plain number of seconds."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        if not value or _DURATION.sub("", value):
            raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30s, 2m, 1m30s)") from None
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        seconds = sum(float(n) * scale[unit] for n, unit in _DURATION.findall(value))
    if not 0 < seconds <= MAX_DURATION:
        raise argparse.ArgumentTypeError(f"duration must be more than 0s and at most 24h, got {text!r}")
    return seconds


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):  # float() takes 'inf', 'nan' and overflows like 1e400 to inf
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _rate(text: str) -> float:
    value = _number(text)
    if not 0 < value <= MAX_RATE:
        raise argparse.ArgumentTypeError(f"must be > 0 and at most {MAX_RATE:g}, got {text!r}")
    return value


def _share(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return value


def _latency(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= MAX_LATENCY:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_LATENCY:g}, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535 (0: a free port), got {text!r}")
    return value


DESCRIPTION = """\
Run a realistic LLM workload (four features, four tenants, Anthropic and Gemini models,
streams, prompt caching, thinking, web search, embeddings, a nightly batch, a model with no
known price) against a fake Anthropic + Gemini API on 127.0.0.1, instrumented by
llm-cost-otel, and print a cost report built from the plugin's own spans and metrics.
No API key, no network, no Docker. If OTEL_EXPORTER_OTLP_ENDPOINT is set, spans and
metrics are also exported there over OTLP/HTTP (e.g. the compose stack's collector).
"""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser`` (a subparser of the main CLI) and set ``func``."""
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    # --duration and --rate default to None, not their values, so that with --serve (which
    # sends no traffic) they can be told apart and refused, like --port without --serve.
    parser.add_argument(
        "--duration",
        type=parse_duration,
        default=None,
        help=f"how long to generate traffic, at most 24h: 30s, 2m, 1m30s, 500ms (default {DEFAULT_DURATION:g}s)",
    )
    parser.add_argument(
        "--rate",
        type=_rate,
        default=None,
        help=f"target LLM requests per second, at most {MAX_RATE:g} (default {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--error-rate",
        type=_share,
        default=0.02,
        help="share of requests the fake API fails with 429/5xx (default 0.02)",
    )
    parser.add_argument(
        "--latency",
        type=_latency,
        default=1.0,
        help=f"scale of the simulated latency, 0 (instant) to {MAX_LATENCY:g} (default 1)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the workload's and the fake API's random choices (default: a new one each run). Runs "
        "with one seed, --duration and --rate make the same calls with the same token counts and get the "
        "same answers; only timing (latencies) and, for requests that overlap, which one writes a prompt "
        "cache can differ (docs/DEMO.md)",
    )
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress line")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="only run the fake API (print its URL) to point your own code at, until Ctrl-C; it sends no "
        "traffic, so not with --duration or --rate",
    )
    # Default None, not 0, so that a --port given without --serve can be told apart and refused.
    parser.add_argument("--port", type=_port, default=None, help="with --serve: the port (default: a free one)")
    parser.set_defaults(func=run_from_args, demo_parser=parser)


def main(argv: Sequence[str] | None = None) -> int:
    """``llm-cost-otel demo [--duration 30s] [--rate N] ...``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="llm-cost-otel demo")
    configure_parser(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def run_from_args(args: argparse.Namespace) -> int:
    """Run what ``args`` (from :func:`configure_parser`) asks for; returns the exit status."""
    if getattr(args, "port", None) is not None and not args.serve:
        return _usage_error(args, "argument --port: only applies with --serve")
    if args.serve:
        for option in ("duration", "rate"):
            if getattr(args, option, None) is not None:
                return _usage_error(
                    args, f"argument --{option}: not allowed with --serve (it sends no traffic and serves until Ctrl-C)"
                )
    try:
        if args.serve:
            return _serve(args)
        options = Options(
            duration=DEFAULT_DURATION if args.duration is None else args.duration,
            rate=DEFAULT_RATE if args.rate is None else args.rate,
            error_rate=args.error_rate,
            latency=args.latency,
            seed=args.seed,
            progress=args.progress,
        )
        run(options)
    except DemoError as exc:
        print(f"llm-cost-otel demo: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nllm-cost-otel demo: interrupted", file=sys.stderr)
        return 130
    return 0


def _usage_error(args: argparse.Namespace, message: str) -> int:
    """Exit status 2 with argparse's usage line, as for any other bad option."""
    parser = getattr(args, "demo_parser", None)
    if isinstance(parser, argparse.ArgumentParser):
        parser.error(message)  # raises SystemExit(2)
    print(f"llm-cost-otel demo: error: {message}", file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    from .server import FakeProviderServer, ServerConfig

    config = ServerConfig(error_rate=args.error_rate, latency=args.latency, seed=args.seed)
    port = args.port or 0
    try:
        server = FakeProviderServer(config, port=port)
    except OSError as exc:
        raise DemoError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    with server:
        print(f"Fake Anthropic + Gemini API on {server.url} (Ctrl-C to stop)")
        print(f'  anthropic.Anthropic(base_url="{server.url}", api_key="demo")')
        print(f'  genai.Client(api_key="demo", http_options=types.HttpOptions(base_url="{server.url}"))')
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
    return 0


# --- the run -------------------------------------------------------------------------------


class _Progress:
    """One line on stderr: rewritten in place on a terminal, every few seconds otherwise."""

    def __init__(self, tally: Any, duration: float, stream: TextIO) -> None:
        self.tally = tally
        self.duration = duration
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="demo-progress", daemon=True)

    def line(self) -> str:
        from .report import usd

        requests, spent, failed = self.tally.snapshot()
        elapsed = time.monotonic() - self.started
        state = "finishing" if elapsed >= self.duration else f"{elapsed:5.1f}s / {self.duration:.0f}s"
        return f"  {state}  |  {requests} requests  |  {usd(spent)} spent so far  |  {failed} failed"

    def _loop(self) -> None:
        interval = 0.5 if self.tty else 5.0
        while not self._stop.wait(interval):
            self._write()

    def _write(self, end: str = "") -> None:
        try:
            if self.tty:
                self.stream.write("\r\x1b[2K" + self.line() + end)
            else:
                self.stream.write(self.line() + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._write("\n" if self.tty else "")


def _otlp(endpoint: str, tracer_provider: Any, readers: list[Any], err: TextIO) -> bool:
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        print(
            f"llm-cost-otel demo: OTEL_EXPORTER_OTLP_ENDPOINT={endpoint} is set, but the OTLP exporter is not "
            f"installed, so nothing will be exported (the report below still works).\n"
            f"  Install it with: {OTLP_HINT}   (or {INSTALL_HINT})",
            file=err,
        )
        return False
    problem = _unreachable(endpoint)
    if problem:
        print(
            f"llm-cost-otel demo: OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}: {problem}. Is the stack up "
            "(docker compose up -d)? Not exporting this run; the report below still works.",
            file=err,
        )
        return False
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    if protocol != "http/protobuf":
        print(
            f"llm-cost-otel demo: OTEL_EXPORTER_OTLP_PROTOCOL={protocol} ignored; "
            "the demo exports OTLP/HTTP (protobuf)",
            file=err,
        )
    interval = int(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL") or 5_000)
    # The exporters read the endpoint, headers and timeouts from the OTEL_EXPORTER_OTLP_* variables.
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=interval))
    return True


def _unreachable(endpoint: str) -> str | None:
    """Why nothing can be sent to ``endpoint`` (a TCP connect, one second at most), or None."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http:// or https:// URL"
    try:
        socket.create_connection((host, port), timeout=1.0).close()
    except OSError as exc:
        return f"nothing answers on {host}:{port} ({exc.strerror or exc})"
    return None


def run(
    options: Options,
    out: TextIO | None = None,
    err: TextIO | None = None,
    span_processors: Sequence[SpanProcessor] = (),
) -> Report:
    """Start the fake API, instrument, run the workload, print and return the report.

    ``span_processors`` are added to the demo's TracerProvider (tests use this to see every span).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        raise DemoError(f"the demo needs the OpenTelemetry SDK: {INSTALL_HINT}") from None

    import llm_cost_otel

    from .report import SpanTally, build_report, render
    from .server import FakeProviderServer, ServerConfig
    from .workload import Workload

    service_name = os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    resource = Resource.create({"service.name": service_name})
    tally = SpanTally()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(tally)
    for processor in span_processors:
        tracer_provider.add_span_processor(processor)
    reader = InMemoryMetricReader()
    readers: list[Any] = [reader]
    exporting = bool(options.otlp_endpoint) and _otlp(str(options.otlp_endpoint), tracer_provider, readers, err)
    meter_provider = MeterProvider(metric_readers=readers, resource=resource)

    config = ServerConfig(
        error_rate=options.error_rate, latency=options.latency, seed=options.seed, batch_seconds=options.batch_seconds
    )
    server = FakeProviderServer(config).start()
    progress: _Progress | None = None
    try:
        workload = Workload(server.url, options.rate, options.duration, options.seed)
        if not workload.providers:
            raise DemoError(f"neither the anthropic nor the google-genai SDK is installed: {INSTALL_HINT}")
        allowlist = None if os.environ.get("LLM_COST_OTEL_METRIC_ATTRIBUTES") else METRIC_ATTRIBUTES
        llm_cost_otel.instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, metric_attributes=allowlist
        )
        where = f"; exporting to {options.otlp_endpoint}" if exporting else ""
        print(
            f"llm-cost-otel demo: {options.duration:g}s of traffic at ~{options.rate:g} requests/s against a fake "
            f"Anthropic + Gemini API on {server.url}{where}",
            file=err,
        )
        tally.start_clock(options.duration)
        if options.progress:
            progress = _Progress(tally, options.duration, err)
            progress.start()
        started = time.monotonic()
        previous = _interrupt_stops(workload)
        try:
            workload.run()
        finally:
            _restore(previous)
        seconds = time.monotonic() - started
    finally:
        if progress is not None:
            progress.stop()
        llm_cost_otel.uninstrument()
        server.stop()
    report = build_report(reader, tally, seconds)
    missing = {"anthropic", "google"} - set(workload.providers)
    if missing:
        report.notes.append(f"SDK not installed, its features ran on the other provider: {', '.join(sorted(missing))}")
    if "google" in workload.providers and not any(p.startswith("gcp.") for p in report.providers_seen):
        report.notes.append("Gemini calls ran but were not instrumented (no Google GenAI adapter in this install)")
    if exporting:
        print("llm-cost-otel demo: flushing telemetry to the OTLP endpoint...", file=err)
    tracer_provider.force_flush(10_000)
    meter_provider.force_flush(10_000)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    out.write(render(report, str(options.otlp_endpoint) if exporting else None, service_name))
    out.flush()
    return report


def _interrupt_stops(workload: Any) -> Any:
    """Ctrl-C ends the traffic early and still prints the report (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: FrameType | None) -> None:
        workload.stop()

    return signal.signal(signal.SIGINT, handler)


def _restore(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous)
