"""Volume fuzz: 100,000 malformed responses through both adapters, zero exceptions into the app.

Covers the code that runs after the SDK returns or raises, where the plugin could break the
app. Anthropic (50,000): the request hook ``_request_sync`` with Messages responses, SSE
``Stream``s and batch-results ``JSONLDecoder``s (read to the end, stopped then closed or
dropped, failing mid-way), raw responses parsed (``_parse_hook``) or dropped unparsed
(``_raw_dropped`` -> ``_outcome_from_body`` on random bytes, truncated JSON and SSE, read
whole or through the tee), and SDK errors. Google (50,000): the ``generate_content``,
``embed_content``, ``generate_images`` and ``caches.create`` wrappers, streams
(``_stream_sync``), batch jobs (``batches.get``), Live sessions, Interactions (streamed,
answered at once, in the background until a ``get``), and SDK errors. A tenth runs inside
``track()``, the last fifth of each adapter with content capture on.
``LLM_COST_OTEL_FUZZ_VOLUME`` scales the total down for local runs.

Inputs are the SDKs' own pydantic types built without validation (``construct``: floats,
NaN, infinities, negative, huge and string counts, bools, lists, dicts, missing and unknown
fields, unknown enum values), dicts, and bytes for the raw paths; about a third is well
formed, so the price book runs too. Where Google's parser stands between the wire and an
unguarded path of ours (batch jobs and Live turns: validated; Interactions: lenient, any
scalar but lists stay lists), inputs keep to what that parser lets through. The inputs found
to break those paths are regression tests at the end.

Checked per input: the app gets exactly what the SDK returned or raised (the same objects,
the same stream items), and every span the input started has ended, once (the OpenTelemetry
SDK's warning on a second end fails the run). Per 1,000 inputs: every cost on a span is a
finite number >= 0, every count a non-negative int64. Per 10,000: every cumulative
``llm_cost.*`` point is finite, >= 0 and monotone, histograms are finite, and the metrics
encode to OTLP.

Why it is fast (~25 s of CPU on a 2-core machine): no HTTP, no SDK client, no hypothesis; a
seeded ``random.Random`` builds each input in ~40 us, objects skip validation, the adapters'
wrappers are called directly, and spans and metrics are checked in batches (the exporter is
cleared each time, so memory stays flat). Most of the time is the plugin's own work per call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import os
import random
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from http import HTTPStatus
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import anthropic
import httpx2
import pydantic
import pytest
from anthropic._decoders.jsonl import JSONLDecoder
from anthropic.types import messages as batch_types
from anthropic.types import raw_message_delta_event
from google.genai import errors as genai_errors
from google.genai import types as g
from google.genai._gaos.types.interactions.interaction import Interaction
from google.genai._gaos.types.interactions.interactioncompletedevent import InteractionCompletedEvent
from google.genai._gaos.types.interactions.interactionstatusupdate import InteractionStatusUpdate
from google.genai._gaos.types.interactions.usage import Usage as InteractionUsage
from google.genai._gaos.utils.eventstreaming import Stream as InteractionStream
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llm_cost_otel
from llm_cost_otel import anthropic as anthropic_adapter
from llm_cost_otel import google_genai as google_adapter
from llm_cost_otel import semconv as names

# Malformed objects make the SDKs and pydantic warn (serializing wrongly typed fields when
# content capture dumps them): expected here, with or without the plugin.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

VOLUME = int(os.environ.get("LLM_COST_OTEL_FUZZ_VOLUME", "100000"))
SEED = 20260917
SPAN_CHECK_EVERY = 1_000
METRICS_EVERY = 10_000
CAPTURE_SHARE = 0.2  # the last fifth of each adapter's inputs runs with content capture on
TRACKED_SHARE = 0.1  # inputs run inside llm_cost_otel.track(): their rollup span is checked too

T = TypeVar("T")
MISSING: Any = object()  # a field left out of the response altogether
_DEFAULTS: dict[type[Any], tuple[dict[str, Any], dict[str, Any] | None]] = {}
_set = object.__setattr__


def construct(cls: type[Any], fields: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """An SDK model holding ``fields`` unvalidated (MISSING ones absent), the defaults of the
    others, and ``extra`` unknown fields where the model keeps them: pydantic's
    ``model_construct`` without its per-call default resolution (a third of the run time)."""
    known = _DEFAULTS.get(cls)
    if known is None:
        built = _construct(cls)  # pydantic's own, once per class: its defaults
        known = _DEFAULTS[cls] = (dict(built.__dict__), built.__pydantic_private__)
    defaults, private = known
    values = {**defaults, **fields}
    for key, value in fields.items():
        if value is MISSING:
            del values[key]
    obj: Any = object.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(fields))
    _set(obj, "__pydantic_extra__", dict(extra or {}) if cls.model_config.get("extra") == "allow" else None)
    _set(obj, "__pydantic_private__", None if private is None else dict(private))
    return obj


# pydantic's own model_construct (anthropic overrides it with its lenient parser)
_construct = cast(Any, pydantic.BaseModel.model_construct).__func__


def plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not MISSING}


# --- value pools ------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
# What a broken gateway, a newer API or a hostile upstream could put where a count belongs.
WEIRD_COUNTS: tuple[Any, ...] = (
    -1,
    -4096,
    10**11,
    10**12,
    2**63,
    2**64,
    10**30,
    10**4000,
    1500.0,
    0.5,
    -0.0,
    1e-300,
    1e300,
    NAN,
    INF,
    -INF,
    "1500",
    "",
    "abc",
    "-5",
    "1e3",
    "1.0",
    "\u0661\u0662\u0663",
    "\u00b2",
    " 12",
    "1_000",
    "0x10",
    "9" * 5000,
    True,
    False,
    [],
    [1, 2],
    {},
    {"tokens": 1},
    b"12",
    Decimal("7"),
    HTTPStatus.OK,
)
WEIRD_SCALARS: tuple[Any, ...] = (None, "", "x" * 10_000, "\x00", 0, -7, 2**64, 1.5, NAN, True, [], [1], {"a": 1}, b"b")
ANTHROPIC_MODELS = (
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5",
    "claude-sonnet-4-20250514",
    "claude-opus-4-1",
)
ANTHROPIC_REQUEST_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1")
GEMINI_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "gemini-3-pro-preview")
GEMINI_REQUEST_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview")
EMBEDDING_MODELS = ("text-embedding-005", "gemini-embedding-001")
WEIRD_MODELS: tuple[Any, ...] = (
    "",
    "acme-unknown-model",
    "claude-haiku-4-5\x00",
    "GEMINI-2.5-FLASH",
    "models/gemini-2.5-flash-001",
    "x" * 10_000,
    123,
    1.5,
    True,
    ["claude-haiku-4-5"],
    {"name": "gemini-2.5-flash"},
)
ANTHROPIC_STOPS = ("end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal", "pause_turn", "brand_new_reason")
FINISH_REASONS: tuple[Any, ...] = (g.FinishReason.STOP, g.FinishReason.MAX_TOKENS, "STOP", "SAFETY", "BRAND_NEW")
MODALITIES: tuple[Any, ...] = (g.MediaModality.AUDIO, g.MediaModality.TEXT, "AUDIO", "audio", "IMAGE", "SMELL")
TRAFFIC: tuple[Any, ...] = (g.TrafficType.ON_DEMAND, g.TrafficType.PROVISIONED_THROUGHPUT, "ON_DEMAND_FLEX", "NEW")
MSGS = [{"role": "user", "content": "hi"}]
INTERACTION: Any = Interaction  # the SDK's own (lenient) model_construct, untyped
# shared by every candidate (the plugin only reads it, into captured content)
CONTENT = g.Content(role="model", parts=[g.Part(text="ok")])


class Closable:
    """Stands in for the httpx response an SDK stream closes."""

    def close(self) -> None:
        pass


class Session:
    """A Live session (weak-referenceable, as the SDK's is)."""


class LiveManager:
    """``client.aio.live.connect(...)``'s context manager, without a socket."""

    def __init__(self) -> None:
        self.session = Session()

    async def __aenter__(self) -> Session:
        return self.session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


class RawResponse:
    """The shape of ``with_raw_response``'s result: an ``http_response`` and ``parse()``."""

    def __init__(self, http_response: httpx2.Response, parsed: Any) -> None:
        self.http_response = http_response
        self._parsed = parsed

    def parse(self) -> Any:
        return self._parsed


class ChunkStream(httpx2.SyncByteStream):
    """An unread response body, as a streaming transport hands it over."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


ANTHROPIC_CLIENT = SimpleNamespace(base_url=httpx2.URL("https://api.anthropic.com"))
GEMINI_MODELS_API = SimpleNamespace(
    _api_client=SimpleNamespace(
        vertexai=False, _http_options=SimpleNamespace(base_url="https://generativelanguage.googleapis.com/")
    )
)
VERTEX_MODELS_API = SimpleNamespace(
    _api_client=SimpleNamespace(
        vertexai=True, _http_options=SimpleNamespace(base_url="https://us-central1-aiplatform.googleapis.com/")
    )
)
INTERACTIONS_API = SimpleNamespace(
    sdk_configuration=SimpleNamespace(server_url="https://generativelanguage.googleapis.com")
)


def run_now(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (our fakes never do) without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError("the coroutine suspended")


def feed(items: list[Any], error_at: int | None, error: BaseException | None) -> Iterator[Any]:
    """The SDK's item iterator: ``items``, or an error raised before item ``error_at``."""
    for index, item in enumerate(items):
        if index == error_at:
            assert error is not None
            raise error
        yield item
    if error_at is not None and error_at >= len(items) and error is not None:
        raise error


def safe_repr(value: Any, limit: int = 2000) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # an int past the str() digit limit, ...
        text = f"<{type(value).__name__}: repr failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[:limit] + "...(truncated)"


# --- inputs ---------------------------------------------------------------------------------------


class Inputs:
    """Builds malformed (and, with ``clean``, well-formed) responses from a seeded RNG.

    ``shape`` is what the SDK can hand over on the path: ``any`` (Anthropic builds responses
    without validation; Google's guarded paths get the same), ``lenient`` (Google's
    Interactions parser: any scalar, but lists stay lists and objects objects) or
    ``validated`` (Google's pydantic validation: ints of any sign and size, any string,
    unknown enum values)."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng
        self.clean = False
        self.shape = "any"
        self.custom_ids = [f"req-{i}" for i in range(40)]
        self.batch_ids = [f"msgbatch_fuzz_{i:03d}" for i in range(60)]
        self.batch_jobs = 0

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def make(self, cls: type[Any], fields: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
        """An SDK model of ``fields``; a missing field is absent, or None where the SDK's
        parser fills in every field."""
        if self.shape != "any":
            fields = {k: None if v is MISSING else v for k, v in fields.items()}
        return construct(cls, fields, extra)

    @property
    def loose(self) -> bool:
        """Whether a container may be the wrong type altogether."""
        return not self.clean and self.shape == "any"

    def weird(self, pool: tuple[Any, ...]) -> Any:
        """A malformed value from ``pool``; under validation only what validation lets through."""
        if self.shape == "validated":
            pool = tuple(v for v in pool if v is MISSING or v is None or type(v) in (int, str))
        return self.pick(pool)

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.r.random() * len(seq))]

    def count(self, high: int = 20_000) -> Any:
        if self.clean:
            return int(self.r.random() * high)
        x = self.r.random()
        if x < 0.55:
            return int(x / 0.55 * high)
        if x < 0.63:
            return None
        if x < 0.68:
            return MISSING
        return self.weird(WEIRD_COUNTS)

    def optional_count(self, high: int = 5_000) -> Any:
        """A count most responses leave out."""
        if self.chance(0.6):
            return self.pick((MISSING, None, 0))
        return self.count(high)

    def scalar(self, good: tuple[Any, ...], p_good: float = 0.8) -> Any:
        """A field from ``good``, or (unless clean) missing, null or garbage."""
        if self.clean or self.chance(p_good):
            return self.pick(good)
        return self.weird((MISSING, *WEIRD_SCALARS))

    def model(self, good: tuple[str, ...]) -> Any:
        if self.clean or self.chance(0.75):
            return self.pick(good)
        return self.weird((MISSING, None, *WEIRD_MODELS))

    def ident(self, prefix: str) -> Any:
        if self.clean or self.chance(0.85):
            return f"{prefix}_{self.r.getrandbits(40):x}"
        return self.weird((MISSING, *WEIRD_SCALARS))

    def garbage(self) -> Any:
        """Something that is not the object the field holds at all."""
        return self.pick(("usage", "", 0, 5, -1, 1.5, NAN, True, [], [1, 2], [{}], {"type": "x"}, b"\x00"))

    def extra(self) -> dict[str, Any] | None:
        """Unknown fields, as a newer API adds them (kept by Anthropic's models)."""
        if self.clean or not self.chance(0.2):
            return None
        return {f"zz_{self.r.randrange(100)}": self.pick(WEIRD_SCALARS) for _ in range(self.r.randrange(1, 3))}

    def shaped(self, cls: type[Any] | None, fields: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
        """A nested object as the SDK model (mostly), a dict, or (unless validated) garbage."""
        x = self.r.random()
        if self.loose and x < 0.07:
            return self.garbage()
        if cls is None or (x > 0.85 and self.shape == "any"):
            return plain({**fields, **(extra or {})})
        return self.make(cls, fields, extra)

    # --- Anthropic

    def a_usage(self, delta: bool = False) -> Any:
        if not self.clean and self.chance(0.08):
            return self.pick((MISSING, None, "usage", 5, [1], True, {}, ""))
        fields: dict[str, Any] = {
            "input_tokens": self.count(60_000) if not delta or self.chance(0.3) else MISSING,
            "output_tokens": self.count(),
            "cache_read_input_tokens": self.optional_count(40_000),
            "cache_creation_input_tokens": self.optional_count(20_000),
        }
        if self.chance(0.25):
            fields["cache_creation"] = self.shaped(
                anthropic.types.CacheCreation,
                {"ephemeral_5m_input_tokens": self.count(5_000), "ephemeral_1h_input_tokens": self.count(5_000)},
            )
        if self.chance(0.15):
            fields["server_tool_use"] = self.shaped(
                anthropic.types.ServerToolUsage,
                {"web_search_requests": self.count(5), "web_fetch_requests": self.optional_count(5)},
            )
        if self.chance(0.15):
            fields["output_tokens_details"] = self.shaped(None, {"thinking_tokens": self.count(3_000)})
        if not delta:
            fields["service_tier"] = self.scalar(("standard", "priority", "batch"), 0.9)
            if self.chance(0.1):
                fields["speed"] = self.scalar(("fast", "standard"))
        cls = anthropic.types.MessageDeltaUsage if delta else anthropic.types.Usage
        return self.shaped(cls, fields, self.extra())

    def a_content(self) -> Any:
        if not self.clean and self.chance(0.05):
            return self.garbage()
        blocks = []
        for _ in range(self.r.randrange(3)):
            text = "ok" if self.clean or self.chance(0.9) else self.pick(WEIRD_SCALARS)
            blocks.append(self.make(anthropic.types.TextBlock, {"type": "text", "text": text}))
        return blocks

    def a_message_fields(self) -> dict[str, Any]:
        return {
            "id": self.ident("msg"),
            "type": self.scalar(("message",), 0.95),
            "role": "assistant",
            "model": self.model(ANTHROPIC_MODELS),
            "content": self.a_content(),
            "stop_reason": self.scalar(ANTHROPIC_STOPS, 0.85),
            "stop_sequence": None,
            "usage": self.a_usage(),
        }

    def a_message(self) -> Any:
        if not self.clean and self.chance(0.03):
            return self.pick((None, "a message", 5, {"usage": {"input_tokens": 5}}, [], b"{}"))
        fields = self.a_message_fields()
        if self.chance(0.1):
            # the SDK's own lenient parse of a JSON body, as anthropic builds every response
            return anthropic.types.Message.model_construct(**json.loads(json.dumps(jsonable(fields), default=repr)))
        return self.make(anthropic.types.Message, fields, self.extra())

    def a_delta(self) -> Any:
        kind = self.r.randrange(4)
        if kind == 0:
            return self.make(anthropic.types.TextDelta, {"type": "text_delta", "text": self.scalar(("hi ",))})
        if kind == 1:
            return self.make(anthropic.types.ThinkingDelta, {"type": "thinking_delta", "thinking": "hm"})
        if kind == 2:
            return self.make(anthropic.types.InputJSONDelta, {"type": "input_json_delta", "partial_json": '{"a'})
        return self.garbage() if not self.clean else {"type": "mystery_delta"}

    def a_events(self) -> list[Any]:
        message = self.make(anthropic.types.Message, {**self.a_message_fields(), "content": [], "stop_reason": None})
        events: list[Any] = [
            self.make(anthropic.types.RawMessageStartEvent, {"type": "message_start", "message": message}),
            self.make(
                anthropic.types.RawContentBlockStartEvent,
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        for _ in range(self.r.randrange(4)):
            events.append(
                self.make(
                    anthropic.types.RawContentBlockDeltaEvent,
                    {"type": "content_block_delta", "index": 0, "delta": self.a_delta()},
                )
            )
        delta = self.make(raw_message_delta_event.Delta, {"stop_reason": self.scalar(ANTHROPIC_STOPS, 0.85)})
        events.append(
            self.make(
                anthropic.types.RawMessageDeltaEvent,
                {
                    "type": "message_delta",
                    "delta": self.shaped(None, {}) if self.chance(0.05) else delta,
                    "usage": self.a_usage(delta=True),
                },
            )
        )
        events.append(self.make(anthropic.types.RawMessageStopEvent, {"type": "message_stop"}))
        if not self.clean:
            for _ in range(self.r.randrange(3)):
                noise = self.pick(
                    (
                        None,
                        5,
                        "event",
                        {"type": "ping"},
                        {"type": "message_start"},
                        {"type": "message_delta", "usage": {"output_tokens": -1}},
                        self.make(anthropic.types.RawMessageStartEvent, {"type": "message_start", "message": "x"}),
                        self.make(anthropic.types.RawMessageDeltaEvent, {"type": self.pick(WEIRD_SCALARS)}),
                        self.make(anthropic.types.RawMessageDeltaEvent, {"type": "message_delta", "usage": 7}),
                    )
                )
                events.insert(self.r.randrange(len(events) + 1), noise)
            if self.chance(0.1):
                del events[self.r.randrange(len(events))]
        return events

    def a_batch_line(self) -> Any:
        x = self.r.random()
        if self.clean or x < 0.75:
            result = self.make(
                batch_types.MessageBatchSucceededResult,
                {"type": self.scalar(("succeeded",), 0.95), "message": self.a_message()},
            )
        elif x < 0.85:
            result = self.make(batch_types.MessageBatchErroredResult, {"type": "errored", "error": {"type": "error"}})
        elif x < 0.92:
            result = self.make(batch_types.MessageBatchExpiredResult, {"type": "expired"})
        else:
            result = self.pick((None, "succeeded", 5, {"type": "succeeded", "message": {"usage": {}}}))
        custom_id = self.pick(self.custom_ids) if self.clean or self.chance(0.85) else self.pick(WEIRD_SCALARS)
        return self.make(batch_types.MessageBatchIndividualResponse, {"custom_id": custom_id, "result": result})

    def a_body(self) -> bytes:
        """A raw Messages response body, as a gateway might garble it."""
        x = self.r.random()
        if self.clean or x < 0.45:
            body = json.dumps(jsonable(self.a_message_fields()), default=repr).encode()
            if not self.clean and self.chance(0.25):
                body = body[: self.r.randrange(len(body))]  # truncated
            return body
        if x < 0.75:
            lines = []
            for event in self.a_events():
                data = jsonable(event)
                kind = data.get("type") if isinstance(data, dict) else None
                lines.append(f"event: {kind}\ndata: {json.dumps(data, default=repr)}\n\n")
            if self.chance(0.3):
                lines.insert(
                    self.r.randrange(len(lines) + 1),
                    self.pick(("data: [1, 2]\n", "data: 5\n", "data: {\n", ": comment\n", "data: null\n", "data:\n")),
                )
            body = "".join(lines).encode()
            if self.chance(0.3):
                body = body[: self.r.randrange(len(body) + 1)]
            return body
        if x < 0.9:
            return self.r.randbytes(self.r.randrange(200))
        return self.pick((b"", b"   ", b"\xef\xbb\xbf{}", b"{}", b"[]", b"null", b'{"usage": 5}', b"\xff\xfe{"))

    def a_error(self) -> BaseException:
        x = self.r.random()
        if x < 0.6:
            error = anthropic.APIStatusError.__new__(anthropic.APIStatusError)
            fields: Any = error  # only the attributes the adapter reads
            fields.status_code = self.pick((400, 429, 500, 529, 200, 0, -1, "429", None, 10**30, True, 429.0))
            fields.body = self.pick(
                (
                    None,
                    {"error": {"type": "overloaded_error"}},
                    {"error": {"type": 5}},
                    {"error": "x"},
                    {"error": None},
                    [],
                    "text",
                )
            )
            return error
        return self.pick(
            (
                anthropic.APIConnectionError.__new__(anthropic.APIConnectionError),
                RuntimeError("boom"),
                ValueError("bad"),
                TimeoutError(),
                KeyboardInterrupt(),
                asyncio.CancelledError(),
            )
        )

    # --- Google

    def g_details(self) -> Any:
        if self.chance(0.6):
            return MISSING
        if self.loose and self.chance(0.08):
            return self.pick(("AUDIO", 5, {"modality": "AUDIO"}, True))
        items = []
        for _ in range(self.r.randrange(3)):
            fields = {"modality": self.scalar(MODALITIES, 0.9), "token_count": self.count(2_000)}
            items.append(plain(fields) if self.chance(0.1) else self.make(g.ModalityTokenCount, fields))
        return items

    def g_usage(self, live: bool = False) -> Any:
        if not self.clean and self.chance(0.06):
            return self.pick((MISSING, None, "usage", 5, [1], {})) if self.loose else MISSING
        prompt = self.count(100_000)
        output = "response" if live else "candidates"
        fields: dict[str, Any] = {
            "prompt_token_count": prompt,
            f"{output}_token_count": self.count(8_000),
            "cached_content_token_count": self.optional_count(50_000),
            "thoughts_token_count": self.optional_count(4_000),
            "tool_use_prompt_token_count": self.optional_count(1_000),
            "total_token_count": self.count(150_000),
            "prompt_tokens_details": self.g_details(),
            f"{output}_tokens_details": self.g_details(),
            "cache_tokens_details": self.g_details(),
            "traffic_type": self.scalar(TRAFFIC, 0.3) if self.chance(0.3) else MISSING,
        }
        cls = g.UsageMetadata if live else g.GenerateContentResponseUsageMetadata
        return self.shaped(cls, fields)

    def g_candidates(self) -> Any:
        if self.loose and self.chance(0.05):
            return self.pick(("x", 5, {"a": 1}, [None], [5], True))
        candidates = []
        for _ in range(self.r.randrange(3)):
            grounding: Any = None
            if self.chance(0.15):
                queries: Any = ["q1", "q2"][: self.r.randrange(3)]
                if self.loose and self.chance(0.2):
                    queries = self.pick((5, "query", True))
                grounding = self.make(g.GroundingMetadata, {"web_search_queries": queries})
            candidates.append(
                self.make(
                    g.Candidate,
                    {
                        "content": CONTENT,
                        "finish_reason": self.scalar(FINISH_REASONS, 0.85),
                        "grounding_metadata": grounding,
                        "index": 0,
                    },
                )
            )
        return candidates

    def g_response(self, final: bool = True) -> Any:
        if self.loose and self.chance(0.03):
            return self.pick((None, "a response", 5, {"usage_metadata": {"prompt_token_count": 5}}, []))
        return self.make(
            g.GenerateContentResponse,
            {
                "candidates": self.g_candidates(),
                "model_version": self.model(GEMINI_MODELS),
                "response_id": self.ident("resp"),
                "usage_metadata": self.g_usage() if final or self.chance(0.4) else None,
            },
        )

    def g_chunks(self) -> list[Any]:
        if self.loose and self.chance(0.02):
            return []  # a stream that ends before its first chunk
        chunks = [self.g_response(final=False) for _ in range(self.r.randrange(5))]
        chunks.append(self.g_response(final=True))
        return chunks

    def g_embedding(self) -> Any:
        embeddings: Any = []
        for _ in range(self.r.randrange(3)):
            statistics = (
                self.shaped(g.ContentEmbeddingStatistics, {"token_count": self.count(2_000), "truncated": False})
                if self.chance(0.7)
                else None
            )
            embeddings.append(self.make(g.ContentEmbedding, {"values": [0.1, 0.2], "statistics": statistics}))
        if self.loose and self.chance(0.04):
            embeddings = self.garbage()
        metadata = (
            self.shaped(g.EmbedContentMetadata, {"billable_character_count": self.count(10_000)})
            if self.chance(0.4)
            else None
        )
        usage = self.g_usage() if self.chance(0.3) else MISSING
        return self.make(
            g.EmbedContentResponse, {"embeddings": embeddings, "metadata": metadata, "usage_metadata": usage}
        )

    def g_images(self) -> Any:
        images: Any = [self.make(g.GeneratedImage, {"rai_filtered_reason": None}) for _ in range(self.r.randrange(4))]
        if self.loose and self.chance(0.1):
            images = self.pick((None, 5, "img", {}, True))
        return self.make(g.GenerateImagesResponse, {"generated_images": images})

    def g_cache(self) -> Any:
        created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.r.randrange(10**8))
        # expire_time may come before create_time: no negative storage cost may follow
        expires: Any = created + dt.timedelta(seconds=self.r.randrange(-86_400, 86_400 * 30))
        if not self.clean and self.chance(0.15):
            expires = self.pick((None, MISSING, expires.replace(tzinfo=None), "2026-01-02T00:00:00Z", 5))
        tokens = self.count(200_000)
        usage = self.shaped(g.CachedContentUsageMetadata, {"total_token_count": tokens})
        return self.make(
            g.CachedContent,
            {
                "name": self.ident("cachedContents/c"),
                "model": self.model(("models/gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash-001")),
                "create_time": created if self.clean or self.chance(0.95) else self.pick((None, "now", 5)),
                "expire_time": expires,
                "usage_metadata": usage if self.chance(0.9) else MISSING,
            },
        )

    def g_batch_job(self) -> Any:
        self.batch_jobs += 1
        responses: list[Any] = []
        for _ in range(self.r.randrange(1, 5)):
            response = self.g_response() if self.chance(0.9) else None
            responses.append(self.make(g.InlinedResponse, {"response": response, "error": None}))
        state = g.JobState.JOB_STATE_SUCCEEDED if self.chance(0.8) else self.pick(tuple(g.JobState))
        name = f"batches/fuzz-{self.batch_jobs}" if self.chance(0.9) else self.pick(("", "batches/fuzz-1", MISSING))
        return self.make(
            g.BatchJob,
            {
                "name": name,
                "state": state,
                "model": self.model(GEMINI_REQUEST_MODELS),
                "dest": self.make(g.BatchJobDestination, {"inlined_responses": responses}),
            },
        )

    def g_live_messages(self) -> list[Any]:
        messages = []
        for _ in range(self.r.randrange(1, 7)):
            content = None
            if self.chance(0.6):
                content = self.make(g.LiveServerContent, {"turn_complete": self.scalar((True, False), 0.9)})
            usage = self.g_usage(live=True) if self.chance(0.5) else None
            messages.append(self.make(g.LiveServerMessage, {"server_content": content, "usage_metadata": usage}))
        if self.loose and self.chance(0.05):
            messages.append(self.pick((None, "message", {"usage_metadata": None})))
        return messages

    def g_interaction_usage(self) -> Any:
        if not self.clean and self.chance(0.06):
            return self.pick((MISSING, None, "usage", 5, [1])) if self.loose else None

        def modalities() -> Any:
            if self.chance(0.7):
                return MISSING
            return [{"modality": self.scalar(MODALITIES), "tokens": self.count(2_000)} for _ in range(2)]

        fields = {
            "total_input_tokens": self.count(60_000),
            "total_cached_tokens": self.optional_count(20_000),
            "total_output_tokens": self.count(5_000),
            "total_thought_tokens": self.optional_count(3_000),
            "total_tool_use_tokens": self.optional_count(500),
            "input_tokens_by_modality": modalities(),
            "cached_tokens_by_modality": modalities(),
            "output_tokens_by_modality": modalities(),
            "grounding_tool_count": (
                [{"type": self.scalar(("google_search", "url_context")), "count": self.count(5)}]
                if self.chance(0.15)
                else MISSING
            ),
        }
        return self.shaped(InteractionUsage, fields)

    def g_interaction(self, status: Any = None, usage: Any = MISSING, interaction_id: Any = None) -> Any:
        return INTERACTION.model_construct(
            **plain(
                {
                    "id": interaction_id if interaction_id is not None else self.ident("int"),
                    "model": self.model(GEMINI_MODELS),
                    "status": status if status is not None else self.scalar(("completed", "in_progress", "failed")),
                    "usage": usage,
                    "service_tier": self.scalar(("standard", "flex"), 0.5) if self.chance(0.2) else MISSING,
                }
            )
        )

    def g_interaction_events(self) -> list[Any]:
        events: list[Any] = []
        for _ in range(self.r.randrange(4)):
            events.append(
                self.make(
                    InteractionStatusUpdate,
                    {"interaction_id": "int_s", "status": "in_progress", "usage": self.g_interaction_usage()},
                )
            )
        if self.chance(0.85):
            interaction = self.g_interaction(status="completed", usage=self.g_interaction_usage())
            events.append(self.make(InteractionCompletedEvent, {"interaction": interaction}))
        if self.loose and self.chance(0.1):
            events.append(self.pick((None, 5, {"metadata": {"usage": 5}}, {"interaction": "x"})))
        return events

    def g_error(self) -> BaseException:
        if self.chance(0.6):
            error = genai_errors.APIError.__new__(genai_errors.APIError)
            fields: Any = error  # only the attributes the adapter reads
            fields.code = self.pick((400, 429, 500, 503, 0, None, "429", 10**30, True, 429.0, [], {"a": 1}))
            return error
        return self.pick((RuntimeError("boom"), ValueError("bad"), TimeoutError(), KeyboardInterrupt()))


def jsonable(value: Any) -> Any:
    """A model or dict as JSON-ready data, MISSING fields left out (what an SDK would send)."""
    if isinstance(value, pydantic.BaseModel):
        fields = dict(value.__dict__)
        fields.update(value.__pydantic_extra__ or {})
        return {k: jsonable(v) for k, v in fields.items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | Decimal):
        return repr(value)
    return value


# --- the harness ----------------------------------------------------------------------------------


class EndTwice(logging.Handler):
    """The OpenTelemetry SDK refuses a second ``end()`` (or a write after the end) with a
    warning: processors never see it."""

    def __init__(self, harness: Harness) -> None:
        super().__init__(logging.WARNING)
        self.harness = harness

    def emit(self, record: logging.LogRecord) -> None:
        if "ended span" in record.getMessage():
            self.harness.fail("a span was ended twice, or written after its end", record.getMessage())


class SpanLedger(SpanProcessor):
    """Which spans are open, and which input started each one (for failure reports)."""

    def __init__(self) -> None:
        self.label = ""
        self.open: dict[int, str] = {}
        self.labels: dict[int, str] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        span_id = span.context.span_id
        self.open[span_id] = self.labels[span_id] = self.label

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None:
            self.open.pop(span.context.span_id, None)


COST_ATTRIBUTES = frozenset(
    {
        names.COST_TOTAL,
        names.COST_CACHE_SAVINGS,
        names.CACHE_STORAGE_RATE,
        names.CACHE_STORAGE_ESTIMATE,
        names.ROLLUP_PREFIX + "cost_usd",
        *names.COST_COMPONENT_ATTRS.values(),
    }
)
COUNT_ATTRIBUTES = frozenset(
    {
        names.INPUT_TOKENS,
        names.OUTPUT_TOKENS,
        names.CACHE_READ_TOKENS,
        names.RELEASED.cache_write_tokens,
        names.LATEST.cache_write_tokens,
        names.REASONING_TOKENS,
        names.BATCH_RESULTS,
        names.BATCH_UNPRICED,
        names.CACHE_TOKENS,
        names.BATCH_ALREADY_COUNTED,
        *names.USAGE_DETAIL_ATTRS.values(),
    }
)
COUNTER_METRICS = frozenset({names.COST_METRIC, names.TOKENS_METRIC, names.SAVINGS_METRIC, names.UNPRICED_METRIC})
HISTOGRAM_METRICS = frozenset(
    name
    for n in (names.RELEASED, names.LATEST)
    for name in (
        n.inference_duration,
        n.operation_duration,
        n.time_to_first_chunk,
        n.input_tokens_histogram,
        n.output_tokens_histogram,
    )
)
INT64 = 2**63


def non_negative(value: Any, integer: bool = False) -> bool:
    """A finite number >= 0 (an int64 when ``integer``); never raises."""
    if type(value) is int:
        return 0 <= value < INT64
    return not integer and type(value) is float and math.isfinite(value) and value >= 0


class Harness:
    """Real Telemetry on in-memory OpenTelemetry providers; runs inputs and checks invariants."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
        monkeypatch.delenv("LLM_COST_OTEL_METRIC_ATTRIBUTES", raising=False)
        monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
        self.exporter = InMemorySpanExporter()
        self.ledger = SpanLedger()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.ledger)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.failures: dict[str, tuple[int, str]] = {}
        self.counts: Counter[str] = Counter()
        self.priced: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.last_points: dict[tuple[str, tuple[tuple[str, Any], ...]], float] = {}
        self.started = time.perf_counter()
        self.label = ""
        self.subject: Any = None
        monkeypatch.setattr(sys, "unraisablehook", self._unraisable)
        # the OpenTelemetry SDK logs each attribute value of a type it drops: keep it quiet
        monkeypatch.setattr(logging.getLogger("opentelemetry.attributes"), "disabled", True)
        self.end_twice = EndTwice(self)
        logging.getLogger("opentelemetry.sdk.trace").addHandler(self.end_twice)
        self.instrument()

    def instrument(self, capture_content: bool = False) -> None:
        if capture_content:
            self.monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        else:
            self.monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
        llm_cost_otel.instrument(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def close(self) -> None:
        logging.getLogger("opentelemetry.sdk.trace").removeHandler(self.end_twice)
        llm_cost_otel.uninstrument()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    # --- failures

    def fail(self, kind: str, detail: str, subject: Any = None, label: str | None = None) -> None:
        """Record a failure once per kind (with its first input), counting repeats."""
        seen, first = self.failures.get(kind, (0, ""))
        if not seen:
            shown = self.subject if subject is None else subject
            first = f"{detail}\n  first input ({label or self.label}): {safe_repr(shown)}"
        self.failures[kind] = (seen + 1, first)

    def _unraisable(self, unraisable: Any) -> None:
        exc = unraisable.exc_value
        where = "".join(traceback.format_exception(exc)) if exc is not None else ""
        self.fail(f"unraisable {type(exc).__name__} in {unraisable.object!r}"[:200], where)

    def report(self) -> str:
        lines = [f"{sum(self.counts.values())} inputs in {time.perf_counter() - self.started:.1f} s"]
        for kind, (seen, first) in self.failures.items():
            lines.append(f"- {kind} (x{seen})\n  {first}")
        return "\n".join(lines)

    # --- running inputs

    def run(self, adapter: str, total: int, paths: dict[str, tuple[float, Callable[[Harness, Inputs], None]]]) -> None:
        rng = random.Random(f"{SEED}-{adapter}")
        inputs = Inputs(rng)
        path_names = list(paths)
        weights = [paths[p][0] for p in path_names]
        capture_from = int(total * (1 - CAPTURE_SHARE))
        for index in range(total):
            if index == capture_from:
                self.instrument(capture_content=True)
            path = rng.choices(path_names, weights)[0]
            inputs.clean = rng.random() < 0.3
            inputs.shape = "any"
            self.label = self.ledger.label = f"{adapter}.{path} #{index}"
            self.subject = None
            self.counts[f"{adapter}.{path}"] += 1
            try:
                if rng.random() < TRACKED_SHARE:
                    with llm_cost_otel.track("fuzz", share=index % 3):
                        paths[path][1](self, inputs)
                else:
                    paths[path][1](self, inputs)
            except BaseException as exc:  # anything escaping is what the app would have got
                location = traceback.extract_tb(exc.__traceback__)[-1]
                self.fail(
                    f"{adapter}.{path}: {type(exc).__name__} escaped at {location.filename}:{location.lineno}",
                    "".join(traceback.format_exception(exc)),
                )
            if self.ledger.open:
                self.fail(f"{adapter}.{path}: span left open", f"{len(self.ledger.open)} span(s) open")
                self.ledger.open.clear()
            if (index + 1) % SPAN_CHECK_EVERY == 0 or index + 1 == total:
                self.check_spans(adapter)
            if (index + 1) % METRICS_EVERY == 0 or index + 1 == total:
                self.check_metrics(f"after {self.label}")
        self.instrument(capture_content=False)

    def returns(self, got: Any, expected: Any, what: str = "result") -> None:
        if got is not expected:
            self.fail(f"{self.label.split(' ')[0]}: the app got a different {what}", f"{safe_repr(got)}")

    def raises(self, run: Callable[[], Any], error: BaseException | None) -> Any:
        """Run ``run``; the app must see exactly ``error`` (or no error when None)."""
        try:
            result = run()
        except BaseException as exc:
            if exc is error:
                return None
            raise
        if error is not None:
            self.fail(f"{self.label.split(' ')[0]}: an SDK error was swallowed", safe_repr(error))
        return result

    def consume(
        self,
        stream: Iterator[Any],
        items: list[Any],
        error_at: int | None,
        error: BaseException | None,
        stop_at: int | None,
    ) -> None:
        """Iterate like an app: all of it, or ``stop_at`` items; it must yield ``items`` unchanged."""
        got: list[Any] = []

        def iterate() -> None:
            if stop_at == 0:
                return
            for item in stream:
                got.append(item)
                if stop_at is not None and len(got) >= stop_at:
                    return

        self.raises(iterate, error if error_at is not None and (stop_at is None or error_at < stop_at) else None)
        expected = items[: len(got)]
        if len(got) != len(expected) or any(a is not b for a, b in zip(got, expected, strict=True)):
            self.fail(f"{self.label.split(' ')[0]}: the stream yielded different items", safe_repr(got))

    # --- checks

    def check_spans(self, adapter: str) -> None:
        for span in self.exporter.get_finished_spans():
            attrs = span.attributes or {}
            label = self.ledger.labels.get(span.context.span_id, "?") if span.context else "?"
            for key, value in attrs.items():
                if key in COST_ATTRIBUTES:
                    ok = non_negative(value)
                elif key in COUNT_ATTRIBUTES or key.startswith(names.ROLLUP_PREFIX):
                    ok = non_negative(value, integer=True)
                else:
                    continue
                if not ok:
                    self.fail(
                        f"{label.split(' ')[0]}: span attribute {key} is not a finite number >= 0",
                        f"{key} = {safe_repr(value, 80)} on span {span.name!r}: {safe_repr(dict(attrs), 600)}",
                        "(see the span)",
                        label,
                    )
            if names.OPERATION not in attrs:
                self.outcomes["track"] += 1
            elif span.status.status_code.name == "ERROR":
                self.outcomes[f"{adapter} error"] += 1
            elif names.COST_TOTAL in attrs and not attrs.get(names.BATCH):
                self.priced[adapter] += 1
                self.outcomes[f"{adapter} priced"] += 1
            elif attrs.get(names.USAGE_UNKNOWN):
                self.outcomes[f"{adapter} usage unknown"] += 1
            elif attrs.get(names.PRICE_SOURCE) == names.UNPRICED:
                self.outcomes[f"{adapter} unpriced"] += 1
            else:
                self.outcomes[f"{adapter} other"] += 1
        self.exporter.clear()
        self.ledger.labels.clear()

    def check_metrics(self, when: str) -> None:
        data = self.reader.get_metrics_data()
        if data is None:
            return
        try:
            encode_metrics(data)
        except Exception as exc:
            self.fail("metrics no longer encode to OTLP", "".join(traceback.format_exception(exc)), when)
        seen: dict[tuple[str, tuple[tuple[str, Any], ...]], float] = {}
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points: list[Any] = list(metric.data.data_points)
                    for point in points:
                        if metric.name in COUNTER_METRICS:
                            value = point.value
                            key = (metric.name, tuple(sorted(point.attributes.items())))
                            if not non_negative(value):
                                self.fail(f"{metric.name}: a point is not finite and >= 0", f"{value!r} {when}", key)
                            elif value < self.last_points.get(key, 0):
                                self.fail(
                                    f"{metric.name}: a cumulative point went down",
                                    f"{self.last_points[key]} -> {value} {when}",
                                    key,
                                )
                            seen[key] = value
                        elif metric.name in HISTOGRAM_METRICS and point.count:
                            values = (point.sum, point.min, point.max)
                            if not all(non_negative(v) for v in values):
                                self.fail(
                                    f"{metric.name}: a histogram point is not finite and >= 0",
                                    f"{values} {when}",
                                    point.attributes,
                                )
        vanished = self.last_points.keys() - seen.keys()
        if vanished:
            self.fail("a cumulative series vanished", when, sorted(vanished)[:3])
        self.last_points = seen


# --- Anthropic paths ------------------------------------------------------------------------------


def _anthropic_request(
    harness: Harness,
    inputs: Inputs,
    url: str,
    method: str,
    stream: bool,
    result: Any,
    error: BaseException | None = None,
) -> Any:
    """One request through the adapter's hook; ``result`` is what the SDK returns (or ``error``)."""
    body = {"model": inputs.pick(ANTHROPIC_REQUEST_MODELS), "max_tokens": 100, "messages": MSGS, "stream": stream}
    if inputs.chance(0.05):
        body["speed"] = "fast"
    options = SimpleNamespace(url=url, method=method, json_data=body, extra_json=None, headers={})

    def sdk(*args: Any, **kwargs: Any) -> Any:
        if error is not None:
            raise error
        return result

    def call() -> Any:
        return anthropic_adapter._request_sync(sdk, ANTHROPIC_CLIENT, (object, options), {"stream": stream})

    return harness.raises(call, error)


def anthropic_message(harness: Harness, inputs: Inputs) -> None:
    message = harness.subject = inputs.a_message()
    got = _anthropic_request(harness, inputs, "/v1/messages", "post", False, message)
    harness.returns(got, message)


Ending = tuple[int | None, BaseException | None, int | None, bool]


def _stream_ending(inputs: Inputs, n_items: int, error_maker: Callable[[], BaseException]) -> Ending:
    """How a stream ends: (error_at, error, stop_at, close). The SDK raises ``error`` before
    item ``error_at``; the app stops after ``stop_at`` items; then closes it or drops it."""
    error_at: int | None = None
    error: BaseException | None = None
    stop_at: int | None = None
    if inputs.chance(0.12):
        error_at, error = inputs.r.randrange(n_items + 1), error_maker()
    if inputs.chance(0.2):
        stop_at = inputs.r.randrange(n_items + 1)
    return error_at, error, stop_at, inputs.chance(0.5)


def anthropic_stream(harness: Harness, inputs: Inputs) -> None:
    events = harness.subject = inputs.a_events()
    error_at, error, stop_at, close = _stream_ending(inputs, len(events), inputs.a_error)
    stream = anthropic.Stream.__new__(anthropic.Stream)
    stream.response = Closable()  # type: ignore[assignment]
    stream.__dict__["_iterator"] = feed(events, error_at, error)
    got = _anthropic_request(harness, inputs, "/v1/messages", "post", True, stream)
    harness.returns(got, stream)
    harness.consume(iter(stream), events, error_at, error, stop_at)
    if close:
        stream.close()
    del stream, got  # or the app just lets go of it


def anthropic_batch_results(harness: Harness, inputs: Inputs) -> None:
    lines = harness.subject = [inputs.a_batch_line() for _ in range(inputs.r.randrange(6))]
    error_at, error, stop_at, close = _stream_ending(inputs, len(lines), inputs.a_error)
    decoder = JSONLDecoder.__new__(JSONLDecoder)
    decoder.http_response = Closable()  # type: ignore[assignment]
    decoder.__dict__["_iterator"] = feed(lines, error_at, error)
    batch_id = inputs.pick(inputs.batch_ids)
    got = _anthropic_request(harness, inputs, f"/v1/messages/batches/{batch_id}/results", "get", False, decoder)
    harness.returns(got, decoder)
    harness.consume(iter(decoder), lines, error_at, error, stop_at)
    if close:
        decoder.close()
    del decoder, got


def anthropic_raw(harness: Harness, inputs: Inputs) -> None:
    """``with_raw_response`` / ``with_streaming_response``: parsed, or dropped after the app
    read the body itself (whole, or streamed through our tee)."""
    body = harness.subject = inputs.a_body()
    parsed = inputs.a_message()
    streamed = inputs.chance(0.4)
    if streamed:
        chunks = [body[i : i + 64] for i in range(0, len(body), 64)]
        http_response = httpx2.Response(200, stream=ChunkStream(chunks))
    else:
        http_response = httpx2.Response(200, content=body)
    raw = RawResponse(http_response, parsed)
    got = _anthropic_request(harness, inputs, "/v1/messages", "post", False, raw)
    harness.returns(got, raw)
    if inputs.chance(0.3):
        harness.returns(anthropic_adapter._parse_hook(raw.parse, raw, (), {}), parsed, "parsed response")
    elif streamed:  # the app reads the body itself, all of it or the first chunks
        wanted = len(chunks) if inputs.chance(0.7) else inputs.r.randrange(len(chunks) + 1)
        read = b""
        for index, chunk in enumerate(http_response.iter_bytes()):
            if index == wanted:
                break
            read += chunk
        if not body.startswith(read) or (wanted == len(chunks) and read != body):
            harness.fail("anthropic.raw_body: the app read a different body", safe_repr(read))
    del raw, got, http_response  # dropped: priced from the body it read


def anthropic_error(harness: Harness, inputs: Inputs) -> None:
    error = harness.subject = inputs.a_error()
    stream = inputs.chance(0.5)
    _anthropic_request(harness, inputs, "/v1/messages", "post", stream, None, error)


ANTHROPIC_PATHS: dict[str, tuple[float, Callable[[Harness, Inputs], None]]] = {
    "messages": (0.40, anthropic_message),
    "stream": (0.27, anthropic_stream),
    "raw_body": (0.13, anthropic_raw),
    "batch_results": (0.12, anthropic_batch_results),
    "sdk_error": (0.08, anthropic_error),
}


# --- Google paths ---------------------------------------------------------------------------------

_UNARY = {
    operation: google_adapter._unary(operation)
    for operation in ("generate_content", "embeddings", "generate_images", "create_cache")
}


def _google_kwargs(inputs: Inputs, models: tuple[str, ...]) -> dict[str, Any]:
    config: Any = None
    if inputs.chance(0.3):
        config = {"temperature": 0.5, "max_output_tokens": 100, "service_tier": inputs.scalar(("flex", "priority"))}
    return {"model": inputs.pick(models), "contents": "hi", "config": config}


def _models_api(inputs: Inputs) -> Any:
    return VERTEX_MODELS_API if inputs.chance(0.25) else GEMINI_MODELS_API


def _google_unary(
    harness: Harness,
    inputs: Inputs,
    operation: str,
    result: Any,
    models: tuple[str, ...],
    error: BaseException | None = None,
) -> None:
    def sdk(*args: Any, **kwargs: Any) -> Any:
        if error is not None:
            raise error
        return result

    kwargs = _google_kwargs(inputs, models)
    got = harness.raises(lambda: _UNARY[operation](sdk, _models_api(inputs), (), kwargs), error)
    if error is None:
        harness.returns(got, result)


def google_generate(harness: Harness, inputs: Inputs) -> None:
    response = harness.subject = inputs.g_response()
    _google_unary(harness, inputs, "generate_content", response, GEMINI_REQUEST_MODELS)


def google_embed(harness: Harness, inputs: Inputs) -> None:
    response = harness.subject = inputs.g_embedding()
    _google_unary(harness, inputs, "embeddings", response, EMBEDDING_MODELS)


def google_images(harness: Harness, inputs: Inputs) -> None:
    response = harness.subject = inputs.g_images()
    _google_unary(harness, inputs, "generate_images", response, ("imagen-4.0-generate-001",))


def google_cache(harness: Harness, inputs: Inputs) -> None:
    cached = harness.subject = inputs.g_cache()
    _google_unary(harness, inputs, "create_cache", cached, GEMINI_REQUEST_MODELS)


def google_error(harness: Harness, inputs: Inputs) -> None:
    error = harness.subject = inputs.g_error()
    operation = inputs.pick(tuple(_UNARY))
    _google_unary(harness, inputs, operation, None, GEMINI_REQUEST_MODELS, error)


def google_stream(harness: Harness, inputs: Inputs) -> None:
    chunks = harness.subject = inputs.g_chunks()
    error_at, error, stop_at, close = _stream_ending(inputs, len(chunks), inputs.g_error)
    kwargs = _google_kwargs(inputs, GEMINI_REQUEST_MODELS)
    stream = google_adapter._stream_sync(lambda **_: feed(chunks, error_at, error), _models_api(inputs), (), kwargs)
    harness.consume(stream, chunks, error_at, error, stop_at)
    if close:
        stream.close()
    del stream


def google_batch_job(harness: Harness, inputs: Inputs) -> None:
    inputs.shape = "validated"  # parsed and validated by the SDK (wrong types: regression tests below)
    job = harness.subject = inputs.g_batch_job()
    got = google_adapter._batch_get(lambda **_: job, _models_api(inputs), (), {"name": "batches/x"})
    harness.returns(got, job)


def google_live(harness: Harness, inputs: Inputs) -> None:
    inputs.shape = "validated"  # parsed and validated by the SDK (wrong types: regression tests below)
    messages = harness.subject = inputs.g_live_messages()
    manager = LiveManager()
    connection = google_adapter._live_connect(
        lambda **_: manager, _models_api(inputs), (), {"model": "gemini-2.5-flash"}
    )
    session = run_now(connection.__aenter__())
    harness.returns(session, manager.session, "session")
    for message in messages:

        async def receive(message: Any = message) -> Any:
            return message

        harness.returns(run_now(google_adapter._live_receive(receive, session, (), {})), message, "message")
    error = inputs.pick((None, None, None, RuntimeError("app failed"), asyncio.CancelledError()))
    exc_info = (None, None, None) if error is None else (type(error), error, None)
    harness.returns(run_now(connection.__aexit__(*exc_info)), None, "__aexit__ result")


def google_interaction(harness: Harness, inputs: Inputs) -> None:
    """Interactions: the SDK parses them leniently (any scalar), so these get all the garbage
    except wrong container types, which its parser refuses."""
    inputs.shape = "lenient"
    kwargs: dict[str, Any] = {"model": inputs.pick(GEMINI_REQUEST_MODELS)}
    x = inputs.r.random()
    if x < 0.4:  # streamed
        events = harness.subject = inputs.g_interaction_events()
        error_at, error, stop_at, close = _stream_ending(inputs, len(events), inputs.g_error)
        stream: Any = InteractionStream.__new__(InteractionStream)
        stream.response = Closable()
        stream._closed = False
        stream.generator = feed(events, error_at, error)
        kwargs["stream"] = True
        harness.returns(google_adapter._interactions_create(lambda **_: stream, INTERACTIONS_API, (), kwargs), stream)
        harness.consume(stream, events, error_at, error, stop_at)
        if close:
            stream.close()
        del stream
    elif x < 0.75:  # answered at once
        interaction = harness.subject = inputs.g_interaction(usage=inputs.g_interaction_usage())
        got = google_adapter._interactions_create(lambda **_: interaction, INTERACTIONS_API, (), kwargs)
        harness.returns(got, interaction)
    else:  # in the background: billed when a get() shows it completed
        interaction_id = f"int_bg_{inputs.r.getrandbits(40):x}"
        pending = inputs.g_interaction(status="in_progress", interaction_id=interaction_id)
        kwargs["background"] = True
        harness.returns(google_adapter._interactions_create(lambda **_: pending, INTERACTIONS_API, (), kwargs), pending)
        done = harness.subject = inputs.g_interaction(
            status="completed", usage=inputs.g_interaction_usage(), interaction_id=interaction_id
        )
        harness.returns(google_adapter._interactions_get(lambda **_: done, INTERACTIONS_API, (), {}), done)


GOOGLE_PATHS: dict[str, tuple[float, Callable[[Harness, Inputs], None]]] = {
    "generate_content": (0.30, google_generate),
    "stream": (0.22, google_stream),
    "embed_content": (0.12, google_embed),
    "generate_images": (0.04, google_images),
    "create_cache": (0.06, google_cache),
    "batch_job": (0.07, google_batch_job),
    "live": (0.07, google_live),
    "interactions": (0.07, google_interaction),
    "sdk_error": (0.05, google_error),
}


# --- the test -------------------------------------------------------------------------------------


def test_fuzzed_responses_across_both_adapters_raise_nothing_into_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(monkeypatch)
    per_adapter = {"anthropic": VOLUME - VOLUME // 2, "google": VOLUME // 2}
    try:
        harness.run("anthropic", per_adapter["anthropic"], ANTHROPIC_PATHS)
        harness.run("google", per_adapter["google"], GOOGLE_PATHS)
    finally:
        harness.close()
    assert not harness.failures, harness.report()
    for adapter, expected in per_adapter.items():
        ran = sum(n for path, n in harness.counts.items() if path.startswith(adapter + "."))
        assert ran == expected, harness.report()
        # the well-formed share is priced: the fuzz reaches the price book, not just the guards
        assert harness.priced[adapter] >= expected // 10, (harness.priced, harness.outcomes, harness.report())
    assert sum(harness.counts.values()) == VOLUME, harness.report()


# --- inputs the volume run found breaking these paths, kept as regression tests. The batch,
# --- Live and Interactions ones need objects no SDK parser produces (see ``Inputs.shape``). -------


class _Ledger(SpanProcessor):
    def __init__(self) -> None:
        self.open: set[int] = set()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.open.add(span.context.span_id)

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None:
            self.open.discard(span.context.span_id)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_Ledger, InMemorySpanExporter]]:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    ledger, exporter = _Ledger(), InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(ledger)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    llm_cost_otel.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield ledger, exporter
    finally:
        llm_cost_otel.uninstrument()


def _usage_with_a_non_list_detail(cls: type[Any]) -> Any:
    return construct(cls, {"prompt_token_count": 10, "prompt_tokens_details": 5})


def test_batch_job_with_a_non_list_usage_detail_ends_its_span(spans: tuple[_Ledger, InMemorySpanExporter]) -> None:
    ledger, _ = spans
    usage = _usage_with_a_non_list_detail(g.GenerateContentResponseUsageMetadata)
    response = construct(g.GenerateContentResponse, {"usage_metadata": usage, "model_version": "gemini-2.5-flash"})
    job = construct(
        g.BatchJob,
        {
            "name": f"batches/xfail-{uuid.uuid4().hex}",
            "state": g.JobState.JOB_STATE_SUCCEEDED,
            "model": "gemini-2.5-flash",
            "dest": construct(
                g.BatchJobDestination, {"inlined_responses": [construct(g.InlinedResponse, {"response": response})]}
            ),
        },
    )
    assert google_adapter._batch_get(lambda **_: job, GEMINI_MODELS_API, (), {}) is job
    assert not ledger.open, "the batch_results span was left open"


def test_live_session_exit_with_a_non_list_usage_detail_does_not_raise(
    spans: tuple[_Ledger, InMemorySpanExporter],
) -> None:
    ledger, _ = spans
    manager = LiveManager()
    connection = google_adapter._live_connect(lambda **_: manager, object(), (), {"model": "gemini-2.5-flash"})
    session = run_now(connection.__aenter__())
    message = construct(g.LiveServerMessage, {"usage_metadata": _usage_with_a_non_list_detail(g.UsageMetadata)})

    async def receive() -> Any:
        return message

    run_now(google_adapter._live_receive(receive, session, (), {}))
    run_now(connection.__aexit__(None, None, None))  # raises TypeError today
    assert not ledger.open, "the Live turn's span was left open"


def test_background_interaction_with_a_non_list_modality_field_ends_its_span(
    spans: tuple[_Ledger, InMemorySpanExporter],
) -> None:
    ledger, _ = spans
    kwargs = {"model": "gemini-2.5-flash", "background": True}
    pending = INTERACTION.model_construct(id="int_xfail", model="gemini-2.5-flash", status="in_progress")
    google_adapter._interactions_create(lambda **_: pending, INTERACTIONS_API, (), kwargs)
    done = INTERACTION.model_construct(
        id="int_xfail",
        model="gemini-2.5-flash",
        status="completed",
        usage={"total_input_tokens": 10, "input_tokens_by_modality": 5},
    )
    assert google_adapter._interactions_get(lambda **_: done, INTERACTIONS_API, (), {}) is done
    assert not ledger.open, "the background interaction's span was left open"


def test_cache_expiring_before_creation_records_no_negative_storage_cost(
    spans: tuple[_Ledger, InMemorySpanExporter],
) -> None:
    _, exporter = spans
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cached = g.CachedContent(
        name="cachedContents/xfail",
        model="models/gemini-2.5-flash",
        create_time=created,
        expire_time=created - dt.timedelta(hours=1),
        usage_metadata=g.CachedContentUsageMetadata(total_token_count=100_000),
    )
    assert _UNARY["create_cache"](lambda **_: cached, GEMINI_MODELS_API, (), {"model": "gemini-2.5-flash"}) is cached
    (span,) = exporter.get_finished_spans()
    estimate: Any = (span.attributes or {}).get(names.CACHE_STORAGE_ESTIMATE)
    assert estimate is None or estimate >= 0, estimate


def test_cache_with_a_huge_token_count_records_an_int64(spans: tuple[_Ledger, InMemorySpanExporter]) -> None:
    _, exporter = spans
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cached = g.CachedContent(
        name="cachedContents/xfail-huge",
        model="models/gemini-2.5-flash",
        create_time=created,
        expire_time=created + dt.timedelta(hours=1),
        usage_metadata=g.CachedContentUsageMetadata(total_token_count=2**64),
    )
    assert _UNARY["create_cache"](lambda **_: cached, GEMINI_MODELS_API, (), {"model": "gemini-2.5-flash"}) is cached
    (span,) = exporter.get_finished_spans()
    tokens: Any = (span.attributes or {}).get(names.CACHE_TOKENS)
    assert tokens is None or non_negative(tokens, integer=True), tokens
