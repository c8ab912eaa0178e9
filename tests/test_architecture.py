"""The core's shape: imports flow one way (no circle, counting only imports that run when a
module loads), and core modules stay short unless their docstring says why."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "llm_cost_otel"
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _load_time_imports(path: Path) -> set[str]:
    """Our modules ``path`` imports at load time: top level, not under ``if TYPE_CHECKING``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("llm_cost_otel")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("llm_cost_otel"):
                continue
            if not module.startswith(target + "."):  # a module's own package is loaded before it
                found.add(target)
            for alias in node.names:  # `from . import spans` imports a submodule
                candidate = f"{target}.{alias.name}"
                if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists():
                    found.add(candidate)
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    # a package's __init__ runs before its submodules: `llm_cost_otel.x` depends on llm_cost_otel
    # only through what __init__ imports, which the edges below already list
    return {name: {t for t in _load_time_imports(path) if t in modules} for name, path in modules.items()}


def test_the_import_graph_has_no_circle() -> None:
    graph = _graph()
    assert "llm_cost_otel.attribution" in graph and "llm_cost_otel.telemetry" in graph
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


CORE = (
    "_fields.py",
    "_safety.py",
    "active.py",
    "attribution.py",
    "bounded.py",
    "calls.py",
    "cost_lookup.py",
    "counts.py",
    "decorate.py",
    "deferred.py",
    "instrumentation.py",
    "kit.py",
    "metrics.py",
    "providers.py",
    "quote.py",
    "records.py",
    "semconv.py",
    "series.py",
    "spans.py",
    "streams.py",
    "telemetry.py",
    "threads.py",
    "totals.py",
    "tracking.py",
    "usage.py",
)
# Top-level modules outside the core, and why: a new module must be placed in one or the other.
NOT_CORE = {
    "__init__.py": "the public API",
    "version.py": "the version string",
    "anthropic.py": "a provider adapter",
    "google_genai.py": "a provider adapter",
    "cli.py": "the command line",
    "budgets.py": "the budgets-to-rules renderer (a tool, not on the call path)",
}


def test_every_module_is_placed() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    assert modules == set(CORE) | set(NOT_CORE), sorted(modules ^ (set(CORE) | set(NOT_CORE)))


def test_core_modules_are_short_or_say_why() -> None:
    long = []
    for name in CORE:
        path = PACKAGE / name
        lines = len(path.read_text().splitlines())
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > MAX_LINES and "Why this is long:" not in docstring:
            long.append(f"{name}: {lines} lines")
    assert not long, long
