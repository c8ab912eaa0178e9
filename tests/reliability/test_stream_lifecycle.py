"""Stream lifecycle matrix: provider x sync/async x stream kind x how the stream ends.

For every combination that exists in the SDK, the same scenario is run twice, first with
the plugin uninstrumented, then instrumented, against the real SDK client over
``httpx2.MockTransport``. Asserted for the instrumented run:

- the consumer sees exactly the items (and the exception) it saw without the plugin;
- exactly one span was started and it ended exactly once (the ``otel`` fixture also fails
  the test if any span is still open, and no "ended span" warning may be logged);
- streams ended by ``close()`` or a context-manager exit end their span at once, while the
  app still holds the stream;
- the usage seen so far is on the span, and the metrics count it once
  (``llm_cost.tokens`` sum == span input + output tokens, ``llm_cost.usd`` == span cost,
  one duration point).

Combinations that do not exist in an SDK are listed as skipped, with the reason.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

import llm_cost_otel
from llm_cost_otel.deferred import settle

from ._support import (
    HAIKU,
    MSGS,
    dump,
    failing_response,
    gemini_client,
    gemini_sse,
    gemini_sse_body,
    response_json,
    sse_body,
    sse_response,
    stream_events,
)
from ._support import anthropic_client as make_anthropic
from ._support import async_anthropic_client as make_async_anthropic

pytestmark = pytest.mark.usefixtures("fresh_gc")

PROVIDERS = ("anthropic", "google")
MODES = ("sync", "async")
KINDS = ("create", "helper", "beta_helper", "chat")
ENDINGS = (
    "exhausted",
    "break",
    "close",
    "context_exit",
    "consumer_error",
    "transport_error",
    "gc",
    "cancelled",
)

# Where every non-exhausting scenario stops: after K items the consumer has seen (before the
# final usage arrives), or, for the transport error, after the bytes of these raw items.
ANTHROPIC_K, ANTHROPIC_RAW_BEFORE_ERROR = 4, 5
GOOGLE_K = 2
GOOGLE_CHUNKS = 6

ANTHROPIC_START_USAGE = {
    "input_tokens": 1000,
    "cache_read_input_tokens": 200,
    "cache_creation_input_tokens": 100,
    "output_tokens": 1,
}
ANTHROPIC_FINAL_USAGE = {"output_tokens": 50}
# (gen_ai.usage.input_tokens, gen_ai.usage.output_tokens): all input, cache included
EXPECTED = {
    ("anthropic", "full"): (1300, 50),
    ("anthropic", "partial"): (1300, 1),
    ("google", "full"): (400, 10 * GOOGLE_CHUNKS),
    ("google", "partial"): (400, 10 * GOOGLE_K),
}


def _skip_reason(provider: str, mode: str, kind: str, ending: str) -> str | None:
    if provider == "anthropic" and kind == "chat":
        return "anthropic SDK has no chat-session object (history is the app's own list); create/helper cover it"
    if provider == "google" and kind == "helper":
        return (
            "google-genai has no stream manager; its streaming helper is the chat session's "
            "send_message_stream, covered as kind 'chat'"
        )
    if provider == "google" and kind == "beta_helper":
        return "google-genai has no beta.messages namespace"
    if ending == "cancelled" and mode == "sync":
        return "no asyncio task to cancel in synchronous code"
    if provider == "google" and ending == "context_exit":
        return "google-genai streams are plain (async) generators: no context-manager protocol"
    return None


def _cases() -> list[Any]:
    cases = []
    for provider in PROVIDERS:
        for mode in MODES:
            for kind in KINDS:
                for ending in ENDINGS:
                    reason = _skip_reason(provider, mode, kind, ending)
                    marks = [pytest.mark.skip(reason=reason)] if reason else []
                    cases.append(
                        pytest.param(provider, mode, kind, ending, marks=marks, id=f"{provider}-{mode}-{kind}-{ending}")
                    )
    return cases


class ConsumerBug(Exception):
    pass


@dataclass
class Observed:
    items: list[Any] = field(default_factory=list)
    error: tuple[str, str] | None = None
    ended_while_held: bool | None = None
    """For close()/context exit: whether our span had ended right after, stream still held;
    for exhaustion and transport errors: whether it had ended when the app saw the end."""
    open_before_gc: bool | None = None
    """For the GC case: the span was still open before the collector ran (the case is real)."""
    ended_on_release: bool | None = None
    """Whether the span had ended once the scenario returned, before any cyclic GC ran."""


# --- payloads ----------------------------------------------------------------------------


def _anthropic_events() -> list[dict[str, Any]]:
    return stream_events(
        model=HAIKU, start_usage=ANTHROPIC_START_USAGE, final_usage=ANTHROPIC_FINAL_USAGE, deltas=6, msg_id="msg_lc"
    )


def _google_chunks() -> list[dict[str, Any]]:
    chunks = []
    for i in range(1, GOOGLE_CHUNKS + 1):
        usage = {
            "promptTokenCount": 400,
            "cachedContentTokenCount": 100,
            "candidatesTokenCount": 10 * i,
            "totalTokenCount": 400 + 10 * i,
        }
        chunks.append(
            response_json(text=f"part{i} ", usage=usage, finish="STOP" if i == GOOGLE_CHUNKS else None, response_id="r")
        )
    return chunks


def _handler(provider: str, ending: str, is_async: bool) -> Callable[[Any], Any]:
    if provider == "anthropic":
        events = _anthropic_events()
        if ending == "transport_error":
            chunks = [sse_body([e]) for e in events[:ANTHROPIC_RAW_BEFORE_ERROR]]
            return lambda request: failing_response(chunks, is_async)
        return lambda request: sse_response(events)
    gchunks = _google_chunks()
    if ending == "transport_error":
        chunks = [gemini_sse_body([c]) for c in gchunks[:GOOGLE_K]]
        return lambda request: failing_response(chunks, is_async)
    return lambda request: gemini_sse(gchunks)


# --- opening each kind of stream ------------------------------------------------------------


def _open_sync(provider: str, kind: str, client: Any) -> Any:
    """The object the app iterates (for helpers: the manager, entered by the scenario)."""
    if provider == "anthropic":
        args = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": MSGS}
        if kind == "create":
            return client.messages.create(stream=True, **args)
        if kind == "helper":
            return client.messages.stream(**args)
        return client.beta.messages.stream(**args)
    if kind == "create":
        return client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    return client.chats.create(model="gemini-2.5-flash").send_message_stream("hi")


async def _open_async(provider: str, kind: str, client: Any) -> Any:
    if provider == "anthropic":
        args = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": MSGS}
        if kind == "create":
            return await client.messages.create(stream=True, **args)
        if kind == "helper":
            return client.messages.stream(**args)
        return client.beta.messages.stream(**args)
    if kind == "create":
        return await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    return await client.aio.chats.create(model="gemini-2.5-flash").send_message_stream("hi")


def _is_manager(obj: Any) -> bool:
    return type(obj).__name__.endswith("MessageStreamManager")


def _close_sync(stream: Any) -> None:
    stream.close()


async def _close_async(stream: Any) -> None:
    if hasattr(stream, "aclose"):  # google-genai: an async generator
        await stream.aclose()
    else:
        await stream.close()


def _cycle(obj: Any) -> None:
    """Leave ``obj`` reachable only through a reference cycle: only the cyclic GC frees it."""
    holder: list[Any] = [obj]
    holder.append(holder)


# --- the scenarios ----------------------------------------------------------------------------


def _run_sync(provider: str, kind: str, ending: str, client: Any, probe: Callable[[], bool]) -> Observed:
    seen = Observed()
    k = ANTHROPIC_K if provider == "anthropic" else GOOGLE_K

    def take(stream: Any, limit: int | None) -> None:
        try:
            for item in stream:
                seen.items.append(dump(item))
                if ending == "consumer_error" and len(seen.items) == limit:
                    raise ConsumerBug("the app's own bug")
                if limit is not None and len(seen.items) == limit:
                    break
        except httpx2.TransportError:
            seen.ended_while_held = probe()
            raise
        if ending == "exhausted":
            seen.ended_while_held = probe()

    limit = None if ending in ("exhausted", "transport_error") else k
    try:
        opened = _open_sync(provider, kind, client)
        if ending == "gc":
            stream = opened.__enter__() if _is_manager(opened) else opened
            iterator = iter(stream)
            for _ in range(k):
                seen.items.append(dump(next(iterator)))
            _cycle((stream, iterator, opened))
            del stream, iterator, opened
            seen.open_before_gc = not probe()
            gc.collect()
            settle()  # finishes the collector deferred
        elif _is_manager(opened):  # the helper is used as documented: inside `with`
            with opened as stream:
                take(stream, limit)
                if ending == "close":
                    _close_sync(stream)
                    seen.ended_while_held = probe()
            if ending == "context_exit":
                seen.ended_while_held = probe()
        elif ending == "context_exit":
            with opened as stream:
                take(stream, limit)
            seen.ended_while_held = probe()
        else:
            take(opened, limit)
            if ending == "close":
                _close_sync(opened)
                seen.ended_while_held = probe()
    except Exception as exc:  # what the app would see
        seen.error = (type(exc).__qualname__, str(exc))
    return seen


def _run_async(provider: str, kind: str, ending: str, client: Any, probe: Callable[[], bool]) -> Observed:
    seen = Observed()
    k = ANTHROPIC_K if provider == "anthropic" else GOOGLE_K
    limit = None if ending in ("exhausted", "transport_error") else k
    reached = asyncio.Event()

    async def take(stream: Any) -> None:
        try:
            async for item in stream:
                seen.items.append(dump(item))
                if len(seen.items) == limit:
                    if ending == "consumer_error":
                        raise ConsumerBug("the app's own bug")
                    if ending == "cancelled":
                        reached.set()
                        await asyncio.sleep(60)
                    break
        except httpx2.TransportError:
            seen.ended_while_held = probe()
            raise
        if ending == "exhausted":
            seen.ended_while_held = probe()

    async def scenario() -> None:
        opened = await _open_async(provider, kind, client)
        if ending == "gc":
            stream = await opened.__aenter__() if _is_manager(opened) else opened
            iterator = stream.__aiter__()
            for _ in range(k):
                seen.items.append(dump(await iterator.__anext__()))
            _cycle((stream, iterator, opened))
            del stream, iterator, opened
            seen.open_before_gc = not probe()
            gc.collect()
            settle()  # finishes the collector deferred
            for _ in range(5):  # let the loop run async-generator finalizers
                await asyncio.sleep(0)
        elif _is_manager(opened):
            async with opened as stream:
                await take(stream)
                if ending == "close":
                    await _close_async(stream)
                    seen.ended_while_held = probe()
            if ending == "context_exit":
                seen.ended_while_held = probe()
        elif ending == "context_exit":
            async with opened as stream:
                await take(stream)
            seen.ended_while_held = probe()
        else:
            await take(opened)
            if ending == "close":
                await _close_async(opened)
                if provider == "google":
                    # aclose() on the SDK's public generator leaves its inner generators (and the
                    # HTTP response) to the event loop's async-generator finalizer, which runs
                    # within a couple of loop iterations; our span follows that inner stream.
                    for _ in range(5):
                        if probe():
                            break
                        await asyncio.sleep(0)
                seen.ended_while_held = probe()

    async def main() -> None:
        try:
            if ending == "cancelled":
                task = asyncio.create_task(scenario())
                await reached.wait()
                task.cancel()
                await task
            else:
                await scenario()
        except (Exception, asyncio.CancelledError) as exc:
            seen.error = (type(exc).__qualname__, str(exc))

    asyncio.run(main())
    return seen


def _client(provider: str, ending: str, is_async: bool) -> Any:
    handler = _handler(provider, ending, is_async)
    if provider == "anthropic":
        return make_async_anthropic(handler) if is_async else make_anthropic(handler)
    return gemini_client(handler)


def _run(provider: str, mode: str, kind: str, ending: str, client: Any, probe: Callable[[], bool]) -> Observed:
    if mode == "async":
        seen = _run_async(provider, kind, ending, client, probe)
    else:
        seen = _run_sync(provider, kind, ending, client, probe)
    seen.ended_on_release = probe()
    gc.collect()
    settle()  # finishes the collector deferred
    return seen


@pytest.mark.parametrize(("provider", "mode", "kind", "ending"), _cases())
def test_stream_lifecycle(
    otel: Any, caplog: pytest.LogCaptureFixture, provider: str, mode: str, kind: str, ending: str
) -> None:
    caplog.set_level(logging.WARNING)
    span_prefix = "chat" if provider == "anthropic" else "generate_content"

    client = _client(provider, ending, mode == "async")  # SDK patches are per class: one client serves both runs

    # 1. the SDK alone
    llm_cost_otel.uninstrument()
    baseline = _run(provider, mode, kind, ending, client, probe=lambda: False)
    assert otel.spans() == []

    # 2. the same scenario, instrumented
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)

    def probe() -> bool:
        return len(otel.spans(span_prefix)) == 1

    seen = _run(provider, mode, kind, ending, client, probe)

    # the app saw exactly what it sees without the plugin
    assert seen.items == baseline.items
    assert seen.error == baseline.error
    assert seen.items, "the scenario consumed nothing"
    if ending in ("consumer_error", "transport_error", "cancelled"):
        assert seen.error is not None
    else:
        assert seen.error is None
    if ending in ("close", "context_exit", "exhausted", "transport_error"):
        assert seen.ended_while_held, f"span still open right after {ending} while the app holds the stream"
    if ending == "gc":
        assert seen.open_before_gc, "the stream was freed before the GC ran: the case did not test the GC path"
    else:
        assert seen.ended_on_release, "span still open after the app dropped the stream (before cyclic GC)"

    # exactly one span, started once, ended once
    started = [s for s in otel.started if s.name.startswith(span_prefix)]
    assert len(started) == 1
    (span,) = otel.spans(span_prefix)
    assert span.end_time is not None
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]

    # usage seen so far
    expected_in, expected_out = EXPECTED[(provider, "full" if ending == "exhausted" else "partial")]
    attrs = span.attributes
    assert attrs["gen_ai.usage.input_tokens"] == expected_in
    assert attrs["gen_ai.usage.output_tokens"] == expected_out
    assert attrs["gen_ai.usage.cost"] > 0
    if ending == "transport_error":
        assert span.status.status_code.name == "ERROR"
        assert attrs["error.type"]

    # metrics counted once
    assert otel.metric_sum("llm_cost.tokens") == expected_in + expected_out
    assert otel.metric_sum("llm_cost.usd") == pytest.approx(attrs["gen_ai.usage.cost"], rel=1e-9)
    (duration,) = otel.metric_points("gen_ai.client.operation.duration")
    assert duration.count == 1
