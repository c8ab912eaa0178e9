"""What the cost ledger costs (issue 18): not a test, a measurement.

    python bench/ledger_bench.py                 # defaults: 9 rounds x 3,000 calls, 100,000 records
    python bench/ledger_bench.py --rounds 9 --calls 5000 --records 200000

1. Request path: the cost of ``put_call()`` (all the request path does), and µs per
   ``messages.create`` (real anthropic client over httpx2.MockTransport) with the ledger on
   and off in one process (the writer switched on and off between rounds, order alternated),
   the median of the per-round differences reported. The writer thread runs during the "on"
   rounds, so that figure includes its share of the GIL.
2. Writer: records/s it sustains, from a queue of ``--records`` real call records (queued
   all at once, then timed until ``flush()`` returns).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import llm_cost_otel
from llm_cost_otel import ledger

BODY = (
    b'{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",'
    b'"content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,'
    b'"usage":{"input_tokens":1200,"output_tokens":300}}'
)


class Null(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def client() -> Any:
    import anthropic

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=BODY, headers={"content-type": "application/json"})

    return anthropic.Anthropic(
        api_key="k", max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(reply))
    )


def per_call_us(path: Path, rounds: int, calls: int) -> tuple[list[float], list[float]]:
    """µs per call with the ledger off and on, in one instrumented process: the same client,
    spans and metrics, the Telemetry's writer switched on and off between rounds (the order
    alternating), so nothing but the ledger differs."""
    from llm_cost_otel.active import active

    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(Null()))
    meter = MeterProvider(metric_readers=[InMemoryMetricReader()])
    llm_cost_otel.instrument(tracer_provider=tracer, meter_provider=meter, ledger=str(path))
    telemetry = active()
    assert telemetry is not None
    writer = telemetry.ledger
    off: list[float] = []
    on: list[float] = []
    try:
        c = client()
        messages = [{"role": "user", "content": "hi"}]
        for _ in range(300):
            c.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=messages)
        for i in range(2 * rounds):
            ledger_on = (i % 2 == 0) == (i // 2 % 2 == 0)  # off,on then on,off, ...
            telemetry.ledger = writer if ledger_on else None
            ledger.flush(30)
            with llm_cost_otel.attributes(**{"user.id": "u1", "app.feature": "import"}):
                start = time.perf_counter()
                for _ in range(calls):
                    c.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=messages)
                elapsed = time.perf_counter() - start
            (on if ledger_on else off).append(elapsed / calls * 1e6)
    finally:
        telemetry.ledger = writer
        llm_cost_otel.uninstrument()  # flushes the ledger, outside the timing
    return off, on


def writer_records_per_s(path: Path, records: int) -> float:
    llm_cost_otel.instrument(tracer_provider=TracerProvider(), ledger=str(path))
    try:
        writer = ledger.writer_for(path)
        queue = writer._queue
        writer._queue = captured = collections.deque()  # the call's record, kept from the writer
        with llm_cost_otel.attributes(**{"user.id": "u1", "app.feature": "import"}):
            client().messages.create(
                model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        writer._queue = queue
        item = captured[0]
        writer.limit = records
        if records >= 100_000:  # the request path's own work: one put_call() (a deque append)
            put_call = writer.put_call
            args = item[1:]
            start = time.perf_counter()
            for _ in range(100_000):
                put_call(*args)
            print(f"  put_call(): {(time.perf_counter() - start) / 100_000 * 1e6:.2f} us per record queued")
            assert writer.flush(600)
        start = time.perf_counter()
        queue.extend([item] * records)
        assert writer.flush(600)
        return records / (time.perf_counter() - start)
    finally:
        llm_cost_otel.uninstrument()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        off, on = per_call_us(Path(tmp) / "calls.db", args.rounds, args.calls)
        added = [b - a for a, b in zip(off, on, strict=True)]
        print(f"request path, {args.rounds} rounds x {args.calls} calls (anthropic messages.create):")
        print(f"  ledger off  {statistics.median(off):8.1f} us/call  (rounds: {', '.join(f'{x:.1f}' for x in off)})")
        print(f"  ledger on   {statistics.median(on):8.1f} us/call  (rounds: {', '.join(f'{x:.1f}' for x in on)})")
        print(f"  added       {statistics.median(added):8.1f} us/call  (median of the per-round differences)")
        rates = [writer_records_per_s(Path(tmp) / f"writer{i}.db", args.records) for i in range(3)]
        print(f"writer: {statistics.median(rates):,.0f} records/s  (median of 3 runs of {args.records:,} records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
