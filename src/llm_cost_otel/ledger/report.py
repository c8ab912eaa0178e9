"""``llm-cost-otel report``: the ledger's spend grouped by keys, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Any

from ..semconv import LEDGER_ENV
from .query import Ledger
from .schema import LedgerError

COLUMNS = (
    "cost_usd",
    "calls",
    "unpriced_calls",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ledger", help=f"sqlite:///path.db or a path (default ${LEDGER_ENV})")
    parser.add_argument("--by", default="", help="comma-separated keys: provider, model, operation, day, "
                        "service.name or any attribute key (default: one total)")  # fmt: skip
    parser.add_argument("--since", help="7d, 24h, 30m, 2w or an ISO date (inclusive)")
    parser.add_argument("--until", help="an ISO date or 7d-style (exclusive)")
    parser.add_argument("--where", action="append", default=[], metavar="KEY=VALUE", help="filter (repeatable)")
    parser.add_argument("--top", type=int, help="only the N most expensive rows")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = args.ledger or os.environ.get(LEDGER_ENV, "")
    if not url:
        print(f"llm-cost-otel report: error: give --ledger or set ${LEDGER_ENV}", file=sys.stderr)
        return 2
    where: dict[str, str] = {}
    for item in args.where:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"llm-cost-otel report: error: --where {item!r} is not KEY=VALUE", file=sys.stderr)
            return 2
        where[key] = value
    keys = [k.strip() for k in args.by.split(",") if k.strip()]
    try:
        with Ledger(url) as book:
            rows = book.spend(by=keys, since=args.since, until=args.until, where=where, top=args.top)
    except (LedgerError, ValueError) as exc:
        print(f"llm-cost-otel report: error: {exc}", file=sys.stderr)
        return 2
    for row in rows:
        row["cache_write_tokens"] = row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"]
    header = [*keys, *COLUMNS]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        print()
    elif args.format == "csv":
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(header)
        out.writerows([[_csv(row[h]) for h in header] for row in rows])
    else:
        table = [header, *([_cell(h, row[h]) for h in header] for row in rows)]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for line in table:
            cells = (
                c.ljust(w) if i < len(keys) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
            print("  ".join(cells))
    return 0


def _csv(value: Any) -> Any:
    return "" if value is None else value


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "unpriced" if name == "cost_usd" else "-"
    if name == "cost_usd":
        return f"${value:,.6f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
