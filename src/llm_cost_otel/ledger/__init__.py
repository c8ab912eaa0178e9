"""The cost ledger: every billed call and every finished ``track()`` run, kept in SQLite.

Write: ``llm_cost_otel.instrument(ledger="sqlite:///path.db")`` (or ``$LLM_COST_OTEL_LEDGER``).
Read: ``ledger.open(url).spend(by=[...], since="7d", where={...})`` and ``.runs(name)``.
See docs/LEDGER.md.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from .query import Ledger, to_ns
from .schema import SCHEMA_VERSION, LedgerError, parse_url
from .writer import Writer

__all__ = ["Ledger", "LedgerError", "SCHEMA_VERSION", "Writer", "close", "flush", "open", "to_ns", "writer_for"]

_writers: dict[Path, Writer] = {}


def open(url: str | os.PathLike[str]) -> Ledger:
    """Open a ledger for queries; a LedgerError naming the path if it is missing or unusable."""
    return Ledger(os.fspath(url))


def writer_for(url: str | os.PathLike[str]) -> Writer:
    """This process's writer for ``url`` (shared by every ``instrument()`` naming the same file)."""
    path = parse_url(url)
    found = _writers.get(path)
    if found is None or found.closed:
        found = _writers[path] = Writer(path)
    return found


def flush(timeout: float = 5.0) -> bool:
    """Write every record queued so far; False if some writer did not finish in ``timeout``."""
    return all([w.flush(timeout) for w in list(_writers.values())])


def close(timeout: float = 5.0) -> bool:
    """Flush and stop every writer (``uninstrument()`` does this)."""
    done = True
    for path, writer in list(_writers.items()):
        done = writer.close(timeout) and done
        _writers.pop(path, None)
    return done


atexit.register(flush)
