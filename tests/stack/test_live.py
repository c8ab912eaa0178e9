"""The stack against live data: two instrumented app processes (real anthropic and google-genai
clients, fake local providers) export metrics; a real Prometheus on 127.0.0.1 scrapes them and
evaluates the shipped rules; a real Alertmanager routes a tripped budget to a local webhook.

Every PromQL expression of every dashboard panel and every rule is executed (variables
substituted) and must return data; the spend the overview shows must equal the sum of
``gen_ai.usage.cost`` over the spans the apps produced; a tiny budget fires through
Alertmanager and resolves when the budget is raised.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_cost_otel.budgets import parse_budgets, render_yaml

from .conftest import ROOT, STACK_TESTS, Binaries, Process, free_port, http_json, wait_for
from .test_dashboards import DASHBOARDS, prometheus_targets

RANGE = "1h"  # $__range: longer than the whole test, so "spend in range" = everything produced
RATE_INTERVAL = "10s"  # $__rate_interval with a 1s scrape interval
VARIABLES = {
    "$__rate_interval": RATE_INTERVAL,
    "$__range": RANGE,
    "$__interval": "2s",
    "$dimension": "app_feature",
    "$provider": ".*",
    "$model": ".*",
    "$feature": ".*",
    "$tenant": ".*",
    "$user": ".*",
    "$agent": ".*",
}
SHIPPED_RULES = ["llm-cost-recording.yml", "llm-cost-alerts.yml", "llm-cost-budgets.yml"]


def substitute(expr: str, rate_interval: str = RATE_INTERVAL) -> str:
    """A panel's query with Grafana's variables filled in (every option selected)."""
    variables = {**VARIABLES, "$__rate_interval": rate_interval}
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(name, variables[name])
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def budgets_for_test(limit_usd: float) -> str:
    """The test's budgets, rendered by the shipped renderer with short intervals."""
    doc = {
        "evaluation_interval": "1s",
        "for": {"warning": "0s", "critical": "0s", "forecast": "0s"},
        "budgets": [
            {"name": "live-tiny", "window": "1d", "limit_usd": limit_usd, "warn_ratio": 0.5},
            {"name": "live-import", "window": "1d", "limit_usd": limit_usd, "matchers": 'app_feature="import"'},
        ],
    }
    return render_yaml(parse_budgets(doc, "live-budgets.yaml"), source="live-budgets.yaml")


