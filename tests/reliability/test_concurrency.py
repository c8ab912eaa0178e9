"""Concurrency and exactness: 16 threads x 500 calls plus 2,000 concurrent asyncio tasks,
mixed providers and models, every thread and task in its own ``track()`` scope.

- the ``llm_cost.usd`` metric sum equals the sum of the spans' ``gen_ai.usage.cost`` (1e-9
  relative), and ``llm_cost.tokens`` equals the spans' tokens exactly;
- every ``track()`` rollup equals the sum of its own calls' span costs and counts them all;
- no attribution leaks between concurrent scopes: every span carries its own scope's
  ``user.id`` and is a child of its own scope's span;
- allowlisted metric attributes (``tenant``) split the metric sums exactly as the spans do.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections import defaultdict
from typing import Any

import httpx2

import llm_cost_otel

from ._support import HAIKU, MSGS, anthropic_client, async_anthropic_client, gemini_client, message_json, response_json

THREADS, CALLS_PER_THREAD, TASKS = 16, 500, 2_000
TENANTS = 4

# model -> precomputed response body; usages differ so that costs differ per model
ANTHROPIC_BODIES = {
    "claude-haiku-4-5": json.dumps(
        message_json(
            model=HAIKU,
            usage={
                "input_tokens": 1_234,
                "cache_read_input_tokens": 10_000,
                "cache_creation_input_tokens": 777,
                "output_tokens": 321,
            },
        )
    ).encode(),
    "claude-sonnet-4-5": json.dumps(
        message_json(model="claude-sonnet-4-5-20250929", usage={"input_tokens": 4_321, "output_tokens": 987})
    ).encode(),
}
GOOGLE_BODIES = {
    "gemini-2.5-flash": json.dumps(
        response_json(
            usage={
                "promptTokenCount": 5_000,
                "cachedContentTokenCount": 2_000,
                "candidatesTokenCount": 400,
                "thoughtsTokenCount": 250,
                "totalTokenCount": 5_650,
            }
        )
    ).encode(),
    "gemini-2.5-pro": json.dumps(
        response_json(
            model="gemini-2.5-pro",
            usage={"promptTokenCount": 3_333, "candidatesTokenCount": 555, "totalTokenCount": 3_888},
        )
    ).encode(),
}
JSON = {"content-type": "application/json"}


def anthropic_handler(request: httpx2.Request) -> httpx2.Response:
    model = "claude-sonnet-4-5" if b"claude-sonnet-4-5" in request.content else "claude-haiku-4-5"
    return httpx2.Response(200, content=ANTHROPIC_BODIES[model], headers=JSON)


def google_handler(request: httpx2.Request) -> httpx2.Response:
    model = "gemini-2.5-pro" if "gemini-2.5-pro" in request.url.path else "gemini-2.5-flash"
    return httpx2.Response(200, content=GOOGLE_BODIES[model], headers=JSON)


def _call(n: int, anthropic: Any, google: Any) -> None:
    """Call number ``n`` of a scope: providers and models interleaved."""
    choice = n % 4
    if choice == 0:
        anthropic.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    elif choice == 1:
        google.models.generate_content(model="gemini-2.5-flash", contents="hi")
    elif choice == 2:
        anthropic.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MSGS)
    else:
        google.models.generate_content(model="gemini-2.5-pro", contents="hi")


async def _acall(n: int, anthropic: Any, google: Any) -> None:
    choice = n % 4
    if choice == 0:
        await anthropic.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)
    elif choice == 1:
        await google.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    elif choice == 2:
        await anthropic.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MSGS)
    else:
        await google.aio.models.generate_content(model="gemini-2.5-pro", contents="hi")


def test_threads_and_tasks_are_exact_and_never_leak(otel: Any) -> None:
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, metric_attributes=["tenant"]
    )
    anthropic = anthropic_client(anthropic_handler)
    google = gemini_client(google_handler)
    runs: dict[str, Any] = {}  # user.id -> Run
    scope_spans: dict[str, int] = {}  # user.id -> span id of its track() span
    expected_calls: dict[str, int] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        user = f"user-thread-{i}"
        try:
            barrier.wait()  # all threads start together
            with llm_cost_otel.track(f"thread-{i}", **{"user.id": user, "tenant": f"t{i % TENANTS}"}) as run:
                from opentelemetry import trace

                scope_spans[user] = trace.get_current_span().get_span_context().span_id
                for n in range(CALLS_PER_THREAD):
                    with llm_cost_otel.attributes(**{"app.step": n % 3}):
                        _call(n + i, anthropic, google)
            runs[user] = run
            expected_calls[user] = CALLS_PER_THREAD
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()

    async def tasks() -> None:
        aanthropic = async_anthropic_client(anthropic_handler)
        started = asyncio.Event()

        async def task(k: int) -> None:
            user = f"user-task-{k}"
            with llm_cost_otel.track(f"task-{k}", **{"user.id": user, "tenant": f"t{k % TENANTS}"}) as run:
                from opentelemetry import trace

                scope_spans[user] = trace.get_current_span().get_span_context().span_id
                await started.wait()  # all 2,000 scopes are open at once, then interleave
                await _acall(k, aanthropic, google)
            runs[user] = run
            expected_calls[user] = 1

        pending = [asyncio.create_task(task(k)) for k in range(TASKS)]
        await asyncio.sleep(0)
        started.set()
        await asyncio.gather(*pending)

    asyncio.run(tasks())
    for thread in threads:
        thread.join()
    assert not errors, errors

    spans = [s for s in otel.exporter.get_finished_spans() if s.kind.name == "CLIENT"]
    assert len(spans) == THREADS * CALLS_PER_THREAD + TASKS

    # no attribution leaks: each span belongs to its own scope, by attribute and by parent
    by_user: dict[str, list[Any]] = defaultdict(list)
    for span in spans:
        user = span.attributes["user.id"]
        by_user[user].append(span)
        assert span.parent is not None and span.parent.span_id == scope_spans[user], "span parented to another scope"
        assert span.attributes["tenant"] == runs[user].attributes["tenant"]
    assert {u: len(s) for u, s in by_user.items()} == expected_calls

    # every rollup equals the sum of its own calls
    for user, run in runs.items():
        own = by_user[user]
        assert run.calls == len(own)
        assert math.isclose(run.cost_usd, sum(s.attributes["gen_ai.usage.cost"] for s in own), rel_tol=1e-9)
        assert run.usage.output_tokens == sum(s.attributes["gen_ai.usage.output_tokens"] for s in own)
    track_spans = {s.attributes["user.id"]: s for s in otel.exporter.get_finished_spans() if s.kind.name == "INTERNAL"}
    for user, run in runs.items():
        assert track_spans[user].attributes["llm_cost.rollup.cost_usd"] == run.cost_usd
        assert track_spans[user].attributes["llm_cost.rollup.calls"] == run.calls

    # metrics == spans, in total and per allowlisted tenant
    span_cost = math.fsum(s.attributes["gen_ai.usage.cost"] for s in spans)
    assert span_cost > 0
    assert math.isclose(otel.metric_sum("llm_cost.usd"), span_cost, rel_tol=1e-9)
    span_tokens = sum(
        s.attributes["gen_ai.usage.input_tokens"] + s.attributes["gen_ai.usage.output_tokens"] for s in spans
    )
    metric_tokens = sum(p.value for p in otel.metric_points("llm_cost.tokens"))
    assert metric_tokens == span_tokens
    for t in range(TENANTS):
        tenant = f"t{t}"
        own_cost = math.fsum(s.attributes["gen_ai.usage.cost"] for s in spans if s.attributes["tenant"] == tenant)
        assert math.isclose(otel.metric_sum("llm_cost.usd", tenant=tenant), own_cost, rel_tol=1e-9)
    # the unbounded user.id never reaches a metric
    for name in ("llm_cost.usd", "llm_cost.tokens", "gen_ai.client.operation.duration", "gen_ai.client.token.usage"):
        for point in otel.metric_points(name):
            assert "user.id" not in point.attributes and "app.step" not in point.attributes
    # 12,000 spans: free them now (recently finished calls stay reachable through cost_of's
    # id index, and every later gc.collect() in the suite would have to walk them).
    otel.exporter.clear()
