"""One configuration in one fresh process; ``run.py`` spawns this and talks JSON lines to it.

    python bench/worker.py '{"task": "serve", "config": "llm-cost-otel", ...}'   # timing, on request
    python bench/worker.py '{"task": "memory", "config": "none"}'                # one-shot, prints JSON
    python bench/worker.py '{"task": "pricing"}'

``serve`` sets up one configuration and times sample keys as the orchestrator asks for them;
``memory`` runs tracemalloc over a short and a long stream; ``pricing`` times
``PriceBook.cost``. Nothing here is imported by the package or its tests.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import payloads

Run = Callable[[], "int | None"]
"""One complete call. A run that returns an int has timed the part that counts itself (CPU ns)."""

ANTHROPIC = ("anthropic.create", "anthropic.create_stream", "anthropic.stream_helper")
GOOGLE = ("google.generate_content", "google.generate_content_stream")
STREAMS = ("anthropic.create_stream", "anthropic.stream_helper", "google.generate_content_stream")

# configuration -> (the scenarios it instruments, an extra import that must succeed)
CONFIGS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "none": (ANTHROPIC + GOOGLE, None),
    "floor": (("floor",), None),
    # the floor's span and points emitted right after each real SDK call, and only they are
    # timed: the floor under the same cache pressure as an instrumentation's own work
    "floor-in-call": (("anthropic.create", "google.generate_content"), None),
    # the least any instrumentation of the kind can add: the floor's span around the
    # real call (current while it runs) and its 3 points queued and recorded after the block,
    # no logic at all (constant attributes, nothing read from the request or the response)
    "minimal": (("anthropic.create", "google.generate_content"), None),
    "llm-cost-otel": (ANTHROPIC + GOOGLE, "llm_cost_otel"),
    "llm-cost-otel+content": (ANTHROPIC + GOOGLE, "llm_cost_otel"),
    "openllmetry": (ANTHROPIC, "opentelemetry.instrumentation.anthropic"),
    "openinference": (ANTHROPIC + GOOGLE, "openinference.instrumentation.anthropic"),
    "anthropic-sdk-tracing": (ANTHROPIC, None),
}


# --- the OpenTelemetry SDK pipeline every instrumented configuration (and the floor) uses ---


def sdk_pipeline() -> tuple[Any, Any, Any]:
    """A TracerProvider with a SimpleSpanProcessor into a no-op exporter, and a MeterProvider
    with an InMemoryMetricReader (aggregation happens on every record; nothing collects)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class NoOpExporter(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(NoOpExporter()))
    metric_reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metric_reader])
    return tracer_provider, meter_provider, metric_reader


class Setup:
    """A configuration applied to this process."""

    def __init__(self, config: str) -> None:
        if config not in CONFIGS:
            raise SystemExit(f"unknown configuration {config!r}")
        self.config = config
        self.anthropic_kwargs: dict[str, Any] = {}
        self.tracer_provider: Any = None
        self.meter_provider: Any = None
        self.metric_reader: Any = None
        self.deferred: Callable[[], None] | None = None
        """Work the configuration queues during calls and does later (charged to the calls)."""
        os.environ.pop("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", None)
        if config == "none":
            return
        self.tracer_provider, self.meter_provider, self.metric_reader = sdk_pipeline()
        tp, mp = self.tracer_provider, self.meter_provider
        if config.startswith("llm-cost-otel"):
            if config.endswith("+content"):
                os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
            import llm_cost_otel

            llm_cost_otel.instrument(tracer_provider=tp, meter_provider=mp)
            self.deferred = plugin_drain()
        elif config == "minimal":
            self.deferred = install_minimal(tp, mp)
        elif config == "openllmetry":
            openllmetry = importlib.import_module("opentelemetry.instrumentation.anthropic")
            openllmetry.AnthropicInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
        elif config == "openinference":
            oi_anthropic = importlib.import_module("openinference.instrumentation.anthropic")
            oi_google = importlib.import_module("openinference.instrumentation.google_genai")
            oi_anthropic.AnthropicInstrumentor().instrument(tracer_provider=tp)
            oi_google.GoogleGenAIInstrumentor().instrument(tracer_provider=tp)
        elif config == "anthropic-sdk-tracing":
            self.anthropic_kwargs = {"open_telemetry": {"tracer_provider": tp}}

    def settle(self) -> None:
        """Let background warm-up (llm-cost-otel loads its price catalog in a thread) finish."""
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and thread.name.startswith("llm-cost-otel"):
                thread.join(timeout=30)


