"""Reading a ledger: ``spend`` (calls grouped by any keys) and ``runs`` (``track()`` runs).

Every value from the caller (attribute keys and values, times) is a bound parameter; the
only text put into SQL is chosen from fixed tables here.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..semconv import SERVICE_NAME
from .schema import USAGE_COLUMNS, connect, parse_url
from .writer import text

TimeBound = str | datetime | date | None
_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DAY = "date({t} / 1000000000, 'unixepoch')"
# built-in ``by``/``where`` keys: call columns (an attribute of the same name is shadowed)
CALL_KEYS = {
    "provider": "c.provider",
    "model": "COALESCE(c.response_model, c.request_model)",
    "operation": "c.operation",
    "day": _DAY.format(t="c.time_ns"),
    SERVICE_NAME: "c.service_name",
}
RUN_KEYS = {"name": "r.name", "day": _DAY.format(t="r.end_ns"), SERVICE_NAME: "r.service_name"}
_UNPRICED = "(c.cost_usd IS NULL AND (c.usage_unknown = 1 OR c.input_tokens IS NOT NULL))"


def to_ns(bound: TimeBound, now: datetime | None = None) -> int | None:
    """A time bound in unix ns: ``"7d"``/``"24h"``/``"30m"``/``"2w"`` (ago), an ISO date or
    datetime string, a ``date`` (UTC midnight) or a ``datetime`` (naive means UTC)."""
    if bound is None:
        return None
    if isinstance(bound, str):
        match = _RELATIVE.fullmatch(bound.strip())
        if match:
            ago = timedelta(**{_UNITS[match[2]]: int(match[1])})
            bound = (now or datetime.now(UTC)) - ago
        else:
            try:
                bound = datetime.fromisoformat(bound.strip())
            except ValueError:
                raise ValueError(f"llm-cost-otel ledger: time {bound!r} is not 7d/24h/30m/2w or an ISO date") from None
    if not isinstance(bound, datetime):
        bound = datetime(bound.year, bound.month, bound.day, tzinfo=UTC)
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=UTC)
    return int(bound.timestamp()) * 1_000_000_000 + bound.microsecond * 1000


class Ledger:
    """A ledger file opened for reading (``ledger.open(url)``)."""

    def __init__(self, url: str | Path) -> None:
        self.path = parse_url(url)
        self._db = connect(self.path, create=False)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _group(
        self,
        by: Sequence[str] | str | None,
        where: Mapping[str, Any] | None,
        builtin: Mapping[str, str],
        alias: str,
        side: str,
    ) -> tuple[list[str], list[str], list[Any], list[str], list[Any]]:
        """(key names, select expressions, their join params, where clauses, where params)."""
        keys = [by] if isinstance(by, str) else list(by or ())
        joins: list[str] = []
        exprs: list[str] = []
        params: list[Any] = []
        for i, key in enumerate(keys):
            if key in builtin:
                exprs.append(builtin[key])
            else:
                joins.append(f"LEFT JOIN {side} k{i} ON k{i}.{side[:-11]}_id = {alias}.id AND k{i}.key = ?")
                params.append(key)
                exprs.append(f"k{i}.value")
        clauses: list[str] = []
        values: list[Any] = []
        for key, wanted in (where or {}).items():
            options = list(wanted) if isinstance(wanted, list | set | frozenset) else [wanted]
            marks = ", ".join("?" * len(options))
            if key in builtin:
                clauses.append(f"{builtin[key]} IN ({marks})")
                values.extend(options)
            else:
                clauses.append(
                    f"EXISTS (SELECT 1 FROM {side} w WHERE w.{side[:-11]}_id = {alias}.id AND w.key = ? "
                    f"AND w.value IN ({marks}))"
                )
                values.extend([key, *(text(v) for v in options)])
        return keys, [f"{e} AS g{i}" for i, e in enumerate(exprs)], params, joins + clauses, values

    def spend(
        self,
        by: Sequence[str] | str | None = None,
        since: TimeBound = None,
        until: TimeBound = None,
        where: Mapping[str, Any] | None = None,
        top: int | None = None,
    ) -> list[dict[str, Any]]:
        """Calls grouped by ``by`` (built-in keys or attribute keys), most expensive first:
        the keys, ``cost_usd`` (sum of priced calls), ``calls``, ``unpriced_calls`` and every
        usage column summed. ``since`` inclusive, ``until`` exclusive."""
        keys, selects, params, parts, values = self._group(by, where, CALL_KEYS, "c", "call_attributes")
        joins = [p for p in parts if p.startswith("LEFT JOIN")]
        clauses = [p for p in parts if not p.startswith("LEFT JOIN")]
        self._window(clauses, values, "c.time_ns", since, until)
        tokens = ", ".join(f"COALESCE(SUM(c.{u}), 0) AS {u}" for u in USAGE_COLUMNS)
        group = f"GROUP BY {', '.join(f'g{i}' for i in range(len(keys)))}" if keys else ""
        sql = (
            f"SELECT {''.join(s + ', ' for s in selects)}SUM(c.cost_usd) AS cost_usd, COUNT(*) AS calls, "
            f"SUM({_UNPRICED}) AS unpriced_calls, {tokens} FROM calls c {' '.join(joins)} "
            f"{'WHERE ' + ' AND '.join(clauses) if clauses else ''} {group} "
            f"ORDER BY cost_usd IS NULL, cost_usd DESC{''.join(f', g{i}' for i in range(len(keys)))}"
        )
        rows = self._rows(sql, [*params, *values], top)
        return [_keyed(row, keys) for row in rows if row["calls"]]

    def runs(
        self,
        name: str | None = None,
        by: Sequence[str] | str | None = None,
        where: Mapping[str, Any] | None = None,
        since: TimeBound = None,
        until: TimeBound = None,
        top: int | None = None,
    ) -> list[dict[str, Any]]:
        """Finished ``track()`` runs (named ``name``; ended in the window): one row per run,
        or with ``by`` per group: ``runs``, ``total_cost_usd``, ``avg_cost_usd``,
        ``max_cost_usd``, ``min_cost_usd``, ``calls``, ``unpriced_calls``."""
        where = dict(where or {})
        if name is not None:
            where["name"] = name
        keys, selects, params, parts, values = self._group(by, where, RUN_KEYS, "r", "run_attributes")
        joins = [p for p in parts if p.startswith("LEFT JOIN")]
        clauses = [p for p in parts if not p.startswith("LEFT JOIN")]
        self._window(clauses, values, "r.end_ns", since, until)
        filters = f"{'WHERE ' + ' AND '.join(clauses) if clauses else ''}"
        if not keys:
            sql = f"SELECT r.* FROM runs r {filters} ORDER BY r.end_ns, r.id"
            out = []
            for row in self._rows(sql, values, top):
                record = dict(row)
                del record["id"]
                record["attributes"] = json.loads(record["attributes"]) if record["attributes"] else {}
                out.append(record)
            return out
        sql = (
            f"SELECT {', '.join(selects)}, COUNT(*) AS runs, SUM(r.cost_usd) AS total_cost_usd, "
            "AVG(r.cost_usd) AS avg_cost_usd, MAX(r.cost_usd) AS max_cost_usd, MIN(r.cost_usd) AS min_cost_usd, "
            f"SUM(r.calls) AS calls, SUM(r.unpriced_calls) AS unpriced_calls FROM runs r {' '.join(joins)} "
            f"{filters} GROUP BY {', '.join(f'g{i}' for i in range(len(keys)))} "
            f"ORDER BY total_cost_usd DESC{''.join(f', g{i}' for i in range(len(keys)))}"
        )
        return [_keyed(row, keys) for row in self._rows(sql, [*params, *values], top)]

    @staticmethod
    def _window(clauses: list[str], values: list[Any], column: str, since: TimeBound, until: TimeBound) -> None:
        start, end = to_ns(since), to_ns(until)
        if start is not None:
            clauses.append(f"{column} >= ?")
            values.append(start)
        if end is not None:
            clauses.append(f"{column} < ?")
            values.append(end)

    def _rows(self, sql: str, params: list[Any], top: int | None) -> list[sqlite3.Row]:
        if top is not None:
            sql += " LIMIT ?"
            params = [*params, int(top)]
        return self._db.execute(sql, params).fetchall()


def _keyed(row: sqlite3.Row, keys: list[str]) -> dict[str, Any]:
    record = dict(row)
    out = {key: record.pop(f"g{i}") for i, key in enumerate(keys)}
    out.update(record)
    return out
