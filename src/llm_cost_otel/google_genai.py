"""Google GenAI adapter (``google-genai``): every billed Gemini / Vertex AI request, once.

Where we hook: the SDK's per-request methods ``Models._generate_content``,
``_generate_content_stream`` and ``_embed_content`` (and their async twins). The public
``generate_content`` may send several requests (automatic function calling, automatic
continuation) and returns only the last turn's usage; every request is billed, so every
request is a span with its own usage and cost. ``chats`` call ``generate_content`` inside
and so are counted exactly once per request too. Retries happen below these methods.

These methods are private. If a future SDK renames them we fall back to the public
methods (one span per public call, with a logged warning) rather than count nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import weakref
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry import trace

from . import streams
from ._fields import fields_of
from ._safety import log_once
from .active import active as active_telemetry
from .calls import BatchResults, Call
from .cost_lookup import remember
from .counts import UnreadableUsage, count, count_or_zero, has_counts
from .kit import BoundedDict, CostInstrumentor, Describe, Finish, observing, server_of, starter, tap, traced
from .records import IMPLAUSIBLE_COUNT, Outcome, Request
from .semconv import BATCH_RESULTS_OPERATION
from .usage import Usage

__all__ = ["GoogleGenAIInstrumentor", "usage_from_gemini"]

_INSTRUMENTS = ("google-genai >= 3.3, < 4",)
logger = logging.getLogger("llm_cost_otel")

# config field -> our neutral request parameter
_CONFIG_PARAMS = {
    "max_output_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop_sequences": "stop_sequences",
    "seed": "seed",
    "candidate_count": "choice_count",
}


# isinstance() with `int | float` builds a union object on every call: keep the tuples ready.
_NUMBER = (int, float)
_PARAM_TYPES = (int, float, list, tuple)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _text(value: Any) -> str:
    """An SDK enum's value or a plain string. The SDK's enums subclass str, and str methods see
    their value: no trip through Enum's ``value`` descriptor (two Python frames)."""
    return value if isinstance(value, str) else str(getattr(value, "value", value))


def _modality_count(details: Any, modality: str) -> int:
    if not isinstance(details, list | tuple):
        raise UnreadableUsage(f"token details are a {type(details).__name__}, not a list")
    total = 0
    for detail in details:
        kind = _get(detail, "modality")
        if kind is not None and _text(kind).upper() == modality:
            total += count(_get(detail, "token_count"))
    return total


# The token counts of a usage_metadata: one of them must be there for it to say anything
# (a stream's chunk may carry an empty one; the total alone cannot be split into a price).
_TOKEN_COUNTS = (
    "prompt_token_count",
    "candidates_token_count",
    "response_token_count",
    "cached_content_token_count",
    "thoughts_token_count",
    "tool_use_prompt_token_count",
)


def usage_from_gemini(metadata: Any, web_searches: int = 0) -> Usage:
    """Gemini ``usage_metadata`` -> the neutral partition.

    ``prompt_token_count`` includes cached tokens (``cached_content_token_count``) and
    excludes tool-use prompt tokens, which are billed as input too. Thinking
    (``thoughts_token_count``) is billed as output and not part of ``candidates_token_count``.
    The Live API names its output ``response_*`` instead of ``candidates_*``.

    Raises ``UnreadableUsage`` when a count in it is not a count, or it has no token count.
    """
    fields = fields_of(metadata)
    if not has_counts(fields, _TOKEN_COUNTS):
        raise UnreadableUsage("a usage_metadata without token counts")
    get = fields.get
    prompt = count(get("prompt_token_count"))
    cached = min(count(get("cached_content_token_count")), prompt)
    tool_use = count(get("tool_use_prompt_token_count"))
    thoughts = count(get("thoughts_token_count"))
    candidates = count(get("candidates_token_count")) or count(get("response_token_count"))
    # most responses leave some of these lists out: no call for those
    details = get("candidates_tokens_details") or get("response_tokens_details")
    audio_out = _modality_count(details, "AUDIO") if details else 0
    details = get("prompt_tokens_details")
    audio_prompt = _modality_count(details, "AUDIO") if details else 0
    details = get("cache_tokens_details")
    audio_cached = min(_modality_count(details, "AUDIO"), cached) if details else 0
    uncached_input = prompt - cached + tool_use
    return Usage(
        input_tokens=uncached_input,
        cache_read_tokens=cached,
        output_tokens=candidates + thoughts,
        reasoning_tokens=thoughts,
        output_audio_tokens=min(audio_out, candidates),
        input_audio_tokens=min(max(audio_prompt - audio_cached, 0), uncached_input),
        cache_read_audio_tokens=audio_cached,
        web_search_requests=web_searches,
    )


