"""A fake Anthropic + Gemini API server on 127.0.0.1, for the demo and for trying the plugin.

Standard library only. It speaks enough of both wire protocols that the real SDK clients
work against it unchanged, sync and async, streamed and not:

- Anthropic Messages API: ``POST /v1/messages`` (JSON, or SSE with ``stream: true``),
  ``POST /v1/messages/count_tokens``, Message Batches (``POST /v1/messages/batches``,
  ``GET /v1/messages/batches/{id}``, ``GET /v1/messages/batches/{id}/results`` as JSONL).
- Gemini API (under ``/v1`` and ``/v1beta``): ``POST /{version}/models/{model}:generateContent``,
  ``:streamGenerateContent?alt=sse``, ``:batchEmbedContents``, ``:embedContent``,
  ``:countTokens``.

Usage is computed from what is sent, the way the providers bill it: prompt caching with
``cache_control`` breakpoints (5m and 1h writes, reads on a later request with the same
prefix), Gemini implicit caching of repeated prefixes, extended thinking / thinking budgets,
web search requests and Google Search grounding, audio input, long prompts. Errors are
injected at a configurable rate with each provider's error shape (429, 500, 529 / 503, and
Anthropic's mid-stream ``error`` event), and latency has jitter. Bad requests get a 4xx with
a JSON body that says what is wrong. It is a traffic generator, not a test oracle: token
counts are estimates (about four characters a token).

Usage::

    with FakeProviderServer(ServerConfig(error_rate=0.02)) as server:
        client = anthropic.Anthropic(base_url=server.url, api_key="demo")
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import random
import re
import string
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .text import estimate_tokens, words

__all__ = ["FakeProviderServer", "ServerConfig", "ApiError"]

MAX_BODY_BYTES = 32 * 1024 * 1024
ANTHROPIC_CONTEXT = 200_000
ANTHROPIC_CONTEXT_1M = 1_000_000
CONTEXT_1M_BETA = "context-1m"
GEMINI_CONTEXT = 1_048_576
AUDIO_BYTES_PER_SECOND = 2_000  # a 16 kbit/s voice codec
GEMINI_AUDIO_TOKENS_PER_SECOND = 32
WEB_SEARCH_RESULT_TOKENS = (1_200, 3_500)
GROUNDING_TOOL_TOKENS = (150, 900)

# Aliases answer with a dated snapshot, like the real API does.
ANTHROPIC_SNAPSHOTS = {
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
}
# Models that accept the 1M-token context beta.
ANTHROPIC_LONG_CONTEXT = ("claude-sonnet-4",)
# (time to first token in ms, ms per output token) at latency scale 1.0
SPEEDS: dict[str, tuple[float, float]] = {
    "haiku": (60.0, 0.03),
    "sonnet": (120.0, 0.06),
    "opus": (220.0, 0.1),
    "flash": (50.0, 0.02),
    "pro": (160.0, 0.06),
    "embedding": (25.0, 0.0),
}
MIN_CACHEABLE = {"haiku": 2048, "default": 1024}
GEMINI_IMPLICIT_CACHE_MIN = {"pro": 2048, "default": 1024}
GEMINI_IMPLICIT_CACHE_SECONDS = 300.0
ANTHROPIC_CACHE_TTLS = {"5m": 300.0, "1h": 3600.0}

ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class ServerConfig:
    """How the fake server behaves. All rates are probabilities per billable request."""

    error_rate: float = 0.02
    """Share of billable requests answered with an injected 429 / 5xx (or a mid-stream error)."""
    latency: float = 1.0
    """Scale of the simulated latency (0 = answer at once; 1 = tens to hundreds of ms)."""
    jitter: float = 0.5
    """Relative jitter of the latency (0.5 = +/-50%), plus an occasional slow request."""
    seed: int | None = None
    """Seed of the server's randomness (token counts, errors); None = random."""
    batch_seconds: float = 1.0
    """How long a Message Batch stays ``in_progress`` (scaled by nothing: seconds)."""
    retry_after_ms: int = 50
    """What 429/529 answers tell the SDK to wait before retrying."""


