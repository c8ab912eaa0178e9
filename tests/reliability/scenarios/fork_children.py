"""Forked children make LLM calls: forked while the price catalog loads in the background
(gunicorn --preload, a fork pool right after start-up), and forked while other threads are
in the middle of calls. Each child must finish its call; the parent waits for each with a
deadline and reports a child that hung.

usage: python -m ... fork_children ITERATIONS
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time
import warnings

import llm_cost_otel
from llm_cost_otel import instrumentation, telemetry
from llm_cost_otel.pricing import catalog

from ._common import MODEL, MSGS, client, providers

DEADLINE_S = 20.0


def child_call(app: object) -> int:
    """The child's first LLM call; exit status 0 when it was priced."""
    # a hang prints every thread's stack (to the parent's stderr) before the parent kills it
    faulthandler.dump_traceback_later(DEADLINE_S / 2, exit=False)
    try:
        message = app.messages.create(model=MODEL, max_tokens=5, messages=MSGS)  # type: ignore[attr-defined]
        return 0 if llm_cost_otel.cost_of(message) is not None else 3
    except BaseException:
        return 4


def wait(pid: int) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "ok" if os.waitstatus_to_exitcode(status) == 0 else f"failed:{os.waitstatus_to_exitcode(status)}"
        time.sleep(0.002)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return "hung"


def fork_and_call(app: object) -> str:
    pid = os.fork()
    if pid == 0:
        os._exit(child_call(app))
    return wait(pid)


def main(iterations: int) -> None:
    warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
    tracer_provider, meter_provider, reader, _ = providers()
    llm_cost_otel.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    app = client()
    results: dict[str, int] = {}

    # 1. forked while the catalog loads (the load starts again each round)
    rounds = max(iterations // 50, 5)
    for _ in range(rounds):
        catalog._snapshot = None
        active = telemetry.active()
        assert active is not None
        active.prices._cache.clear()
        instrumentation._start_warming(active.prices)
        outcome = fork_and_call(app)
        results[f"warming:{outcome}"] = results.get(f"warming:{outcome}", 0) + 1

    # 2. forked while four threads are inside calls, streams and collections
    stop = threading.Event()

    def busy() -> None:
        own = client()
        while True:
            with llm_cost_otel.track("job", **{"user.id": "u"}):
                own.messages.create(model=MODEL, max_tokens=5, messages=MSGS)
                for _ in own.messages.create(model=MODEL, max_tokens=5, messages=MSGS, stream=True):
                    pass
            reader.get_metrics_data()
            if stop.is_set():
                return

    # Every SDK model class built once before the threads start: pydantic builds a model's
    # schema on first use under one global lock (pydantic 2.14 `_rebuild_lock`), and a child
    # forked while a thread holds it hangs in the SDK, instrumented or not. This scenario
    # tests the plugin's locks, so the SDK's first-use window is closed first.
    stop.set()
    busy()
    stop.clear()
    threads = [threading.Thread(target=busy, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(iterations):
        outcome = fork_and_call(app)
        results[f"busy:{outcome}"] = results.get(f"busy:{outcome}", 0) + 1
    stop.set()
    for thread in threads:
        thread.join(10)
    bad = {k: v for k, v in results.items() if not k.endswith(":ok")}
    print("results", results)
    if bad:
        print("FAILED", bad)
        sys.exit(1)
    print(f"ok warming_rounds={rounds} busy_forks={iterations}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
