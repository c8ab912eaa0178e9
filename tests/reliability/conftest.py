"""Fixtures for the reliability suite. The shared ones (``otel``) come from tests/conftest.py."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import httpx2
import pytest

import llm_cost_otel
from llm_cost_otel.deferred import settle

from ._support import (
    MSGS,
    anthropic_client,
    async_anthropic_client,
    gemini_client,
    gemini_sse,
    json_response,
    message_json,
    response_json,
    sse_response,
    stream_events,
)


def _warm_up() -> None:
    """One call down every path, so lazily imported SDK modules are loaded before the freeze."""
    llm_cost_otel.instrument()
    try:
        anthropic_client(lambda r: json_response(message_json())).messages.create(
            model="claude-haiku-4-5", max_tokens=5, messages=MSGS
        )
        with anthropic_client(lambda r: sse_response(stream_events())).messages.stream(
            model="claude-haiku-4-5", max_tokens=5, messages=MSGS
        ) as stream:
            stream.get_final_message()
        google = gemini_client(lambda r: httpx2.Response(200, json=response_json()))
        google.models.generate_content(model="gemini-2.5-flash", contents="hi")
        streaming = gemini_client(lambda r: gemini_sse([response_json()]))
        list(streaming.chats.create(model="gemini-2.5-flash").send_message_stream("hi"))

        async def main() -> None:
            client = async_anthropic_client(lambda r: sse_response(stream_events()))
            async with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=MSGS) as s:
                await s.get_final_message()
            async for _ in await streaming.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="x"):
                pass

        asyncio.run(main())
    finally:
        llm_cost_otel.uninstrument()


@pytest.fixture(scope="package", autouse=True)
def _fast_gc() -> Iterator[None]:
    """Many tests here call ``gc.collect()`` to prove that spans end when streams are
    collected. Moving what is alive after a warm-up (imported SDKs, OTel, pydantic schemas)
    out of the collector's reach keeps each collection cheap; everything the tests create
    is collected as usual."""
    _warm_up()
    gc.collect()
    settle()  # finishes the collector deferred
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="module")
def fresh_gc() -> None:
    """Freeze again what earlier modules left alive (hypothesis' state, recent calls kept for
    ``cost_of``), for modules that collect garbage in every test."""
    gc.collect()
    settle()  # finishes the collector deferred
    gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_warn_once() -> Iterator[None]:
    """The plugin warns once per site or model per process; what this suite triggers must not
    swallow a first warning that a later test module asserts on."""
    from llm_cost_otel import _safety

    saved = set(_safety._reported)
    yield
    _safety._reported.clear()
    _safety._reported.update(saved)