class Webhook:
    """A local Alertmanager webhook receiver that keeps every notification."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        lock = threading.Lock()
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with lock:
                    received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def find(self, status: str, alertname: str, budget: str) -> dict[str, Any] | None:
        for note in list(self.notifications):
            for alert in note["alerts"]:
                labels = alert["labels"]
                if (
                    alert["status"] == status
                    and labels.get("alertname") == alertname
                    and labels.get("budget") == budget
                ):
                    return alert
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


class Prom:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        reply = http_json(f"{self.base}/api/v1/query", {"query": expr})
        assert reply["status"] == "success", reply
        return list(reply["data"]["result"])

    def query_range(self, expr: str, seconds: int = 20) -> list[dict[str, Any]]:
        end = time.time()
        params = {"query": expr, "start": str(end - seconds), "end": str(end), "step": "2"}
        reply = http_json(f"{self.base}/api/v1/query_range", params)
        assert reply["status"] == "success", reply
        return list(reply["data"]["result"])

    def scalar(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])


def start_workload(processes: list[Process], workdir: Path, profile: str, naming: str = "released") -> Process:
    env = dict(os.environ)
    env.pop("OTEL_SEMCONV_STABILITY_OPT_IN", None)
    if naming == "latest":
        env["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    process = Process(
        f"workload-{profile}",
        [sys.executable, str(STACK_TESTS / "workload.py"), profile],
        workdir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    processes.append(process)
    return process


def read_json_line(process: Process, timeout: float) -> dict[str, Any]:
    assert process.proc.stdout is not None
    result: dict[str, Any] = {}

    def read() -> None:
        line = process.proc.stdout.readline() if process.proc.stdout else ""
        if line:
            result.update(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert result, f"{process.name} printed nothing in {timeout}s:\n{process.output()}"
    return result


def all_rules(paths: list[Path]) -> list[dict[str, Any]]:
    rules = []
    for path in paths:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                rules.append({**rule, "file": path.name})
    return rules


# The conventions' metric names each naming produces (OTEL_SEMCONV_STABILITY_OPT_IN), and
# those it must not: the dashboards and rules must work from either set alone.
CONVENTION_METRICS = {
    "released": [
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
        "gen_ai_client_token_usage_bucket",
    ],
    "latest": [
        "gen_ai_client_inference_duration_seconds_bucket",
        "gen_ai_client_inference_time_to_first_chunk_seconds_bucket",
        "gen_ai_client_inference_operation_input_tokens_bucket",
        "gen_ai_client_inference_operation_output_tokens_bucket",
        "gen_ai_client_inference_usage_input_tokens_total",
    ],
}


@pytest.mark.parametrize("naming", ["released", "latest"])
def test_live_stack(
    binaries: Binaries, processes: list[Process], webhook: Webhook, tmp_path: Path, naming: str
) -> None:
    started = time.monotonic()
    # --- the apps -----------------------------------------------------------------------------
    apps = [start_workload(processes, tmp_path, profile, naming) for profile in ("anthropic", "gemini")]
    ports = [int(read_json_line(app, timeout=60)["port"]) for app in apps]

    # --- Alertmanager -> webhook --------------------------------------------------------------
    am_port = free_port()
    am_dir = tmp_path / "alertmanager"
    am_dir.mkdir()
    (am_dir / "alertmanager.yml").write_text(
        yaml.safe_dump(
            {
                "route": {
                    "receiver": "webhook",
                    "group_by": ["alertname", "budget"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook.url, "send_resolved": True}]}],
            }
        )
    )
    am = Process(
        "alertmanager",
        [
            binaries.alertmanager,
            f"--config.file={am_dir / 'alertmanager.yml'}",
            f"--storage.path={am_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        tmp_path,
    )
    processes.append(am)

    # --- Prometheus: shipped rules + the test's tiny budgets ---------------------------------
    prom_port = free_port()
    prom_dir = tmp_path / "prometheus"
    rules_dir = prom_dir / "rules"
    rules_dir.mkdir(parents=True)
    for name in SHIPPED_RULES:  # evaluated every second here (the budget group says 1m)
        shipped = yaml.safe_load((ROOT / "prometheus" / "rules" / name).read_text())
        for group in shipped["groups"]:
            group.pop("interval", None)
        (rules_dir / name).write_text(yaml.safe_dump(shipped, sort_keys=False))
    test_budgets = rules_dir / "live-budgets.yml"
    test_budgets.write_text(budgets_for_test(limit_usd=0.01))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules/*.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [
            {"job_name": "llm-apps", "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in ports]}]}
        ],
    }
    (prom_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
    prometheus = Process(
        "prometheus",
        [
            binaries.prometheus,
            f"--config.file={prom_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={prom_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--web.enable-lifecycle",
            "--rules.alert.resend-delay=1s",
            "--web.console.templates=",
            "--web.console.libraries=",
        ],
        tmp_path,
    )
    processes.append(prometheus)
    prom = Prom(prom_port)

    def ready(url: str, process: Process) -> bool:
        assert process.alive(), f"{process.name} exited:\n{process.output()}"
        return http_json(url) is not None

    wait_for(lambda: ready(f"{prom.base}/api/v1/status/runtimeinfo", prometheus), 30, "Prometheus to start")
    wait_for(lambda: ready(f"http://127.0.0.1:{am_port}/api/v2/status", am), 30, "Alertmanager to start")

    # Every metric the dashboards use, from both providers, scraped twice or more.
    needed = [
        "llm_cost_usd_total",
        "llm_cost_tokens_total",
        "llm_cost_cache_savings_usd_total",
        "llm_cost_unpriced_total",
        *CONVENTION_METRICS[naming],
    ]
    for metric in needed:
        wait_for(
            lambda metric=metric: (
                len(prom.query(f"count by (gen_ai_provider_name) (count_over_time({metric}[1m]) > 2)")) >= 2
            ),
            30,
            f"{metric} from both providers",
        )
    other = "latest" if naming == "released" else "released"
    for metric in CONVENTION_METRICS[other]:
        assert not prom.query(f"count({metric})"), f"{metric} under the {naming} names"
    assert {
        r["metric"]["gen_ai_provider_name"] for r in prom.query("count by (gen_ai_provider_name) (llm_cost_usd_total)")
    } == {
        "anthropic",
        "gcp.gemini",
    }

    # --- every dashboard query returns data -----------------------------------------------------
    empty = []
    executed = 0
    for dashboard_name, dashboard in DASHBOARDS.items():
        for panel, target in prometheus_targets(dashboard):
            expr = substitute(target["expr"])
            executed += 1
            result = prom.query(expr)
            if target.get("range", True) and not target.get("instant", False):
                result = result and prom.query_range(expr)
            if not result:
                empty.append(f"{dashboard_name}: {panel['title']}: {expr}")
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                # label_values(metric{...}, label) -> /api/v1/label/<label>/values?match[]=metric{...}
                inner = substitute(variable["definition"])[len("label_values(") : -1]
                selector, label = inner.rsplit(",", 1)
                params = {"match[]": selector.strip()}
                reply = http_json(f"{prom.base}/api/v1/label/{label.strip()}/values?" + _encode(params))
                if not reply["data"]:
                    empty.append(f"{dashboard_name}: variable {variable['name']}")
    assert executed >= 40
    assert not empty, "queries that returned no data:\n" + "\n".join(empty)

    # --- every rule evaluates; recording rules and the alerts this workload trips return data ----
    rules = all_rules(sorted(rules_dir.glob("*.yml")))
    no_data = []
    for rule in rules:
        result = prom.query(rule["expr"])
        if not result and ("record" in rule or rule.get("alert") == "LLMUnpricedCalls"):
            no_data.append(f"{rule['file']}: {rule.get('record') or rule.get('alert')}: {rule['expr']}")
    assert not no_data, "rules that returned no data:\n" + "\n".join(no_data)
    unpriced = {
        r["metric"]["gen_ai_request_model"] for r in prom.query(substitute(_alert_expr(rules, "LLMUnpricedCalls")))
    }
    assert unpriced == {"claude-experimental-9", "gemini-experimental-9"}

    # --- the tiny budget fires through Alertmanager ---------------------------------------------
    firing = wait_for(lambda: webhook.find("firing", "LLMBudgetExceeded", "live-tiny"), 30, "the budget alert")
    assert firing["labels"]["severity"] == "critical"
    assert firing["annotations"]["budget"] == "live-tiny"
    assert firing["annotations"]["limit_usd"] == "0.01"
    assert float(firing["annotations"]["spent_usd"]) >= 0.01
    assert firing["annotations"]["dashboard"].startswith("http")
    wait_for(lambda: webhook.find("firing", "LLMBudgetExceeded", "live-import"), 30, "the import budget alert")

    # --- stop the apps: the spend shown equals the spend produced --------------------------------
    produced = 0.0
    for app in apps:
        assert app.proc.stdin is not None
        app.proc.stdin.write("stop\n")
        app.proc.stdin.flush()
    for app in apps:
        report = read_json_line(app, timeout=30)
        assert report["spans"] == report["calls"] > 0
        produced += float(report["spend"])
    assert produced > 0

    def settled() -> bool:
        raw = prom.scalar("sum(llm_cost_usd_total)")
        return math.isclose(raw, produced, rel_tol=1e-9)

    wait_for(settled, 15, "Prometheus to scrape the final counters")
    overview = DASHBOARDS["llm-spend-overview.json"]
    spend_panels = {p["title"]: p for p in overview["panels"]}
    shown = prom.scalar(substitute(spend_panels["Spend (selected range)"]["targets"][0]["expr"]))
    assert math.isclose(shown, produced, rel_tol=1e-9), (shown, produced)
    by_provider = prom.query(substitute(spend_panels["Spend by provider"]["targets"][0]["expr"]))
    assert math.isclose(sum(float(r["value"][1]) for r in by_provider), produced, rel_tol=1e-9)
    by_component = prom.query(substitute(spend_panels["Spend by component"]["targets"][0]["expr"]))
    assert {r["metric"]["llm_cost_component"] for r in by_component} >= {"input", "output", "cache_read", "cache_write"}
    # increase() alone would under-count: it drops the first sample of every series.
    naive = prom.scalar(f"sum(increase(llm_cost_usd_total[{RANGE}]))")
    print(f"\nspend produced {produced:.9f} USD, shown {shown:.9f} USD, plain increase() {naive:.9f} USD")

    # --- raise the budget: the alert resolves ----------------------------------------------------
    test_budgets.write_text(budgets_for_test(limit_usd=1000))
    _post(f"{prom.base}/-/reload")
    # Prometheus sends the resolution, or (if the reload dropped the alert's state) stops
    # re-sending it and Alertmanager resolves it when its endsAt (4 x resend delay) passes.
    wait_for(lambda: webhook.find("resolved", "LLMBudgetExceeded", "live-tiny"), 30, "the budget alert to resolve")
    assert time.monotonic() - started < 90


def _alert_expr(rules: list[dict[str, Any]], name: str) -> str:
    return next(rule["expr"] for rule in rules if rule.get("alert") == name)


def _encode(params: dict[str, str]) -> str:
    return urllib.parse.urlencode(params)


def _post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10) as response:
        assert response.status == 200
