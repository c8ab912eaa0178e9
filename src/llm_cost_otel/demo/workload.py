"""A workload that looks like a real product, written the way an app would use the plugin.

"Acme Desk", a multi-tenant support and document tool, with four features:

- ``classify``: every incoming ticket is labelled (Claude Haiku 4.5 with a forced tool, or
  Gemini 2.5 Flash with thinking off), the tenant's long taxonomy as a cached system prompt.
- ``chat``: an assistant chat, streamed, async; conversations grow turn by turn and the
  prompt cache warms up (1h cache on the enterprise tenant's system prompt, 5m on the last
  turn); sometimes extended thinking, sometimes web search / Google Search grounding; one
  tenant is in the early-access programme of ``claude-experimental-x`` (not in any price
  list: its calls show up as unpriced, never as $0); some users close the tab mid-answer.
- ``summarise``: a document summary in a ``track()`` block: ``count_tokens`` (free) first,
  map-reduce over chunks in threads for long documents, the 1M-token context beta or Gemini
  2.5 Pro for the occasional huge one (>200k tokens, the long-context price tier).
- ``import``: file import in a ``track()`` block on asyncio: Gemini embeddings of the chunks
  and a structured extraction with Claude Sonnet 4.5 run concurrently; voice memos are
  transcribed by Gemini 2.5 Flash from audio first.

Plus a nightly digest per tenant through the Message Batches API (batch prices).

Every call runs inside ``llm_cost_otel.attributes()`` with ``app.feature``, ``tenant.id``
and ``user.id``, as a real app would set them in its request middleware. The workload keeps
no accounts of its own: what it cost is read back from the plugin's telemetry.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import llm_cost_otel

from .text import CHARS_PER_TOKEN, text_of_tokens, words

__all__ = ["Workload", "WorkloadStats", "TENANTS", "Tenant", "EXPERIMENTAL_MODEL"]

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-5"
OPUS = "claude-opus-4-1"
EXPERIMENTAL_MODEL = "claude-experimental-x"
FLASH = "gemini-2.5-flash"
PRO = "gemini-2.5-pro"
EMBEDDING = "gemini-embedding-001"
CONTEXT_1M_BETA = "context-1m-2025-08-07"
LONG_CONTEXT = 200_000

FEATURES = ("import", "classify", "chat", "summarise")


@dataclass(frozen=True)
class Tenant:
    id: str
    plan: str
    provider: str
    """The provider the tenant's features run on by default: ``anthropic`` or ``google``."""
    users: tuple[str, ...]
    early_access: bool = False
    """In the ``claude-experimental-x`` early-access programme."""


TENANTS = (
    Tenant("acme", "enterprise", "anthropic", ("u-1001", "u-1002", "u-1003", "u-1004", "u-1005", "u-1006")),
    Tenant("globex", "team", "anthropic", ("u-2001", "u-2002", "u-2003", "u-2004"), early_access=True),
    Tenant("initech", "team", "google", ("u-3001", "u-3002", "u-3003", "u-3004")),
    Tenant("umbrella", "starter", "google", ("u-4001", "u-4002", "u-4003")),
)


@lru_cache(maxsize=32)
def handbook(tenant: str, purpose: str, tokens: int) -> str:
    """A tenant's long, stable instructions: the part of every prompt worth caching."""
    return f"You are the {purpose} assistant of {tenant}. Follow the handbook below.\n" + text_of_tokens(
        f"{tenant}:{purpose}", tokens
    )


@lru_cache(maxsize=1)
def _corpus() -> str:
    return text_of_tokens("corpus", 20_000)


def document(rng: random.Random, tokens: int) -> str:
    """A document of about ``tokens`` tokens (cheap to build even at 300k tokens)."""
    header = f"Document {rng.randint(10_000, 99_999)}: {words(rng, 12)}\n"
    corpus = _corpus()
    chars = tokens * CHARS_PER_TOKEN
    start = rng.randrange(len(corpus))
    body = (corpus[start:] + corpus * (chars // len(corpus) + 1))[:chars]
    return header + body


LABEL_TOOL = {
    "name": "set_label",
    "description": "Label a support ticket.",
    "input_schema": {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": ["billing", "bug", "how-to", "account", "feature-request"]},
            "priority": {"type": "string", "enum": ["p1", "p2", "p3"]},
            "language": {"type": "string", "enum": ["en", "de", "fr", "ja"]},
        },
        "required": ["category", "priority"],
    },
}
EXTRACT_TOOL = {
    "name": "record_document",
    "description": "Record the fields of an imported document.",
    "input_schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["invoice", "contract", "report", "memo"]},
            "total": {"type": "number"},
            "parties": {"type": "array", "items": {"type": "string"}},
            "due_in_days": {"type": "integer"},
        },
        "required": ["title", "kind"],
    },
}
WEB_SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


