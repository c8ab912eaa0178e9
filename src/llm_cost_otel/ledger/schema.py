"""The ledger's SQLite file: URL parsing, connection settings and the versioned schema.

The version lives in ``PRAGMA user_version``; ``MIGRATIONS[n]`` takes a file from version
``n`` to ``n + 1`` in one transaction. A file newer than this code is refused, never written.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..usage import _FIELD_NAMES

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000


class LedgerError(Exception):
    """A ledger that cannot be opened or written: the message names the path."""


# The usage partition as stored: one INTEGER column per ``Usage`` field (a test checks that
# this list is every field; a new field is a new schema version).
USAGE_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "output_audio_tokens",
    "input_audio_tokens",
    "cache_read_audio_tokens",
    "output_images",
    "input_characters",
    "web_search_requests",
    "web_fetch_requests",
)
COST_COLUMNS = (
    "cost_input",
    "cost_output",
    "cost_cache_read",
    "cost_cache_write",
    "cost_request_fees",
    "cost_cache_savings",
    "cost_usd",
)
CALL_COLUMNS = (
    "id", "time_ns", "duration_s", "trace_id", "span_id", "service_name", "service_instance_id",
    "provider", "operation", "request_model", "response_model", "price_model",
    "price_source", "price_version", "price_tier", "price_scope", "price_geo",
    *USAGE_COLUMNS, *COST_COLUMNS,
    "usage_unknown", "error_type", "batch", "batch_id", "attributes", "run_id", "run_ids", "run_names",
)  # fmt: skip
RUN_COLUMNS = (
    "id", "run_id", "name", "parent_run_id", "trace_id", "service_name", "service_instance_id",
    "start_ns", "end_ns", "cost_usd", "unpriced_calls", "calls", "errors", *USAGE_COLUMNS, "attributes",
)  # fmt: skip

_TEXT = {
    "trace_id", "span_id", "service_name", "service_instance_id", "provider", "operation", "request_model",
    "response_model", "price_model", "price_source", "price_version", "price_tier", "price_scope", "price_geo",
    "error_type", "batch_id", "attributes", "run_id", "run_ids", "run_names", "name", "parent_run_id",
}  # fmt: skip


def _column(name: str) -> str:
    if name == "id":
        return "id INTEGER PRIMARY KEY"
    if name in _TEXT:
        return f"{name} TEXT"
    if name.startswith("cost_") or name == "duration_s":
        return f"{name} REAL"
    return f"{name} INTEGER"


def _v0_to_v1(db: sqlite3.Connection) -> None:
    db.execute(f"CREATE TABLE calls ({', '.join(map(_column, CALL_COLUMNS))})")
    db.execute("CREATE TABLE call_attributes (call_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT)")
    db.execute(f"CREATE TABLE runs ({', '.join(map(_column, RUN_COLUMNS))})")
    db.execute("CREATE TABLE run_attributes (run_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT)")
    for sql in (
        "CREATE INDEX calls_time ON calls (time_ns)",
        "CREATE INDEX calls_model ON calls (provider, response_model, request_model)",
        "CREATE INDEX calls_run ON calls (run_id)",
        "CREATE INDEX call_attributes_kv ON call_attributes (key, value, call_id)",
        "CREATE INDEX call_attributes_call ON call_attributes (call_id)",
        "CREATE INDEX runs_name ON runs (name, end_ns)",
        "CREATE INDEX runs_time ON runs (end_ns)",
        "CREATE INDEX run_attributes_kv ON run_attributes (key, value, run_id)",
        "CREATE INDEX run_attributes_run ON run_attributes (run_id)",
    ):
        db.execute(sql)


MIGRATIONS = {0: _v0_to_v1}
assert set(USAGE_COLUMNS) == set(_FIELD_NAMES), "USAGE_COLUMNS must list every Usage field"


def parse_url(url: str | os.PathLike[str]) -> Path:
    """``sqlite:///abs/path.db`` or a plain path. ``:memory:`` is refused: the writer runs on
    its own connection in another thread, so an in-memory database would be private to it
    and lost at exit; nothing could read it."""
    text = os.fspath(url)
    if not isinstance(text, str) or not text.strip():
        raise LedgerError(f"llm-cost-otel ledger: {url!r} is not a ledger URL (sqlite:///path/to/file.db)")
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "sqlite":
            raise LedgerError(f"llm-cost-otel ledger {text!r}: unsupported scheme {scheme!r} (use sqlite:///path)")
        text = rest  # sqlite:///abs/path.db: the path is /abs/path.db
    if text.lstrip("/") in (":memory:", "") or "mode=memory" in text:
        raise LedgerError(
            f"llm-cost-otel ledger {url!r}: an in-memory database cannot be a ledger (the background writer "
            "has its own connection, so its records would be invisible and lost at exit); give a file path"
        )
    return Path(text).expanduser().absolute()


def connect(path: Path, create: bool = True) -> sqlite3.Connection:
    """A connection to ``path`` with the schema at ``SCHEMA_VERSION`` (created or migrated);
    any failure is a LedgerError naming the path."""
    if path.is_dir():
        raise LedgerError(f"llm-cost-otel ledger {str(path)!r} is a directory, not a database file")
    if not create and not path.exists():
        raise LedgerError(f"llm-cost-otel ledger {str(path)!r} does not exist")
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise LedgerError(f"llm-cost-otel ledger {str(path)!r} cannot be opened: {exc}") from None
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"llm-cost-otel ledger {str(path)!r} has schema version {version}, newer than this "
                f"llm-cost-otel understands ({SCHEMA_VERSION}); upgrade llm-cost-otel to use it"
            )
        if create:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            _migrate(db)
        elif version < SCHEMA_VERSION:
            raise LedgerError(f"llm-cost-otel ledger {str(path)!r} has no ledger schema (version {version})")
        db.execute("SELECT count(*) FROM calls WHERE 0").fetchone()
    except LedgerError:
        db.close()
        raise
    except sqlite3.Error as exc:
        db.close()
        raise LedgerError(f"llm-cost-otel ledger {str(path)!r} is not a usable ledger: {exc}") from None
    return db


def _migrate(db: sqlite3.Connection) -> None:
    while True:
        db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see the new version
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                db.execute("COMMIT")
                return
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
