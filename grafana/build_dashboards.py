# ruff: noqa: E501  (long PromQL and TraceQL strings read better unbroken)
"""Build the three dashboards in grafana/dashboards/ (run from the repository root):

    python grafana/build_dashboards.py          # rewrite the JSON
    python grafana/build_dashboards.py --check  # exit 1 if the JSON is out of date (CI)

The JSON is what Grafana provisions; this script keeps the three dashboards consistent (one
layout helper, one exact-spend formula shared with the budget rules). Edit here, not in the JSON.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from llm_cost_otel.budgets import window_spend_expr

OUT = Path(__file__).resolve().parent / "dashboards"
PROM = {"type": "prometheus", "uid": "llm-cost-prometheus"}
TEMPO = {"type": "tempo", "uid": "llm-cost-tempo"}
SCHEMA_VERSION = 41
TAGS = ["llm-cost"]

USD = "llm_cost_usd_total"
TOKENS = "llm_cost_tokens_total"
SAVINGS = "llm_cost_cache_savings_usd_total"
UNPRICED = "llm_cost_unpriced_total"
# The conventions' metrics under both their released names and their newest ones
# (OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental): a name matcher takes either, so
# one dashboard serves apps on either side of the migration. Inference calls move to
# gen_ai.client.inference.duration; other operations keep gen_ai.client.operation.duration.
# rate() drops the metric name, so two names with equal labels (one app exporting both: an
# overflow series, a restart across the switch) would collide: rate_any() tags each first.
CALLS = ("gen_ai_client_operation_duration_seconds_count", "gen_ai_client_inference_duration_seconds_count")
DURATION = ("gen_ai_client_operation_duration_seconds_bucket", "gen_ai_client_inference_duration_seconds_bucket")
TTFC = (
    "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
    "gen_ai_client_inference_time_to_first_chunk_seconds_bucket",
)
NAMINGS = ("released", "latest")
CALLS_SELECTOR = '__name__=~"gen_ai_client_(operation|inference)_duration_seconds_count"'
# released: one histogram told apart by gen_ai.token.type; newest: one histogram per type
TOKEN_USAGE = "gen_ai_client_token_usage_bucket"
TOKEN_HISTOGRAMS = {
    "input": "gen_ai_client_inference_operation_input_tokens_bucket",
    "output": "gen_ai_client_inference_operation_output_tokens_bucket",
}

NO_ERROR = 'error_type=""'
CACHE_READ = 'llm_cost_token_type="cache_read"'
ALL_INPUT = 'llm_cost_token_type=~"input|cache_read|cache_write"'
BASE = 'gen_ai_provider_name=~"$provider", gen_ai_request_model=~"$model"'
ATTRIBUTION = BASE + ', app_feature=~"$feature", tenant_id=~"$tenant", user_id=~"$user", agent_name=~"$agent"'


def sel(metric: str, matchers: str, extra: str = "") -> str:
    """``metric{matchers, extra}``; ``metric`` may be a ``__name__`` matcher instead of a name."""
    if metric.startswith("__name__"):
        return "{" + ", ".join(x for x in (metric, matchers, extra) if x) + "}"
    inner = ", ".join(x for x in (matchers, extra) if x)
    return f"{metric}{{{inner}}}" if inner else metric


def rate_any(names: tuple[str, ...], matchers: str, extra: str = "", window: str = "$__rate_interval") -> str:
    """The rates of the released and the newest name (``names``, in that order) as one vector,
    each tagged (``naming``): without the tag, rate() leaves two names with equal labels
    indistinguishable, and PromQL rejects the vector (or ``or`` drops one). Aggregate it."""
    return " or ".join(
        f'label_replace(rate({sel(name, matchers, extra)}[{window}]), "naming", "{tag}", "", "")'
        for name, tag in zip(names, NAMINGS, strict=True)
    )


def token_rates(matchers: str) -> str:
    """Per-call token histogram rates by gen_ai.token.type, from either naming (tagged, as in
    rate_any: one process can export both)."""
    newest = " or ".join(
        f'label_replace(label_replace(rate({sel(name, matchers)}[$__rate_interval]), "gen_ai_token_type", "{kind}", "", ""), "naming", "latest", "", "")'
        for kind, name in TOKEN_HISTOGRAMS.items()
    )
    return (
        f'label_replace(rate({sel(TOKEN_USAGE, matchers)}[$__rate_interval]), "naming", "released", "", "") or {newest}'
    )


# --- queries --------------------------------------------------------------------------------


def prom(expr: str, legend: str = "", ref: str = "A", instant: bool = False, fmt: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"datasource": PROM, "refId": ref, "expr": expr, "editorMode": "code"}
    if legend:
        target["legendFormat"] = legend
    if instant:
        target["instant"] = True
        target["range"] = False
    else:
        target["range"] = True
        target["instant"] = False
    if fmt:
        target["format"] = fmt
    return target


def traceql(query: str, ref: str = "A", metrics: bool = False, limit: int = 20) -> dict[str, Any]:
    target: dict[str, Any] = {"datasource": TEMPO, "refId": ref, "query": query, "queryType": "traceql"}
    if metrics:
        target["metricsQueryType"] = "range"
    else:
        target["limit"] = limit
        target["tableType"] = "spans"
    return target


def tempo_link(title: str, traceql_query: str) -> dict[str, Any]:
    """A data link that opens the spans behind a point in Explore (Tempo, same time range)."""
    panes = {
        "t": {
            "datasource": TEMPO["uid"],
            "queries": [{"refId": "A", "datasource": TEMPO, "queryType": "traceql", "query": traceql_query}],
            "range": {"from": "${__from}", "to": "${__to}"},
        }
    }
    url = "/explore?schemaVersion=1&orgId=1&panes=" + urllib.parse.quote(json.dumps(panes, separators=(",", ":")))
    return {
        "title": title,
        "type": "link",
        "url": url,
        "icon": "external link",
        "tooltip": "Open the spans in Tempo",
        "tags": [],
        "asDropdown": False,
        "targetBlank": True,
        "includeVars": False,
        "keepTime": True,
    }


MODEL_SPANS = tempo_link(
    "Spans of ${__field.labels.gen_ai_request_model}",
    '{ span.gen_ai.request.model = "${__field.labels.gen_ai_request_model}" && span.gen_ai.usage.cost > 0 }',
)
PROVIDER_SPANS = tempo_link(
    "Most expensive spans of ${__field.labels.gen_ai_provider_name}",
    '{ span.gen_ai.provider.name = "${__field.labels.gen_ai_provider_name}" && span.gen_ai.usage.cost > 0.01 }',
)


# --- panels ---------------------------------------------------------------------------------


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


GREEN = thresholds((None, "green"))


def field_config(unit: str, custom: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit, "thresholds": extra.pop("thresholds", GREEN)}
    if custom is not None:
        defaults["custom"] = custom
    defaults.update(extra)
    return {"defaults": defaults, "overrides": []}


def panel(kind: str, title: str, description: str, targets: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    datasource = TEMPO if targets and targets[0]["datasource"] is TEMPO else PROM
    p: dict[str, Any] = {"type": kind, "title": title, "description": description, "datasource": datasource}
    p["targets"] = targets
    p.update(kw)
    return p


def stat(title: str, description: str, expr: str, unit: str, **kw: Any) -> dict[str, Any]:
    fc = field_config(unit, thresholds=kw.pop("thresholds", GREEN), decimals=kw.pop("decimals", 2))
    return panel(
        "stat",
        title,
        description,
        [prom(expr, instant=True)],
        fieldConfig=fc,
        options={
            "graphMode": "none",
            "colorMode": kw.pop("color_mode", "value"),
            "justifyMode": "auto",
            "textMode": "value",
            "wideLayout": True,
            "showPercentChange": False,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "percentChangeColorMode": "standard",
            "orientation": "auto",
        },
        **kw,
    )


TS_CUSTOM = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": False}


def timeseries(title: str, description: str, targets: list[dict[str, Any]], unit: str, **kw: Any) -> dict[str, Any]:
    custom = dict(TS_CUSTOM, **kw.pop("custom", {}))
    links = kw.pop("links", None)
    fc = field_config(unit, custom, **({"links": links} if links else {}))
    return panel(
        "timeseries",
        title,
        description,
        targets,
        fieldConfig=fc,
        options={
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "calcs": ["mean", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        **kw,
    )


def bargauge(title: str, description: str, expr: str, legend: str, unit: str, **kw: Any) -> dict[str, Any]:
    return panel(
        "bargauge",
        title,
        description,
        [prom(expr, legend, instant=True)],
        fieldConfig=field_config(unit, thresholds=kw.pop("thresholds", GREEN), **kw.pop("extra", {})),
        options={
            "displayMode": "gradient",
            "valueMode": "color",
            "namePlacement": "auto",
            "showUnfilled": True,
            "sizing": "auto",
            "minVizWidth": 8,
            "minVizHeight": 16,
            "maxVizHeight": 300,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False, "calcs": []},
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
        },
        **kw,
    )


def piechart(title: str, description: str, expr: str, legend: str, unit: str) -> dict[str, Any]:
    return panel(
        "piechart",
        title,
        description,
        [prom(expr, legend, instant=True)],
        fieldConfig=field_config(unit),
        options={
            "pieType": "donut",
            "displayLabels": ["percent"],
            "tooltip": {"mode": "single", "sort": "none"},
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "legend": {
                "values": ["value", "percent"],
                "displayMode": "table",
                "placement": "right",
                "showLegend": True,
                "calcs": [],
            },
            "orientation": "auto",
        },
    )


def table(title: str, description: str, targets: list[dict[str, Any]], unit: str, sort_by: str) -> dict[str, Any]:
    return panel(
        "table",
        title,
        description,
        targets,
        fieldConfig=field_config(unit, {"align": "auto", "filterable": True, "inspect": False}),
        options={
            "frameIndex": 0,
            "showHeader": True,
            "sortBy": [{"displayName": sort_by, "desc": True}],
            "footer": {"show": True, "reducer": ["sum"], "fields": [], "countRows": False},
            "cellHeight": "sm",
        },
        transformations=[
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": sort_by}}}
        ],
    )


def trace_table(title: str, description: str, query: str) -> dict[str, Any]:
    return panel(
        "table",
        title,
        description,
        [traceql(query)],
        fieldConfig=field_config("none", {"align": "auto", "filterable": True, "inspect": False}),
        options={"frameIndex": 0, "showHeader": True, "cellHeight": "sm"},
    )


def layout(rows: list[list[tuple[int, int, dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Rows of (width, height, panel), left to right, top to bottom; ids in order."""
    panels: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        x = 0
        height = 0
        for w, h, p in row:
            p = dict(p, id=len(panels) + 1, gridPos={"h": h, "w": w, "x": x, "y": y})
            panels.append(p)
            x += w
            height = max(height, h)
        if x > 24:
            raise ValueError(f"row at y={y} is {x} columns wide")
        y += height
    return panels


