"""Anthropic adapter: every billed Messages request and every batch result, exactly once.

Where we hook: the SDK client's ``request`` method (``SyncAPIClient.request`` /
``AsyncAPIClient.request``), which every resource method goes through exactly once per
logical request, above the retry loop. So ``messages.create`` (plain and streamed),
``messages.stream()``, ``messages.parse()``, ``with_raw_response``,
``with_streaming_response``, ``beta.messages.*``, the tool runner's turns and every cloud
client (Bedrock, Vertex AI, Foundry) are counted once each, and retries are not counted
twice. ``count_tokens`` is free and is left alone.

The SDK's own tracing: anthropic 2.x emits its own span with ``gen_ai.usage.*`` when a
global TracerProvider exists. For the requests we trace, the SDK makes no span of its own,
so there is exactly one span per billed request (ours, with usage and cost), and the request
still carries ``traceparent`` as ours wherever the SDK would have propagated its own (see
``_sdk_span_hook``). Every other SDK span (files, models, ...) is untouched.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace

from . import semconv as names
from . import streams
from ._fields import fields_of
from ._safety import log_once
from .calls import BatchResults, Call
from .cost_lookup import remember
from .counts import UnreadableUsage, count, has_counts
from .kit import BoundedDict, CostInstrumentor, observing, server_of, tap, traced
from .pricing.dimensions import model_scope, vertex_scope
from .records import Outcome, Request
from .usage import Usage

__all__ = ["AnthropicInstrumentor", "usage_from_anthropic"]

_INSTRUMENTS = ("anthropic >= 2.10, < 3",)
_MESSAGES_URLS = frozenset({"/v1/messages", "/v1/messages?beta=true"})
_PARAMS = frozenset({"max_tokens", "temperature", "top_p", "top_k", "stop_sequences"})
# isinstance() with `int | float` builds a union object on every call: keep the tuples ready.
_PARAM_TYPES = (int, float, list, tuple)
_SEQUENCES = (list, tuple)
_SYSTEM_TYPES = (str, list)


# --- usage -----------------------------------------------------------------------------


# The token counts of a usage report: one of them must be there for the report to say anything.
_TOKEN_COUNTS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def usage_from_anthropic(usage: Any) -> Usage:
    """Anthropic ``usage`` (object or dict) -> the neutral partition.

    ``input_tokens`` excludes cache reads and writes; ``cache_creation_input_tokens`` is the
    total of the 5m and 1h writes that ``cache_creation`` splits (absent in older payloads:
    then all writes are 5m, the default TTL).

    Raises ``UnreadableUsage`` when a count in it is not a count, or it has no token count.
    """
    fields = fields_of(usage)
    if not has_counts(fields, _TOKEN_COUNTS):
        raise UnreadableUsage("a usage report without token counts")
    get = fields.get
    writes = count(get("cache_creation_input_tokens"))
    split = get("cache_creation")
    w5 = w1 = 0
    if split is not None:
        sget = fields_of(split).get
        w5 = count(sget("ephemeral_5m_input_tokens"))
        w1 = count(sget("ephemeral_1h_input_tokens"))
    if w5 + w1 < writes:
        w5 += writes - (w5 + w1)  # unsplit remainder: the default 5m TTL
    tools = get("server_tool_use")
    web_search = web_fetch = 0
    if tools is not None:
        tget = fields_of(tools).get
        web_search = count(tget("web_search_requests"))
        web_fetch = count(tget("web_fetch_requests"))
    details = get("output_tokens_details")
    output = count(get("output_tokens"))
    reasoning = count(fields_of(details).get("thinking_tokens")) if details is not None else 0
    return Usage(
        input_tokens=count(get("input_tokens")),
        cache_read_tokens=count(get("cache_read_input_tokens")),
        cache_write_5m_tokens=w5,
        cache_write_1h_tokens=w1,
        output_tokens=output,
        reasoning_tokens=min(reasoning, output),
        web_search_requests=web_search,
        web_fetch_requests=web_fetch,
    )


def _read_usage(usage: Any, outcome: Outcome) -> None:
    """Set ``outcome``'s usage from a report that is there: unreadable -> unknown, never $0."""
    try:
        outcome.usage = usage_from_anthropic(usage)
    except UnreadableUsage:
        outcome.usage_unknown = True