def plugin_drain() -> Callable[[], None]:
    """What a metric collection runs first: the active meter provider's queue of histogram
    points (``drain_pending()``, which walks every provider's queue, is for tests)."""
    from llm_cost_otel import telemetry

    active = telemetry.active()
    return active.totals.drain if active is not None else telemetry.drain_pending


# --- scenarios: each returns a function that makes one complete call ---


# The floor's span and points: the request attributes are known when the span starts, the
# response attributes (and the points) only when the call returns.
FLOOR_REQUEST_ATTRS = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": payloads.ANTHROPIC_MODEL,
    "server.address": "api.anthropic.com",
    "server.port": 443,
    "gen_ai.request.max_tokens": 1024,
    "gen_ai.request.temperature": 0.5,
}
FLOOR_RESPONSE_ATTRS = {
    "gen_ai.response.model": payloads.ANTHROPIC_MODEL,
    "gen_ai.response.id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "gen_ai.response.finish_reasons": ("end_turn",),
    "gen_ai.usage.input_tokens": 25,
    "gen_ai.usage.output_tokens": 40,
    "gen_ai.usage.cache_read.input_tokens": 0,
    "gen_ai.usage.cache_creation.input_tokens": 0,
    "gen_ai.usage.cost": 0.000225,
}
FLOOR_NAME = f"chat {payloads.ANTHROPIC_MODEL}"


def floor_instruments(tracer_provider: Any, meter_provider: Any) -> tuple[Any, Callable[[float], None]]:
    """The floor's tracer, and a function that records its three histogram points."""
    tracer = tracer_provider.get_tracer("bench.floor")
    meter = meter_provider.get_meter("bench.floor")
    duration = meter.create_histogram("bench.duration", unit="s")
    tokens = meter.create_histogram("bench.tokens", unit="{token}")
    base = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": payloads.ANTHROPIC_MODEL,
        "gen_ai.response.model": payloads.ANTHROPIC_MODEL,
    }
    input_attrs = {**base, "gen_ai.token.type": "input"}
    output_attrs = {**base, "gen_ai.token.type": "output"}

    def points(seconds: float) -> None:
        duration.record(seconds, base)
        tokens.record(25, input_attrs)
        tokens.record(40, output_attrs)

    return tracer, points


def floor_run(setup: Setup) -> Run:
    """One span with 15 attributes and 3 histogram points through the same SDK pipeline."""
    from opentelemetry.trace import SpanKind

    tracer, points = floor_instruments(setup.tracer_provider, setup.meter_provider)
    attributes = {**FLOOR_REQUEST_ATTRS, **FLOOR_RESPONSE_ATTRS}

    def run() -> None:
        span = tracer.start_span(FLOOR_NAME, kind=SpanKind.CLIENT, attributes=attributes)
        span.end()
        points(0.0004)

    return run


def install_minimal(tracer_provider: Any, meter_provider: Any) -> Callable[[], None]:
    """Patch the two benchmarked SDK methods with the least an instrumentation can do:
    start the floor's span (request attributes), make it current while the SDK runs, then
    set the response attributes, end it and queue the duration for the three points. Nothing
    is read from the request or the response. Returns the drain that records the queued points
    (the worker charges it to the calls, as it does llm-cost-otel's deferred points)."""
    import anthropic.resources.messages as messages_module
    import google.genai.models as models_module
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind

    tracer, points = floor_instruments(tracer_provider, meter_provider)
    pending: list[float] = []
    attach, detach, in_context = context.attach, context.detach, trace.set_span_in_context
    clock = time.perf_counter

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            span = tracer.start_span(FLOOR_NAME, kind=SpanKind.CLIENT, attributes=FLOOR_REQUEST_ATTRS)
            token = attach(in_context(span))
            try:
                result = original(*args, **kwargs)
            finally:
                detach(token)
            span.set_attributes(FLOOR_RESPONSE_ATTRS)
            span.end()
            pending.append(clock() - started)
            return result

        return wrapper

    messages_module.Messages.create = wrap(messages_module.Messages.create)
    models_module.Models._generate_content = wrap(models_module.Models._generate_content)

    def drain() -> None:
        while pending:
            points(pending.pop())

    return drain


def scenario_run(setup: Setup, scenario: str, chunks: int) -> Run:
    if scenario == "floor":
        return floor_run(setup)
    if setup.config == "floor-in-call":
        call = _sdk_run(setup, scenario, chunks)
        floor = floor_run(setup)
        cpu_ns = time.process_time_ns

        def call_then_floor() -> int:
            call()
            c0 = cpu_ns()
            floor()
            return cpu_ns() - c0

        return call_then_floor
    return _sdk_run(setup, scenario, chunks)


