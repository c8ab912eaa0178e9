"""Abandoned half-read streams in reference cycles, finalised by the garbage collector while
metrics are collected and calls run on another thread. Prints "ok ..." or fails; a deadlock
is caught by the parent's watchdog.

usage: python -m ... gc_finaliser ITERATIONS
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time

import llm_cost_otel
from llm_cost_otel.deferred import settle

from ._common import MODEL, MSGS, client, providers

TENANTS = 400


class Holder:
    """An app object that keeps its stream in a reference cycle (only the GC frees it)."""

    stream: object
    me: object


def main(iterations: int) -> None:
    os.environ["LLM_COST_OTEL_METRIC_CARDINALITY_LIMIT"] = "1000"
    tracer_provider, meter_provider, reader, ends = providers()
    llm_cost_otel.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, metric_attributes=["tenant.id"]
    )
    app = client()
    for i in range(TENANTS):  # 400 series: the metrics callback allocates a lot
        with llm_cost_otel.attributes(**{"tenant.id": f"t{i}"}):
            app.messages.create(model=MODEL, max_tokens=5, messages=MSGS)
    stop = threading.Event()
    other_calls = [0]

    def other_thread() -> None:
        own = client()
        while not stop.is_set():
            own.messages.create(model=MODEL, max_tokens=5, messages=MSGS)
            other_calls[0] += 1
            time.sleep(0.001)  # a steady second caller, not a flood: this tests locking, not throughput

    worker = threading.Thread(target=other_thread, daemon=True)
    worker.start()
    # Collections start inside whatever allocates: often the metrics callback building its
    # observations, right after a stream was abandoned below.
    gc.set_threshold(200, 1000, 1000)
    started = TENANTS
    for i in range(iterations):
        with llm_cost_otel.attributes(**{"tenant.id": f"t{i % TENANTS}"}):
            stream = app.messages.create(model=MODEL, max_tokens=5, messages=MSGS, stream=True)
        next(iter(stream))  # half read, then abandoned in a cycle
        holder = Holder()
        holder.stream, holder.me = stream, holder
        del stream, holder
        started += 1
        # a collection while the cycle waits for the collector (a generous deadline: a loaded
        # CI machine is slow, and a deadlock is caught by the parent's watchdog anyway)
        reader.collect(timeout_millis=300_000)
    stop.set()
    worker.join(30)
    assert not worker.is_alive(), "the other thread is blocked"
    gc.set_threshold(700, 10, 10)
    gc.collect()
    settle()
    started += other_calls[0]
    ended = sum(ends.ends.values())
    assert all(n == 1 for n in ends.ends.values()), "a span ended twice"
    assert ended == started, (ended, started)
    calls = sum(
        p.value
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "gen_ai.client.operation.duration"
        for p in [type("P", (), {"value": sum(dp.count for dp in m.data.data_points)})]
    )
    assert calls == started, (calls, started)
    print(f"ok iterations={iterations} spans={ended} other_thread_calls={other_calls[0]}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
