"""The cost ledger: real SDK clients over MockTransport write records off the request path;
each record equals its span, and the query API answers against hand-computed list prices."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import llm_cost_otel
from llm_cost_otel import ledger
from llm_cost_otel.ledger import LedgerError
from llm_cost_otel.ledger.schema import USAGE_COLUMNS
from llm_cost_otel.usage import Usage
from support import Telemetry, anthropic_client, json_response, message_json, per_million, sse_response, stream_events

HAIKU = "claude-haiku-4-5-20251001"
HAIKU_IN, HAIKU_OUT = 1.0, 5.0  # $ per million tokens, list price
FLASH_IN, FLASH_OUT = 0.30, 2.50  # gemini-2.5-flash


def haiku(tokens_in: int, tokens_out: int) -> float:
    return per_million(tokens_in, HAIKU_IN) + per_million(tokens_out, HAIKU_OUT)


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Telemetry, Path]]:
    for name in ("LLM_COST_OTEL_PRICES", "LLM_COST_OTEL_METRIC_ATTRIBUTES", "LLM_COST_OTEL_LEDGER"):
        monkeypatch.delenv(name, raising=False)
    t = Telemetry()
    path = tmp_path / "ledger.db"
    llm_cost_otel.instrument(
        tracer_provider=t.tracer_provider, meter_provider=t.meter_provider, ledger=f"sqlite://{path}"
    )
    try:
        yield t, path
    finally:
        llm_cost_otel.uninstrument()


def rows(path: Path, table: str = "calls") -> list[dict[str, Any]]:
    assert ledger.flush(10)
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return [
            dict(r)
            for r in db.execute(
                f"SELECT * FROM {table} ORDER BY time_ns" if table == "calls" else f"SELECT * FROM {table}"
            )
        ]
    finally:
        db.close()


def usage_reply(tokens_in: int, tokens_out: int, model: str = HAIKU) -> httpx2.Response:
    return json_response(message_json(model=model, usage={"input_tokens": tokens_in, "output_tokens": tokens_out}))


def gemini(handler: Any) -> Any:
    from google import genai
    from google.genai import types

    return genai.Client(
        api_key="AIza-test-SECRET",
        http_options=types.HttpOptions(
            base_url="https://generativelanguage.googleapis.com/",
            client_args={"transport": httpx2.MockTransport(handler)},
        ),
    )


def test_each_record_equals_its_span(book: tuple[Telemetry, Path]) -> None:
    otel, path = book
    client = anthropic_client(lambda r: usage_reply(1200, 300))
    streamer = anthropic_client(lambda r: sse_response(stream_events(final_usage={"output_tokens": 40})))
    flash_json = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1",
    }
    google = gemini(lambda r: httpx2.Response(200, json=flash_json))
    with llm_cost_otel.attributes(**{"user.id": "u1", "lead.id": 4711, "tags": ("a", "b")}):
        client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
        with streamer.messages.stream(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "hi"}]) as s:
            s.until_done()
        google.models.generate_content(model="gemini-2.5-flash", contents="hi")
    records = {r["span_id"]: r for r in rows(path)}
    spans = otel.spans()
    assert len(records) == len(spans) == 3
    for span in spans:
        record = records[f"{span.context.span_id:016x}"]
        attrs = span.attributes
        assert record["trace_id"] == f"{span.context.trace_id:032x}"
        assert record["cost_usd"] == attrs["gen_ai.usage.cost"]
        for part in ("input", "output", "cache_read", "cache_write", "request_fees"):
            assert record[f"cost_{part}"] == attrs.get(f"llm_cost.usd.{part}", 0.0)
        assert (
            record["input_tokens"]
            + record["cache_read_tokens"]
            + record["cache_write_5m_tokens"]
            + record["cache_write_1h_tokens"]
            == attrs["gen_ai.usage.input_tokens"]
        )
        assert record["output_tokens"] == attrs["gen_ai.usage.output_tokens"]
        assert record["request_model"] == attrs["gen_ai.request.model"]
        assert record["response_model"] == attrs["gen_ai.response.model"]
        assert record["provider"] == attrs.get("gen_ai.provider.name", attrs.get("gen_ai.system"))
        assert json.loads(record["attributes"]) == {"user.id": "u1", "lead.id": 4711, "tags": ["a", "b"]}
        assert attrs["user.id"] == "u1"
        assert record["usage_unknown"] == 0 and record["error_type"] is None and record["batch"] == 0
        assert record["price_source"] and record["price_version"] and record["price_model"]
    by_model = {r["request_model"]: r for r in records.values()}
    assert by_model["gemini-2.5-flash"]["cost_usd"] == pytest.approx(
        per_million(100, FLASH_IN) + per_million(20, FLASH_OUT)
    )
    first = min(records.values(), key=lambda r: r["time_ns"])
    assert first["cost_usd"] == pytest.approx(haiku(1200, 300))
    # the key/value side table holds every attribute, as text
    db = sqlite3.connect(path)
    assert sorted(db.execute("SELECT DISTINCT key, value FROM call_attributes")) == [
        ("lead.id", "4711"),
        ("tags", '["a", "b"]'),
        ("user.id", "u1"),
    ]
    db.close()


def test_unpriced_model_keeps_usage_and_cost_is_null(book: tuple[Telemetry, Path]) -> None:
    _, path = book
    client = anthropic_client(lambda r: usage_reply(70, 9, model="claude-nobody-knows-9"))
    client.messages.create(model="claude-nobody-knows-9", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    (record,) = rows(path)  # flushed
    assert record["cost_usd"] is None and record["cost_input"] is None
    assert (record["input_tokens"], record["output_tokens"]) == (70, 9)
    (row,) = ledger.open(path).spend()
    assert row["cost_usd"] is None and row["unpriced_calls"] == 1 and row["calls"] == 1


def test_error_and_batch_results_are_recorded(book: tuple[Telemetry, Path]) -> None:
    _, path = book
    failing = anthropic_client(
        lambda r: httpx2.Response(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "x"}})
    )
    import anthropic

    with pytest.raises(anthropic.APIStatusError):
        failing.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    message = message_json(model=HAIKU, usage={"input_tokens": 1000, "output_tokens": 200})
    results = json.dumps({"custom_id": "a", "result": {"type": "succeeded", "message": message}}).encode() + b"\n"
    batch = {
        "id": "msgbatch_7",
        "type": "message_batch",
        "processing_status": "ended",
        "request_counts": {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0, "expired": 0},
        "ended_at": "2026-11-01T00:00:00Z",
        "created_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-11-02T00:00:00Z",
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_7/results",
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/results"):
            return httpx2.Response(200, content=results)
        return json_response(batch)

    batch_client = anthropic_client(handler)
    list(batch_client.messages.batches.results("msgbatch_7"))
    error, result = rows(path)
    assert error["error_type"] and error["cost_usd"] is None and error["input_tokens"] is None
    assert result["batch"] == 1 and result["batch_id"] == "msgbatch_7"
    assert result["cost_usd"] == pytest.approx(0.5 * haiku(1000, 200))


def test_sampled_out_span_still_yields_its_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    provider = TracerProvider(
        sampler=ALWAYS_OFF, resource=Resource.create({"service.name": "importer", "service.instance.id": "i-1"})
    )
    path = tmp_path / "l.db"
    llm_cost_otel.instrument(tracer_provider=provider, ledger=str(path))
    try:
        client = anthropic_client(lambda r: usage_reply(1000, 100))
        client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
        (record,) = rows(path)
    finally:
        llm_cost_otel.uninstrument()
    assert record["cost_usd"] == pytest.approx(haiku(1000, 100))
    assert record["trace_id"] and len(record["span_id"]) == 16  # ids exist even when sampled out
    assert (record["service_name"], record["service_instance_id"]) == ("importer", "i-1")


def test_track_runs_are_recorded_with_their_rollup(book: tuple[Telemetry, Path]) -> None:
    otel, path = book
    client = anthropic_client(lambda r: usage_reply(1000, 100))
    unknown = anthropic_client(lambda r: usage_reply(10, 10, model="claude-nobody-knows-9"))
    for user, n in (("u1", 1), ("u2", 3)):
        with llm_cost_otel.track("full_pass", **{"user.id": user}) as outer:
            for _ in range(n):
                client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
            with llm_cost_otel.track("step") as inner:
                unknown.messages.create(
                    model="claude-nobody-knows-9", max_tokens=10, messages=[{"role": "user", "content": "x"}]
                )
        assert outer.id and inner.parent_id == outer.id
    runs = {(r["name"], json.loads(r["attributes"] or "{}").get("user.id")): r for r in rows(path, "runs")}
    full = runs[("full_pass", "u2")]
    assert full["calls"] == 4 and full["unpriced_calls"] == 1 and full["errors"] == 0
    assert full["cost_usd"] == pytest.approx(3 * haiku(1000, 100))
    assert full["input_tokens"] == 3010 and full["output_tokens"] == 310
    (span,) = [s for s in otel.spans("full_pass") if s.attributes["user.id"] == "u2"]
    assert full["run_id"] == f"{span.context.span_id:016x}" and full["trace_id"] == f"{span.context.trace_id:032x}"
    assert full["end_ns"] >= full["start_ns"]
    calls = rows(path)
    linked = [c for c in calls if c["run_id"] == full["run_id"]]
    assert len(linked) == 3
    nested = [c for c in calls if c["run_names"] == '["full_pass", "step"]']
    assert len(nested) == 2 and all(json.loads(c["run_ids"])[0] in {r["run_id"] for r in runs.values()} for c in nested)

    book_ = ledger.open(path)
    listed = book_.runs("full_pass", where={"user.id": "u1"})
    assert len(listed) == 1 and listed[0]["attributes"] == {"user.id": "u1"}
    assert listed[0]["cost_usd"] == pytest.approx(haiku(1000, 100))
    grouped = {r["user.id"]: r for r in book_.runs("full_pass", by=["user.id"])}
    assert grouped["u2"]["runs"] == 1 and grouped["u2"]["max_cost_usd"] == pytest.approx(3 * haiku(1000, 100))
    (everyone,) = book_.runs("full_pass", by="name")
    assert everyone["runs"] == 2
    assert everyone["avg_cost_usd"] == pytest.approx(2 * haiku(1000, 100))
    assert everyone["min_cost_usd"] == pytest.approx(haiku(1000, 100))
    assert everyone["total_cost_usd"] == pytest.approx(4 * haiku(1000, 100))


def test_spend_answers_against_list_prices(book: tuple[Telemetry, Path]) -> None:
    _, path = book
    sizes = {"u1": (1000, 200), "u2": (5000, 1000), "u3": (300, 30)}
    clients = {u: anthropic_client(lambda r, s=s: usage_reply(*s)) for u, s in sizes.items()}
    for user, client in clients.items():
        for feature in ("import", "import", "chat"):
            with llm_cost_otel.attributes(**{"user.id": user, "app.feature": feature}):
                client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert ledger.flush(10)
    book_ = ledger.open(f"sqlite://{path}")
    found = book_.spend(by=["user.id"], since="7d", where={"app.feature": "import"})
    assert [r["user.id"] for r in found] == ["u2", "u1", "u3"]  # most expensive first
    for row in found:
        tokens_in, tokens_out = sizes[row["user.id"]]
        assert row["cost_usd"] == pytest.approx(2 * haiku(tokens_in, tokens_out))
        assert row["calls"] == 2 and row["unpriced_calls"] == 0
        assert (row["input_tokens"], row["output_tokens"]) == (2 * tokens_in, 2 * tokens_out)
    assert [r["user.id"] for r in book_.spend(by="user.id", top=1)] == ["u2"]
    (total,) = book_.spend()
    assert total["calls"] == 9
    assert total["cost_usd"] == pytest.approx(3 * sum(haiku(*s) for s in sizes.values()))
    today = datetime.now(UTC).date()
    (by_day,) = book_.spend(by=["day", "model", "provider", "operation"], since=today, until=today + timedelta(days=1))
    assert (by_day["day"], by_day["model"], by_day["provider"], by_day["operation"]) == (
        today.isoformat(), HAIKU, "anthropic", "chat",
    )  # fmt: skip
    assert book_.spend(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert book_.spend(until=date(2000, 1, 1)) == []
    (nobody,) = book_.spend(by=["no.such.key"])  # an attribute nobody set: one group keyed None
    assert nobody["no.such.key"] is None and nobody["calls"] == 9
    assert book_.spend(where={"user.id": ["u1", "u3"]}, by="user.id")[0]["user.id"] == "u1"
    assert book_.spend(where={"user.id": "x' OR 1=1 --"}) == []  # parameterised


def test_full_queue_drops_counts_and_warns_once(book: tuple[Telemetry, Path], caplog: pytest.LogCaptureFixture) -> None:
    _, path = book
    writer = ledger.writer_for(path)
    client = anthropic_client(lambda r: usage_reply(10, 10))
    writer.limit = 0
    with caplog.at_level(logging.WARNING, logger="llm_cost_otel"):
        for _ in range(5):
            client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
        writer.limit = 100_000
        assert writer.dropped == 5

        def warnings() -> list[logging.LogRecord]:
            return [r for r in caplog.records if "queue full" in r.getMessage()]

        # the writer thread warns (never the request path: it may be inside a GC finaliser)
        deadline = time.monotonic() + 5
        while not warnings() and time.monotonic() < deadline:
            writer.flush()
            time.sleep(0.05)
    assert len(warnings()) == 1
    assert warnings()[0].threadName == "llm-cost-otel-ledger"
    assert rows(path) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_fork_child_writes_its_own_records(book: tuple[Telemetry, Path]) -> None:
    _, path = book
    client = anthropic_client(lambda r: usage_reply(1000, 100))
    client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "parent"}])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "child"}])
            client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "child"}])
            code = 0 if ledger.flush(10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "parent"}])
    assert len(rows(path)) == 4  # 2 from the parent, 2 from the child, none twice


SCRIPT = """
import json, sys
import httpx2, anthropic, llm_cost_otel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from llm_cost_otel import ledger

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
llm_cost_otel.instrument(tracer_provider=provider, ledger=sys.argv[1])
n = int(sys.argv[2])
def reply(request):
    i = reply.i = reply.i + 1
    return httpx2.Response(200, json={"id": "m", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "x"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 100 + i % 97, "output_tokens": 7 + i % 13}})