_GEMINI_MAJOR = re.compile(r"gemini-(\d+)")


def _web_searches(candidates: Any, model: str) -> int:
    """Grounding with Google Search: Gemini 2.x bills per grounded prompt, Gemini 3 and later
    per search query."""
    queries = 0
    for candidate in candidates or ():
        grounding = _get(candidate, "grounding_metadata")
        if grounding is not None:
            queries += len(_get(grounding, "web_search_queries") or ())
    if not queries:
        return 0
    major = _GEMINI_MAJOR.search(model)
    return queries if major is not None and int(major.group(1)) >= 3 else 1


def _finish_reasons(candidates: Any) -> tuple[str, ...] | None:
    reasons = []
    for candidate in candidates or ():
        reason = _get(candidate, "finish_reason")
        if reason is not None:
            reasons.append(_text(reason).lower())
    return tuple(reasons) or None


def _traffic_type(metadata: Any) -> str | None:
    value = _get(metadata, "traffic_type")
    return None if value is None else _text(value).lower()


def _read_usage(outcome: Outcome, metadata: Any, web_searches: int = 0) -> None:
    """Set ``outcome``'s usage from a report that is there: unreadable -> unknown, never $0."""
    try:
        outcome.usage = usage_from_gemini(metadata, web_searches)
    except UnreadableUsage:
        outcome.usage_unknown = True


def _outcome_from_response(response: Any, request_model: str) -> Outcome:
    fields = fields_of(response)  # one read of the response's fields, not one getattr each
    metadata = fields.get("usage_metadata")
    response_model = fields.get("model_version")
    candidates = fields.get("candidates")
    outcome = Outcome(
        response_model=response_model,
        response_id=fields.get("response_id"),
        finish_reasons=_finish_reasons(candidates),
        output_messages=lambda: _output_messages(response),
    )
    if metadata is not None:
        _read_usage(outcome, metadata, _web_searches(candidates, response_model or request_model))
        outcome.service_tier = _traffic_type(metadata)
    else:
        outcome.usage_unknown = True  # billed: no usage report is unknown usage, not $0
    return outcome


def _output_messages(response: Any) -> Any:
    candidates = _get(response, "candidates")
    if not candidates:
        return None
    return [_get(c, "content") for c in candidates]


def _embedding_outcome(response: Any) -> Outcome:
    metadata = _get(response, "usage_metadata")
    if metadata is not None:
        outcome = Outcome()
        _read_usage(outcome, metadata)
        return outcome
    # Vertex AI reports tokens per embedding, and billable characters for the models it
    # prices per character (text-embedding-004/005).
    tokens = 0
    found = False
    try:
        for embedding in _get(response, "embeddings") or ():
            statistics = _get(embedding, "statistics")
            if statistics is not None and _get(statistics, "token_count") is not None:
                found = True
                tokens += count(_get(statistics, "token_count"))
        characters = count(_get(_get(response, "metadata"), "billable_character_count"))
    except UnreadableUsage:
        return Outcome(usage_unknown=True)
    if not found and not characters:
        # The Developer API's batchEmbedContents reports no usage at all.
        return Outcome(usage_unknown=True)
    return Outcome(usage=Usage(input_tokens=tokens, input_characters=characters))