class ApiError(Exception):
    """An error answer: HTTP status, provider error type, message."""

    def __init__(self, status: int, message: str, kind: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers or {}


@dataclass
class _Batch:
    id: str
    created: float
    ends: float
    results: list[dict[str, Any]]
    base_url: str


@dataclass
class ServerStats:
    """What the server saw (for tests and curiosity; the demo's report comes from telemetry)."""

    requests: Counter[str] = field(default_factory=Counter)
    injected_errors: Counter[str] = field(default_factory=Counter)
    client_errors: Counter[str] = field(default_factory=Counter)


def _ids(rng: random.Random, prefix: str, size: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(rng.choice(alphabet) for _ in range(size))


def _family(model: str) -> str:
    for name in ("haiku", "sonnet", "opus", "flash", "pro", "embedding"):
        if name in model:
            return name
    return "sonnet"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


# --- the model of a provider ----------------------------------------------------------------


class _Engine:
    """Request -> response bodies. Shared state: prompt caches, batches, randomness."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._anthropic_cache: dict[str, tuple[float, float]] = {}  # prefix digest -> (expiry, ttl)
        self._gemini_cache: dict[str, float] = {}
        self.batches: dict[str, _Batch] = {}
        self.stats = ServerStats()

    def rng(self, *request: Any) -> random.Random:
        """A private generator per request (requests run on many threads).

        With a seed it is derived from the request itself and how often that same request came
        before (a retry), not from the order of arrival, which concurrent clients do not fix.
        """
        if self.config.seed is None or not request:
            with self._lock:
                return random.Random(self._rng.getrandbits(64))
        key = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            if len(self._seen) > 200_000:  # bounded on long runs; a retry comes within seconds anyway
                self._seen.clear()
            repeat = self._seen[key]
            self._seen[key] += 1
        return random.Random(f"{self.config.seed}:{key}:{repeat}")

    # --- latency and errors ---

    def sleep_first_token(self, rng: random.Random, model: str) -> None:
        scale = self.config.latency
        if scale <= 0:
            return
        base, _ = SPEEDS[_family(model)]
        delay = base * scale * rng.uniform(1 - self.config.jitter, 1 + self.config.jitter)
        if rng.random() < 0.02:  # the occasional slow request
            delay *= rng.uniform(3, 6)
        time.sleep(max(delay, 0.0) / 1000)

    def sleep_tokens(self, model: str, tokens: int) -> None:
        scale = self.config.latency
        if scale > 0 and tokens > 0:
            time.sleep(SPEEDS[_family(model)][1] * scale * tokens / 1000)

    def injected_error(self, rng: random.Random, provider: str) -> ApiError | None:
        if rng.random() >= self.config.error_rate:
            return None
        roll = rng.random()
        retry = {"retry-after-ms": str(self.config.retry_after_ms), "retry-after": "1"}
        if provider == "anthropic":
            if roll < 0.5:
                error = ApiError(429, "Number of request tokens has exceeded your per-minute rate limit.", None, retry)
            elif roll < 0.8:
                error = ApiError(529, "Overloaded", None, retry)
            else:
                error = ApiError(500, "Internal server error")
        elif roll < 0.5:
            error = ApiError(429, "Resource has been exhausted (e.g. check quota).")
        elif roll < 0.8:
            error = ApiError(503, "The model is overloaded. Please try again later.")
        else:
            error = ApiError(500, "An internal error has occurred. Please retry or report in the developer forum.")
        with self._lock:
            self.stats.injected_errors[f"{provider}:{error.status}"] += 1
        return error

    # --- Anthropic ---

    def _anthropic_segments(self, body: dict[str, Any]) -> list[tuple[int, Any, str]]:
        """(tokens, cache_control, text) in cache-prefix order: tools, system, messages."""
        segments: list[tuple[int, Any, str]] = []
        for tool in body.get("tools") or ():
            if not isinstance(tool, dict):
                raise ApiError(400, "tools: each tool must be an object")
            text = json.dumps({k: v for k, v in tool.items() if k != "cache_control"}, sort_keys=True)
            segments.append((estimate_tokens(text) + 20, tool.get("cache_control"), text))
        system = body.get("system")
        if isinstance(system, str):
            segments.append((estimate_tokens(system) + 3, None, system))
        elif isinstance(system, list):
            for block in system:
                if not isinstance(block, dict) or block.get("type") != "text":
                    raise ApiError(400, "system: each block must be a text block")
                text = str(block.get("text", ""))
                segments.append((estimate_tokens(text) + 3, block.get("cache_control"), text))
        elif system is not None:
            raise ApiError(400, "system: must be a string or a list of text blocks")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "messages: Field required (a non-empty list)")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                raise ApiError(400, f"messages.{index}.role: Input should be 'user' or 'assistant'")
            content = message.get("content")
            role = str(message["role"])
            if isinstance(content, str):
                segments.append((estimate_tokens(content) + 4, None, role + content))
                continue
            if not isinstance(content, list):
                raise ApiError(400, f"messages.{index}.content: must be a string or a list of blocks")
            for block in content:
                if not isinstance(block, dict):
                    raise ApiError(400, f"messages.{index}.content: each block must be an object")
                segments.append(self._anthropic_block(block, role))
        return segments

    @staticmethod
    def _anthropic_block(block: dict[str, Any], role: str) -> tuple[int, Any, str]:
        kind = block.get("type")
        if kind == "text":
            text = str(block.get("text", ""))
            return estimate_tokens(text) + 4, block.get("cache_control"), role + text
        if kind in ("image", "document"):
            source = json.dumps(block.get("source"), sort_keys=True)
            return 1_500, block.get("cache_control"), role + hashlib.sha256(source.encode()).hexdigest()
        text = json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)
        return estimate_tokens(text) + 4, block.get("cache_control"), role + text

    def anthropic_prompt(self, body: dict[str, Any], model: str, long_context: bool) -> dict[str, int]:
        """Input accounting for one request, the way prompt caching bills it.

        The prefix up to each ``cache_control`` breakpoint (tools, then system, then messages)
        is written to the cache; a later request reads the longest cached prefix it finds at a
        block boundary up to 20 blocks before one of its breakpoints (so a conversation with a
        breakpoint on its last message reads everything up to the previous turn). Writes are
        billed by the TTL of the breakpoint that wrote them; reads refresh the TTL.
        """
        segments = self._anthropic_segments(body)
        digest = hashlib.sha256(model.encode())
        boundaries: list[tuple[int, str]] = []  # (tokens so far, prefix digest) after each block
        breakpoints: list[tuple[int, float]] = []  # (block index, ttl seconds)
        total = 0
        for index, (tokens, cache_control, text) in enumerate(segments):
            digest.update(text.encode())
            total += tokens
            boundaries.append((total, digest.copy().hexdigest()))
            if cache_control is None:
                continue
            if not isinstance(cache_control, dict) or cache_control.get("type") != "ephemeral":
                raise ApiError(400, "cache_control: only {'type': 'ephemeral'} is supported")
            ttl = cache_control.get("ttl", "5m")
            if ttl not in ANTHROPIC_CACHE_TTLS:
                raise ApiError(400, f"cache_control.ttl: Input should be '5m' or '1h', got {ttl!r}")
            breakpoints.append((index, ANTHROPIC_CACHE_TTLS[ttl]))
        if len(breakpoints) > 4:
            raise ApiError(400, f"A maximum of 4 blocks with cache_control may be provided. Found {len(breakpoints)}.")
        limit = ANTHROPIC_CONTEXT_1M if long_context else ANTHROPIC_CONTEXT
        if total > limit:
            raise ApiError(400, f"prompt is too long: {total} tokens > {limit} maximum")
        minimum = MIN_CACHEABLE.get(_family(model), MIN_CACHEABLE["default"])
        now = time.monotonic()
        read = 0
        write_5m = write_1h = 0
        with self._lock:
            cache = self._anthropic_cache
            hit_key: str | None = None
            for index, _ in breakpoints:
                for j in range(index, max(index - 20, -1), -1):
                    tokens, key = boundaries[j]
                    if tokens > read and tokens >= minimum and cache.get(key, (0.0, 0.0))[0] > now:
                        read, hit_key = tokens, key
                        break
            if hit_key is not None:
                cache[hit_key] = (now + cache[hit_key][1], cache[hit_key][1])  # a read refreshes the TTL
            previous = read
            for index, ttl in breakpoints:
                tokens, key = boundaries[index]
                if tokens <= previous or tokens < minimum:
                    continue
                if ttl > ANTHROPIC_CACHE_TTLS["5m"]:
                    write_1h += tokens - previous
                else:
                    write_5m += tokens - previous
                previous = tokens
                cache[key] = (now + ttl, ttl)
            if len(cache) > 200_000:
                for key in [k for k, (expiry, _) in cache.items() if expiry <= now]:
                    del cache[key]
        return {
            "total": total,
            "input": total - read - write_5m - write_1h,
            "cache_read": read,
            "cache_write_5m": write_5m,
            "cache_write_1h": write_1h,
        }

    def anthropic_count_tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise ApiError(400, "model: Field required")
        total = sum(tokens for tokens, _, _ in self._anthropic_segments(body))
        return {"input_tokens": total}

    def anthropic_message(
        self, body: dict[str, Any], rng: random.Random, batch: bool = False, long_context: bool = False
    ) -> tuple[dict[str, Any], int]:
        """A full Message (as the non-streaming API returns it), and its output token count."""
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "model: Field required")
        if not model.startswith("claude-"):
            raise ApiError(404, f"model: {model}")
        max_tokens = body.get("max_tokens")
        if type(max_tokens) is not int or max_tokens < 1:
            raise ApiError(400, "max_tokens: Field required (a positive integer)")
        long_ok = long_context and any(model.startswith(p) for p in ANTHROPIC_LONG_CONTEXT)
        prompt = self.anthropic_prompt(body, model, long_ok)
        thinking = body.get("thinking")
        budget = 0
        if isinstance(thinking, dict) and thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens", 0)
            if type(budget) is not int or budget < 1024:
                raise ApiError(400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
            if budget >= max_tokens:
                raise ApiError(400, "`max_tokens` must be greater than `thinking.budget_tokens`.")
        content: list[dict[str, Any]] = []
        thinking_tokens = 0
        if budget:
            thinking_tokens = int(budget * rng.uniform(0.3, 1.0))
            content.append(
                {
                    "type": "thinking",
                    "thinking": words(rng, max(thinking_tokens // 6, 5)),
                    "signature": base64.b64encode(rng.randbytes(48)).decode(),
                }
            )
        searches = 0
        extra_input = 0
        custom_tools: list[dict[str, Any]] = []
        for tool in body.get("tools") or ():
            kind = str(tool.get("type", ""))
            if kind.startswith("web_search"):
                if rng.random() < 0.7:
                    max_uses = tool.get("max_uses") if type(tool.get("max_uses")) is int else 5
                    searches = rng.randint(1, max(1, min(3, max_uses)))
            elif kind in ("", "custom") and isinstance(tool.get("name"), str):
                custom_tools.append(tool)
        for _ in range(searches):
            tool_id = _ids(rng, "srvtoolu_01")
            query = " ".join(rng.choice(("latest", "pricing", "policy", "market", "news", "2025")) for _ in range(3))
            content.append({"type": "server_tool_use", "id": tool_id, "name": "web_search", "input": {"query": query}})
            content.append(
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": tool_id,
                    "content": [
                        {
                            "type": "web_search_result",
                            "url": f"https://example.com/{rng.randint(1, 999)}",
                            "title": words(rng, 5).rstrip("."),
                            "encrypted_content": base64.b64encode(rng.randbytes(32)).decode(),
                            "page_age": "2 days ago",
                        }
                    ],
                }
            )
            extra_input += rng.randint(*WEB_SEARCH_RESULT_TOKENS)
        room = max(max_tokens - thinking_tokens, 1)
        text_tokens = max(1, int(room * rng.uniform(0.2, 0.85)))
        stop_reason = "end_turn"
        if rng.random() < 0.03:
            text_tokens, stop_reason = room, "max_tokens"
        forced = body.get("tool_choice")
        forced_name = forced.get("name") if isinstance(forced, dict) and forced.get("type") == "tool" else None
        tool = next((t for t in custom_tools if t.get("name") == forced_name), None)
        if tool is None and custom_tools and forced_name is None and rng.random() < 0.5:
            tool = rng.choice(custom_tools)
        if tool is not None and stop_reason == "end_turn":
            text_tokens = min(text_tokens, 40)
            content.append({"type": "text", "text": words(rng, max(text_tokens * 3 // 4, 1))})
            tool_input = _fake_input(tool.get("input_schema"), rng)
            text_tokens += estimate_tokens(json.dumps(tool_input)) + 10
            content.append({"type": "tool_use", "id": _ids(rng, "toolu_01"), "name": tool["name"], "input": tool_input})
            stop_reason = "tool_use"
        else:
            content.append({"type": "text", "text": words(rng, max(text_tokens * 3 // 4, 1))})
        output_tokens = thinking_tokens + text_tokens
        usage: dict[str, Any] = {
            "input_tokens": prompt["input"] + extra_input,
            "cache_creation_input_tokens": prompt["cache_write_5m"] + prompt["cache_write_1h"],
            "cache_read_input_tokens": prompt["cache_read"],
            "cache_creation": {
                "ephemeral_5m_input_tokens": prompt["cache_write_5m"],
                "ephemeral_1h_input_tokens": prompt["cache_write_1h"],
            },
            "output_tokens": output_tokens,
            "service_tier": "batch" if batch else "standard",
        }
        if thinking_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
        if searches:
            usage["server_tool_use"] = {"web_search_requests": searches}
        message = {
            "id": _ids(rng, "msg_01"),
            "type": "message",
            "role": "assistant",
            "model": ANTHROPIC_SNAPSHOTS.get(model, model),
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        return message, output_tokens

    # --- Anthropic batches ---

    def create_batch(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "requests: Field required (a non-empty list)")
        seen: set[str] = set()
        rng = self.rng("batch", body)
        results: list[dict[str, Any]] = []
        for index, item in enumerate(requests):
            if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
                raise ApiError(400, f"requests.{index}.custom_id: Field required")
            if item["custom_id"] in seen:
                raise ApiError(400, f"requests.{index}.custom_id: duplicate custom_id {item['custom_id']!r}")
            seen.add(item["custom_id"])
            params = item.get("params")
            if not isinstance(params, dict):
                raise ApiError(400, f"requests.{index}.params: Field required")
            try:
                message, _ = self.anthropic_message(params, rng, batch=True)
                result: dict[str, Any] = {"type": "succeeded", "message": message}
            except ApiError as exc:  # a bad request inside a batch errors that result only
                result = {
                    "type": "errored",
                    "error": {"type": "error", "error": {"type": _anthropic_kind(exc), "message": exc.message}},
                }
            results.append({"custom_id": item["custom_id"], "result": result})
        now = time.time()
        # Never from the seed: the plugin counts a batch id once per process, like the real API's unique ids.
        batch = _Batch(_ids(random.Random(), "msgbatch_01"), now, now + self.config.batch_seconds, results, base_url)
        with self._lock:
            self.batches[batch.id] = batch
        return self.batch_json(batch)

    def batch_json(self, batch: _Batch) -> dict[str, Any]:
        ended = time.time() >= batch.ends
        succeeded = sum(1 for r in batch.results if r["result"]["type"] == "succeeded")
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(batch.results),
                "succeeded": succeeded if ended else 0,
                "errored": len(batch.results) - succeeded if ended else 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": _iso(batch.created),
            "expires_at": _iso(batch.created + 86_400),
            "ended_at": _iso(batch.ends) if ended else None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": f"{batch.base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def batch(self, batch_id: str) -> _Batch:
        with self._lock:
            batch = self.batches.get(batch_id)
        if batch is None:
            raise ApiError(404, f"Message batch {batch_id!r} not found")
        return batch

    # --- Gemini ---

    @staticmethod
    def _gemini_parts(content: Any, where: str) -> tuple[int, int, str]:
        """(text tokens, audio tokens, hashable text) of one Content."""
        if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
            raise ApiError(400, f"{where}.parts: must be a list")
        text_tokens = audio_tokens = 0
        pieces: list[str] = [str(content.get("role", ""))]
        for part in content["parts"]:
            if not isinstance(part, dict):
                raise ApiError(400, f"{where}.parts: each part must be an object")
            if "text" in part:
                text = str(part["text"])
                text_tokens += estimate_tokens(text)
                pieces.append(text)
            elif _field(part, "inlineData") is not None:
                blob = _field(part, "inlineData")
                blob = blob if isinstance(blob, dict) else {}
                data = str(blob.get("data", ""))
                mime = str(_field(blob, "mimeType") or "")
                size = len(data) * 3 // 4
                if mime.startswith("audio/"):
                    seconds = size / AUDIO_BYTES_PER_SECOND
                    audio_tokens += max(1, math.ceil(seconds * GEMINI_AUDIO_TOKENS_PER_SECOND))
                else:
                    text_tokens += 258  # an image tile
                pieces.append(hashlib.sha256(data.encode()).hexdigest())
            else:
                text = json.dumps(part, sort_keys=True)
                text_tokens += estimate_tokens(text)
                pieces.append(text)
        return text_tokens, audio_tokens, "\x00".join(pieces)

    def gemini_prompt(
        self, model: str, body: dict[str, Any], count_only: bool = False, rng: random.Random | None = None
    ) -> dict[str, int]:
        """Prompt tokens by modality, and what implicit caching served from cache.

        Implicit caching: a request whose prefix (system instruction, tools, then whole
        contents) matches a prefix of an earlier request to the same model, within a few
        minutes and above the model's minimum size, is mostly served from cache.
        """
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise ApiError(400, "* GenerateContentRequest.contents: contents is not specified")
        digest = hashlib.sha256(model.encode())
        text = audio = 0
        boundaries: list[tuple[int, int, str]] = []  # (text, audio, prefix digest)
        system = _field(body, "systemInstruction")
        if system is not None:
            t, a, h = self._gemini_parts(system, "systemInstruction")
            text, audio = text + t, audio + a
            digest.update(h.encode())
            boundaries.append((text, audio, digest.copy().hexdigest()))
        if body.get("tools"):
            tools = json.dumps(body["tools"], sort_keys=True)
            text += estimate_tokens(tools)
            digest.update(tools.encode())
            boundaries.append((text, audio, digest.copy().hexdigest()))
        for index, content in enumerate(contents):
            t, a, h = self._gemini_parts(content, f"contents[{index}]")
            text, audio = text + t, audio + a
            digest.update(h.encode())
            boundaries.append((text, audio, digest.copy().hexdigest()))
        if text + audio > GEMINI_CONTEXT:
            raise ApiError(400, f"The input token count ({text + audio}) exceeds the maximum number of tokens allowed")
        cached_text = cached_audio = 0
        if not count_only:
            minimum = GEMINI_IMPLICIT_CACHE_MIN.get(_family(model), GEMINI_IMPLICIT_CACHE_MIN["default"])
            now = time.monotonic()
            with self._lock:
                cache = self._gemini_cache
                if (rng or self._rng).random() < 0.85:
                    for t, a, key in reversed(boundaries):
                        if t + a >= minimum and cache.get(key, 0.0) > now:
                            cached_text, cached_audio = t, a
                            break
                for t, a, key in boundaries:
                    if t + a >= minimum:
                        cache[key] = now + GEMINI_IMPLICIT_CACHE_SECONDS
                if len(cache) > 200_000:
                    for key in [k for k, expiry in cache.items() if expiry <= now]:
                        del cache[key]
        return {"text": text, "audio": audio, "cached_text": cached_text, "cached_audio": cached_audio}

    def gemini_response(
        self, model: str, body: dict[str, Any], rng: random.Random
    ) -> tuple[list[str], list[str], dict[str, Any], str, dict[str, Any] | None]:
        """(thought chunks, text chunks, final usageMetadata, finish reason, grounding metadata)."""
        if not model.startswith(("gemini-", "gemma-")):
            raise ApiError(
                404,
                f"models/{model} is not found for this API version, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their supported methods.",
            )
        prompt = self.gemini_prompt(model, body, rng=rng)
        config = _field(body, "generationConfig") or {}
        if not isinstance(config, dict):
            raise ApiError(400, "generationConfig: must be an object")
        max_output = _field(config, "maxOutputTokens", 8_192)
        if type(max_output) is not int or max_output < 1:
            raise ApiError(400, "generationConfig.maxOutputTokens: must be a positive integer")
        thinking = _field(config, "thinkingConfig") or {}
        budget = _field(thinking, "thinkingBudget", -1) if isinstance(thinking, dict) else -1
        family = _family(model)
        if budget == 0 and family == "pro":
            raise ApiError(400, "Budget 0 is invalid. This model only works in thinking mode.")
        thoughts = 0
        if "2.5" in model or "gemini-3" in model:
            if budget == -1 or type(budget) is not int:
                thoughts = rng.randint(150, 2_500 if family == "pro" else 1_200)
            elif budget > 0:
                thoughts = int(budget * rng.uniform(0.3, 1.0))
        candidates = max(1, int(min(max_output, 1_500) * rng.uniform(0.15, 0.8)))
        finish = "STOP"
        if rng.random() < 0.03:
            candidates, finish = max_output, "MAX_TOKENS"
        grounding: dict[str, Any] | None = None
        tool_prompt = 0
        for tool in body.get("tools") or ():
            if isinstance(tool, dict) and _field(tool, "googleSearch") is not None and rng.random() < 0.7:
                queries = [words(rng, 4).rstrip(".").lower() for _ in range(rng.randint(1, 3))]
                grounding = {
                    "webSearchQueries": queries,
                    "groundingChunks": [
                        {"web": {"uri": f"https://example.com/{q.split()[0]}", "title": q}} for q in queries
                    ],
                    "searchEntryPoint": {"renderedContent": "<div>search</div>"},
                }
                tool_prompt = rng.randint(*GROUNDING_TOOL_TOKENS)
        usage: dict[str, Any] = {
            "promptTokenCount": prompt["text"] + prompt["audio"],
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt["text"] + prompt["audio"] + candidates + thoughts + tool_prompt,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt["text"]}],
        }
        if prompt["audio"]:
            usage["promptTokensDetails"].append({"modality": "AUDIO", "tokenCount": prompt["audio"]})
        if prompt["cached_text"] or prompt["cached_audio"]:
            usage["cachedContentTokenCount"] = prompt["cached_text"] + prompt["cached_audio"]
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt["cached_text"]}]
            if prompt["cached_audio"]:
                usage["cacheTokensDetails"].append({"modality": "AUDIO", "tokenCount": prompt["cached_audio"]})
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        if tool_prompt:
            usage["toolUsePromptTokenCount"] = tool_prompt
        include_thoughts = isinstance(thinking, dict) and bool(_field(thinking, "includeThoughts"))
        thought_chunks = _chunks(rng, max(thoughts // 8, 3), 40) if thoughts and include_thoughts else []
        return thought_chunks, _chunks(rng, max(candidates * 3 // 4, 1), 25), usage, finish, grounding

    def gemini_embeddings(self, model: str, requests: list[Any]) -> tuple[list[dict[str, Any]], int]:
        if "embedding" not in model:
            raise ApiError(
                404, f"models/{model} is not found for this API version, or is not supported for embedContent."
            )
        embeddings: list[dict[str, Any]] = []
        tokens = 0
        for index, request in enumerate(requests):
            if not isinstance(request, dict) or not isinstance(request.get("content"), dict):
                raise ApiError(400, f"requests[{index}].content: content is not specified")
            text_tokens, _, text = self._gemini_parts(request["content"], f"requests[{index}].content")
            if text_tokens > 2_048:
                raise ApiError(400, f"requests[{index}]: input exceeds the 2048-token limit of {model}")
            tokens += text_tokens
            dims = _field(request, "outputDimensionality") or 3_072
            if type(dims) is not int or not 1 <= dims <= 3_072:
                raise ApiError(400, f"requests[{index}].outputDimensionality: must be between 1 and 3072")
            embeddings.append({"values": _embedding(text, dims)})
        return embeddings, tokens


def _field(obj: dict[str, Any], camel: str, default: Any = None) -> Any:
    """A Gemini request field by its JSON name or its proto name (the API accepts both)."""
    if camel in obj:
        return obj[camel]
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    return obj.get(snake, default)


def batch_route(match: re.Match[str]) -> str:
    return "/v1/messages/batches/{id}" + (match.group(2) or "")


def _anthropic_kind(error: ApiError) -> str:
    return error.kind or ANTHROPIC_ERRORS.get(error.status, "api_error")


def _chunks(rng: random.Random, count: int, size: int) -> list[str]:
    text = words(rng, count).split(" ")
    return [" ".join(text[i : i + size]) + " " for i in range(0, len(text), size)]


def _embedding(text: str, dims: int) -> list[float]:
    """A deterministic unit vector for ``text``: same text, same embedding."""
    rng = random.Random(hashlib.sha256(text.encode()).hexdigest())
    values = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


def _fake_input(schema: Any, rng: random.Random) -> dict[str, Any]:
    """Tool input that fits a simple JSON schema (objects of scalars, arrays, enums)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    out: dict[str, Any] = {}
    for name, spec in (properties or {}).items():
        out[name] = _fake_value(spec, rng, name)
    return out


def _fake_value(spec: Any, rng: random.Random, name: str) -> Any:
    if not isinstance(spec, dict):
        return None
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        return rng.choice(spec["enum"])
    kind = spec.get("type")
    if kind == "integer":
        return rng.randint(1, 1_000)
    if kind == "number":
        return round(rng.uniform(1, 10_000), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        return [_fake_value(spec.get("items"), rng, name) for _ in range(rng.randint(1, 3))]
    if kind == "object":
        return _fake_input(spec, rng)
    return f"{name}-{rng.randint(100, 999)}"


# --- HTTP ------------------------------------------------------------------------------------

_GEMINI_PATH = re.compile(r"^/(?:v1|v1beta|v1alpha)/(?:models|tunedModels)/([^/:]*):([A-Za-z]+)$")
_BATCH_PATH = re.compile(r"^/v1/messages/batches/([^/]+)(/results)?$")
ENDPOINTS = (
    "POST /v1/messages",
    "POST /v1/messages/count_tokens",
    "POST /v1/messages/batches",
    "GET /v1/messages/batches/{id}",
    "GET /v1/messages/batches/{id}/results",
    "POST /{v1,v1beta}/models/{model}:generateContent",
    "POST /{v1,v1beta}/models/{model}:streamGenerateContent?alt=sse",
    "POST /{v1,v1beta}/models/{model}:batchEmbedContents",
    "POST /{v1,v1beta}/models/{model}:embedContent",
    "POST /{v1,v1beta}/models/{model}:countTokens",
)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "llm-cost-otel-demo"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the demo prints its own progress

    # --- plumbing ---

    @property
    def engine(self) -> _Engine:
        return self.server.engine

    def _provider(self) -> str:
        path = urlsplit(self.path).path
        return "google" if path.startswith(("/v1beta/", "/v1alpha/", "/v1/models/")) else "anthropic"

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self._provider() == "anthropic":
            self.send_header("request-id", _ids(random.Random(), "req_011"))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: ApiError) -> None:
        if self._provider() == "google":
            body: dict[str, Any] = {
                "error": {
                    "code": error.status,
                    "message": error.message,
                    "status": error.kind or GOOGLE_STATUS.get(error.status, "UNKNOWN"),
                }
            }
        else:
            body = {
                "type": "error",
                "error": {"type": _anthropic_kind(error), "message": error.message},
                "request_id": _ids(random.Random(), "req_011"),
            }
        if 400 <= error.status < 500 and error.status != 429:
            with self.engine._lock:
                self.engine.stats.client_errors[f"{self.command} {urlsplit(self.path).path}:{error.status}"] += 1
        self._send_json(error.status, body, error.headers)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        if self._provider() == "anthropic":
            self.send_header("request-id", _ids(random.Random(), "req_011"))
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drain(self) -> bytes:
        """Read the whole request body now, so an early error answer leaves the connection usable."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "Content-Length is not a number") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # not reading it: this connection cannot be reused
            raise ApiError(413, f"Request body of {length} bytes exceeds the {MAX_BODY_BYTES} byte limit")
        return self.rfile.read(length) if length > 0 else b""

    def _read(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 that says what is wrong with it."""
        raw = self._raw
        if not raw.strip():
            raise ApiError(400, "Request body is empty; expected a JSON object")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, f"Request body must be a JSON object, got {type(body).__name__}")
        return body

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            line = self.rfile.readline(64)
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                self.close_connection = True
                raise ApiError(400, "Malformed chunked request body") from None
            if size == 0:
                self.rfile.readline(64)
                return bytes(data)
            if len(data) + size > MAX_BODY_BYTES:
                self.close_connection = True
                raise ApiError(413, f"Request body exceeds the {MAX_BODY_BYTES} byte limit")
            data += self.rfile.read(size)
            self.rfile.readline(64)

    def _base_url(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    def _check_auth(self, provider: str, query: dict[str, list[str]]) -> None:
        if provider == "anthropic":
            if not (self.headers.get("x-api-key") or self.headers.get("Authorization")):
                raise ApiError(401, "x-api-key header is required")
        elif not (self.headers.get("x-goog-api-key") or query.get("key") or self.headers.get("Authorization")):
            raise ApiError(
                403, "Method doesn't allow unregistered callers. Please use an API key (x-goog-api-key header)."
            )

    # --- dispatch ---

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self._raw = b""
        try:
            try:
                self._raw = self._drain()
                self._route(method, path, query)
            except ApiError as error:
                self._send_error(error)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (a stream it stopped reading)
        except Exception as exc:  # a bug here must not take the server down
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send_error(ApiError(500, f"fake server error: {type(exc).__name__}: {exc}"))

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        engine = self.engine
        gemini = _GEMINI_PATH.match(path)
        batch = _BATCH_PATH.match(path)
        known = (
            path in ("/v1/messages", "/v1/messages/count_tokens", "/v1/messages/batches", "/")
            or gemini is not None
            or batch is not None
        )
        if not known:
            raise ApiError(404, f"Unknown endpoint {method} {path}. This fake server speaks: {', '.join(ENDPOINTS)}")
        if path == "/":
            if method != "GET":
                raise ApiError(405, f"Method {method} not allowed on /", headers={"Allow": "GET"})
            self._send_json(200, {"server": "llm-cost-otel demo fake provider", "endpoints": list(ENDPOINTS)})
            return
        allowed = "GET" if batch is not None else "POST"
        if method != allowed:
            raise ApiError(405, f"Method {method} not allowed on {path}; use {allowed}", headers={"Allow": allowed})
        provider = "google" if gemini is not None else "anthropic"
        self._check_auth(provider, query)
        endpoint = (
            f"/{{version}}/models/{{model}}:{gemini.group(2)}" if gemini else batch_route(batch) if batch else path
        )
        with engine._lock:
            engine.stats.requests[f"{method} {endpoint}"] += 1
        if gemini is not None:
            self._gemini(gemini.group(1), gemini.group(2), query)
        elif batch is not None:
            self._batch_get(batch.group(1), bool(batch.group(2)))
        elif path == "/v1/messages/count_tokens":
            self._send_json(200, engine.anthropic_count_tokens(self._read()))
        elif path == "/v1/messages/batches":
            self._send_json(200, engine.create_batch(self._read(), self._base_url()))
        else:
            self._messages(self._read())

    # --- Anthropic ---

    def _messages(self, body: dict[str, Any]) -> None:
        engine = self.engine
        betas = ",".join(self.headers.get_all("anthropic-beta") or ())
        rng = engine.rng("anthropic", betas, body)
        message, output_tokens = engine.anthropic_message(body, rng, long_context=CONTEXT_1M_BETA in betas)
        model = str(body["model"])
        error = engine.injected_error(rng, "anthropic")
        stream = body.get("stream") is True
        mid_stream = error is not None and stream and rng.random() < 0.25
        if error is not None and not mid_stream:
            raise error
        engine.sleep_first_token(rng, model)
        if not stream:
            engine.sleep_tokens(model, output_tokens)
            self._send_json(200, message)
            return
        self._start_stream("text/event-stream; charset=utf-8")
        for name, data in _message_events(message, rng):
            if mid_stream and name == "content_block_delta" and rng.random() < 0.3:
                self._event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
                break
            self._event(name, data)
            if name == "content_block_delta":
                engine.sleep_tokens(model, 20)
        self._end_stream()

    def _event(self, name: str, data: dict[str, Any]) -> None:
        self._chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

    def _batch_get(self, batch_id: str, results: bool) -> None:
        batch = self.engine.batch(batch_id)
        if not results:
            self._send_json(200, self.engine.batch_json(batch))
            return
        if time.time() < batch.ends:
            raise ApiError(400, f"Message batch {batch_id} is still in_progress; its results are not ready")
        data = "".join(json.dumps(line) + "\n" for line in batch.results).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/binary")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # --- Gemini ---

    def _gemini(self, model: str, method: str, query: dict[str, list[str]]) -> None:
        engine = self.engine
        body = self._read()
        if not model:
            raise ApiError(400, "model is required in the path: /v1/models/{model}:" + method)
        rng = engine.rng("google", model, method, body)
        if method == "countTokens":
            inner = body.get("generateContentRequest")
            request: dict[str, Any] = inner if isinstance(inner, dict) else body
            prompt = engine.gemini_prompt(model, request, count_only=True)
            self._send_json(200, {"totalTokens": prompt["text"] + prompt["audio"]})
            return
        if method in ("batchEmbedContents", "embedContent"):
            requests = body.get("requests") if method == "batchEmbedContents" else [body]
            if not isinstance(requests, list) or not requests:
                raise ApiError(400, "* BatchEmbedContentsRequest.requests: requests is not specified")
            embeddings, tokens = engine.gemini_embeddings(model, requests)
            error = engine.injected_error(rng, "google")
            if error is not None:
                raise error
            engine.sleep_first_token(rng, model)
            usage = {"promptTokenCount": tokens, "totalTokenCount": tokens}
            if method == "embedContent":
                self._send_json(200, {"embedding": embeddings[0], "usageMetadata": usage})
            else:
                self._send_json(200, {"embeddings": embeddings, "usageMetadata": usage})
            return
        if method not in ("generateContent", "streamGenerateContent"):
            raise ApiError(404, f"Unknown method :{method}. This fake server speaks: {', '.join(ENDPOINTS)}")
        thoughts, texts, usage, finish, grounding = engine.gemini_response(model, body, rng)
        error = engine.injected_error(rng, "google")
        if error is not None:
            raise error
        response_id = _ids(rng, "", 22)
        engine.sleep_first_token(rng, model)
        if method == "generateContent":
            engine.sleep_tokens(model, usage["candidatesTokenCount"])
            parts = ([{"text": "".join(thoughts), "thought": True}] if thoughts else []) + [{"text": "".join(texts)}]
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": parts},
                "finishReason": finish,
                "index": 0,
            }
            if grounding:
                candidate["groundingMetadata"] = grounding
            self._send_json(
                200,
                {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": response_id},
            )
            return
        if query.get("alt") != ["sse"]:
            raise ApiError(400, "streamGenerateContent needs ?alt=sse on this server")
        self._start_stream("text/event-stream")
        for chunk in _gemini_chunks(thoughts, texts, usage, finish, grounding, model, response_id):
            self._chunk(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n")
            engine.sleep_tokens(model, 25)
        self._end_stream()


def _message_events(message: dict[str, Any], rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    """A Message as the streaming API sends it; message_delta.usage is cumulative."""
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": 1}
    start_usage.pop("output_tokens_details", None)
    start_usage.pop("server_tool_use", None)
    yield (
        "message_start",
        {
            "type": "message_start",
            "message": {**message, "content": [], "stop_reason": None, "usage": start_usage},
        },
    )
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "text":
            yield (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
            )
            pieces = block["text"].split(" ")
            for i in range(0, len(pieces), 12):
                text = " ".join(pieces[i : i + 12]) + (" " if i + 12 < len(pieces) else "")
                yield (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}},
                )
        elif kind == "thinking":
            start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
            pieces = block["thinking"].split(" ")
            for i in range(0, len(pieces), 16):
                delta = {"type": "thinking_delta", "thinking": " ".join(pieces[i : i + 16]) + " "}
                yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            delta = {"type": "signature_delta", "signature": block["signature"]}
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        elif kind in ("tool_use", "server_tool_use"):
            start = {**block, "input": {}}  # the input arrives as input_json_delta
            yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
            payload = json.dumps(block["input"])
            cut = max(1, len(payload) // 2)
            for piece in (payload[:cut], payload[cut:]):
                delta = {"type": "input_json_delta", "partial_json": piece}
                yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        else:
            yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    final = {k: v for k, v in usage.items() if k not in ("cache_creation", "service_tier")}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": final,
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _gemini_chunks(
    thoughts: list[str],
    texts: list[str],
    usage: dict[str, Any],
    finish: str,
    grounding: dict[str, Any] | None,
    model: str,
    response_id: str,
) -> Iterator[dict[str, Any]]:
    """Streamed chunks; every chunk's usageMetadata is a running total for the request."""
    pieces = [(t, True) for t in thoughts] + [(t, False) for t in texts]
    total_words = sum(len(t.split()) for t in texts) or 1
    seen = 0
    prompt = usage["promptTokenCount"] + usage.get("toolUsePromptTokenCount", 0)
    for index, (text, thought) in enumerate(pieces):
        last = index == len(pieces) - 1
        if not thought:
            seen += len(text.split())
        running = dict(usage)
        running["candidatesTokenCount"] = max(1, usage["candidatesTokenCount"] * seen // total_words) if seen else 0
        if not running["candidatesTokenCount"]:
            running.pop("candidatesTokenCount")
        running["totalTokenCount"] = (
            prompt + running.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
        )
        part: dict[str, Any] = {"text": text}
        if thought:
            part["thought"] = True
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
        if last:
            running = usage
            candidate["finishReason"] = finish
            if grounding:
                candidate["groundingMetadata"] = grounding
        yield {"candidates": [candidate], "usageMetadata": running, "modelVersion": model, "responseId": response_id}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], engine: _Engine) -> None:
        self.engine = engine
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its connection is normal here; anything else is one line, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        print(f"llm-cost-otel fake API: {type(error).__name__}: {error}", file=sys.stderr)


class FakeProviderServer:
    """The fake Anthropic + Gemini API on ``127.0.0.1`` (``port=0``: a free port), in a thread."""

    def __init__(self, config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or ServerConfig()
        self._engine = _Engine(self.config)
        self._httpd = _HTTPServer((host, port), self._engine)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def stats(self) -> ServerStats:
        return self._engine.stats

    def start(self) -> FakeProviderServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="llm-cost-otel-fake-api",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