reply.i = 0
http = httpx2.Client(transport=httpx2.MockTransport(reply))
client = anthropic.Anthropic(api_key="k", max_retries=0, http_client=http)
for i in range(n):
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}])
assert ledger.flush(30)
spans = [[format(s.context.span_id, "016x"), s.attributes["gen_ai.usage.cost"]] for s in exporter.get_finished_spans()]
json.dump(spans, sys.stdout)
"""


def test_two_processes_write_one_file_and_lose_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    path = tmp_path / "shared.db"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(SCRIPT))
    n = 2000
    procs = [
        subprocess.Popen([sys.executable, str(script), f"sqlite://{path}", str(n)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    spans: list[list[Any]] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0
        spans.extend(json.loads(out))
    assert len(spans) == 2 * n
    db = sqlite3.connect(path)
    recorded = sorted(db.execute("SELECT span_id, cost_usd FROM calls"))
    db.close()
    assert recorded == sorted((s, c) for s, c in spans)  # every record, each cost exactly its span's
    import math

    assert math.fsum(c for _, c in recorded) == math.fsum(c for _, c in spans)
    (total,) = ledger.open(path).spend()
    assert total["calls"] == 2 * n and total["cost_usd"] == pytest.approx(math.fsum(c for _, c in spans), rel=1e-12)


def test_bad_ledgers_name_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    newer = tmp_path / "newer.db"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.close()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = {
        str(tmp_path): "is a directory",
        str(corrupt): "not a usable ledger",
        str(newer): "newer than",
        str(blocker / "x.db"): "cannot be opened",
    }
    for url, why in cases.items():
        with pytest.raises(LedgerError, match=why) as info:
            llm_cost_otel.instrument(ledger=url)
        assert url in str(info.value)
    with pytest.raises(LedgerError, match="in-memory"):
        llm_cost_otel.instrument(ledger="sqlite:///:memory:")
    with pytest.raises(LedgerError, match="does not exist"):
        ledger.open(tmp_path / "missing.db")
    # from the environment under auto-instrumentation: one error line, calls go on without it
    from llm_cost_otel.instrumentation import _create

    monkeypatch.setenv("LLM_COST_OTEL_LEDGER", str(newer))
    try:
        with caplog.at_level(logging.ERROR, logger="llm_cost_otel"):
            created = _create(None, None, None, None, None, tolerate_bad_prices=True)
        assert created.ledger is None
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and str(newer) in r.getMessage()]
        with pytest.raises(LedgerError, match="newer than"):
            llm_cost_otel.instrument()  # the one-call instrument() raises, as for a bad price file
    finally:
        llm_cost_otel.uninstrument()


def test_ledger_off_adds_no_thread_and_no_work(otel: Telemetry) -> None:
    from llm_cost_otel.active import active

    telemetry = active()
    assert telemetry is not None and telemetry.ledger is None
    before = {t.name for t in threading.enumerate()}
    client = anthropic_client(lambda r: usage_reply(10, 10))
    with llm_cost_otel.track("job"):
        client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert "llm-cost-otel-ledger" not in {t.name for t in threading.enumerate()} | before


def test_uninstrument_flushes_and_the_schema_covers_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    path = tmp_path / "l.db"
    monkeypatch.setenv("LLM_COST_OTEL_LEDGER", f"sqlite://{path}")
    llm_cost_otel.instrument()
    client = anthropic_client(lambda r: usage_reply(10, 10))
    for _ in range(50):
        client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    llm_cost_otel.uninstrument()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM calls").fetchone()[0] == 50
    assert db.execute("PRAGMA user_version").fetchone()[0] == ledger.SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert set(USAGE_COLUMNS) == set(Usage().as_dict())


def test_interpreter_exit_flushes_the_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_COST_OTEL_PRICES", raising=False)
    path = tmp_path / "exit.db"
    script = tmp_path / "exit.py"
    body = SCRIPT.replace("assert ledger.flush(30)", "").replace("json.dump(spans, sys.stdout)", "")
    script.write_text(textwrap.dedent(body))  # no flush, no uninstrument: atexit writes the queue
    subprocess.run([sys.executable, str(script), str(path), "300"], check=True, timeout=120)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM calls").fetchone()[0] == 300
    db.close()


def test_report_command_reads_the_ledger(book: tuple[Telemetry, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from llm_cost_otel.cli import main

    _, path = book
    client = anthropic_client(lambda r: usage_reply(1000, 200))
    for user in ("u1", "u2", "u2"):
        with llm_cost_otel.attributes(**{"user.id": user}):
            client.messages.create(model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert ledger.flush(10)
    url = f"sqlite://{path}"
    assert main(["report", "--ledger", url, "--by", "user.id", "--since", "7d", "--format", "json"]) == 0
    rows_ = json.loads(capsys.readouterr().out)
    assert [(r["user.id"], r["calls"]) for r in rows_] == [("u2", 2), ("u1", 1)]
    assert rows_[0]["cost_usd"] == pytest.approx(2 * haiku(1000, 200))
    assert main(["report", "--ledger", url, "--by", "user.id", "--top", "1", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0].startswith("user.id,cost_usd,calls,unpriced_calls") and lines[1].startswith("u2,") and len(lines) == 2
    )
    assert main(["report", "--ledger", url, "--by", "model,user.id", "--where", "user.id=u1"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["model", "user.id", "cost_usd"] and "$0.002000" in table[1]
    assert main(["report", "--ledger", str(path.parent / "missing.db")]) == 2
    assert "missing.db" in capsys.readouterr().err