class _ChunkWatcher(streams.Watcher):
    """Each chunk's ``usage_metadata`` is a running total for the request: keep the last one
    with counts (an empty one on a later chunk says nothing, and must not zero the total)."""

    __slots__ = ("content", "finish", "last_usage_chunk", "model", "response_id")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.last_usage_chunk: Any = None
        self.model: str | None = None
        self.response_id: str | None = None
        self.finish: tuple[str, ...] | None = None
        self.content: list[Any] | None = [] if call.telemetry.capture_content else None

    def item(self, chunk: Any) -> None:
        metadata = chunk.usage_metadata
        # per chunk: nearly every running total has a prompt count, so look at the rest only without one
        if metadata is not None and (
            metadata.prompt_token_count is not None or has_counts(fields_of(metadata), _TOKEN_COUNTS)
        ):
            self.last_usage_chunk = chunk
        if self.model is None:
            self.model = chunk.model_version
            self.response_id = chunk.response_id
        candidates = chunk.candidates
        if candidates:
            if candidates[0].finish_reason is not None:  # only the last chunk has one
                self.finish = _finish_reasons(candidates)
            if self.content is not None:
                self.content.extend(_output_messages(chunk) or ())

    def error_type(self, error: BaseException) -> str:
        return _error_type(error)

    def outcome(self) -> Outcome:
        last = self.last_usage_chunk
        outcome = Outcome(
            response_model=self.model,
            response_id=self.response_id,
            finish_reasons=self.finish,
            output_messages=self.content,
        )
        if last is not None:
            searches = _web_searches(last.candidates, self.model or self.call.request.model)
            _read_usage(outcome, last.usage_metadata, searches)
            outcome.service_tier = _traffic_type(last.usage_metadata)
        return outcome


# --- request description ---------------------------------------------------------------


def _provider(models: Any) -> str:
    api_client = getattr(models, "_api_client", None)
    return "gcp.vertex_ai" if getattr(api_client, "vertexai", None) else "gcp.gemini"


