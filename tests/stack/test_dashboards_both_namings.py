"""Every dashboard query evaluates when one process exports the conventions' metrics under both
namings with equal labels (its overflow series does, and so does a restart across
OTEL_SEMCONV_STABILITY_OPT_IN): rate() drops the metric name, so a query that does not tell
the names apart fails with "vector cannot contain metrics with the same labelset".

promtool evaluates each query as a recording rule over such series and reports any rule that
errors; one query's value is checked too (calls from both names are summed)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .conftest import ROOT, Binaries, run
from .test_dashboards import DASHBOARDS, prometheus_targets
from .test_live import substitute

LABELS = 'gen_ai_provider_name="anthropic", gen_ai_request_model="claude-haiku-4-5", app_feature="chat", instance="a"'


def _series() -> list[dict[str, str]]:
    """One process, both namings, equal labels: 60 calls a minute under the released name and
    30 under the newest, each histogram with a bucket and +Inf."""
    series = []
    for name, per_minute in (
        ("gen_ai_client_operation_duration_seconds", 60),
        ("gen_ai_client_inference_duration_seconds", 30),
        ("gen_ai_client_operation_time_to_first_chunk_seconds", 60),
        ("gen_ai_client_inference_time_to_first_chunk_seconds", 30),
        ("gen_ai_client_token_usage", 60),
        ("gen_ai_client_inference_operation_input_tokens", 30),
        ("gen_ai_client_inference_operation_output_tokens", 30),
    ):
        token_type = ', gen_ai_token_type="input"' if name == "gen_ai_client_token_usage" else ""
        series.append({"series": f"{name}_count{{{LABELS}{token_type}}}", "values": f"0+{per_minute}x30"})
        for le in ("1", "+Inf"):
            series.append(
                {"series": f'{name}_bucket{{{LABELS}{token_type}, le="{le}"}}', "values": f"0+{per_minute}x30"}
            )
    for metric, extra in (
        ("llm_cost_usd_total", ', llm_cost_component="input"'),
        ("llm_cost_tokens_total", ', llm_cost_token_type="input"'),
        ("llm_cost_cache_savings_usd_total", ""),
        ("llm_cost_unpriced_total", ""),
    ):
        series.append({"series": f"{metric}{{{LABELS}{extra}}}", "values": "0+1x30"})
    return series


def test_every_dashboard_query_evaluates_with_both_namings_at_once(binaries: Binaries, tmp_path: Path) -> None:
    rules = []
    calls_per_second = None
    for dashboard in DASHBOARDS.values():
        for panel, target in prometheus_targets(dashboard):
            expr = substitute(target["expr"], rate_interval="5m")
            rules.append({"record": f"dashboard_query_{len(rules)}", "expr": expr})
            if panel["title"] == "Calls per second":
                calls_per_second = expr
    assert len(rules) >= 40 and calls_per_second is not None
    (tmp_path / "queries.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    test = {
        "rule_files": ["queries.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _series(),
                # both names counted: (60 + 30) calls a minute
                "promql_expr_test": [{"expr": calls_per_second, "eval_time": "20m", "exp_samples": [{"value": 1.5}]}],
            }
        ],
    }
    (tmp_path / "queries.test.yml").write_text(json.dumps(test))
    result = run([binaries.promtool, "test", "rules", "queries.test.yml"], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "err:" not in output, output[-4000:]


LABELS_RECORDED = '{__name__="llm_cost_provider:calls_per_second:rate5m", gen_ai_provider_name="anthropic"}'


def test_the_shipped_rules_evaluate_with_both_namings_at_once(binaries: Binaries, tmp_path: Path) -> None:
    rule_files = [str(ROOT / "prometheus" / "rules" / n) for n in ("llm-cost-recording.yml", "llm-cost-alerts.yml")]
    test = {
        "rule_files": rule_files,
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _series(),
                "promql_expr_test": [
                    {
                        "expr": "llm_cost_provider:calls_per_second:rate5m",
                        "eval_time": "20m",
                        "exp_samples": [{"labels": LABELS_RECORDED, "value": 1.5}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "rules.test.yml").write_text(json.dumps(test))
    result = run([binaries.promtool, "test", "rules", "rules.test.yml"], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "err:" not in output, output[-4000:]
