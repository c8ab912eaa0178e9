"""attributes() and track(): propagation through nesting, threads, asyncio, decorators."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import llm_cost_otel
from support import anthropic_client, async_anthropic_client, json_response, message_json, per_million

MSGS = [{"role": "user", "content": "hi"}]
HAIKU = "claude-haiku-4-5-20251001"
ONE_CALL = per_million(10, 1.0) + per_million(5, 5.0)  # default usage: 10 in, 5 out on Haiku 4.5


def _client() -> Any:
    return anthropic_client(lambda r: json_response(message_json(model=HAIKU)))


def _call(client: Any) -> None:
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)


def test_attributes_reach_every_span_and_nest(otel: Any) -> None:
    client = _client()
    with llm_cost_otel.attributes(**{"user.id": "u1", "app.feature": "import"}):
        _call(client)
        with llm_cost_otel.attributes(**{"app.feature": "classify"}):
            _call(client)
    _call(client)
    a, b, c = (s.attributes for s in otel.chat_spans())
    assert (a["user.id"], a["app.feature"]) == ("u1", "import")
    assert (b["user.id"], b["app.feature"]) == ("u1", "classify")
    assert "user.id" not in c


def test_attributes_as_decorator_sync_and_async(otel: Any) -> None:
    client = _client()
    aclient = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU)))

    @llm_cost_otel.attributes(**{"app.feature": "sync"})
    def work() -> None:
        _call(client)

    @llm_cost_otel.attributes(**{"app.feature": "async"})
    async def awork() -> None:
        await aclient.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS)

    work()
    asyncio.run(awork())
    assert [s.attributes["app.feature"] for s in otel.chat_spans()] == ["sync", "async"]


def test_track_rolls_up_nested_threads_and_tasks(otel: Any) -> None:
    client = _client()
    aclient = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU)))

    async def many() -> None:
        await asyncio.gather(
            *(aclient.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MSGS) for _ in range(5))
        )

    with llm_cost_otel.track("full_pass", **{"user.id": "u9"}) as outer:
        _call(client)
        with llm_cost_otel.track("inner") as inner:
            _call(client)
            ctx = contextvars.copy_context()
            t = threading.Thread(target=ctx.run, args=(_call, client))
            t.start()
            t.join()
        with ThreadPoolExecutor(2) as pool:
            # executors do not copy context by themselves; the app does, in the submitting thread
            contexts = [contextvars.copy_context() for _ in range(3)]
            list(pool.map(lambda ctx: ctx.run(_call, client), contexts))
        asyncio.run(many())
    _call(client)  # outside: not rolled up

    assert inner.calls == 2
    assert outer.calls == 1 + 2 + 3 + 5
    assert outer.cost_usd == pytest.approx(11 * ONE_CALL)
    assert outer.usage.input_tokens == 110 and outer.usage.output_tokens == 55
    track_spans = {s.name: s for s in otel.spans() if s.kind.name == "INTERNAL"}
    full = track_spans["full_pass"]
    assert full.attributes["llm_cost.rollup.cost_usd"] == pytest.approx(11 * ONE_CALL)
    assert full.attributes["llm_cost.rollup.calls"] == 11
    assert not any(k.startswith("gen_ai.usage") for k in full.attributes)  # never double counted
    # the chat spans are children of the track span and carry its attributes
    chats = otel.chat_spans()
    inside = [s for s in chats if s.attributes.get("user.id") == "u9"]
    assert len(inside) == 11
    assert inside[0].parent.span_id == full.context.span_id


def test_concurrent_scopes_do_not_leak(otel: Any) -> None:
    client = _client()
    runs: dict[str, Any] = {}

    def worker(uid: str, n: int) -> None:
        with llm_cost_otel.track("job", **{"user.id": uid}) as run:
            for _ in range(n):
                _call(client)
        runs[uid] = run

    threads = [threading.Thread(target=worker, args=(f"u{i}", i + 1)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(6):
        assert runs[f"u{i}"].calls == i + 1
        assert runs[f"u{i}"].cost_usd == pytest.approx((i + 1) * ONE_CALL)
    by_user: dict[str, int] = {}
    for span in otel.chat_spans():
        by_user[span.attributes["user.id"]] = by_user.get(span.attributes["user.id"], 0) + 1
    assert by_user == {f"u{i}": i + 1 for i in range(6)}


def test_metric_allowlist_bounds_cardinality(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import baggage, context

    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        metric_attributes=["app.feature", "tenant.id"],
        baggage_attributes="tenant.id",  # opted in: baggage is untrusted input
    )
    client = _client()
    token = context.attach(baggage.set_baggage("tenant.id", "acme"))
    try:
        with llm_cost_otel.attributes(**{"app.feature": "chat", "user.id": "u-unbounded"}):
            _call(client)
    finally:
        context.detach(token)
    points = otel.metric_points("llm_cost.usd")
    assert points
    for point in points:
        assert point.attributes["app.feature"] == "chat"
        assert point.attributes["tenant.id"] == "acme"  # allowlisted baggage counts as attribution
        assert "user.id" not in point.attributes  # not allowlisted: span only
    (span,) = otel.chat_spans()
    assert span.attributes["user.id"] == "u-unbounded"
    assert span.attributes["tenant.id"] == "acme"


def test_cost_of_unknown_object_is_none() -> None:
    assert llm_cost_otel.cost_of(object()) is None
    assert llm_cost_otel.cost_of("msg_never_seen") is None


def test_thread_pool_tasks_stay_in_the_submitters_scope(otel: Any) -> None:
    """Threads do not inherit context: ThreadPoolExecutor.submit (map, run_in_executor)
    carries our attribution scope, and only ours, into its tasks."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    other: contextvars.ContextVar[str] = contextvars.ContextVar("app_var", default="unset")
    client = _client()
    seen: list[str] = []

    def work(_: int) -> None:
        seen.append(other.get())
        _call(client)

    other.set("submitter's")
    with llm_cost_otel.track("job", **{"user.id": "u1"}) as run, ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
        pool.submit(work, 0).result()
    assert run.calls == 5
    assert {s.attributes["user.id"] for s in otel.chat_spans()} == {"u1"}
    assert seen == ["unset"] * 5  # the app's own context variables are left alone
    llm_cost_otel.uninstrument()
    assert not hasattr(ThreadPoolExecutor.submit, "__wrapped__")  # restored