def _describer(operation: str, stream: bool = False) -> Describe:
    """How a ``Models`` method's request of ``operation`` is described (see ``kit.traced``)."""

    def describe(models: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        model = kwargs.get("model")
        config = kwargs.get("config")
        params: dict[str, Any] = {}
        if config is not None:
            for field, name in _CONFIG_PARAMS.items():
                value = _get(config, field)
                if isinstance(value, _PARAM_TYPES) and not isinstance(value, bool):
                    params[name] = value
        try:
            base_url = models._api_client._http_options.base_url
        except Exception:
            base_url = None
        address, port = server_of(base_url)
        system = _get(config, "system_instruction") if config is not None else None
        tier = _get(config, "service_tier") if config is not None else None
        tier_name = _text(tier).lower() if tier is not None else None
        return Request(
            provider=_provider(models),
            operation=operation,
            model=model if isinstance(model, str) else "",
            server_address=address,
            server_port=port,
            params=params,
            stream=stream,
            input_messages=kwargs.get("contents"),
            system=system,
            price_tier=tier_name if tier_name in ("flex", "priority") else None,
        )

    return describe


def _error_type(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return str(code) if isinstance(code, int) else type(exc).__qualname__


def _images_outcome(response: Any) -> Outcome:
    images = _get(response, "generated_images") or ()
    return Outcome(usage=Usage(output_images=len(images)))


def _cache_outcome(cached: Any, telemetry: Any) -> Outcome:
    """Explicit context caches bill storage per token-hour; record what is known at creation:
    the cached tokens, the TTL the server granted (expire - create time) and the storage rate
    (the cache may be deleted early, so the TTL's cost is recorded apart from, never inside,
    the request cost)."""
    from . import semconv as names

    attributes: dict[str, Any] = {}
    # an unreadable count is no cache size (an attribute, not a price: the call is free)
    tokens = count_or_zero(_get(_get(cached, "usage_metadata"), "total_token_count"))
    if tokens >= IMPLAUSIBLE_COUNT:  # a broken report, not a cache
        tokens = 0
    model = _get(cached, "model") or ""
    if tokens:
        attributes[names.CACHE_TOKENS] = tokens
    created, expires = _get(cached, "create_time"), _get(cached, "expire_time")
    try:
        ttl = (expires - created).total_seconds() if created is not None and expires is not None else None
    except TypeError:  # naive against aware times, or not times at all
        ttl = None
    if ttl is not None and ttl < 0:  # expiring before it was made: no storage to price
        ttl = None
    if ttl is not None:
        attributes[names.CACHE_TTL] = ttl
    storage = telemetry.prices.cache_storage(model, tokens, ttl) if model and tokens else None
    if storage is not None:
        per_hour, for_ttl = storage
        attributes[names.CACHE_STORAGE_RATE] = per_hour
        if for_ttl is not None:
            attributes[names.CACHE_STORAGE_ESTIMATE] = for_ttl
    return Outcome(response_model=model or None, response_id=_get(cached, "name"), attributes=attributes)


# How each hooked operation's response becomes an Outcome, chosen once when its wrapper is built.
_OUTCOME_READERS: dict[str, Callable[[Call, Any], Outcome]] = {
    "generate_content": lambda call, result: _outcome_from_response(result, call.request.model),
    "embeddings": lambda call, result: _embedding_outcome(result),
    "generate_images": lambda call, result: _images_outcome(result),
    "create_cache": lambda call, result: _cache_outcome(result, call.telemetry),
}


def _finisher(operation: str) -> Finish:
    read = _OUTCOME_READERS[operation]

    def finish(call: Call, result: Any) -> Any:
        try:
            call.finish(read(call, result))
            remember(result, call)
        except Exception:
            log_once("google_genai.result")
            call.finish(Outcome(usage_unknown=True))  # billed, but what it used could not be read
        return result

    return finish


# --- wrappers ---------------------------------------------------------------------------


def _unary(operation: str) -> Any:
    return traced(__name__, _describer(operation), _finisher(operation), _error_type, "google_genai.start")[0]


def _unary_async(operation: str) -> Any:
    return traced(__name__, _describer(operation), _finisher(operation), _error_type, "google_genai.start")[1]


# a streamed generate_content that starts away from its wrapper: a lazy stream, a Live turn
_start_stream = starter(__name__, _describer("generate_content", stream=True), "google_genai.start")


def _stream_sync(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # The SDK's method is a generator function: nothing is sent until the first next(), so
    # the call (and its span) starts there too.
    return _lazy_stream(wrapped(*args, **kwargs), instance, kwargs)


def _lazy_stream(source: Any, models: Any, kwargs: dict[str, Any]) -> Any:
    call = _start_stream(models, (), kwargs)
    if call is None:
        yield from source
        return
    watcher = _ChunkWatcher(call)
    try:
        with trace.use_span(call.span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
            first = next(source)
    except StopIteration:
        watcher.end()
        return
    except BaseException as exc:
        call.finish(Outcome(error=exc, error_type=_error_type(exc)))
        raise

    # chain runs in C: no generator frame per chunk between the SDK's and the observer
    yield from streams.observe(itertools.chain((first,), source), watcher)


def _observe_chunks(call: Call, source: Any) -> Any:
    try:
        return tap(source, _ChunkWatcher(call))
    except Exception:
        log_once("google_genai.stream")
        call.finish(Outcome(usage_unknown=True))  # billed, but its chunks cannot be read
        return source


# Awaiting the SDK's async method sends the request and returns an async generator (the sync
# method is a generator function instead: see _stream_sync).
_stream_async = traced(
    __name__, _describer("generate_content", stream=True), _observe_chunks, _error_type, "google_genai.start"
)[1]


# Batch jobs are polled; their inlined results are recorded once, when first seen succeeded.
_recorded_batches: BoundedDict[str, None] = BoundedDict(10_000)


def _record_batch_job(models: Any, job: Any) -> None:
    try:
        name = _get(job, "name")
        state = _get(job, "state")
        if not name or "SUCCEEDED" not in _text(state) or name in _recorded_batches:
            return
        responses = _get(_get(job, "dest"), "inlined_responses") or ()
        telemetry = active_telemetry(__name__)
        if telemetry is None or not responses:
            return
        _recorded_batches.put(name, None)
        model = _get(job, "model") or ""
        request = Request(
            provider=_provider(models),
            operation=BATCH_RESULTS_OPERATION,
            model=model,
            params={"batch_id": name},
            batch=True,
        )
        batch = BatchResults(Call(telemetry, request), "generate_content")
        try:
            for inlined in responses:
                response = _get(inlined, "response")
                metadata = _get(response, "usage_metadata")
                if metadata is not None:
                    version = _get(response, "model_version") or model
                    try:
                        usage = usage_from_gemini(metadata)
                    except Exception:  # unreadable: this result is unpriced, the others still count
                        batch.add_unknown(version)
                        continue
                    batch.add(version, usage, _get(response, "response_id"))
        finally:
            batch.finish()  # the retrieval span ends whatever a result held
    except Exception:
        log_once("google_genai.batch")


_batch_get, _batch_get_async = observing(_record_batch_job)


# --- Live API ---------------------------------------------------------------------------


class _LiveTurns:
    """Usage of a Live session, one call per model turn.

    A turn's ``usage_metadata`` may arrive on several messages, each the turn's total so far,
    so the last one is the turn's usage; turns are billed separately (each turn's prompt
    includes the conversation so far). A turn ends at ``turn_complete``, but is recorded at
    the next message or at session exit, so usage sent just after ``turn_complete`` still
    counts for it."""

    __slots__ = ("call", "complete", "kwargs", "models", "usage")

    def __init__(self, models: Any, kwargs: dict[str, Any]) -> None:
        self.models = models
        self.kwargs = kwargs
        self.call: Call | None = None
        self.usage: Any = None
        self.complete = False

    def message(self, message: Any) -> None:
        content = message.server_content
        if self.complete and (content is not None or message.usage_metadata is None):
            self.end()  # a new turn begins: record the finished one
        if self.call is None:
            self.call = _start_stream(self.models, (), self.kwargs)
            if self.call is None:
                return
        self.call.first_chunk()
        metadata = message.usage_metadata
        if metadata is not None and has_counts(fields_of(metadata), _TOKEN_COUNTS):
            self.usage = metadata
        if content is not None and content.turn_complete:
            self.complete = True

    def end(self, error: BaseException | None = None) -> None:
        call, self.call = self.call, None
        usage, self.usage = self.usage, None
        self.complete = False
        if call is not None:
            outcome = Outcome(error=error)
            try:
                if usage is not None:
                    _read_usage(outcome, usage)
            except Exception:
                log_once("google_genai.live.usage")
                outcome = Outcome(error=error, usage_unknown=True)
            call.finish(outcome)


_live_sessions: weakref.WeakKeyDictionary[Any, _LiveTurns] = weakref.WeakKeyDictionary()


class _LiveConnection:
    """Wraps ``client.aio.live.connect(...)``'s context manager to follow its session."""

    def __init__(self, manager: Any, models: Any, kwargs: dict[str, Any]) -> None:
        self._manager = manager
        self._turns = _LiveTurns(models, kwargs)

    async def __aenter__(self) -> Any:
        session = await self._manager.__aenter__()
        with contextlib.suppress(TypeError):
            _live_sessions[session] = self._turns
        return session

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self._manager.__aexit__(*exc_info)
        finally:
            self._turns.end(exc_info[1] if exc_info and isinstance(exc_info[1], BaseException) else None)


def _live_connect(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    manager = wrapped(*args, **kwargs)
    if active_telemetry(__name__) is None:
        return manager
    return _LiveConnection(manager, instance, kwargs)


async def _live_receive(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    message = await wrapped(*args, **kwargs)
    turns = _live_sessions.get(instance)
    if turns is not None:
        try:
            turns.message(message)
        except Exception:
            log_once("google_genai.live")
    return message


# --- Interactions API --------------------------------------------------------------------


def _modalities(items: Any) -> list[dict[str, Any]]:
    return [{"modality": _get(m, "modality"), "token_count": _get(m, "tokens")} for m in items or ()]


def usage_from_interaction(usage: Any) -> Usage:
    """Interactions ``usage`` (total_input_tokens includes cached; thoughts are separate from
    total_output_tokens) -> the neutral partition, via the generate_content mapping.

    Raises ``UnreadableUsage`` as ``usage_from_gemini`` does."""
    searches = sum(
        count(_get(g, "count")) for g in _get(usage, "grounding_tool_count") or () if "search" in str(_get(g, "type"))
    )
    return usage_from_gemini(
        {
            "prompt_token_count": _get(usage, "total_input_tokens"),
            "cached_content_token_count": _get(usage, "total_cached_tokens"),
            "candidates_token_count": _get(usage, "total_output_tokens"),
            "thoughts_token_count": _get(usage, "total_thought_tokens"),
            "tool_use_prompt_token_count": _get(usage, "total_tool_use_tokens"),
            "prompt_tokens_details": _modalities(_get(usage, "input_tokens_by_modality")),
            "cache_tokens_details": _modalities(_get(usage, "cached_tokens_by_modality")),
            "candidates_tokens_details": _modalities(_get(usage, "output_tokens_by_modality")),
        },
        searches,
    )


def _interaction_outcome(interaction: Any, usage: Any = None) -> Outcome:
    usage = usage if usage is not None else _get(interaction, "usage")
    tier = _get(interaction, "service_tier")
    outcome = Outcome(
        response_model=_get(interaction, "model"),
        response_id=_get(interaction, "id"),
        service_tier=_text(tier) if tier is not None else None,
    )
    if usage is not None:
        try:
            outcome.usage = usage_from_interaction(usage)
        except UnreadableUsage:
            outcome.usage_unknown = True
    return outcome


class _InteractionWatcher(streams.Watcher):
    """Interaction events carry the usage so far in ``metadata.usage`` and the whole
    interaction (with its final usage) on ``interaction.completed``: the last one wins."""

    __slots__ = ("interaction", "usage")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.interaction: Any = None
        self.usage: Any = None

    def item(self, event: Any) -> None:
        interaction = _get(event, "interaction")
        if interaction is not None:
            self.interaction = interaction
            if _get(interaction, "usage") is not None:
                self.usage = _get(interaction, "usage")
        metadata = _get(event, "metadata")
        if metadata is not None and _get(metadata, "usage") is not None:
            self.usage = _get(metadata, "usage")

    def outcome(self) -> Outcome:
        return _interaction_outcome(self.interaction, self.usage)


# interactions created in the background (no usage yet), recorded when a get() shows them done
_pending_interactions: BoundedDict[str, Request] = BoundedDict(10_000)


def _interaction_request(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    request = kwargs.get("request")
    body = _get(request, "body") if request is not None else None
    model = kwargs.get("model") or _get(body, "model") or ""
    agent = kwargs.get("agent") or _get(body, "agent")
    config = kwargs.get("generation_config") or _get(body, "generation_config")
    params = {}
    for field, name in _CONFIG_PARAMS.items():
        value = _get(config, field) if config is not None else None
        if isinstance(value, _NUMBER) and not isinstance(value, bool):
            params[name] = value
    server = str(getattr(getattr(instance, "sdk_configuration", None), "server_url", "") or "")
    return Request(
        provider="gcp.vertex_ai" if "aiplatform" in server else "gcp.gemini",
        operation="invoke_agent" if agent else "generate_content",
        model=str(model or agent or ""),
        params=params,
        stream=bool(kwargs.get("stream") or _get(body, "stream")),
    )


def _interaction_result(call: Call, result: Any) -> Any:
    try:
        if hasattr(result, "generator"):  # an event stream: observe it in place
            return tap(result, _InteractionWatcher(call), "generator")
        outcome = _interaction_outcome(result)
        interaction_id = outcome.response_id
        if (
            outcome.usage is None
            and not outcome.usage_unknown
            and interaction_id
            and str(_get(result, "status")) != "completed"
        ):
            _pending_interactions.put(interaction_id, call.request)
        call.finish(outcome)
        remember(result, call)
    except Exception:
        log_once("google_genai.interactions")
        call.finish(Outcome())
    return result


_interactions_create, _interactions_create_async = traced(
    __name__, _interaction_request, _interaction_result, _error_type, "google_genai.interactions.start"
)


def _record_background_interaction(interaction: Any) -> None:
    """A background interaction is billed when it completes: record it the first time a
    ``get`` shows it completed with usage."""
    try:
        interaction_id = _get(interaction, "id")
        if not interaction_id or interaction_id not in _pending_interactions:
            return
        if _get(interaction, "usage") is None:
            return
        telemetry = active_telemetry(__name__)
        request = _pending_interactions.pop(interaction_id, None)
        if request is None:  # another get() of it recorded it first
            return
        if telemetry is not None:
            try:
                outcome = _interaction_outcome(interaction)
            except Exception:
                log_once("google_genai.interactions.outcome")
                outcome = Outcome(usage_unknown=True)
            Call(telemetry, request).finish(outcome)
    except Exception:
        log_once("google_genai.interactions.get")


def _observe_interaction(interactions: Any, result: Any) -> None:
    if not hasattr(result, "generator"):
        _record_background_interaction(result)


_interactions_get, _interactions_get_async = observing(_observe_interaction)


def _interaction_targets() -> list[tuple[Any, str, Any]]:
    try:
        from google.genai._gaos import interactions
        from google.genai._gaos.utils import eventstreaming
    except ImportError:  # an SDK without the Interactions API
        return []
    return [
        (interactions.Interactions, "create", _interactions_create),
        (interactions.AsyncInteractions, "create", _interactions_create_async),
        (interactions.Interactions, "get", _interactions_get),
        (interactions.AsyncInteractions, "get", _interactions_get_async),
        (eventstreaming.Stream, "close", streams.close_hook),
        (eventstreaming.AsyncStream, "close", streams.async_close_hook),
    ]


# (private per-request method, public fallback, wrapper) per class
def _sync_targets() -> list[tuple[str, str, Any]]:
    return [
        ("_generate_content", "generate_content", _unary("generate_content")),
        ("_generate_content_stream", "generate_content_stream", _stream_sync),
        ("_embed_content", "embed_content", _unary("embeddings")),
        ("_generate_images", "generate_images", _unary("generate_images")),
    ]


def _async_targets() -> list[tuple[str, str, Any]]:
    return [
        ("_generate_content", "generate_content", _unary_async("generate_content")),
        ("_generate_content_stream", "generate_content_stream", _stream_async),
        ("_embed_content", "embed_content", _unary_async("embeddings")),
        ("_generate_images", "generate_images", _unary_async("generate_images")),
    ]


class GoogleGenAIInstrumentor(CostInstrumentor):
    """Counts and prices every billed google-genai request. See the module docstring."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def targets(self) -> list[tuple[Any, str, Any]]:
        from google.genai import batches, caches, live, models

        found: list[tuple[Any, str, Any]] = [
            (live.AsyncLive, "connect", _live_connect),
            (live.AsyncSession, "_receive", _live_receive),
            (caches.Caches, "create", _unary("create_cache")),
            (caches.AsyncCaches, "create", _unary_async("create_cache")),
            (batches.Batches, "get", _batch_get),
            (batches.AsyncBatches, "get", _batch_get_async),
            *_interaction_targets(),
        ]
        for owner, wanted in ((models.Models, _sync_targets()), (models.AsyncModels, _async_targets())):
            for private, public, wrapper in wanted:
                if private in owner.__dict__:
                    found.append((owner, private, wrapper))
                elif public in owner.__dict__:
                    logger.warning(
                        "llm-cost-otel: google-genai has no %s.%s; counting per public %s call instead "
                        "(requests made by automatic function calling may be missed)",
                        owner.__name__,
                        private,
                        public,
                    )
                    found.append((owner, public, wrapper))
        return found
