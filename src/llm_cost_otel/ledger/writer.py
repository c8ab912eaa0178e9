"""The background writer: records queued on the request path, written in batches off it.

The request path only appends a tuple to a ``collections.deque`` (no lock, no SQLite, no
JSON): ``put``. A daemon thread wakes every ``POLL_SECONDS`` (or on ``flush``), turns the
queued tuples into rows and writes them with multi-row INSERTs in one transaction. The queue is
bounded: a full queue drops the record, counts it and warns once; it never blocks or raises.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from .._safety import log_once, reset_after_fork, warn_once
from ..semconv import SERVICE_INSTANCE_ID, SERVICE_NAME
from ..usage import field_values
from .schema import CALL_COLUMNS, RUN_COLUMNS, USAGE_COLUMNS, connect

MAX_QUEUED = 100_000
BATCH = 5_000
POLL_SECONDS = 0.1
CALL, RUN = 0, 1
_NO_USAGE = (None,) * len(USAGE_COLUMNS)
_NO_COST = (None,) * 7
_INSERT = {
    "calls": (f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ", len(CALL_COLUMNS)),
    "runs": (f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ", len(RUN_COLUMNS)),
    "call_attributes": ("INSERT INTO call_attributes VALUES ", 3),
    "run_attributes": ("INSERT INTO run_attributes VALUES ", 3),
}
MAX_ROWS_PER_STATEMENT = 500


def _insert(db: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Many rows per INSERT statement: sqlite3 releases and retakes the GIL around every
    statement step, so row-at-a-time ``executemany`` would make the writer queue behind the
    app's threads for the GIL on every row (and slow them down with each switch)."""
    head, width = _INSERT[table]
    per = max(1, min(MAX_ROWS_PER_STATEMENT, 32_000 // width))  # under SQLite's bound-variable limit
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        db.execute(head + ", ".join([one] * len(chunk)), [value for row in chunk for value in row])


def text(value: Any) -> str:
    """An attribute value as stored in the key/value tables (and compared by ``where=``)."""
    return value if isinstance(value, str) else json.dumps(list(value) if isinstance(value, tuple) else value)


class Writer:
    """One ledger file's queue and writer thread (one per path per process)."""

    def __init__(self, path: Path, limit: int = MAX_QUEUED) -> None:
        self.path = path
        self.limit = limit
        self.dropped = 0
        self.failed = 0
        self.written = 0
        self._db: Any = connect(path)  # raises a LedgerError naming the path, before anything runs
        self._orphans: list[Any] = []
        self._services: dict[int, tuple[Any, Any]] = {}
        self._scope: tuple[Any, ...] = (None,)  # the last call's scope and its encoded columns
        self._start()
        reset_after_fork(self)

    def _start(self) -> None:
        self._queue: deque[tuple[Any, ...]] = deque()
        self.busy = False
        self.closed = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="llm-cost-otel-ledger", daemon=True)
        self._thread.start()

    # --- the request path ---

    # Only a length check and an append: no logging here (a call can finish inside a garbage
    # collection, and a log handler's lock must not be taken there); the writer thread warns.

    def put_call(self, call: Any, request: Any, outcome: Any, cost: Any, duration: float | None) -> None:
        if len(self._queue) < self.limit:
            self._queue.append((CALL, call, request, outcome, cost, duration))
        else:
            self.dropped += 1

    def put_run(self, run: Any, span: Any, telemetry: Any, ended_ns: int) -> None:
        if len(self._queue) < self.limit:
            self._queue.append((RUN, run, span, telemetry, ended_ns))
        else:
            self.dropped += 1

    def _warn_dropped(self) -> None:
        if self.dropped:
            warn_once(
                f"ledger-full:{self.path}",
                "llm-cost-otel ledger %s: queue full (%d records) or writer closed; records are dropped and counted",
                str(self.path),
                self.limit,
            )

    # --- control ---

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self._queue or self.busy:
            if time.monotonic() >= deadline or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.002)
        return True

    def close(self, timeout: float = 5.0) -> bool:
        done = self.flush(timeout)
        self.limit = 0  # a call still holding this writer drops (counted) instead of queueing forever
        self.closed = True
        self._wake.set()
        self._thread.join(timeout)
        if not self._thread.is_alive() and self._db is not None:
            self._db.close()
            self._db = None
        return done

    def _after_fork(self) -> None:
        # the child never touches the parent's connection (nor its queue): a fresh start
        if self._db is not None:
            self._orphans.append(self._db)
        self._db = None
        if not self.closed:
            self._start()

    # --- the writer thread ---

    def _loop(self) -> None:
        while not self.closed:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            self._drain()
            self._warn_dropped()

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            self.busy = True  # before taking items: flush() sees them queued or being written
            batch: list[tuple[Any, ...]] = []
            try:
                while queue and len(batch) < BATCH:
                    batch.append(queue.popleft())
            except IndexError:
                pass
            failed_before = self.failed
            try:
                self.written += self._write(batch)
            except Exception:
                self.failed = failed_before + len(batch)  # the transaction lost the whole batch
                log_once(f"ledger.write:{self.path}", "llm-cost-otel ledger write failed (%s); records dropped")
            finally:
                self.busy = False

    def _write(self, batch: list[tuple[Any, ...]]) -> int:
        """Write ``batch`` in one transaction; the number of records written."""
        calls: list[tuple[Any, ...]] = []
        runs: list[tuple[Any, ...]] = []
        call_attrs: list[tuple[int, str, str]] = []
        run_attrs: list[tuple[int, str, str]] = []
        for item in batch:  # rows without their id, attributes by the row's index
            try:
                if item[0] == CALL:
                    row, pairs = self._call_row(*item[1:])
                    n = len(calls)
                    call_attrs.extend([(n, k, v) for k, v in pairs])
                    calls.append(row)
                else:
                    row, attributes = self._run_row(*item[1:])
                    run_attrs.extend((len(runs), k, text(v)) for k, v in attributes.items())
                    runs.append(row)
            except Exception:
                self.failed += 1
                log_once("ledger.record")
        if self._db is None:
            self._db = connect(self.path)
        db = self._db
        # ids in order (appending to the B-tree, not scattering across it); BEGIN IMMEDIATE
        # holds the file's write lock, so no other process takes the same ids meanwhile
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, rows, attrs, side in (
                ("calls", calls, call_attrs, "call_attributes"),
                ("runs", runs, run_attrs, "run_attributes"),
            ):
                if not rows:
                    continue
                base = db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0]
                _insert(db, table, [(base + i, *r) for i, r in enumerate(rows)])
                _insert(db, side, [(base + i, k, v) for i, k, v in attrs])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(calls) + len(runs)

    def _service(self, telemetry: Any) -> tuple[Any, Any]:
        provider = telemetry.providers[0] if telemetry is not None else None
        if provider is None:
            from opentelemetry import trace

            provider = trace.get_tracer_provider()
        found = self._services.get(id(provider))
        if found is None:
            attrs = getattr(getattr(provider, "resource", None), "attributes", None) or {}
            name = attrs.get(SERVICE_NAME) or os.environ.get("OTEL_SERVICE_NAME") or None
            found = self._services[id(provider)] = (name, attrs.get(SERVICE_INSTANCE_ID))
        return found

    def _call_row(
        self, call: Any, request: Any, outcome: Any, cost: Any, duration: float | None
    ) -> tuple[tuple[Any, ...], Any]:
        context = call.span.get_span_context()
        valid = context.is_valid
        scope = call.scope
        found = self._scope
        if found[0] is not scope:  # calls in one attributes()/track() block share its scope
            attributes = scope.attributes
            runs = scope.runs
            found = self._scope = (
                scope,
                json.dumps(dict(attributes), sort_keys=True) if attributes else None,
                runs[-1].id if runs else None,
                json.dumps([r.id for r in runs]) if runs else None,
                json.dumps([r.name for r in runs]) if runs else None,
                tuple((k, text(v)) for k, v in attributes.items()),
            )
        usage = outcome.usage
        costs = _NO_COST
        if cost is not None:
            parts = (cost.input, cost.output, cost.cache_read, cost.cache_write, cost.request_fees)
            costs = (*parts, cost.cache_savings, cost.total)
        row = (
            int(call.timestamp * 1e9),
            duration,
            f"{context.trace_id:032x}" if valid else None,
            f"{context.span_id:016x}" if valid else None,
            *self._service(call.telemetry),
            request.provider,
            request.operation,
            request.model,
            outcome.response_model,
            cost.model if cost is not None else None,
            cost.source if cost is not None else None,
            cost.version if cost is not None else None,
            outcome.price_tier or request.price_tier,
            request.price_scope,
            outcome.inference_geo,
            *(field_values(usage) if usage is not None else _NO_USAGE),
            *costs,
            int(bool(outcome.usage_unknown)),
            outcome.error_type or (type(outcome.error).__qualname__ if outcome.error is not None else None),
            int(bool(request.batch)),
            _batch_id(request, call.request),
            *found[1:5],
        )
        return row, found[5]

    def _run_row(self, run: Any, span: Any, telemetry: Any, end_ns: int) -> tuple[tuple[Any, ...], Any]:
        context = span.get_span_context()
        usage = run.usage
        row = (
            run.id,
            run.name,
            run.parent_id,
            f"{context.trace_id:032x}" if context.is_valid else None,
            *self._service(telemetry),
            run.started_ns,
            end_ns,
            run.cost_usd,
            run.unpriced_calls,
            run.calls,
            run.errors,
            *field_values(usage),
            json.dumps(run.attributes, sort_keys=True) if run.attributes else None,
        )
        return row, run.attributes


def _batch_id(request: Any, retrieval: Any) -> str | None:
    """A batch result's batch: the id its retrieval request asked for."""
    if not request.batch:
        return None
    found = retrieval.params.get("batch_id")
    return found if isinstance(found, str) else None