def _outcome_from_message(message: Any) -> Outcome:
    usage = getattr(message, "usage", None)
    stop = getattr(message, "stop_reason", None)
    speed = getattr(usage, "speed", None) if usage is not None else None
    outcome = Outcome(
        price_tier="fast" if speed == "fast" else None,
        response_model=getattr(message, "model", None),
        response_id=getattr(message, "id", None),
        finish_reasons=(stop,) if isinstance(stop, str) else None,
        service_tier=getattr(usage, "service_tier", None) if usage is not None else None,
        inference_geo=getattr(usage, "inference_geo", None) if usage is not None else None,
        output_messages=lambda: _output_messages(message),
    )
    if usage is not None:
        _read_usage(usage, outcome)
    else:
        outcome.usage_unknown = True  # a message is billed: no usage report is unknown usage, not $0
    return outcome


def _output_messages(message: Any) -> Any:
    content = getattr(message, "content", None)
    if content is None:
        return None
    return [{"role": "assistant", "content": content, "finish_reason": getattr(message, "stop_reason", None)}]


# --- streams ---------------------------------------------------------------------------


class _MessageStreamWatcher(streams.Watcher):
    """Reads usage from raw message events: ``message_start`` carries input, cache and tier;
    ``message_delta.usage`` is cumulative, so the last one wins (never summed)."""

    __slots__ = ("content", "delta_usage", "model", "response_id", "start_usage", "stop_reason")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.start_usage: Any = None
        self.delta_usage: Any = None
        self.model: str | None = None
        self.response_id: str | None = None
        self.stop_reason: str | None = None
        self.content: list[Any] | None = [] if call.telemetry.capture_content else None

    def item(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_delta":
            self.delta_usage = getattr(event, "usage", None)
            delta = getattr(event, "delta", None)
            stop = getattr(delta, "stop_reason", None)
            if stop:
                self.stop_reason = stop
        elif kind == "message_start":
            message = getattr(event, "message", None)
            self.start_usage = getattr(message, "usage", None)
            self.model = getattr(message, "model", None)
            self.response_id = getattr(message, "id", None)
        elif self.content is not None and kind == "content_block_delta":
            delta = getattr(event, "delta", None)
            text = (
                getattr(delta, "text", None) or getattr(delta, "thinking", None) or getattr(delta, "partial_json", None)
            )
            if text and isinstance(text, str):
                self.content.append(text)

    def error_type(self, error: BaseException) -> str:
        return _error_type(error)

    def outcome(self) -> Outcome:
        output = None
        if self.content is not None:
            output = [{"role": "assistant", "content": "".join(self.content), "finish_reason": self.stop_reason}]
        outcome = Outcome(
            response_model=self.model,
            response_id=self.response_id,
            finish_reasons=(self.stop_reason,) if self.stop_reason else None,
            service_tier=getattr(self.start_usage, "service_tier", None),
            inference_geo=getattr(self.start_usage, "inference_geo", None),
            output_messages=output,
        )
        if self.start_usage is not None or self.delta_usage is not None:
            merged: dict[str, Any] = {}
            for source in (self.start_usage, self.delta_usage):
                if source is None:
                    continue
                data = fields_of(source)
                for key, value in data.items():
                    if value is not None:
                        merged[key] = value
            _read_usage(merged, outcome)
        return outcome


# The results counted so far, per batch id: a batch's results may be downloaded any number of
# times, but each was billed once. Bounded by batches and by results: the batches downloaded
# longest ago are forgotten first (a download of a forgotten batch is counted again). No lock:
# setdefault is one atomic step, so two downloads of one batch at once share one dict and
# give each result to one of them.
_COUNTED_BATCHES = 256
_COUNTED_RESULTS = 1_000_000
_counted: BoundedDict[str, dict[str, object]] = BoundedDict(_COUNTED_BATCHES)


def _counted_results(batch_id: str) -> dict[str, object]:
    """The keys of ``batch_id``'s results already counted, shared by every download of it."""
    seen = _counted.setdefault(batch_id, {})
    _counted.touch(batch_id)
    _counted.trim(max(_COUNTED_BATCHES, 1))  # the module's bounds are read at each use (tests lower them)
    # the results budget spares the newest batch, the one being read
    while len(_counted) > 1 and sum(map(len, _counted.values())) > _COUNTED_RESULTS and _counted.pop_oldest():
        pass
    return seen


class _BatchResultsWatcher(streams.Watcher):
    """Reads ``batches.results()`` lines: every succeeded result is a billed request, counted
    once per process however often the batch's results are downloaded."""

    __slots__ = ("batch", "seen", "skipped")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.batch = BatchResults(call, "chat")
        batch_id = call.request.params.get("batch_id")
        self.seen = _counted_results(batch_id) if isinstance(batch_id, str) else None
        self.skipped = 0

    def item(self, line: Any) -> None:
        result = getattr(line, "result", None)
        if getattr(result, "type", None) != "succeeded":
            return
        message = getattr(result, "message", None)
        usage = getattr(message, "usage", None)
        if usage is None:
            return
        response_id = getattr(message, "id", None)
        if self.seen is not None and self._counted_before(getattr(line, "custom_id", None), response_id):
            self.skipped += 1
            return
        model = getattr(message, "model", None) or "unknown"
        try:
            parsed = usage_from_anthropic(usage)
        except UnreadableUsage:
            self.batch.add_unknown(model)
            return
        self.batch.add(model, parsed, response_id)

    def _counted_before(self, custom_id: Any, response_id: Any) -> bool:
        """Whether an earlier download counted this result; marks it counted if not. Keyed by
        its ``custom_id`` (unique in a batch), else its message id (NUL-prefixed: custom ids
        are ``[a-zA-Z0-9_-]``, so the two never meet); a result with neither is counted."""
        if isinstance(custom_id, str) and custom_id:
            key = custom_id
        elif isinstance(response_id, str) and response_id:
            key = "\0" + response_id
        else:
            return False
        seen = self.seen
        assert seen is not None
        mine = object()
        return seen.setdefault(key, mine) is not mine

    def end(self, error: BaseException | None = None) -> None:
        call = self.call
        if not call.finished:
            try:
                call.span.set_attribute(names.BATCH_ALREADY_COUNTED, self.skipped)
            except Exception:
                log_once("anthropic.batch")
        self.batch.finish(error)


# --- the request hook ------------------------------------------------------------------


def _plan(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request | None:
    """Decide from the request options whether this request is ours, and describe it: a
    Messages request, or a batch's results download (``batch=True``)."""
    options, stream = _request_args(args, kwargs)
    if options is None:
        return None
    url = options.url
    method = options.method
    if method == "post" and url in _MESSAGES_URLS:
        batch_results = False
    elif method == "get" and url.endswith("/results") and "/messages/batches/" in url:
        batch_results = True
    else:
        return None
    provider = getattr(type(client), "_gen_ai_provider_name", "anthropic")
    address, port = server_of(client.base_url)
    if batch_results:
        batch_id = url.rstrip("/").rsplit("/", 2)[-2]
        return Request(
            provider=provider,
            operation=names.BATCH_RESULTS_OPERATION,
            model="",
            server_address=address,
            server_port=port,
            params={"batch_id": batch_id},
            batch=True,
        )
    body = options.json_data if isinstance(options.json_data, dict) else {}
    extra = getattr(options, "extra_json", None)
    model = body.get("model")
    if isinstance(extra, dict) and isinstance(extra.get("model"), str):
        model = extra["model"]
    # the intersection runs in C: only the parameters the request sets are looked at
    params = {k: body[k] for k in _PARAMS.intersection(body) if isinstance(body[k], _PARAM_TYPES)}
    messages = body.get("messages")
    if not isinstance(model, str):
        model = ""
    scope = None
    if provider != "anthropic":  # where a cloud runs the request changes its price
        scope = _price_scope(client, provider, model)
    return Request(
        provider=provider,
        operation="chat",
        model=model,
        server_address=address,
        server_port=port,
        params=params,
        stream=bool(stream),
        input_messages=messages if isinstance(messages, _SEQUENCES) else None,
        price_tier="fast" if body.get("speed") == "fast" else None,
        price_scope=scope,
        # an application inference profile: the answer's bare id would hide it from an alias
        price_by_request_model=provider == "aws.bedrock" and scope is None,
        system=body.get("system") if isinstance(body.get("system"), _SYSTEM_TYPES) else None,
    )


def _price_scope(client: Any, provider: str, model: str) -> str | None:
    """Bedrock: the model id's geography prefix (``global.``, ``us.``, ...; an application
    inference profile ARN says nothing: None, for the price override file to map). Vertex AI:
    the client's location (``global``, the ``us``/``eu`` multi-regions, or one region)."""
    if provider == "gcp.vertex_ai":
        return vertex_scope(getattr(client, "region", None))
    return model_scope(provider, model)


def _error_type(exc: BaseException) -> str:
    """HTTP status for API errors; the error's own type for one sent inside a stream (which
    arrives on a 200 response, e.g. ``overloaded_error``); else the exception class."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        return str(status)
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else type(exc).__qualname__


def _request_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """(options, stream) of ``request(cast_to, options, *, stream=False, stream_cls=None)``, however passed."""
    options = args[1] if len(args) > 1 else kwargs.get("options")
    stream = args[2] if len(args) > 2 else kwargs.get("stream", False)
    return options, stream


# The call our hook is making and its client, while the SDK's own request code runs (see
# _sdk_span_hook).
_our_call: ContextVar[tuple[Call, Any] | None] = ContextVar("llm_cost_otel_anthropic_call", default=None)


def _sdk_span_hook(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The SDK's own tracing asks for a span per API call. For requests we trace there is
    one span with usage and cost (ours), and the request still carries trace context
    (``traceparent``) as ours, the way the SDK would propagate its own:

    * clients that send what they build (``Anthropic``, ``AsyncAnthropic``): we write the
      trace headers into the SDK's private copy of the request options and answer "no span",
      so the SDK takes its untraced path and skips its per-call span bookkeeping;
    * clients that sign their requests (Bedrock, Vertex AI, ...): the SDK must add the
      headers after signing, so it gets a non-recording stand-in carrying our context and
      runs its traced path."""
    ours = _our_call.get()
    if ours is None:
        return wrapped(*args, **kwargs)
    call, client = ours
    try:
        if _sends_what_it_builds(client):
            if kwargs.get("propagation", True):
                _write_trace_headers(args[2] if len(args) > 2 else kwargs["options"], call.context)
            return None
    except Exception:
        log_once("anthropic.propagate")
    return trace.NonRecordingSpan(call.span.get_span_context())


_inject: Callable[..., None] | None = None


def _write_trace_headers(options: Any, context: Any) -> None:
    global _inject
    if _inject is None:
        # imported on first use, as the SDK does: it loads the app's propagators. Kept, since a
        # from-import of a package runs importlib's Python fromlist handling on every call.
        from opentelemetry.propagate import inject

        _inject = inject
    carrier: dict[str, str] = {}
    _inject(carrier, context)
    if carrier:
        headers = options.headers
        # a new dict: the caller's headers mapping may be shared with the options it passed
        options.headers = {**headers, **carrier} if isinstance(headers, Mapping) else carrier


_skips_sdk_span: dict[type, bool] = {}


def _sends_what_it_builds(client: Any) -> bool:
    """Whether the client's class prepares requests the way the base client does (no signing)."""
    cls = type(client)
    known = _skips_sdk_span.get(cls)
    if known is None:
        from anthropic import _base_client as base

        prepare = getattr(cls, "_prepare_request", None)
        known = prepare is base.SyncAPIClient._prepare_request or prepare is base.AsyncAPIClient._prepare_request
        _skips_sdk_span[cls] = known
    return known


def _handle_result(call: Call, result: Any) -> Any:
    """Attach the call to whatever the SDK returned; never changes what the caller gets."""
    try:
        if _is_stream(result):
            watcher: streams.Watcher = _BatchResultsWatcher(call) if call.request.batch else _MessageStreamWatcher(call)
            tap(result, watcher, "_iterator")
        elif _is_raw_response(result):
            http_response = result.http_response
            tee = _tee_unread_body(http_response)
            finalizer = weakref.finalize(result, _raw_dropped, call, http_response, tee)
            _pending_raw[result] = (call, finalizer, tee)
        elif not call.request.batch:
            call.finish(_outcome_from_message(result))
            remember(result, call)
        else:
            call.finish(Outcome())
    except Exception:
        log_once("anthropic.result")
        # a message was billed but could not be read; other requests (batch downloads) bill nothing
        call.finish(Outcome(usage_unknown=not call.request.batch))
    return result


# SyncAPIClient.request / AsyncAPIClient.request
_request_sync, _request_async = traced(
    __name__, _plan, _handle_result, _error_type, "anthropic.start", current=_our_call
)


def _is_stream(obj: Any) -> bool:
    return type(obj).__name__ in _STREAM_TYPES and hasattr(obj, "_iterator")


def _is_raw_response(obj: Any) -> bool:
    # vars(), not hasattr(): a miss on a pydantic model goes through its slow __getattr__.
    fields = getattr(obj, "__dict__", None)
    return isinstance(fields, dict) and "http_response" in fields and hasattr(obj, "parse") and not _is_stream(obj)


_STREAM_TYPES = frozenset(
    {"Stream", "AsyncStream", "JSONLDecoder", "AsyncJSONLDecoder", "BedrockStream", "AsyncBedrockStream"}
)


# raw responses (with_raw_response / with_streaming_response) waiting for parse()
_pending_raw: weakref.WeakKeyDictionary[Any, tuple[Call, Any, _BodyTee | None]] = weakref.WeakKeyDictionary()


class _BodyTee:
    """Keeps a copy of a raw response body the app reads itself (``iter_bytes``, ``iter_lines``),
    so a response never ``parse()``d is still priced from what was read. Stops copying once
    the app parses it (then the SDK's objects carry the usage)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.chunks: list[bytes] | None = []

    def _keep(self, chunk: bytes) -> None:
        chunks = self.chunks
        if chunks is not None:
            chunks.append(chunk)

    def stop(self) -> None:
        self.chunks = None

    def body(self) -> bytes | None:
        return b"".join(self.chunks) if self.chunks else None


def _tee_unread_body(http_response: Any) -> _BodyTee | None:
    import httpx2

    try:
        http_response.content  # noqa: B018 - raises ResponseNotRead when the body is still unread
        return None
    except httpx2.ResponseNotRead:
        pass
    inner = http_response.stream
    if isinstance(inner, httpx2.AsyncByteStream):

        class AsyncTee(_BodyTee, httpx2.AsyncByteStream):
            async def __aiter__(self) -> Any:
                async for chunk in self.inner:
                    self._keep(chunk)
                    yield chunk

            async def aclose(self) -> None:
                await self.inner.aclose()

        tee: _BodyTee = AsyncTee(inner)
    elif isinstance(inner, httpx2.SyncByteStream):

        class SyncTee(_BodyTee, httpx2.SyncByteStream):
            def __iter__(self) -> Any:
                for chunk in self.inner:
                    self._keep(chunk)
                    yield chunk

            def close(self) -> None:
                self.inner.close()

        tee = SyncTee(inner)
    else:
        return None
    http_response.stream = tee
    return tee


def _after_parse(response: Any, parsed: Any) -> None:
    if not _pending_raw:  # the SDK parses every response; only raw ones can be pending
        return
    pending = _pending_raw.pop(response, None)
    if pending is not None:
        call, finalizer, tee = pending
        finalizer.detach()
        if tee is not None:
            tee.stop()
        _handle_result(call, parsed)


def _raw_closed(response: Any, result: Any) -> None:
    """``with_streaming_response``'s exit (or the app) closed a raw response never parsed:
    price it now from what was read, not when the object is garbage-collected."""
    if not _pending_raw:
        return
    pending = _pending_raw.pop(response, None)
    if pending is not None:
        call, finalizer, tee = pending
        finalizer.detach()
        _raw_dropped(call, response.http_response, tee)


def _raw_dropped(call: Call, http_response: Any, tee: _BodyTee | None) -> None:
    """A raw response never parsed: price it from the body the app read, if it read any."""
    if call.finished:
        return
    messages = not call.request.batch  # a batch results download bills nothing itself
    outcome = Outcome()
    try:
        body = tee.body() if tee is not None else http_response.content
        if body and messages:
            outcome = _outcome_from_body(body)
    except Exception:
        log_once("anthropic.raw_body")
    if outcome.usage is None and messages:
        outcome.usage_unknown = True  # billed, but the app never read the body
    call.finish(outcome)


def _outcome_from_body(content: bytes) -> Outcome:
    text = content.decode("utf-8", "replace").lstrip()
    if text.startswith("{"):
        data = json.loads(text)
        usage = data.get("usage")
        stop = data.get("stop_reason")
        outcome = Outcome(
            response_model=data.get("model"),
            response_id=data.get("id"),
            finish_reasons=(stop,) if isinstance(stop, str) else None,
        )
        if isinstance(usage, dict):
            _read_usage(usage, outcome)
            outcome.inference_geo = usage.get("inference_geo")
        return outcome
    # server-sent events: message_start then cumulative message_delta usage
    merged: dict[str, Any] = {}
    model = response_id = stop = None
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except ValueError:
            continue
        if event.get("type") == "message_start":
            message = event.get("message") or {}
            model, response_id = message.get("model"), message.get("id")
            merged.update({k: v for k, v in (message.get("usage") or {}).items() if v is not None})
        elif event.get("type") == "message_delta":
            merged.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
            stop = (event.get("delta") or {}).get("stop_reason") or stop
    outcome = Outcome(
        response_model=model,
        response_id=response_id,
        finish_reasons=(stop,) if isinstance(stop, str) else None,
    )
    if merged:
        _read_usage(merged, outcome)
        outcome.inference_geo = merged.get("inference_geo")
    return outcome


# --- hooks on SDK classes --------------------------------------------------------------


_parse_hook, _async_parse_hook = observing(_after_parse)
_close_hook, _async_close_hook = observing(_raw_closed)


class AnthropicInstrumentor(CostInstrumentor):
    """Counts and prices every billed Anthropic request. See the module docstring."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def targets(self) -> list[tuple[Any, str, Any]]:
        import importlib

        wanted: tuple[tuple[str, str | None, str, Any], ...] = (
            ("anthropic._base_client", None, "start_api_call_span", _sdk_span_hook),
            ("anthropic._base_client", "SyncAPIClient", "request", _request_sync),
            ("anthropic._base_client", "AsyncAPIClient", "request", _request_async),
            ("anthropic._streaming", "Stream", "close", streams.close_hook),
            ("anthropic._streaming", "AsyncStream", "close", streams.async_close_hook),
            ("anthropic._decoders.jsonl", "JSONLDecoder", "close", streams.close_hook),
            ("anthropic._decoders.jsonl", "AsyncJSONLDecoder", "close", streams.async_close_hook),
            ("anthropic._response", "APIResponse", "parse", _parse_hook),
            ("anthropic._response", "AsyncAPIResponse", "parse", _async_parse_hook),
            ("anthropic._legacy_response", "LegacyAPIResponse", "parse", _parse_hook),
            ("anthropic._response", "APIResponse", "close", _close_hook),
            ("anthropic._response", "AsyncAPIResponse", "close", _async_close_hook),
        )
        found = []
        for module_name, class_name, attr, wrapper in wanted:
            try:
                module = importlib.import_module(module_name)
                owner = module if class_name is None else getattr(module, class_name)
            except (ImportError, AttributeError):
                continue
            found.append((owner, attr, wrapper))
        return found
