"""Spend budgets declared in YAML, rendered into Prometheus recording and alert rules.

    llm-cost-otel budgets render budgets.yaml > prometheus/rules/llm-cost-budgets.yml

A budgets file::

    dashboard_url: http://localhost:3000/d/llm-cost-overview   # optional, linked from every alert
    budgets:
      - name: monthly-total
        window: 30d              # rolling window: 1d, 7d or 30d
        limit_usd: 500
      - name: import-feature
        window: 1d
        limit_usd: 20
        matchers: 'app_feature="import"'   # PromQL label matchers on llm_cost_usd_total
        warn_ratio: 0.75                   # default 0.8
        labels: {team: ingest}             # extra labels on the alerts (routing)

Each budget becomes recording rules (``llm_cost_budget:limit_usd``, ``:warn_usd``, ``:spend_usd``,
``:usage_ratio``, ``:burn_rate_usd_per_hour``, all labelled ``budget`` and ``window``) and three
alerts: ``LLMBudgetWarning`` (spend >= warn ratio x limit), ``LLMBudgetExceeded`` (spend >= limit)
and ``LLMBudgetForecast`` (still under the limit, but at the recent burn rate it will be reached
within a quarter of the window).

Window spend is computed exactly, not with ``increase()`` alone: ``increase()`` needs two samples
of a series and so drops the first value of every series that appears inside the window (the
first call of a new model, feature or tenant). See :func:`exact_increase`.

Needs PyYAML (``pip install pyyaml``).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

COST_METRIC = "llm_cost_usd_total"
WINDOWS = {"1d": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}
DEFAULT_WARN_RATIO = 0.8
DEFAULT_DASHBOARD_URL = "http://localhost:3000/d/llm-cost-overview"
RULE_GROUP = "llm-cost-budgets"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION_RE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_MATCHER_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_RESERVED_LABELS = frozenset({"budget", "window", "severity", "alertname"})
_BUDGET_KEYS = frozenset({"name", "window", "limit_usd", "matchers", "warn_ratio", "description", "labels"})
_TOP_KEYS = frozenset({"budgets", "dashboard_url", "evaluation_interval", "for"})
_FOR_KEYS = ("warning", "critical", "forecast")


class BudgetError(ValueError):
    """A budgets file that cannot be rendered; the message names the file, budget and key."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def promql(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Budget:
    name: str
    window: str
    limit_usd: float
    matchers: tuple[Matcher, ...] = ()
    warn_ratio: float = DEFAULT_WARN_RATIO
    description: str = ""
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def selector(self) -> str:
        """The cost counter restricted to this budget's matchers."""
        if not self.matchers:
            return COST_METRIC
        return COST_METRIC + "{" + ", ".join(m.promql() for m in self.matchers) + "}"

    @property
    def scope(self) -> str:
        """Human-readable scope for annotations."""
        return ", ".join(m.promql() for m in self.matchers) if self.matchers else "all LLM spend"

    @property
    def lookback(self) -> str:
        """Burn-rate lookback of the forecast: 1/24 of the window (1d -> 1h)."""
        return _hours(WINDOWS[self.window] // 24)

    @property
    def horizon_seconds(self) -> int:
        """How far ahead the forecast looks: a quarter of the window (1d -> 6h)."""
        return WINDOWS[self.window] // 4


@dataclass(frozen=True)
class Settings:
    """Rendering knobs; the defaults suit production, tests render with short ones."""

    evaluation_interval: str = "1m"
    warning_for: str = "5m"
    critical_for: str = "1m"
    forecast_for: str = "15m"
    dashboard_url: str = DEFAULT_DASHBOARD_URL


@dataclass(frozen=True)
class BudgetFile:
    budgets: tuple[Budget, ...]
    settings: Settings = field(default_factory=Settings)


# --- PromQL ---------------------------------------------------------------------------------


def exact_increase(selector: str, window: str) -> str:
    """Per-series increase of a counter over ``window``, without ``increase()``'s extrapolation.

    Three cases, first match wins per series:

    * restarted inside the window (``resets() > 0``): Prometheus' own reset-aware ``increase()``;
    * present at the window start: last value minus the value at the start (exact);
    * first seen inside the window: its last value (a counter starts from zero).

    Series never reset in practice when every process has its own ``service.instance.id`` (the
    OpenTelemetry SDK generates one), so the result is exact to the sample. Sum it with ``sum by``.
    """
    return (
        f"  (increase({selector}[{window}]) and resets({selector}[{window}]) > 0)\n"
        f"or\n  (last_over_time({selector}[{window}]) - {selector} offset {window})\n"
        f"or\n  last_over_time({selector}[{window}])"
    )


def window_spend_expr(selector: str, window: str, by: Sequence[str] = ()) -> str:
    """Total (or ``sum by``) spend over ``window``, exact as :func:`exact_increase`."""
    grouping = f" by ({', '.join(by)})" if by else ""
    body = "\n".join("  " + line for line in exact_increase(selector, window).splitlines())
    return f"sum{grouping} (\n{body}\n)"


# --- parsing --------------------------------------------------------------------------------


def parse_matchers(value: Any, where: str) -> tuple[Matcher, ...]:
    """``'a="x", b=~"y.*"'``, a list of such strings, or a mapping of equality matchers."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        items = [f"{k}={_quote(v, where)}" for k, v in value.items()]
        value = ", ".join(items)
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise BudgetError(f"{where}: matchers must be strings like 'app_feature=\"import\"'")
        value = ", ".join(value)
    if not isinstance(value, str):
        raise BudgetError(f"{where}: matchers must be a string, a list of strings or a mapping")
    text = value.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(text):
        m = _MATCHER_RE.match(text, pos)
        if m is None:
            raise BudgetError(f'{where}: cannot parse matchers at {text[pos:]!r} (expected label="value", ...)')
        label, op, raw = m.group(1), m.group(2), m.group(3)
        if label.startswith("__"):
            raise BudgetError(f"{where}: label {label!r} is reserved")
        unescaped = re.sub(r"\\(.)", lambda g: "\n" if g.group(1) == "n" else g.group(1), raw)
        if "{{" in unescaped or "}}" in unescaped:
            raise BudgetError(f"{where}: matcher values may not contain '{{{{' or '}}}}'")
        if op in ("=~", "!~"):
            try:
                re.compile(unescaped)
            except re.error as exc:
                raise BudgetError(f"{where}: bad regular expression {unescaped!r}: {exc}") from None
        matchers.append(Matcher(label, op, unescaped))
        pos = m.end()
    return tuple(matchers)


def _quote(value: Any, where: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise BudgetError(f"{where}: matcher values must be strings")
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _duration(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _DURATION_RE.match(value):
        raise BudgetError(f"{where}: {value!r} is not a Prometheus duration like 30s, 5m or 1h")
    return value


def parse_budgets(data: Any, source: str = "<budgets>") -> BudgetFile:
    """Validate a parsed budgets document; raise :class:`BudgetError` naming what is wrong."""
    if not isinstance(data, Mapping):
        raise BudgetError(f"{source}: expected a mapping with a 'budgets' list")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise BudgetError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    settings = Settings()
    updates: dict[str, str] = {}
    if "dashboard_url" in data:
        url = data["dashboard_url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or "{{" in url:
            raise BudgetError(f"{source}: dashboard_url must be an http(s) URL")
        updates["dashboard_url"] = url
    if "evaluation_interval" in data:
        updates["evaluation_interval"] = _duration(data["evaluation_interval"], f"{source}: evaluation_interval")
    if "for" in data:
        fors = data["for"]
        if not isinstance(fors, Mapping) or set(fors) - set(_FOR_KEYS):
            raise BudgetError(f"{source}: 'for' must map {', '.join(_FOR_KEYS)} to durations")
        for key, value in fors.items():
            updates[f"{key}_for"] = _duration(value, f"{source}: for.{key}")
    if updates:
        settings = Settings(**{**settings.__dict__, **updates})
    raw_budgets = data.get("budgets")
    if not isinstance(raw_budgets, list) or not raw_budgets:
        raise BudgetError(f"{source}: 'budgets' must be a non-empty list")
    budgets: list[Budget] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_budgets):
        where = f"{source}: budgets[{index}]"
        if not isinstance(raw, Mapping):
            raise BudgetError(f"{where}: expected a mapping")
        name = raw.get("name")
        if isinstance(name, str):
            where = f"{source}: budget {name!r}"
        unknown = set(raw) - _BUDGET_KEYS
        if unknown:
            raise BudgetError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise BudgetError(f"{where}: name must match {_NAME_RE.pattern}")
        if name in seen:
            raise BudgetError(f"{where}: duplicate name")
        seen.add(name)
        window = raw.get("window")
        if not isinstance(window, str) or window not in WINDOWS:  # a YAML list or mapping is unhashable
            raise BudgetError(f"{where}: window must be one of {', '.join(WINDOWS)}, not {window!r}")
        limit = raw.get("limit_usd")
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not _finite(limit) or limit <= 0:
            raise BudgetError(f"{where}: limit_usd must be a positive number, not {limit!r}")
        ratio = raw.get("warn_ratio", DEFAULT_WARN_RATIO)
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio < 1:
            raise BudgetError(f"{where}: warn_ratio must be between 0 and 1 (exclusive), not {ratio!r}")
        description = raw.get("description", "")
        if not isinstance(description, str) or "{{" in description:
            raise BudgetError(f"{where}: description must be plain text")
        labels = raw.get("labels") or {}
        if not isinstance(labels, Mapping):
            raise BudgetError(f"{where}: labels must be a mapping")
        for key, value in labels.items():
            if not isinstance(key, str) or not _LABEL_RE.match(key) or key in _RESERVED_LABELS:
                raise BudgetError(f"{where}: bad or reserved alert label {key!r}")
            if not isinstance(value, str):
                raise BudgetError(f"{where}: alert label {key!r} must be a string")
        budgets.append(
            Budget(
                name=name,
                window=window,
                limit_usd=float(limit),
                matchers=parse_matchers(raw.get("matchers"), f"{where}: matchers"),
                warn_ratio=float(ratio),
                description=description.strip(),
                labels=tuple(sorted(labels.items())),
            )
        )
    return BudgetFile(tuple(budgets), settings)


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past float range (YAML has big integers)
        return False


MAX_FILE_BYTES = 1024 * 1024


def load_budgets(path: str | Path) -> BudgetFile:
    """Read and validate a budgets file; every problem is a one-line :class:`BudgetError` naming the file."""
    yaml = _yaml()
    path = Path(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # bounded: the path may be /dev/zero or a huge file
    except OSError as exc:
        raise BudgetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise BudgetError(f"{path}: larger than 1 MiB; not a budgets file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BudgetError(f"{path}: not UTF-8 text (byte {raw[exc.start]:#04x} at line {line})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BudgetError(f"{path}: not valid YAML {_yaml_problem(exc, text)}") from None
    except RecursionError:
        raise BudgetError(f"{path}: not valid YAML: nested too deeply") from None
    return parse_budgets(data, str(path))


def _yaml_problem(exc: Exception, text: str) -> str:
    """``at line L, column C: what`` on one line (PyYAML's own message spans several, with a caret)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    position = getattr(exc, "position", None)  # a ReaderError (a control character) has no mark
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    elif isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
    else:
        return ": " + " ".join(str(exc).split())
    what = str(problem).removeprefix("but ") if problem else str(exc).splitlines()[0]
    if context:
        what = f"{what} ({context})"
    return f"at line {line}, column {column}: {what}"


# --- rendering ------------------------------------------------------------------------------


def _usd(value: float) -> str:
    return f"{value:.2f}"


def _number(value: float) -> str:
    return repr(int(value)) if value == int(value) else repr(value)


def _hours(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds}s"


def _series(name: str, budget: Budget) -> str:
    return f'{name}{{budget="{budget.name}"}}'


def render_rules(budget_file: BudgetFile) -> dict[str, Any]:
    """The Prometheus rule file (as a mapping) for ``budget_file``."""
    settings = budget_file.settings
    rules: list[dict[str, Any]] = []
    for b in budget_file.budgets:
        ids = {"budget": b.name, "window": b.window}
        limit, warn = b.limit_usd, b.limit_usd * b.warn_ratio
        spend = _series("llm_cost_budget:spend_usd", b)
        rules += [
            {"record": "llm_cost_budget:limit_usd", "expr": f"vector({_number(limit)})", "labels": dict(ids)},
            {"record": "llm_cost_budget:warn_usd", "expr": f"vector({_number(warn)})", "labels": dict(ids)},
            {
                "record": "llm_cost_budget:spend_usd",
                "expr": window_spend_expr(b.selector, b.window) + "\nor vector(0)\n",
                "labels": dict(ids),
            },
            {"record": "llm_cost_budget:usage_ratio", "expr": f"{spend} / {_number(limit)}", "labels": dict(ids)},
            {
                "record": "llm_cost_budget:burn_rate_usd_per_hour",
                "expr": f"sum(rate({b.selector}[{b.lookback}])) * 3600 or vector(0)",
                "labels": dict(ids),
            },
        ]
    for b in budget_file.budgets:
        rules += _alerts(b, settings)
    return {"groups": [{"name": RULE_GROUP, "interval": settings.evaluation_interval, "rules": rules}]}


def _alerts(b: Budget, settings: Settings) -> list[dict[str, Any]]:
    limit, warn = b.limit_usd, b.limit_usd * b.warn_ratio
    spend = _series("llm_cost_budget:spend_usd", b)
    burn = _series("llm_cost_budget:burn_rate_usd_per_hour", b)
    horizon_h = b.horizon_seconds // 3600
    labels = {"budget": b.name, "window": b.window, **dict(b.labels)}
    about = f'LLM budget "{b.name}" ({b.scope}, rolling {b.window})'
    if b.description:
        about += f": {b.description}"
    spent = '{{ $value | printf "%.2f" }}'
    common = {"budget": b.name, "limit_usd": _usd(limit), "window": b.window, "dashboard": settings.dashboard_url}
    return [
        {
            "alert": "LLMBudgetWarning",
            "expr": f"{spend} >= {_number(warn)}",
            "for": settings.warning_for,
            "labels": {**labels, "severity": "warning"},
            "annotations": {
                "summary": f'LLM budget "{b.name}" has used {round(b.warn_ratio * 100):g}% of its {b.window} limit',
                "description": f"{about}. Spent {spent} USD in the last {b.window}; "
                f"limit {_usd(limit)} USD, warning from {_usd(warn)} USD.",
                "spent_usd": spent,
                **common,
            },
        },
        {
            "alert": "LLMBudgetExceeded",
            "expr": f"{spend} >= {_number(limit)}",
            "for": settings.critical_for,
            "labels": {**labels, "severity": "critical"},
            "annotations": {
                "summary": f'LLM budget "{b.name}" exceeded its {b.window} limit of {_usd(limit)} USD',
                "description": f"{about}. Spent {spent} USD in the last {b.window}; limit {_usd(limit)} USD.",
                "spent_usd": spent,
                **common,
            },
        },
        {
            "alert": "LLMBudgetForecast",
            "expr": f"{spend} + {burn} * {horizon_h} >= {_number(limit)}\nand {spend} < {_number(limit)}\n",
            "for": settings.forecast_for,
            "labels": {**labels, "severity": "warning"},
            "annotations": {
                "summary": f'LLM budget "{b.name}" will exceed {_usd(limit)} USD within {horizon_h}h '
                "at the current rate",
                "description": f"{about}. At the burn rate of the last {b.lookback} spend reaches {spent} USD "
                f"within {horizon_h}h; limit {_usd(limit)} USD. Spent so far: "
                f'{{{{ with query "{_escape_template_query(spend)}" }}}}'
                f'{{{{ . | first | value | printf "%.2f" }}}}{{{{ end }}}} USD.',
                "spent_usd": f'{{{{ with query "{_escape_template_query(spend)}" }}}}'
                f'{{{{ . | first | value | printf "%.2f" }}}}{{{{ end }}}}',
                **common,
            },
        },
    ]


def _escape_template_query(query: str) -> str:
    return query.replace("\\", "\\\\").replace('"', '\\"')


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - depends on the environment
        raise BudgetError("rendering budgets needs PyYAML: pip install pyyaml") from None
    return yaml


def render_yaml(budget_file: BudgetFile, source: str = "budgets.yaml") -> str:
    """The rule file as YAML text, with a header naming its source (multi-line PromQL as blocks)."""
    yaml = _yaml()

    class _Dumper(yaml.SafeDumper):  # type: ignore[misc, name-defined]
        pass

    def _str(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    body = yaml.dump(render_rules(budget_file), Dumper=_Dumper, sort_keys=False, width=200, allow_unicode=True)
    header = (
        f"# Generated by `llm-cost-otel budgets render {source}`. Do not edit: change the budgets\n"
        "# file and render again. Recording rules: llm_cost_budget:{limit_usd,warn_usd,spend_usd,\n"
        "# usage_ratio,burn_rate_usd_per_hour}{budget,window}. Alerts: LLMBudgetWarning,\n"
        "# LLMBudgetExceeded, LLMBudgetForecast.\n"
    )
    return header + str(body)


def render_command(
    path: str, output: str | None = None, stdout: TextIO | None = None, prog: str = "llm-cost-otel budgets render"
) -> int:
    """``llm-cost-otel budgets render PATH [-o OUTPUT]``; returns the exit status.

    0; 2 for a budgets file that cannot be used (like a bad option); 1 if the output cannot be
    written. Errors are one line on stderr, ``PROG: error: ...``, naming the file.
    """
    out = stdout or sys.stdout
    try:
        text = render_yaml(load_budgets(path), source=Path(path).name)
    except BudgetError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if output and output != "-":
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"{prog}: error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        out.write(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (``python -m llm_cost_otel.budgets render budgets.yaml``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="llm-cost-otel budgets", description="Render spend budgets")
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="render a budgets YAML file into Prometheus rules")
    render.add_argument("path", help="budgets file (YAML)")
    render.add_argument("-o", "--output", help="write here instead of standard output")
    args = parser.parse_args(argv)
    return render_command(args.path, args.output)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