# --- template variables ---------------------------------------------------------------------


def query_var(name: str, label: str, metric_query: str, description: str) -> dict[str, Any]:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "description": description,
        "datasource": PROM,
        "query": metric_query,
        "definition": metric_query,
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "options": [],
        "regex": "",
    }


PROVIDER_CHOSEN = 'gen_ai_provider_name=~"$provider"'


def provider_model_vars(metric: str) -> list[dict[str, Any]]:
    return [
        query_var(
            "provider", "Provider", f"label_values({sel(metric, '')}, gen_ai_provider_name)", "gen_ai.provider.name"
        ),
        query_var(
            "model",
            "Model",
            f"label_values({sel(metric, PROVIDER_CHOSEN)}, gen_ai_request_model)",
            "gen_ai.request.model",
        ),
    ]


def dashboard(uid: str, title: str, description: str, panels: list[dict[str, Any]], variables: list[Any]) -> Any:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": TAGS,
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {"refresh_intervals": ["30s", "1m", "5m", "15m", "1h"]},
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "links": [
            {
                "title": "LLM cost dashboards",
                "type": "dashboards",
                "icon": "external link",
                "tooltip": "",
                "tags": TAGS,
                "asDropdown": True,
                "targetBlank": False,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {
            "list": [
                {
                    "name": "Annotations & Alerts",
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "type": "dashboard",
                },
                {
                    "name": "Budget alerts",
                    "datasource": PROM,
                    "enable": True,
                    "iconColor": "red",
                    "expr": 'ALERTS{alertstate="firing", alertname=~"LLM.*"}',
                    "titleFormat": "{{alertname}}",
                    "textFormat": "{{budget}}{{gen_ai_provider_name}} {{severity}}",
                },
            ]
        },
        "templating": {"list": variables},
        "panels": panels,
    }


# --- 1. spend overview ----------------------------------------------------------------------


def overview() -> Any:
    s = sel(USD, BASE)
    spend = window_spend_expr(s, "$__range")
    remaining = "(days_in_month() * 86400 - (day_of_month() - 1) * 86400 - hour() * 3600 - minute() * 60)"
    red_if_any = thresholds((None, "green"), (1, "red"))
    stats = [
        (4, 5, stat("Spend (selected range)", "Exact spend in the dashboard's time range.", spend, "currencyUSD")),
        (
            4,
            5,
            stat(
                "Spend today", "Since local midnight.", spend, "currencyUSD", timeFrom="now/d", hideTimeOverride=False
            ),
        ),
        (4, 5, stat("Spend this month", "Month to date.", spend, "currencyUSD", timeFrom="now/M")),
        (
            4,
            5,
            stat(
                "Projected month end",
                "Month to date plus the last day's average spend rate until the end of the month.",
                f"{spend}\n+\n(sum(rate({s}[1d])) or vector(0)) * {remaining}",
                "currencyUSD",
                timeFrom="now/M",
            ),
        ),
        (
            4,
            5,
            stat(
                "Unpriced calls",
                "Calls whose model has no known price: their cost is missing from every figure here. "
                "Red means: add a price override.",
                window_spend_expr(sel(UNPRICED, BASE), "$__range") + "\nor vector(0)",
                "short",
                decimals=0,
                thresholds=red_if_any,
                color_mode="background",
            ),
        ),
        (
            4,
            5,
            stat(
                "Saved by prompt caching",
                "What cache reads saved against the uncached input price, in the selected range.",
                window_spend_expr(sel(SAVINGS, BASE), "$__range") + "\nor vector(0)",
                "currencyUSD",
            ),
        ),
    ]
    rates = [
        (
            12,
            8,
            timeseries(
                "Spend rate by provider",
                "USD per hour; click a point for the most expensive spans of that provider in Tempo.",
                [
                    prom(
                        f"sum by (gen_ai_provider_name) (rate({s}[$__rate_interval])) * 3600",
                        "{{gen_ai_provider_name}}",
                    )
                ],
                "currencyUSD",
                links=[PROVIDER_SPANS],
            ),
        ),
        (
            12,
            8,
            timeseries(
                "Spend rate by model",
                "USD per hour by requested model; click a point for that model's spans in Tempo.",
                [
                    prom(
                        f"sum by (gen_ai_request_model) (rate({s}[$__rate_interval])) * 3600",
                        "{{gen_ai_request_model}}",
                    )
                ],
                "currencyUSD",
                links=[MODEL_SPANS],
            ),
        ),
    ]
    breakdown = [
        (
            6,
            8,
            piechart(
                "Spend by provider",
                "Exact spend in the range by gen_ai.provider.name.",
                window_spend_expr(s, "$__range", ["gen_ai_provider_name"]),
                "{{gen_ai_provider_name}}",
                "currencyUSD",
            ),
        ),
        (
            6,
            8,
            bargauge(
                "Spend by model",
                "Exact spend in the range by requested model.",
                window_spend_expr(s, "$__range", ["gen_ai_request_model"]),
                "{{gen_ai_request_model}}",
                "currencyUSD",
            ),
        ),
        (
            6,
            8,
            bargauge(
                "Spend by component",
                "Input, output, cache read, cache write and request fees (web search...).",
                window_spend_expr(s, "$__range", ["llm_cost_component"]),
                "{{llm_cost_component}}",
                "currencyUSD",
            ),
        ),
        (
            6,
            8,
            timeseries(
                "Average cost per call by model",
                "Spend rate over the rate of successful calls. Percentiles from spans: see the Tempo panel.",
                [
                    prom(
                        f"sum by (gen_ai_request_model) (rate({s}[$__rate_interval]))\n/\n"
                        f"sum by (gen_ai_request_model) ({rate_any(CALLS, BASE, NO_ERROR)})",
                        "{{gen_ai_request_model}}",
                    )
                ],
                "currencyUSD",
                links=[MODEL_SPANS],
            ),
        ),
    ]
    tokens = [
        (
            8,
            8,
            timeseries(
                "Tokens by type",
                "Billed tokens per second: uncached input, cache read, cache write, output (disjoint).",
                [
                    prom(
                        f"sum by (llm_cost_token_type) (rate({sel(TOKENS, BASE)}[$__rate_interval]))",
                        "{{llm_cost_token_type}}",
                    )
                ],
                "short",
                custom={"stacking": {"mode": "normal", "group": "A"}},
            ),
        ),
        (
            8,
            8,
            timeseries(
                "Cache hit ratio and savings",
                "Share of input tokens read from the prompt cache, by model; and USD per hour saved by caching.",
                [
                    prom(
                        f"sum by (gen_ai_request_model) (rate({sel(TOKENS, BASE, CACHE_READ)}[$__rate_interval]))\n/\n"
                        f"(sum by (gen_ai_request_model) (rate({sel(TOKENS, BASE, ALL_INPUT)}[$__rate_interval])) > 0)",
                        "hit ratio {{gen_ai_request_model}}",
                    ),
                    prom(f"sum(rate({sel(SAVINGS, BASE)}[$__rate_interval])) * 3600", "saved USD/h", ref="B"),
                ],
                "percentunit",
            ),
        ),
        (
            8,
            8,
            panel(
                "timeseries",
                "Cost per call p50 / p95 (from spans)",
                "TraceQL metrics over gen_ai.usage.cost of every priced call (Tempo local-blocks).",
                [
                    traceql(
                        "{ span.gen_ai.usage.cost > 0 } | quantile_over_time(span.gen_ai.usage.cost, 0.5, 0.95)",
                        metrics=True,
                    )
                ],
                fieldConfig=field_config("currencyUSD", dict(TS_CUSTOM)),
                options={
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
                    "tooltip": {"mode": "multi", "sort": "desc"},
                },
            ),
        ),
    ]
    budgets = [
        (
            8,
            8,
            table(
                "Unpriced calls by model",
                "Never hidden: every model with calls that had no price in the range.",
                [
                    prom(
                        window_spend_expr(
                            sel(UNPRICED, BASE), "$__range", ["gen_ai_provider_name", "gen_ai_request_model"]
                        )
                        + " > 0",
                        instant=True,
                        fmt="table",
                    )
                ],
                "short",
                "unpriced calls",
            ),
        ),
        (
            8,
            8,
            bargauge(
                "Budgets used",
                "Spend over each budget's rolling window as a share of its limit (budgets.yaml).",
                "llm_cost_budget:usage_ratio",
                "{{budget}} ({{window}})",
                "percentunit",
                thresholds=thresholds((None, "green"), (0.8, "orange"), (1, "red")),
                extra={"min": 0, "max": 1},
            ),
        ),
        (
            8,
            8,
            timeseries(
                "Budget spend vs limit",
                "Each budget's window spend (solid) against its limit (dashed).",
                [
                    prom("llm_cost_budget:spend_usd", "{{budget}} spend"),
                    prom("llm_cost_budget:limit_usd", "{{budget}} limit", ref="B"),
                ],
                "currencyUSD",
            ),
        ),
    ]
    traces = [
        (
            24,
            9,
            trace_table(
                "Most expensive calls (traces)",
                "Spans with a cost above 1 cent in the range; open one to see the request behind a spike.",
                "{ span.gen_ai.usage.cost > 0.01 } | select(span.gen_ai.usage.cost, span.gen_ai.request.model, "
                "span.gen_ai.provider.name, span.app.feature, span.tenant.id)",
            ),
        )
    ]
    return dashboard(
        "llm-cost-overview",
        "LLM spend overview",
        "What LLM calls cost: exact spend, rates, breakdowns, caching, unpriced calls and budgets.",
        layout([stats, rates, breakdown, tokens, budgets, traces]),
        provider_model_vars(USD),
    )


# --- 2. attribution -------------------------------------------------------------------------


def attribution() -> Any:
    s = sel(USD, ATTRIBUTION)
    keys = [("app_feature", "feature"), ("tenant_id", "tenant"), ("user_id", "user"), ("agent_name", "agent")]
    variables = provider_model_vars(USD)
    for label, name in keys:
        variables.append(
            query_var(
                name, name.capitalize(), f"label_values({USD}, {label})", f"{label.replace('_', '.')} (allowlisted)"
            )
        )
    variables.append(
        {
            "type": "custom",
            "name": "dimension",
            "label": "Group by",
            "description": "Attribution key for the 'by dimension' panels",
            "query": ",".join(label for label, _ in keys),
            "current": {"text": "app_feature", "value": "app_feature"},
            "options": [{"text": label, "value": label, "selected": label == "app_feature"} for label, _ in keys],
            "multi": False,
            "includeAll": False,
        }
    )
    top = [
        (
            10,
            9,
            table(
                "Spend by $dimension",
                "Exact spend in the range by the chosen attribution key (empty: calls without it).",
                [prom(window_spend_expr(s, "$__range", ["$dimension"]), instant=True, fmt="table")],
                "currencyUSD",
                "spend",
            ),
        ),
        (
            14,
            9,
            timeseries(
                "Spend rate by $dimension",
                "USD per hour by the chosen attribution key.",
                [prom(f"sum by ($dimension) (rate({s}[$__rate_interval])) * 3600", "{{$dimension}}")],
                "currencyUSD",
            ),
        ),
    ]
    bars = []
    for label, name in keys:
        expr = window_spend_expr(s, "$__range", [label])
        if label == "user_id":
            expr = f"topk(20,\n{expr}\n)"
        bars.append(
            (
                6,
                8,
                bargauge(
                    f"Spend by {name}" + (" (top 20)" if label == "user_id" else ""),
                    f"Exact spend in the range by {label.replace('_', '.')}.",
                    expr,
                    "{{" + label + "}}",
                    "currencyUSD",
                ),
            )
        )
    over_time = [
        (
            12,
            8,
            timeseries(
                "Spend rate by feature",
                "USD per hour by app.feature.",
                [prom(f"sum by (app_feature) (rate({s}[$__rate_interval])) * 3600", "{{app_feature}}")],
                "currencyUSD",
            ),
        ),
        (
            12,
            8,
            timeseries(
                "Spend rate by tenant",
                "USD per hour by tenant.id.",
                [prom(f"sum by (tenant_id) (rate({s}[$__rate_interval])) * 3600", "{{tenant_id}}")],
                "currencyUSD",
            ),
        ),
    ]
    detail = [
        (
            12,
            8,
            table(
                "Spend by $dimension and model",
                "Exact spend in the range by attribution key and requested model.",
                [
                    prom(
                        window_spend_expr(s, "$__range", ["$dimension", "gen_ai_request_model"]),
                        instant=True,
                        fmt="table",
                    )
                ],
                "currencyUSD",
                "spend",
            ),
        ),
        (
            12,
            8,
            timeseries(
                "Average cost per call by $dimension",
                "Spend rate over the rate of successful calls.",
                [
                    prom(
                        f"sum by ($dimension) (rate({s}[$__rate_interval]))\n/\n"
                        f"sum by ($dimension) ({rate_any(CALLS, ATTRIBUTION, NO_ERROR)})",
                        "{{$dimension}}",
                    )
                ],
                "currencyUSD",
            ),
        ),
    ]
    units = [
        (
            12,
            9,
            panel(
                "timeseries",
                "Cost per unit of work p50 / p95 (track() rollups)",
                "TraceQL metrics over llm_cost.rollup.cost_usd of track() spans, by span name.",
                [
                    traceql(
                        "{ span.llm_cost.rollup.cost_usd > 0 } | quantile_over_time(span.llm_cost.rollup.cost_usd, 0.5, 0.95) by (name)",
                        metrics=True,
                    )
                ],
                fieldConfig=field_config("currencyUSD", dict(TS_CUSTOM)),
                options={
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
                    "tooltip": {"mode": "multi", "sort": "desc"},
                },
            ),
        ),
        (
            12,
            9,
            trace_table(
                "Most expensive units of work (traces)",
                "track() spans with their rolled-up cost and call count.",
                "{ span.llm_cost.rollup.cost_usd > 0 } | select(span.llm_cost.rollup.cost_usd, span.llm_cost.rollup.calls, "
                "span.app.feature, span.tenant.id, span.user.id)",
            ),
        ),
    ]
    return dashboard(
        "llm-cost-attribution",
        "LLM spend attribution",
        "Who and what spends: by feature, tenant, user and agent (the allowlisted attribution keys).",
        layout([top, bars, over_time, detail, units]),
        variables,
    )


# --- 3. performance -------------------------------------------------------------------------


def performance() -> Any:
    calls = rate_any(CALLS, BASE)
    errors = rate_any(CALLS, BASE, 'error_type!=""')
    dur = rate_any(DURATION, BASE)
    ttfc = rate_any(TTFC, BASE)
    pct = thresholds((None, "green"), (0.05, "orange"), (0.1, "red"))
    stats = [
        (
            6,
            5,
            stat("Calls per second", "All calls, failed ones included.", f"sum({calls})", "reqps"),
        ),
        (
            6,
            5,
            stat(
                "Error ratio",
                "Share of calls with error.type set.",
                f"(sum({errors}) or vector(0))\n/\nsum({calls})",
                "percentunit",
                thresholds=pct,
            ),
        ),
        (
            6,
            5,
            stat(
                "Latency p95",
                "Whole-call duration (streams: until the last chunk).",
                f"histogram_quantile(0.95, sum by (le) ({dur}))",
                "s",
            ),
        ),
        (
            6,
            5,
            stat(
                "Time to first chunk p95",
                "Streams only.",
                f"histogram_quantile(0.95, sum by (le) ({ttfc}))",
                "s",
            ),
        ),
    ]
    rates = [
        (
            12,
            8,
            timeseries(
                "Call rate by model",
                "Calls per second by requested model.",
                [prom(f"sum by (gen_ai_request_model) ({calls})", "{{gen_ai_request_model}}")],
                "reqps",
                links=[MODEL_SPANS],
            ),
        ),
        (
            12,
            8,
            timeseries(
                "Errors by error.type",
                "Failed calls per second by error.type (HTTP status or exception class) and provider.",
                [
                    prom(
                        f"sum by (gen_ai_provider_name, error_type) ({errors})",
                        "{{gen_ai_provider_name}} {{error_type}}",
                    )
                ],
                "reqps",
            ),
        ),
    ]
    latency = [
        (
            12,
            8,
            timeseries(
                "Latency p50 / p95 / p99",
                "All models; exemplars link to the trace of a slow call.",
                [
                    dict(
                        prom(
                            f"histogram_quantile({q}, sum by (le) ({dur}))",
                            f"p{round(q * 100)}",
                            ref=ref,
                        ),
                        exemplar=True,
                    )
                    for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))
                ],
                "s",
            ),
        ),
        (
            12,
            8,
            timeseries(
                "Latency p95 by model",
                "Per requested model.",
                [
                    dict(
                        prom(
                            f"histogram_quantile(0.95, sum by (le, gen_ai_request_model) ({dur}))",
                            "{{gen_ai_request_model}}",
                        ),
                        exemplar=True,
                    )
                ],
                "s",
                links=[MODEL_SPANS],
            ),
        ),
    ]
    streams = [
        (
            12,
            8,
            timeseries(
                "Time to first chunk p50 / p95 by model",
                "Streams: from the request to the first chunk.",
                [
                    prom(
                        f"histogram_quantile({q}, sum by (le, gen_ai_request_model) ({ttfc}))",
                        f"p{round(q * 100)} {{{{gen_ai_request_model}}}}",
                        ref=ref,
                    )
                    for q, ref in ((0.5, "A"), (0.95, "B"))
                ],
                "s",
            ),
        ),
        (
            12,
            8,
            timeseries(
                "Tokens per call p50 / p95",
                "gen_ai.client.token.usage (newest conventions: gen_ai.client.inference.operation.input_tokens / "
                "output_tokens): input (cache included) and output tokens per call.",
                [
                    prom(
                        f"histogram_quantile({q}, sum by (le, gen_ai_token_type) ({token_rates(BASE)}))",
                        f"p{round(q * 100)} {{{{gen_ai_token_type}}}}",
                        ref=ref,
                    )
                    for q, ref in ((0.5, "A"), (0.95, "B"))
                ],
                "short",
            ),
        ),
    ]
    traces = [
        (
            24,
            9,
            trace_table(
                "Failed calls (traces)",
                "Recent LLM call spans with an error status.",
                "{ span.gen_ai.provider.name != nil && status = error } | select(span.error.type, span.gen_ai.request.model)",
            ),
        )
    ]
    return dashboard(
        "llm-cost-performance",
        "LLM performance",
        "Call rate, errors by error.type, latency and time to first chunk by model.",
        layout([stats, rates, latency, streams, traces]),
        provider_model_vars(CALLS_SELECTOR),
    )


DASHBOARDS = {
    "llm-spend-overview.json": overview,
    "llm-attribution.json": attribution,
    "llm-performance.json": performance,
}


def render() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in render().items():
        path = OUT / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python grafana/build_dashboards.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
