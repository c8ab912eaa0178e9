"""The adapter kit: server_of, BoundedDict, traced/starter, tap."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from opentelemetry import trace

import llm_cost_otel
from llm_cost_otel import anthropic as anthropic_adapter
from llm_cost_otel import google_genai as google_adapter
from llm_cost_otel import kit, streams
from llm_cost_otel.bounded import BoundedDict
from llm_cost_otel.cost_lookup import Priced, cost_of
from llm_cost_otel.records import Outcome, Request
from llm_cost_otel.usage import Cost, Usage

# --- server_of ------------------------------------------------------------------------------

# (base URL, expected (server.address, server.port))
SERVERS = [
    ("https://api.anthropic.com", ("api.anthropic.com", 443)),
    ("https://generativelanguage.googleapis.com/", ("generativelanguage.googleapis.com", 443)),
    ("http://localhost", ("localhost", 80)),
    ("http://127.0.0.1:4010/v1", ("127.0.0.1", 4010)),
    ("https://gateway.internal:8443/anthropic/", ("gateway.internal", 8443)),
    ("wss://live.example.com/ws", ("live.example.com", 443)),
    ("ws://live.example.com", ("live.example.com", 80)),
    ("grpc://models.example.com", ("models.example.com", None)),
    ("grpc://models.example.com:9000", ("models.example.com", 9000)),
    ("HTTPS://API.Example.COM", ("api.example.com", 443)),
]


@pytest.mark.parametrize(("url", "expected"), SERVERS)
def test_server_of_a_string_and_a_url_object_agree(url: str, expected: tuple[str, int | None]) -> None:
    assert kit.server_of(url) == expected
    assert kit.server_of(httpx2.URL(url)) == expected


def test_server_of_is_the_same_after_caching_and_for_equal_strings() -> None:
    url = "https://cached.example.com:1234/v1"
    first = kit.server_of(url)
    equal = "".join(["https://cached.example.com", ":1234/v1"])  # an equal string, another object
    assert equal is not url
    assert kit.server_of(url) == kit.server_of(equal) == first == ("cached.example.com", 1234)
    obj = httpx2.URL("http://cached.example.com")
    assert kit.server_of(obj) == kit.server_of(obj) == ("cached.example.com", 80)


@pytest.mark.parametrize("url", [None, 42, "", "not a url", "https://", "http://host:notaport/", object()])
def test_server_of_what_is_no_url_is_no_server(url: Any) -> None:
    assert kit.server_of(url) == (None, None)


def test_server_of_remembers_a_bounded_number_of_urls() -> None:
    for i in range(3 * kit._servers.max_size):
        assert kit.server_of(f"https://host{i}.example.com:{1000 + i}") == (f"host{i}.example.com", 1000 + i)
    assert len(kit._servers) <= kit._servers.max_size


def _anthropic_server(base_url: str) -> tuple[str | None, int | None]:
    client = SimpleNamespace(base_url=httpx2.URL(base_url))
    options = SimpleNamespace(
        url="/v1/messages", method="post", json_data={"model": "claude-haiku-4-5", "messages": []}, extra_json=None
    )
    request = anthropic_adapter._plan(client, (object, options), {})
    assert request is not None
    return request.server_address, request.server_port


def _google_server(base_url: str) -> tuple[str | None, int | None]:
    models = SimpleNamespace(
        _api_client=SimpleNamespace(vertexai=False, _http_options=SimpleNamespace(base_url=base_url))
    )
    request = google_adapter._describer("generate_content")(models, (), {"model": "gemini-2.5-flash"})
    return request.server_address, request.server_port


@pytest.mark.parametrize(("url", "expected"), SERVERS)
def test_both_adapters_report_the_same_server(url: str, expected: tuple[str, int | None]) -> None:
    assert _anthropic_server(url) == _google_server(url) == expected


# --- BoundedDict ----------------------------------------------------------------------------


def test_bounded_dict_forgets_the_oldest_first() -> None:
    d: BoundedDict[str, int] = BoundedDict(3)
    for i, key in enumerate("abcde"):
        d.put(key, i)
    assert list(d.items()) == [("c", 2), ("d", 3), ("e", 4)]
    d.put("c", 9)  # a new value keeps the entry's place
    d.put("f", 5)
    assert list(d) == ["d", "e", "f"]
    d.touch("d")  # now the newest
    d.touch("gone")  # not there: nothing happens
    d.put("g", 6)
    assert list(d) == ["f", "d", "g"]


def test_bounded_dict_never_holds_more_than_its_bound() -> None:
    d: BoundedDict[int, None] = BoundedDict(100)
    for i in range(10_000):
        d.put(i, None)
        assert len(d) <= 100
    assert list(d) == list(range(9_900, 10_000))


def test_bounded_dict_trim_and_pop_oldest() -> None:
    d: BoundedDict[int, int] = BoundedDict(10)
    for i in range(6):
        d[i] = i  # plain assignment does not trim: the caller's own rule may
    d.trim(2)
    assert list(d) == [4, 5]
    assert d.pop_oldest() and list(d) == [5]
    assert d.pop_oldest() and not d
    assert not d.pop_oldest()
    d.trim()  # nothing to do
    assert not d


def test_bounded_dict_from_many_threads_does_not_raise() -> None:
    d: BoundedDict[int, int] = BoundedDict(8)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def hammer(seed: int) -> None:
        try:
            start.wait()
            for i in range(20_000):
                key = (seed * 7 + i) % 32
                d.put(key, i)
                d.touch((key + 3) % 32)
                if i % 5 == 0:
                    d.pop_oldest()
                if i % 7 == 0:
                    d.trim(4)
                d.setdefault(key, i)
                d.get((key + 1) % 32)
        except BaseException as exc:
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    d.trim()
    assert len(d) <= 8


# --- traced and starter ---------------------------------------------------------------------

ADAPTER = "tests.kit"


def _request(*_: Any) -> Request:
    return Request(provider="anthropic", operation="chat", model="claude-haiku-4-5")


def _finish(call: Any, result: Any) -> Any:
    call.finish(Outcome(usage=Usage(input_tokens=1000, output_tokens=100)))
    return ("finished", result)


def _error_type(exc: BaseException) -> str:
    return "oops"


_current: contextvars.ContextVar[Any] = contextvars.ContextVar("tests_kit_current", default=None)


def test_traced_sends_with_the_call_current_and_hands_the_result_to_finish(otel: Any) -> None:
    sync, _ = kit.traced(ADAPTER, _request, _finish, _error_type, "tests.kit", current=_current)
    instance = object()
    seen: list[Any] = []

    def sdk(x: int, y: int = 0) -> int:
        call, on = _current.get()
        seen.append((on, trace.get_current_span() is call.span))
        return x + y

    assert sync(sdk, instance, (1,), {"y": 2}) == ("finished", 3)
    assert seen == [(instance, True)]
    assert _current.get() is None
    (span,) = otel.chat_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 1000


def test_traced_ends_the_call_on_an_sdk_error_and_reraises_it(otel: Any) -> None:
    sync, _ = kit.traced(ADAPTER, _request, _finish, _error_type, "tests.kit", current=_current)

    def sdk() -> None:
        raise KeyError("from the SDK")

    with pytest.raises(KeyError, match="from the SDK"):
        sync(sdk, None, (), {})
    assert _current.get() is None
    (span,) = otel.chat_spans()
    assert span.attributes["error.type"] == "oops"


async def test_traced_async(otel: Any) -> None:
    _, async_wrapper = kit.traced(ADAPTER, _request, _finish, _error_type, "tests.kit", current=_current)

    async def sdk(x: int) -> int:
        await asyncio.sleep(0)
        assert _current.get() is not None
        return x * 2

    assert await async_wrapper(sdk, None, (21,), {}) == ("finished", 42)
    assert _current.get() is None
    assert len(otel.chat_spans()) == 1


@pytest.mark.parametrize("describe", [lambda *_: None, lambda *_: 1 / 0], ids=["not-ours", "describe-fails"])
async def test_traced_passes_through_what_it_does_not_trace(otel: Any, describe: Any) -> None:
    def must_not_finish(call: Any, result: Any) -> Any:
        raise AssertionError("finish called for a request that is not traced")

    sync, async_wrapper = kit.traced(ADAPTER, describe, must_not_finish, _error_type, "tests.kit")

    async def sdk_async() -> str:
        return "untouched"

    assert sync(lambda: "untouched", None, (), {}) == "untouched"
    assert await async_wrapper(sdk_async, None, (), {}) == "untouched"
    assert otel.spans() == []


def test_traced_and_starter_do_nothing_when_not_instrumented() -> None:
    llm_cost_otel.uninstrument()
    calls: list[Any] = []

    def describe(*args: Any) -> Request:
        calls.append(args)
        return _request()

    sync, _ = kit.traced(ADAPTER, describe, _finish, _error_type, "tests.kit")
    assert sync(lambda: 5, None, (), {}) == 5
    assert kit.starter(ADAPTER, describe, "tests.kit")(None, (), {}) is None
    assert calls == []


def test_starter_starts_a_call_or_none(otel: Any) -> None:
    call = kit.starter(ADAPTER, _request, "tests.kit")(None, (), {})
    assert call is not None and not call.finished
    call.finish(Outcome(usage=Usage(input_tokens=1)))
    assert kit.starter(ADAPTER, lambda *_: None, "tests.kit")(None, (), {}) is None
    assert kit.starter(ADAPTER, lambda *_: 1 / 0, "tests.kit")(None, (), {}) is None
    assert len(otel.chat_spans()) == 1


# --- tap ------------------------------------------------------------------------------------


class _Watcher(streams.Watcher):
    __slots__ = ("ended", "items")

    def __init__(self, call: Any) -> None:
        super().__init__(call)
        self.items: list[Any] = []
        self.ended: list[BaseException | None] = []

    def item(self, item: Any) -> None:
        self.items.append(item)

    def end(self, error: BaseException | None = None) -> None:
        self.ended.append(error)


def _fake_call() -> Any:
    priced = Priced()
    priced.cost = Cost(1.0, 2.0, 0.0, 0.0, 0.0, "catalog", "m", "v")
    return SimpleNamespace(first_chunk=lambda: None, priced=priced)


class _SyncStream:
    def __init__(self) -> None:
        self._iterator: Iterator[int] = iter([1, 2, 3])

    def __iter__(self) -> Iterator[int]:
        return self._iterator


class _AsyncStream:
    def __init__(self) -> None:
        async def items() -> AsyncIterator[int]:
            for i in (1, 2, 3):
                yield i

        self.generator = items()


def test_tap_an_attribute_in_place() -> None:
    stream = _SyncStream()
    watcher = _Watcher(_fake_call())
    assert kit.tap(stream, watcher, "_iterator") is stream
    assert list(stream) == [1, 2, 3]
    assert watcher.items == [1, 2, 3] and watcher.ended == [None]
    assert cost_of(stream) is watcher.call.priced.cost


async def test_tap_an_async_attribute_in_place() -> None:
    stream = _AsyncStream()
    watcher = _Watcher(_fake_call())
    assert kit.tap(stream, watcher, "generator") is stream
    assert [i async for i in stream.generator] == [1, 2, 3]
    assert watcher.items == [1, 2, 3] and watcher.ended == [None]
    assert cost_of(stream) is watcher.call.priced.cost


async def test_tap_an_async_iterator_itself_and_close_or_drop_it() -> None:
    async def items() -> AsyncIterator[int]:
        for i in (1, 2, 3):
            yield i

    watcher = _Watcher(_fake_call())
    observed = kit.tap(items(), watcher)
    assert await observed.__anext__() == 1
    assert cost_of(observed) is watcher.call.priced.cost
    streams.closed(observed)  # what a patched close() does: the call ends now
    assert watcher.ended == [None]
    await observed.aclose()

    dropped = _Watcher(_fake_call())
    kit.tap(iter([1, 2]), dropped)  # never iterated, dropped at once: ends when collected
    gc.collect()
    assert dropped.ended == [None]


def test_kit_is_short() -> None:
    source = Path(kit.__file__).read_text()
    assert len(source.splitlines()) <= 300


def test_bounded_dict_copies_and_pickles_with_its_bound() -> None:
    import copy
    import pickle

    from llm_cost_otel.bounded import BoundedDict

    original: BoundedDict[str, int] = BoundedDict(2)
    original.put("a", 1)
    original.put("b", 2)
    for clone in (original.copy(), copy.copy(original), copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert type(clone) is BoundedDict and clone.max_size == 2 and list(clone.items()) == [("a", 1), ("b", 2)]
        clone.put("c", 3)
        assert list(clone) == ["b", "c"]
    assert list(original) == ["a", "b"]
