"""The budgets renderer: the shipped example renders exactly the shipped rules; bad files fail clearly."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_cost_otel import budgets
from llm_cost_otel.budgets import BudgetError, Matcher, exact_increase, parse_budgets, render_rules

from .conftest import ROOT

EXAMPLE = ROOT / "budgets.example.yaml"
SHIPPED = ROOT / "prometheus" / "rules" / "llm-cost-budgets.yml"


def test_shipped_example_renders_the_shipped_rules() -> None:
    out = io.StringIO()
    assert budgets.render_command(str(EXAMPLE), stdout=out) == 0
    assert out.getvalue() == SHIPPED.read_text(), (
        "prometheus/rules/llm-cost-budgets.yml is stale: "
        "llm-cost-otel budgets render budgets.example.yaml -o prometheus/rules/llm-cost-budgets.yml"
    )


def test_render_to_file_and_main(tmp_path: Path) -> None:
    target = tmp_path / "rules.yml"
    assert budgets.main(["render", str(EXAMPLE), "-o", str(target)]) == 0
    assert target.read_text() == SHIPPED.read_text()


def test_every_budget_gets_limits_spend_and_three_alerts() -> None:
    parsed = budgets.load_budgets(EXAMPLE)
    rules = render_rules(parsed)["groups"][0]["rules"]
    for b in parsed.budgets:
        mine = [r for r in rules if r["labels"]["budget"] == b.name]
        assert sorted(r.get("record") or r["alert"] for r in mine) == sorted(
            [
                "llm_cost_budget:limit_usd",
                "llm_cost_budget:warn_usd",
                "llm_cost_budget:spend_usd",
                "llm_cost_budget:usage_ratio",
                "llm_cost_budget:burn_rate_usd_per_hour",
                "LLMBudgetWarning",
                "LLMBudgetExceeded",
                "LLMBudgetForecast",
            ]
        )
        spend = next(r for r in mine if r.get("record") == "llm_cost_budget:spend_usd")["expr"]
        assert f"[{b.window}]" in spend and b.selector in spend


def test_matchers_forms() -> None:
    doc = {
        "budgets": [
            {"name": "a", "window": "1d", "limit_usd": 1, "matchers": 'app_feature="import", tenant_id=~"a.*"'},
            {"name": "b", "window": "7d", "limit_usd": 1, "matchers": {"tenant_id": 'quo"te'}},
            {"name": "c", "window": "30d", "limit_usd": 1, "matchers": ['user_id!="bot"', 'agent_name!~"test.*"']},
            {"name": "d", "window": "1d", "limit_usd": 1, "matchers": '{app_feature="x"}'},
        ]
    }
    parsed = parse_budgets(doc).budgets
    assert parsed[0].matchers == (Matcher("app_feature", "=", "import"), Matcher("tenant_id", "=~", "a.*"))
    assert parsed[1].selector == 'llm_cost_usd_total{tenant_id="quo\\"te"}'
    assert parsed[2].selector == 'llm_cost_usd_total{user_id!="bot", agent_name!~"test.*"}'
    assert parsed[3].selector == 'llm_cost_usd_total{app_feature="x"}'


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"window": "1d", "limit_usd": 1}, "name must match"),
        ({"name": "x", "window": "2d", "limit_usd": 1}, "window must be one of 1d, 7d, 30d"),
        ({"name": "x", "window": "1d", "limit_usd": 0}, "limit_usd must be a positive number"),
        ({"name": "x", "window": "1d", "limit_usd": "10"}, "limit_usd must be a positive number"),
        ({"name": "x", "window": "1d", "limit_usd": 1, "warn_ratio": 1.5}, "warn_ratio must be between 0 and 1"),
        ({"name": "x", "window": "1d", "limit_usd": 1, "matchers": "app_feature=import"}, "cannot parse matchers"),
        ({"name": "x", "window": "1d", "limit_usd": 1, "matchers": '__name__="x"'}, "reserved"),
        ({"name": "x", "window": "1d", "limit_usd": 1, "matchers": 'a=~"("'}, "bad regular expression"),
        ({"name": "x", "window": "1d", "limit_usd": 1, "labels": {"severity": "page"}}, "reserved alert label"),
        ({"name": "x", "window": "1d", "limit_usd": 1, "limit": 2}, "unknown key(s) limit"),
        ({"name": "bad name", "window": "1d", "limit_usd": 1}, "name must match"),
    ],
)
def test_bad_budgets_name_the_problem(budget: dict[str, Any], message: str) -> None:
    with pytest.raises(BudgetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_budgets({"budgets": [budget]}, "b.yaml")


def test_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(BudgetError, match="non-empty list"):
        parse_budgets({"budgets": []})
    with pytest.raises(BudgetError, match="duplicate name"):
        parse_budgets({"budgets": [{"name": "a", "window": "1d", "limit_usd": 1}] * 2})
    with pytest.raises(BudgetError, match="not a Prometheus duration"):
        parse_budgets({"evaluation_interval": "soon", "budgets": [{"name": "a", "window": "1d", "limit_usd": 1}]})
    broken = tmp_path / "broken.yaml"
    broken.write_text("budgets: [\n")
    assert budgets.render_command(str(broken)) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert budgets.render_command(str(tmp_path / "missing.yaml")) == 2


def test_exact_increase_counts_new_series_from_zero() -> None:
    expr = exact_increase("m", "1d")
    assert expr.count("\nor\n") == 2
    assert "last_over_time(m[1d]) - m offset 1d" in expr
    assert "resets(m[1d]) > 0" in expr


def test_rendered_yaml_round_trips() -> None:
    text = SHIPPED.read_text()
    assert text.startswith("# Generated by `llm-cost-otel budgets render budgets.example.yaml`")
    assert yaml.safe_load(text) == render_rules(budgets.load_budgets(EXAMPLE))