def _sdk_run(setup: Setup, scenario: str, chunks: int) -> Run:
    if scenario == "anthropic.create":
        client = payloads.anthropic_client(payloads.anthropic_message(), False, **setup.anthropic_kwargs)

        def create() -> None:
            client.messages.create(model=payloads.ANTHROPIC_MODEL, max_tokens=1024, messages=payloads.MESSAGES)

        return create
    if scenario == "anthropic.create_stream":
        client = payloads.anthropic_client(payloads.anthropic_sse(chunks), True, **setup.anthropic_kwargs)

        def create_stream() -> None:
            stream = client.messages.create(
                model=payloads.ANTHROPIC_MODEL, max_tokens=1024, messages=payloads.MESSAGES, stream=True
            )
            for _ in stream:
                pass

        return create_stream
    if scenario == "anthropic.stream_helper":
        client = payloads.anthropic_client(payloads.anthropic_sse(chunks), True, **setup.anthropic_kwargs)

        def stream_helper() -> None:
            with client.messages.stream(
                model=payloads.ANTHROPIC_MODEL, max_tokens=1024, messages=payloads.MESSAGES
            ) as stream:
                for _ in stream:
                    pass

        return stream_helper
    if scenario == "google.generate_content":
        gclient = payloads.gemini_client(payloads.gemini_response(), False)

        def generate() -> None:
            gclient.models.generate_content(model=payloads.GEMINI_MODEL, contents="Say hello in ten words.")

        return generate
    if scenario == "google.generate_content_stream":
        gclient = payloads.gemini_client(payloads.gemini_sse(chunks), True)

        def generate_stream() -> None:
            for _ in gclient.models.generate_content_stream(
                model=payloads.GEMINI_MODEL, contents="Say hello in ten words."
            ):
                pass

        return generate_stream
    raise SystemExit(f"unknown scenario {scenario!r}")


def _keys(scenarios: Sequence[str], chunk_counts: Sequence[int], default_chunks: int) -> list[tuple[str, str, int]]:
    """(sample key, scenario, chunks): every scenario once, streams at every chunk count."""
    keys = []
    for scenario in scenarios:
        if scenario in STREAMS:
            counts = sorted({default_chunks, *chunk_counts})
            keys += [(f"{scenario}@{n}", scenario, n) for n in counts]
        else:
            keys.append((scenario, scenario, default_chunks))
    return keys