@dataclass
class WorkloadStats:
    """What the workload did (actions, not money: money comes from the telemetry)."""

    actions: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def done(self, action: str, error: BaseException | None) -> None:
        with self.lock:
            self.actions[action] += 1
            if error is not None:
                self.failed[f"{action}: {type(error).__name__}"] += 1


class _Clients:
    """The SDK clients, pointed at the fake server; whichever SDKs are installed."""

    def __init__(self, base_url: str) -> None:
        self.anthropic: Any = None
        self.anthropic_async: Any = None
        self.google: Any = None
        self.api_errors: tuple[type[BaseException], ...] = ()
        try:
            import anthropic
        except ImportError:
            pass
        else:
            # Background workers retry (the SDK's default); the chat UI fails fast instead.
            self.anthropic = anthropic.Anthropic(base_url=base_url, api_key="demo", max_retries=2)
            self.anthropic_async = anthropic.AsyncAnthropic(base_url=base_url, api_key="demo", max_retries=0)
            self.api_errors += (anthropic.APIError,)
        try:
            from google import genai
            from google.genai import errors, types
        except ImportError:
            pass
        else:
            self.google = genai.Client(api_key="demo", http_options=types.HttpOptions(base_url=base_url))
            self.api_errors += (errors.APIError,)

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(
            name for name, client in (("anthropic", self.anthropic), ("google", self.google)) if client is not None
        )

    def close(self) -> None:
        if self.anthropic is not None:
            self.anthropic.close()
        if self.google is not None:
            self.google.close()

    async def aclose(self) -> None:
        if self.anthropic_async is not None:
            await self.anthropic_async.close()
        if self.google is not None:
            await self.google.aio.aclose()


def _gemini_config(**kwargs: Any) -> Any:
    from google.genai import types

    return types.GenerateContentConfig(**kwargs)


def _thinking(budget: int) -> Any:
    from google.genai import types

    return types.ThinkingConfig(thinking_budget=budget)


def _google_search() -> Any:
    from google.genai import types

    return types.Tool(google_search=types.GoogleSearch())


