"""Dashboard JSON: valid against the vendored Grafana schemas, inside the 24-column grid without
overlaps, datasources matching provisioning, and in step with grafana/build_dashboards.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import ROOT, STACK_TESTS

SCHEMAS = STACK_TESTS / "grafana-jsonschema"
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
DASHBOARDS: dict[str, Any] = {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}
PANEL_SCHEMAS = {"stat", "timeseries", "bargauge", "piechart", "table"}


def prometheus_targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            if target.get("datasource", panel.get("datasource", {})).get("type") == "prometheus":
                yield panel, target


def _schema(name: str, ref: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text())
    if ref:
        schema = {**schema, "$ref": f"#/definitions/{ref}"}
    return schema


def test_three_dashboards_with_unique_uids() -> None:
    assert set(DASHBOARDS) == {"llm-spend-overview.json", "llm-attribution.json", "llm-performance.json"}
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == 3


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_matches_grafana_schema(name: str) -> None:
    dashboard = DASHBOARDS[name]
    jsonschema.validate(dashboard, _schema("dashboard"))
    query = _schema("prometheus")
    for panel in dashboard["panels"]:
        kind = panel["type"]
        assert kind in PANEL_SCHEMAS, kind
        jsonschema.validate(panel["options"], _schema(kind, "Options"))
        custom = panel["fieldConfig"]["defaults"].get("custom")
        if custom is not None:
            jsonschema.validate(custom, _schema(kind, "FieldConfig"))
    for _, target in prometheus_targets(dashboard):
        jsonschema.validate(target, query)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_inside_the_grid_and_not_overlapping(name: str) -> None:
    cells: dict[tuple[int, int], str] = {}
    ids = set()
    for panel in DASHBOARDS[name]["panels"]:
        ids.add(panel["id"])
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]
    assert len(ids) == len(DASHBOARDS[name]["panels"])


def test_datasource_uids_match_provisioning() -> None:
    provisioned = yaml.safe_load((ROOT / "grafana/provisioning/datasources/datasources.yaml").read_text())
    by_uid = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    for exemplar in next(d for d in provisioned["datasources"] if d["type"] == "prometheus")["jsonData"][
        "exemplarTraceIdDestinations"
    ]:
        assert exemplar["datasourceUid"] in by_uid
    text = json.dumps(DASHBOARDS)
    refs = re.findall(r'\{"type": "(\w+)", "uid": "([^"]+)"\}', text)
    assert refs
    for kind, uid in refs:
        if kind == "grafana":
            continue
        assert by_uid.get(uid) == kind, (kind, uid)
    links = re.findall(r"/explore\?[^\"]+", text)
    assert links and all("llm-cost-tempo" in link for link in links)


def test_dashboards_provisioned_from_their_directory() -> None:
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/dashboards.yaml").read_text())["providers"][0]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_queries_use_windows_not_lifetime_totals() -> None:
    """Counters only inside rate()/increase()/the exact-increase formula, summed across instances."""
    counter = re.compile(r"\b(llm_cost_\w+_total|gen_ai_\w+_(?:count|bucket))\b(\{[^}]*\})?(\s*offset|\[)?")
    for dashboard in DASHBOARDS.values():
        for panel, target in prometheus_targets(dashboard):
            expr = target["expr"]
            for match in counter.finditer(expr):
                assert match.group(3), f"{panel['title']}: raw counter {match.group(0)!r} in {expr}"
            if "llm_cost_budget:" not in expr:
                assert expr.lstrip().startswith(("sum", "histogram_quantile", "(sum", "topk")), panel["title"]
            assert "[5m]" not in expr and "[1m]" not in expr, f"{panel['title']}: fixed window, use $__rate_interval"


def test_every_panel_documented() -> None:
    doc = (ROOT / "docs" / "STACK.md").read_text()
    for dashboard in DASHBOARDS.values():
        assert dashboard["title"] in doc
        for panel in dashboard["panels"]:
            assert f"**{panel['title']}**" in doc, f"docs/STACK.md does not describe {panel['title']!r}"


def test_generated_json_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "grafana" / "build_dashboards.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_provisioning_files_are_valid_yaml() -> None:
    for path in (ROOT / "grafana" / "provisioning").rglob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        assert data["apiVersion"] == 1, path
    alerting = yaml.safe_load((ROOT / "grafana/provisioning/alerting/llm-cost.yaml").read_text())
    assert alerting["policies"][0]["receiver"] == alerting["contactPoints"][0]["name"]