def serve(spec: dict[str, Any]) -> None:
    """Set up one configuration, warm up, then time on request: the orchestrator writes a
    sample key per line to stdin and reads one JSON line of samples back. Configurations
    live in separate processes; the orchestrator alternates between them key by key, so
    the same key is measured under every configuration within a few milliseconds, and
    only one process runs at a time."""
    setup = Setup(spec["config"])
    wanted = spec.get("scenarios") or CONFIGS[setup.config][0]
    scenarios = [s for s in wanted if s in CONFIGS[setup.config][0]]
    keys = _keys(scenarios, spec.get("chunk_counts", ()), spec.get("chunks", 40))
    runs = {key: scenario_run(setup, scenario, n) for key, scenario, n in keys}
    pc = time.perf_counter_ns
    # CPU time of the whole process (every thread): what a call costs, without the time the
    # process spent descheduled while the neighbours on this shared machine ran.
    cpu_ns = time.process_time_ns

    # Warm up, then size each key's repeat count so every block takes about the same time.
    estimate: dict[str, int] = {}
    for _ in range(spec.get("warmup", 20)):
        for key, fn in runs.items():
            t0 = pc()
            fn()
            estimate[key] = pc() - t0
    setup.settle()
    for key, fn in runs.items():
        t0 = pc()
        fn()
        estimate[key] = min(estimate[key], pc() - t0)
    slice_ns = spec.get("slice_us", 2000) * 1000
    reps = {key: max(spec.get("min_reps", 3), min(20, slice_ns // max(estimate[key], 1))) for key in runs}
    keep_gc = bool(spec.get("gc", False))
    gc.collect()
    if not keep_gc:
        # As timeit does: no collection inside a timed call. A collection's cost lands on
        # whichever call happens to trigger it and grows with everything the process has
        # imported, which in an application is mostly the application. Collections run
        # between blocks instead, and the warm heap is frozen so they stay short.
        gc.freeze()
    plugin = sys.modules.get("llm_cost_otel")
    deferred = setup.deferred
    if deferred is not None:
        deferred()
    _reply(
        {
            "ready": True,
            "config": setup.config,
            "keys": list(runs),
            "reps": reps,
            "plugin": getattr(plugin, "__file__", None),
        }
    )
    for line in sys.stdin:
        key = line.strip()
        if not key:
            break
        fn = runs[key]
        cpu = []
        wall = []
        if not keep_gc:
            gc.disable()
        for _ in range(reps[key]):
            c0 = cpu_ns()
            t0 = pc()
            own = fn()
            t1 = pc()
            c1 = cpu_ns()
            cpu.append(c1 - c0 if own is None else own)
            wall.append(t1 - t0 if own is None else own)
        if deferred is not None:
            # Work the configuration queued during these calls and does at collection time
            # (histogram points): done now, timed, and charged to the calls that queued it.
            c0, t0 = cpu_ns(), pc()
            deferred()
            share_cpu, share_wall = (cpu_ns() - c0) // len(cpu), (pc() - t0) // len(wall)
            cpu = [c + share_cpu for c in cpu]
            wall = [w + share_wall for w in wall]
        if not keep_gc:
            gc.enable()
        _reply({"key": key, "cpu_ns": cpu, "wall_ns": wall})


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


# --- memory ---


def task_memory(spec: dict[str, Any]) -> dict[str, Any]:
    """For each stream scenario and chunk count: the process-wide tracemalloc peak of one
    fully consumed stream, and how much memory was still held between the first and the
    last chunk (what grows with the stream)."""
    setup = Setup(spec["config"])
    counts = spec.get("chunk_counts", [40, 4000])
    scenarios = [s for s in spec.get("scenarios", STREAMS) if s in CONFIGS[setup.config][0]]
    out: dict[str, Any] = {}
    for scenario in scenarios:
        for n in counts:
            if scenario == "anthropic.create_stream":
                client = payloads.anthropic_client(payloads.anthropic_sse(n), True, **setup.anthropic_kwargs)

                def open_stream(client: Any = client) -> Any:
                    return client.messages.create(
                        model=payloads.ANTHROPIC_MODEL, max_tokens=1024, messages=payloads.MESSAGES, stream=True
                    )
            elif scenario == "google.generate_content_stream":
                gclient = payloads.gemini_client(payloads.gemini_sse(n), True)

                def open_stream(client: Any = gclient) -> Any:
                    return client.models.generate_content_stream(model=payloads.GEMINI_MODEL, contents="hi")
            else:
                continue
            for _ in range(2 if n <= 100 else 1):  # warm every lazy path first
                for _ in open_stream():
                    pass
            setup.settle()
            gc.collect()
            tracemalloc.start()
            first = last = 0
            stream = open_stream()
            for i, _ in enumerate(stream):
                if i == 0:
                    first = tracemalloc.get_traced_memory()[0]
                last = tracemalloc.get_traced_memory()[0]
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            del stream
            out[f"{scenario}@{n}"] = {"peak": peak, "held_growth": last - first}
    return {"config": setup.config, "memory": out}


# --- pricing ---


def task_pricing(spec: dict[str, Any]) -> dict[str, Any]:
    from llm_cost_otel.pricing import PriceBook
    from llm_cost_otel.usage import Usage

    book = PriceBook()
    book.warm()
    usage = Usage(input_tokens=25, cache_read_tokens=100, output_tokens=40)
    now = time.time()
    loops = spec.get("loops", 20_000)
    out: dict[str, float] = {}
    for provider, model in (("anthropic", payloads.ANTHROPIC_MODEL), ("gcp.gemini", payloads.GEMINI_MODEL)):
        cost = book.cost
        first = time.perf_counter()
        if cost(provider, model, usage, timestamp=now) is None:
            raise SystemExit(f"no price for {provider}/{model}")
        cold = time.perf_counter() - first
        for _ in range(1000):
            cost(provider, model, usage, timestamp=now)
        per_call = []
        for _ in range(spec.get("repeats", 7)):
            t0 = time.process_time_ns()
            for _ in range(loops):
                cost(provider, model, usage, timestamp=now)
            per_call.append((time.process_time_ns() - t0) / loops / 1000)
        per_call.sort()
        out[f"{provider}/{model}"] = per_call[len(per_call) // 2]
        out[f"{provider}/{model} first call (catalog warm) ms"] = cold * 1e3
    return {"pricing_us": out}


# --- per-chunk cost of the plugin's stream observation, on real SDK objects ---


def task_chunks(spec: dict[str, Any]) -> dict[str, Any]:
    """What llm-cost-otel adds per streamed chunk, without the SDK's own per-chunk work.

    End to end, a chunk costs the SDK 15-150 us of parsing, and on a shared machine single
    calls swing by 2x, so a sub-microsecond difference per chunk is lost in the noise of
    whole streams. Here the SDK parses the events once, up front; then the plugin's stream
    observer (what it puts between a stream and its items) runs over those real objects, and
    plain iteration over the same objects is timed in turn. The slope over a short and a long
    run is the plugin's cost per chunk. Uses the plugin's internals (its stream observer and
    the adapters' watchers); when they are not found it reports nothing rather than fail."""
    setup = Setup("llm-cost-otel")
    setup.settle()
    try:
        from llm_cost_otel import anthropic as adapter_a
        from llm_cost_otel import calls, streams, telemetry
        from llm_cost_otel import google_genai as adapter_g

        observe = streams.observe
        watchers = {
            "anthropic": (adapter_a._MessageStreamWatcher, "anthropic", payloads.ANTHROPIC_MODEL),
            "google": (adapter_g._ChunkWatcher, "gcp.gemini", payloads.GEMINI_MODEL),
        }
        active = telemetry.active()
        request_type = telemetry.Request
        call_type = calls.Call
    except (ImportError, AttributeError) as exc:
        return {"chunks_us": {}, "chunks_error": f"plugin internals not found: {exc!r}"}
    if active is None:
        return {"chunks_us": {}, "chunks_error": "llm_cost_otel.instrument() left no active telemetry"}

    small, large = spec.get("chunk_small", 40), spec.get("chunk_large", 400)
    aclient = payloads.anthropic_client(payloads.anthropic_sse(large), True)
    gclient = payloads.gemini_client(payloads.gemini_sse(large), True)
    items = {
        "anthropic": list(
            aclient.messages.create(
                model=payloads.ANTHROPIC_MODEL, max_tokens=1024, messages=payloads.MESSAGES, stream=True
            )
        ),
        "google": list(gclient.models.generate_content_stream(model=payloads.GEMINI_MODEL, contents="hi")),
    }
    cpu_ns = time.process_time_ns
    reps = spec.get("chunk_reps", 30)
    out: dict[str, float] = {}
    for name, (watcher_type, provider, model) in watchers.items():
        timings: dict[tuple[str, int], list[int]] = {}
        for _ in range(reps):
            for n in (small, large):
                src = items[name][:n]
                call = call_type(active, request_type(provider=provider, operation="chat", model=model, stream=True))
                watcher = watcher_type(call)
                gc.disable()
                c0 = cpu_ns()
                for _ in observe(iter(src), watcher):
                    pass
                c1 = cpu_ns()
                for _ in iter(src):
                    pass
                c2 = cpu_ns()
                gc.enable()
                timings.setdefault(("observed", n), []).append(c1 - c0)
                timings.setdefault(("bare", n), []).append(c2 - c1)

        def added(n: int, timings: dict[tuple[str, int], list[int]] = timings) -> float:
            return statistics.median(timings[("observed", n)]) - statistics.median(timings[("bare", n)])

        out[name] = (added(large) - added(small)) / (large - small) / 1000
        out[f"{name} stream end (finish the call)"] = added(small) / 1000 - out[name] * small
    return {"chunks_us": out}


# --- a plain loop, for profilers (bench/hotspots.py) ---


def task_loop(spec: dict[str, Any]) -> dict[str, Any]:
    setup = Setup(spec["config"])
    fn = scenario_run(setup, spec["scenario"], spec.get("chunks", 40))
    for _ in range(spec.get("warmup", 50)):
        fn()
    setup.settle()
    gc.collect()
    started = time.perf_counter()
    calls = timed_loop(fn, spec.get("seconds", 5.0))
    elapsed = time.perf_counter() - started
    return {"calls": calls, "us_per_call": elapsed / calls * 1e6}


def timed_loop(fn: Run, seconds: float) -> int:
    """The profiler keeps only samples under this frame (set-up and warm-up are left out)."""
    end = time.monotonic() + seconds
    calls = 0
    while time.monotonic() < end:
        fn()
        calls += 1
    return calls


TASKS = {"memory": task_memory, "pricing": task_pricing, "chunks": task_chunks, "loop": task_loop}


def main(argv: Sequence[str]) -> int:
    import warnings

    warnings.simplefilter("ignore")
    spec = json.loads(argv[1])
    if spec["task"] == "serve":
        serve(spec)
        return 0
    result = {}
    for task in spec["task"].split(","):
        result.update(TASKS[task](spec))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