class Workload:
    """Generates product traffic at ``rate`` LLM requests per second for ``duration`` seconds."""

    # (action, share of user actions, expected LLM requests per action)
    MIX = (("classify", 0.40, 1.0), ("chat", 0.32, 1.0), ("summarise", 0.18, 2.2), ("import", 0.10, 2.4))

    def __init__(self, base_url: str, rate: float, duration: float, seed: int | None = None) -> None:
        self.base_url = base_url
        self.rate = rate
        self.duration = duration
        self.rng = random.Random(seed)
        self.clients = _Clients(base_url)
        self.stats = WorkloadStats()
        self._stop = threading.Event()
        self._conversations: dict[str, list[Any]] = {}
        self._conversation_lock = threading.Lock()
        self._chatting: dict[str, asyncio.Lock] = {}  # one per user: only used on the app's event loop
        self._in_flight = threading.BoundedSemaphore(48)
        self._rng_lock = threading.Lock()
        self._pending_lock = threading.Lock()

    @property
    def providers(self) -> tuple[str, ...]:
        return self.clients.providers

    def _fork_rng(self) -> random.Random:
        with self._rng_lock:
            return random.Random(self.rng.getrandbits(64))

    def _provider_for(self, tenant: Tenant) -> str:
        available = self.providers
        return tenant.provider if tenant.provider in available else available[0]

    def _pick_user(self, rng: random.Random) -> tuple[Tenant, str]:
        tenant = rng.choices(TENANTS, weights=(5, 3, 3, 2))[0]
        # A few heavy users do most of the work, as in every product.
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(tenant.users))]
        return tenant, rng.choices(tenant.users, weights=weights)[0]

    # --- the run loop -------------------------------------------------------------------

    def schedule(self) -> Iterator[tuple[float, str, random.Random]]:
        """The run's user actions as (offset in seconds, action, its generator), drawn from the seed.

        Offsets come from the seed, not the clock, so the sequence depends on seed, rate and
        duration only, however fast the calls come back. A generator: 24h at a high rate is long.
        """
        expected_calls = sum(share * calls for _, share, calls in self.MIX)
        actions_per_second = self.rate / expected_calls
        names = [a for a, _, _ in self.MIX]
        weights = [s for _, s, _ in self.MIX]
        offset = 0.0
        while offset < self.duration:
            rng = self._fork_rng()
            action = rng.choices(names, weights=weights)[0]
            gap = rng.expovariate(actions_per_second)  # drawn now: once launched, the action owns rng
            yield offset, action, rng
            offset += gap

    def run(self, deadline: float | None = None) -> WorkloadStats:
        """Run the scheduled actions (until ``stop()``), then wait for work in flight.

        An action that finds the app saturated waits for room rather than being skipped, so a
        seed gives the same calls however fast the fake API answers. A run that falls behind its
        schedule stops launching at ``deadline`` (default: the end of ``duration`` plus a grace
        of a tenth of it, at least a second): that run is cut short, and no longer reproducible.
        """
        if not self.providers:
            raise RuntimeError("neither the anthropic nor the google-genai SDK is installed")
        # Drawn before the actions' generators, so neither depends on when the nightly job starts.
        nightly_rngs = [self._fork_rng() for _ in TENANTS] if self.clients.anthropic is not None else []
        start = time.monotonic()
        end = deadline if deadline is not None else start + self.duration + max(1.0, self.duration / 10)
        loop = asyncio.new_event_loop()
        loop_thread = threading.Thread(target=loop.run_forever, name="demo-async-app", daemon=True)
        loop_thread.start()
        pool = ThreadPoolExecutor(max_workers=24, thread_name_prefix="demo-worker")
        pending: set[Future[Any]] = set()
        nightly: threading.Thread | None = None

        def start_nightly() -> threading.Thread:
            thread = threading.Thread(
                target=self._nightly_digests, args=(nightly_rngs,), name="demo-nightly", daemon=True
            )
            thread.start()
            return thread

        try:
            for offset, action, rng in self.schedule():
                if nightly is None and nightly_rngs and offset >= self.duration / 2:
                    nightly = start_nightly()
                if self._stop.wait(max(start + offset - time.monotonic(), 0.0)) or not self._room(end):
                    break
                future = self._launch(action, rng, pool, loop)
                with self._pending_lock:
                    pending.add(future)
                future.add_done_callback(self._finished(pending))
            if nightly is None and nightly_rngs and not self._stop.is_set():
                nightly = start_nightly()
            with self._pending_lock:
                waiting = list(pending)
            for future in waiting:
                with contextlib.suppress(Exception):  # failures are already counted in stats
                    future.result(timeout=max(30.0, self.duration))
            if nightly is not None:
                nightly.join(timeout=60)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            asyncio.run_coroutine_threadsafe(self.clients.aclose(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            loop_thread.join(timeout=10)
            loop.close()
            self.clients.close()
        return self.stats

    def stop(self) -> None:
        self._stop.set()

    def _room(self, end: float) -> bool:
        """Wait for a free slot in the app (a saturated app queues its users); False if stopped or past ``end``."""
        while not self._in_flight.acquire(timeout=0.2):
            if self._stop.is_set() or time.monotonic() >= end:
                return False
        if self._stop.is_set() or time.monotonic() >= end:
            self._in_flight.release()
            return False
        return True

    def _finished(self, pending: set[Future[Any]]) -> Callable[[Future[Any]], None]:
        def done(future: Future[Any]) -> None:
            self._in_flight.release()
            with self._pending_lock:
                pending.discard(future)

        return done

    def _launch(
        self, action: str, rng: random.Random, pool: ThreadPoolExecutor, loop: asyncio.AbstractEventLoop
    ) -> Future[Any]:
        tenant, user = self._pick_user(rng)
        if action in ("chat", "import"):  # the async web app
            factory: Callable[[], Coroutine[Any, Any, None]] = (
                (lambda: self.chat_turn(tenant, user, rng))
                if action == "chat"
                else (lambda: self.import_file(tenant, user, rng))
            )
            return asyncio.run_coroutine_threadsafe(self._guard_async(action, factory), loop)
        job = self.classify_ticket if action == "classify" else self.summarise_document
        return pool.submit(self._guard, action, lambda: job(tenant, user, rng))

    def _guard(self, action: str, job: Callable[[], None]) -> None:
        try:
            job()
        except self.clients.api_errors as exc:  # an app logs API errors and moves on
            self.stats.done(action, exc)
        except Exception as exc:
            self.stats.done(action, exc)
        else:
            self.stats.done(action, None)

    async def _guard_async(self, action: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            await factory()
        except Exception as exc:
            self.stats.done(action, exc)
        else:
            self.stats.done(action, None)

    # --- classify (sync, worker threads) -------------------------------------------------

    @llm_cost_otel.attributes(**{"app.feature": "classify"})
    def classify_ticket(self, tenant: Tenant, user: str, rng: random.Random) -> None:
        ticket = f"Ticket #{rng.randint(10_000, 99_999)} from {user}: {words(rng, rng.randint(30, 180))}"
        with llm_cost_otel.attributes(**{"tenant.id": tenant.id, "user.id": user, "agent.name": "triage"}):
            if self._provider_for(tenant) == "anthropic":
                self.clients.anthropic.messages.create(
                    model=HAIKU,
                    max_tokens=128,
                    system=[
                        {
                            "type": "text",
                            "text": handbook(tenant.id, "ticket triage", 3_200),
                            "cache_control": {"type": "ephemeral"},
                        }
                    ],
                    tools=[LABEL_TOOL],
                    tool_choice={"type": "tool", "name": "set_label"},
                    messages=[{"role": "user", "content": ticket}],
                )
            else:
                self.clients.google.models.generate_content(
                    model=FLASH,
                    contents=ticket,
                    config=_gemini_config(
                        system_instruction=handbook(tenant.id, "ticket triage", 3_200),
                        max_output_tokens=128,
                        thinking_config=_thinking(0),
                        response_mime_type="application/json",
                    ),
                )

    # --- chat (async, streamed) -----------------------------------------------------------

    async def chat_turn(self, tenant: Tenant, user: str, rng: random.Random) -> None:
        question = words(rng, rng.randint(12, 60))
        abandon = rng.random() < 0.05  # the user closes the tab mid-answer
        scope = {"app.feature": "chat", "tenant.id": tenant.id, "user.id": user, "agent.name": "support-assistant"}
        # A user reads the answer before asking again: their turns take turns, in the order they
        # were scheduled, so each turn sees the same history whatever the latency.
        turn = self._chatting.setdefault(f"{tenant.id}/{user}", asyncio.Lock())
        async with turn:
            with llm_cost_otel.attributes(**scope):
                if self._provider_for(tenant) == "anthropic":
                    await self._chat_claude(tenant, user, question, abandon, rng)
                else:
                    await self._chat_gemini(tenant, user, question, abandon, rng)

    def _history(self, key: str, rng: random.Random) -> list[Any]:
        with self._conversation_lock:
            history = self._conversations.setdefault(key, [])
            if len(history) >= 2 * rng.randint(6, 12):  # a new conversation now and then
                history.clear()
            return list(history)

    def _remember(self, key: str, user_turn: Any, model_turn: Any) -> None:
        with self._conversation_lock:
            self._conversations.setdefault(key, []).extend((user_turn, model_turn))

    async def _chat_claude(self, tenant: Tenant, user: str, question: str, abandon: bool, rng: random.Random) -> None:
        model = EXPERIMENTAL_MODEL if tenant.early_access and rng.random() < 0.5 else SONNET
        key = f"{tenant.id}/{user}/{model}"
        history = self._history(key, rng)
        ttl = "1h" if tenant.plan == "enterprise" else "5m"
        request: dict[str, Any] = {
            "model": model,
            "max_tokens": 1_024,
            "system": [
                {
                    "type": "text",
                    "text": handbook(tenant.id, "customer chat", 2_600),
                    "cache_control": {"type": "ephemeral", "ttl": ttl},
                }
            ],
            # The breakpoint on the newest turn caches the conversation for the next turn.
            "messages": [
                *history,
                {
                    "role": "user",
                    "content": [{"type": "text", "text": question, "cache_control": {"type": "ephemeral"}}],
                },
            ],
        }
        roll = rng.random()
        if roll < 0.12:
            request["thinking"] = {"type": "enabled", "budget_tokens": 2_048}
            request["max_tokens"] = 4_096
        elif roll < 0.27:
            request["tools"] = [WEB_SEARCH_TOOL]
        parts: list[str] = []
        async with self.clients.anthropic_async.messages.stream(**request) as stream:
            async for text in stream.text_stream:
                parts.append(text)
                if abandon and len(parts) > 3:
                    return  # leaving the block closes the stream; the usage seen so far is recorded
        answer = "".join(parts)
        self._remember(key, {"role": "user", "content": question}, {"role": "assistant", "content": answer})

    async def _chat_gemini(self, tenant: Tenant, user: str, question: str, abandon: bool, rng: random.Random) -> None:
        model = PRO if tenant.plan != "starter" else FLASH
        key = f"{tenant.id}/{user}/{model}"
        history = self._history(key, rng)
        user_turn = {"role": "user", "parts": [{"text": question}]}
        config = _gemini_config(
            system_instruction=handbook(tenant.id, "customer chat", 2_600),
            max_output_tokens=1_024,
            tools=[_google_search()] if rng.random() < 0.15 else None,
        )
        parts: list[str] = []
        stream = await self.clients.google.aio.models.generate_content_stream(
            model=model, contents=[*history, user_turn], config=config
        )
        try:
            async for chunk in stream:
                parts.append(chunk.text or "")
                if abandon and len(parts) > 3:
                    return
        finally:
            await stream.aclose()
        self._remember(key, user_turn, {"role": "model", "parts": [{"text": "".join(parts)}]})

    # --- summarise (sync, track() with threads) --------------------------------------------

    def summarise_document(self, tenant: Tenant, user: str, rng: random.Random) -> None:
        roll = rng.random()
        tokens = (
            rng.randint(210_000, 320_000)
            if roll < 0.04
            else int(min(math.exp(rng.gauss(math.log(9_000), 0.9)), 150_000))
        )
        doc = document(rng, tokens)
        scope = {"app.feature": "summarise", "tenant.id": tenant.id, "user.id": user, "agent.name": "summariser"}
        with llm_cost_otel.track("summarise_document", **scope):
            if self._provider_for(tenant) == "anthropic":
                self._summarise_claude(tenant, doc, rng)
            else:
                self._summarise_gemini(doc)

    def _summarise_claude(self, tenant: Tenant, doc: str, rng: random.Random) -> None:
        client = self.clients.anthropic
        final_model = OPUS if tenant.plan == "enterprise" else SONNET
        messages = [{"role": "user", "content": f"Summarise this document for an executive.\n\n{doc}"}]
        size = client.messages.count_tokens(model=final_model, messages=messages).input_tokens  # free
        if size > LONG_CONTEXT:
            # Past 200k tokens: the 1M context beta (Sonnet), at the long-context price tier.
            client.beta.messages.create(model=SONNET, max_tokens=2_048, messages=messages, betas=[CONTEXT_1M_BETA])
            return
        if size <= 16_000:
            client.messages.create(model=final_model, max_tokens=1_024, messages=messages)
            return
        # Map-reduce: chunk summaries in parallel threads (each with a copy of the context,
        # so the calls still report to this track() run), then one final summary.
        chunk_chars = 12_000 * CHARS_PER_TOKEN
        chunks = [doc[i : i + chunk_chars] for i in range(0, len(doc), chunk_chars)]

        def summarise_chunk(chunk: str) -> str:
            message = client.messages.create(
                model=HAIKU, max_tokens=400, messages=[{"role": "user", "content": f"Summarise:\n\n{chunk}"}]
            )
            return "".join(block.text for block in message.content if block.type == "text")

        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(contextvars.copy_context().run, summarise_chunk, chunk) for chunk in chunks]
            notes = [future.result() for future in futures]
        client.messages.create(
            model=final_model,
            max_tokens=1_024,
            messages=[{"role": "user", "content": "Combine these notes into one summary:\n\n" + "\n\n".join(notes)}],
        )

    def _summarise_gemini(self, doc: str) -> None:
        client = self.clients.google
        # Gemini 2.5 Pro takes the whole document (1M context); >200k tokens is its higher tier.
        client.models.count_tokens(model=PRO, contents=doc)  # free
        client.models.generate_content(
            model=PRO,
            contents=f"Summarise this document for an executive.\n\n{doc}",
            config=_gemini_config(max_output_tokens=2_048),
        )

    # --- import (async, track() across tasks) ----------------------------------------------

    async def import_file(self, tenant: Tenant, user: str, rng: random.Random) -> None:
        scope = {"app.feature": "import", "tenant.id": tenant.id, "user.id": user, "agent.name": "importer"}
        with llm_cost_otel.track("import_file", **scope):
            text = f"Imported file {rng.randint(1_000, 9_999)}.\n" + words(rng, rng.randint(1_500, 9_000))
            if self.clients.google is not None and rng.random() < 0.2:
                text = await self._transcribe_voice_memo(rng)
            tasks = [asyncio.create_task(self._extract(tenant, text))]  # tasks copy the context
            if self.clients.google is not None:
                tasks.append(asyncio.create_task(self._embed(text)))
            # Wait for both even if one fails (gather would leave the other running on its own).
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result

    async def _transcribe_voice_memo(self, rng: random.Random) -> str:
        from google.genai import types

        seconds = rng.randint(20, 180)
        audio = rng.randbytes(seconds * 2_000)  # 16 kbit/s voice memo
        response = await self.clients.google.aio.models.generate_content(
            model=FLASH,
            contents=[
                types.Part.from_bytes(data=audio, mime_type="audio/ogg"),
                "Transcribe this voice memo.",
            ],
            config=_gemini_config(max_output_tokens=2_048, thinking_config=_thinking(0)),
        )
        return str(response.text or base64.b64encode(audio[:64]).decode())

    async def _extract(self, tenant: Tenant, text: str) -> None:
        if self._provider_for(tenant) == "anthropic" or self.clients.google is None:
            await self.clients.anthropic_async.messages.create(
                model=SONNET,
                max_tokens=1_024,
                tools=[EXTRACT_TOOL],
                tool_choice={"type": "tool", "name": "record_document"},
                messages=[{"role": "user", "content": f"Extract the fields of this document.\n\n{text}"}],
            )
        else:
            await self.clients.google.aio.models.generate_content(
                model=FLASH,
                contents=f"Extract title, kind, total, parties and due_in_days as JSON.\n\n{text}",
                config=_gemini_config(max_output_tokens=1_024, response_mime_type="application/json"),
            )

    async def _embed(self, text: str) -> None:
        from google.genai import types

        size = 1_200  # characters per chunk (~300 tokens)
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        for start in range(0, len(chunks), 100):  # the API takes 100 texts a request
            await self.clients.google.aio.models.embed_content(
                model=EMBEDDING,
                contents=chunks[start : start + 100],
                config=types.EmbedContentConfig(output_dimensionality=256, task_type="RETRIEVAL_DOCUMENT"),
            )

    # --- the nightly digest (Message Batches) -----------------------------------------------

    def _nightly_digests(self, rngs: list[random.Random]) -> None:
        """The nightly job: one batch per tenant, submitted side by side."""
        threads = [
            threading.Thread(target=self._nightly_digest_guarded, args=(tenant, rng), daemon=True)
            for tenant, rng in zip(TENANTS, rngs, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)

    def _nightly_digest_guarded(self, tenant: Tenant, rng: random.Random) -> None:
        try:
            self.nightly_digest(tenant, rng)
        except Exception as exc:
            self.stats.done("nightly_digest", exc)
        else:
            self.stats.done("nightly_digest", None)

    def nightly_digest(self, tenant: Tenant, rng: random.Random) -> None:
        """One batch per tenant: a digest per user, at batch prices, sharing a cached prompt."""
        client = self.clients.anthropic
        system = [
            {
                "type": "text",
                "text": handbook(tenant.id, "nightly digest", 2_400),
                "cache_control": {"type": "ephemeral"},
            }
        ]
        # The early-access tenant's digests run on the experimental model (no known price).
        model = EXPERIMENTAL_MODEL if tenant.early_access else SONNET if tenant.plan == "enterprise" else HAIKU
        requests: list[dict[str, Any]] = []
        for user in tenant.users:
            for day_part in ("tickets", "documents"):
                requests.append(
                    {
                        "custom_id": f"{tenant.id}-{user}-{day_part}",
                        "params": {
                            "model": model,
                            "max_tokens": 800,
                            "system": system,
                            "messages": [
                                {"role": "user", "content": f"Digest of today's {day_part}: {words(rng, 400)}"}
                            ],
                        },
                    }
                )
        if tenant.id == "umbrella":  # one digest with nothing to say: that request errors
            requests.append(
                {"custom_id": f"{tenant.id}-empty", "params": {"model": HAIKU, "max_tokens": 800, "messages": []}}
            )
        scope = {"app.feature": "summarise", "tenant.id": tenant.id, "agent.name": "nightly-digest"}
        with llm_cost_otel.track("nightly_digest", **scope):
            batch = client.messages.batches.create(requests=requests)
            deadline = time.monotonic() + 60
            while batch.processing_status != "ended" and time.monotonic() < deadline:
                time.sleep(0.1)
                batch = client.messages.batches.retrieve(batch.id)
            if batch.processing_status != "ended":
                raise TimeoutError(f"batch {batch.id} did not end")
            for _ in client.messages.batches.results(batch.id):
                pass  # the app would store each digest
        with self.stats.lock:
            self.stats.batches += 1
