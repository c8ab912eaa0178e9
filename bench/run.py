"""Overhead benchmark for llm-cost-otel: what it adds to an LLM call, against the OpenTelemetry
floor and the other instrumentations, all measured in one run (issue 7).

    python bench/run.py                                   # full run (a few minutes)
    python bench/run.py --peers-python /tmp/bench-peers/bin/python
    python bench/run.py --quick                           # CI: a few seconds; fails only on gross regression

Every measurement runs in a fresh process (``bench/worker.py``), and configurations alternate
within each round, so drift on a shared machine lands on all of them alike. The SDKs are the
real ``anthropic`` and ``google-genai`` clients over an in-process ``httpx2.MockTransport``
returning precomputed bytes. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"

NON_STREAMING = ("anthropic.create", "google.generate_content")
STREAMS = ("anthropic.create_stream", "anthropic.stream_helper", "google.generate_content_stream")
# a stream scenario -> the non-streaming call of the same provider (the simple per-chunk estimate)
STREAM_BASE = {
    "anthropic.create_stream": "anthropic.create",
    "anthropic.stream_helper": "anthropic.create",
    "google.generate_content_stream": "google.generate_content",
}
SCENARIO_ORDER = ("floor", "anthropic.create", *STREAMS[:2], "google.generate_content", STREAMS[2])
PEERS = ("openllmetry", "openinference", "anthropic-sdk-tracing")
FULL_PEERS = ("openllmetry", "openinference")  # "best peer": spans + metrics instrumentations
PEER_PROBES = {
    "openllmetry": "opentelemetry.instrumentation.anthropic",
    "openinference": "openinference.instrumentation.anthropic, openinference.instrumentation.google_genai",
    "anthropic-sdk-tracing": "anthropic",
}
HEAVY_MODULES = ("genai_prices", "pydantic")

# Quick-mode limits: gross regressions only, several times the goals, never noise.
# 6, not 4: a loaded CI machine measured 3.2 with nothing wrong; a gross regression (2x) still trips it.
GATE_FLOOR_RATIO = 6.0
GATE_PER_CHUNK_US = 10.0
GATE_IMPORT_MS = 200.0
GATE_PRICING_US = 50.0

# The goals of issue 7, printed next to the measurements.
GOAL_FLOOR_RATIO = 1.5
GOAL_PER_CHUNK_US = 1.0
GOAL_IMPORT_MS = 20.0
GOAL_PRICING_US = 5.0


@dataclass(frozen=True)
class Config:
    name: str
    """The worker's configuration name."""
    python: str
    env: str
    """``main`` or ``peers``: which environment's ``none`` this configuration is compared with."""
    tag: str = ""
    pythonpath: str | None = None
    """Put first on sys.path (``--variant``: another copy of llm_cost_otel)."""

    @property
    def label(self) -> str:
        if self.name == "none" and self.env == "peers":
            return "none [peers env]"
        return f"{self.name}@{self.tag}" if self.tag else self.name


@dataclass
class Series:
    """One configuration's calls of one sample key, pooled over every block of every round."""

    cpu: list[float] = field(default_factory=list)
    """Process CPU time per call, us (the cost; immune to being descheduled)."""
    wall: list[float] = field(default_factory=list)
    """Wall time per call, us."""
    blocks: dict[tuple[int, int], float] = field(default_factory=dict)
    """(round, pass) -> the block's median CPU time, for pairing with other configurations'
    blocks of the same key in the same pass (measured milliseconds apart)."""

    def add_block(self, round_: int, pass_: int, cpu_ns: Sequence[int], wall_ns: Sequence[int]) -> None:
        cpu = [s / 1000 for s in cpu_ns]
        self.cpu += cpu
        self.wall += [s / 1000 for s in wall_ns]
        self.blocks[(round_, pass_)] = statistics.median(cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def p90(self) -> float:
        return quantile(self.cpu, 0.9)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = q * (len(ordered) - 1)
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _env(pythonpath: str | None = None, hash_seed: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"}
    # The hash seed lays out every dict and set; one process's speed depends on it by +-10%
    # here. Each round uses its own seed, the same for every configuration in it.
    env.setdefault("PYTHONHASHSEED", str(hash_seed))
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    return env


def run_worker(python: str, spec: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    """A one-shot worker task (memory, pricing): its JSON result."""
    proc = subprocess.run(
        [python, str(WORKER), json.dumps(spec)], capture_output=True, text=True, timeout=timeout, env=_env(), cwd=HERE
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {spec.get('task')}/{spec.get('config')} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


class Worker:
    """A ``serve`` worker: one configuration in its own process, timing keys on request."""

    def __init__(self, config: Config, spec: dict[str, Any], hash_seed: int = 0) -> None:
        self.config = config
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(
            [config.python, str(WORKER), json.dumps({**spec, "task": "serve", "config": config.name})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=_env(config.pythonpath, hash_seed),
            cwd=HERE,
        )
        self.keys: list[str] = []

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(timeout=30)
            self._stderr.seek(0)
            raise RuntimeError(f"worker {self.config.label} died:\n{self._stderr.read()[-4000:]}")
        message: dict[str, Any] = json.loads(line)
        return message

    def ready(self) -> None:
        message = self._read()
        self.keys = message["keys"]
        if message.get("plugin") and self.config.tag:
            log(f"  {self.config.label}: {message['plugin']}")

    def time(self, key: str) -> tuple[list[int], list[int]]:
        """(CPU ns, wall ns) of one block of calls of ``key``."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(key + "\n")
        self._proc.stdin.flush()
        reply = self._read()
        return reply["cpu_ns"], reply["wall_ns"]

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._stderr.close()


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


# --- timing ---


@dataclass
class Timing:
    series: dict[tuple[str, str], Series] = field(default_factory=dict)
    """(config label, sample key) -> pooled samples."""
    configs: list[Config] = field(default_factory=list)

    def get(self, label: str, key: str) -> Series | None:
        return self.series.get((label, key))

    def none_label(self, config: Config) -> str:
        return Config("none", config.python, config.env).label

    def added(self, config: Config, key: str) -> float | None:
        """CPU microseconds this configuration adds over ``none`` of the same environment: the
        median over passes of (its block - none's block of the same key in the same pass).

        Blocks of one pass run milliseconds apart, so each difference is taken under the same
        machine conditions; on a shared machine whole seconds can run 2-3x slower, and pairing
        keeps that out of the difference. The pure floor's is its own median."""
        series = self.get(config.label, key)
        if series is None:
            return None
        if config.name in ("floor", "floor-in-call"):
            return series.median
        base = self.get(self.none_label(config), key)
        if base is None:
            return None
        diffs = [v - base.blocks[rp] for rp, v in series.blocks.items() if rp in base.blocks]
        return statistics.median(diffs) if diffs else None

    def added_by(self, name: str, key: str) -> float | None:
        """``added`` for the configuration called ``name`` in the main environment, if it ran."""
        config = next((c for c in self.configs if c.name == name and c.env == "main" and not c.tag), None)
        return None if config is None else self.added(config, key)

    def floor_in_call(self, key: str) -> float | None:
        """The floor's span and points, timed alone, each right after a real SDK call."""
        return self.added_by("floor-in-call", key)

    def minimal(self, key: str) -> float | None:
        """What the least an instrumentation can do (the floor's work around the real call) adds."""
        return self.added_by("minimal", key)

    def floor(self) -> float | None:
        return self.added_by("floor", "floor")

    def best_peer(self, key: str) -> tuple[str, float] | None:
        found = [(c.name, a) for c in self.configs if c.name in FULL_PEERS and (a := self.added(c, key)) is not None]
        return min(found, key=lambda item: item[1]) if found else None


def measure_timing(
    configs: Sequence[Config], rounds: int, passes: int, spec: dict[str, Any], timing: Timing | None = None
) -> Timing:
    """Each round starts one fresh process per configuration (set-up and warm-up run side by
    side), then alternates between them key by key: for every pass and every key, each
    configuration times that key in turn, in a rotating order, while the others wait. Only
    one process runs at a time, and the blocks that get compared are milliseconds apart."""
    timing = timing or Timing()
    for config in configs:
        if config not in timing.configs:
            timing.configs.append(config)
    for r in range(rounds):
        started = time.monotonic()
        workers = [Worker(c, spec, hash_seed=r) for c in configs]
        try:
            for worker in workers:
                worker.ready()
            keys = list(dict.fromkeys(k for w in workers for k in w.keys))
            for p in range(passes):
                for i, key in enumerate(keys):
                    having = [w for w in workers if key in w.keys]
                    shift = (p + i) % len(having)
                    for worker in having[shift:] + having[:shift]:
                        cpu, wall = worker.time(key)
                        timing.series.setdefault((worker.config.label, key), Series()).add_block(r, p, cpu, wall)
        finally:
            for worker in workers:
                worker.close()
        log(
            f"  round {r + 1}/{rounds}: {len(configs)} processes, {passes} passes, "
            f"{time.monotonic() - started:.1f} s, load {loadavg()}"
        )
    return timing


def fmt(value: float | None, spec: str = ".0f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def timing_table(timing: Timing, chunks: int) -> list[str]:
    floor = timing.floor()
    lines = [
        f"{'configuration':<26} {'median':>8} {'p90':>8} {'added':>8} {'added/':>8} {'added/floor':>12} "
        f"{'added/':>10} {'wall':>8}",
        f"{'':<26} {'us':>8} {'us':>8} {'us':>8} {'floor':>8} {'in the call':>12} {'best peer':>10} {'median':>8}",
    ]
    for scenario in SCENARIO_ORDER:
        key = f"{scenario}@{chunks}" if scenario in STREAMS else scenario
        rows = [c for c in timing.configs if timing.get(c.label, key) is not None]
        if not rows:
            continue
        title = f"{scenario}, {chunks} chunks" if scenario in STREAMS else scenario
        if scenario == "floor":
            title = "floor: one span with 15 attributes + 3 histogram points, no SDK call"
        best = timing.best_peer(key)
        in_call = timing.floor_in_call(key)
        minimal = timing.minimal(key)
        notes = [f"best peer: {best[0]} {best[1]:+.0f} us"] if best else []
        if in_call is not None:
            notes.append(f"floor in the call: {in_call:+.0f} us")
        if minimal is not None:
            notes.append(f"minimal instrumentation: {minimal:+.0f} us")
        lines.append(f"-- {title}" + (f"  ({'; '.join(notes)})" if notes else ""))
        for config in rows:
            series = timing.get(config.label, key)
            assert series is not None
            added = ratio_floor = ratio_in_call = ratio_peer = None
            if config.name != "none":
                added = timing.added(config, key)
            if config.name not in ("none", "floor", "floor-in-call") and added is not None:
                ratio_floor = added / floor if floor else None
                ratio_in_call = added / in_call if in_call and in_call > 0 else None
                ratio_peer = added / best[1] if best and best[1] > 0 else None
            lines.append(
                f"{config.label:<26} {series.median:>8.0f} {series.p90:>8.0f} {fmt(added, '+.0f'):>8} "
                f"{fmt(ratio_floor, '.2f', 'x'):>8} {fmt(ratio_in_call, '.2f', 'x'):>12} "
                f"{fmt(ratio_peer, '.2f', 'x'):>10} {series.wall_median:>8.0f}"
            )
    return lines


def per_chunk(timing: Timing, config: Config, scenario: str, counts: Sequence[int], chunks: int) -> dict[str, Any]:
    """Added cost at each chunk count, the least-squares slope over the counts (us per chunk),
    and the simple estimate (added stream - added create) / chunks."""
    points = [(n, a) for n in counts if (a := timing.added(config, f"{scenario}@{n}")) is not None]
    slope = intercept = None
    if len(points) >= 2:
        mean_n = sum(n for n, _ in points) / len(points)
        mean_a = sum(a for _, a in points) / len(points)
        var = sum((n - mean_n) ** 2 for n, _ in points)
        slope = sum((n - mean_n) * (a - mean_a) for n, a in points) / var
        intercept = mean_a - slope * mean_n
    stream_added = timing.added(config, f"{scenario}@{chunks}")
    create_added = timing.added(config, STREAM_BASE[scenario])
    simple = (stream_added - create_added) / chunks if stream_added is not None and create_added is not None else None
    return {"points": dict(points), "slope": slope, "intercept": intercept, "simple": simple}


def chunk_table(timing: Timing, counts: Sequence[int], chunks: int) -> tuple[list[str], dict[str, Any]]:
    heads = " ".join(f"{f'added@{n}':>10}" for n in counts)
    lines = [f"{'scenario':<32} {'configuration':<24} {heads} {'us/chunk (fit)':>15} {'(s40-c)/40':>10}"]
    results: dict[str, Any] = {}
    for scenario in STREAMS:
        for config in timing.configs:
            if config.name in ("none", "floor", "floor-in-call"):
                continue
            if timing.get(config.label, f"{scenario}@{counts[0]}") is None:
                continue
            pc = per_chunk(timing, config, scenario, counts, chunks)
            results[f"{config.label}:{scenario}"] = pc
            cells = " ".join(f"{fmt(pc['points'].get(n), '+.0f'):>10}" for n in counts)
            slope, simple = fmt(pc["slope"], ".2f"), fmt(pc["simple"], ".2f")
            lines.append(f"{scenario:<32} {config.label:<24} {cells} {slope:>15} {simple:>10}")
    return lines, results


# --- memory, import time, pricing ---


def measure_memory(python: str, configs: Sequence[str], counts: Sequence[int]) -> dict[str, dict[str, Any]]:
    out = {}
    for config in configs:
        result = run_worker(python, {"task": "memory", "config": config, "chunk_counts": list(counts)})
        out[config] = result["memory"]
    return out


def memory_table(memory: dict[str, dict[str, Any]], counts: Sequence[int]) -> tuple[list[str], dict[str, Any]]:
    """Peak and held growth per configuration, and the plugin's growth per chunk beyond ``none``."""
    small, large = counts[0], counts[-1]
    lines = [
        f"{'scenario':<32} {'configuration':<24} {f'peak@{small} KB':>12} {f'peak@{large} KB':>13} "
        f"{f'held@{large} KB':>12} {'B/chunk beyond none':>20}  grows?"
    ]
    verdicts: dict[str, Any] = {}
    for scenario in ("anthropic.create_stream", "google.generate_content_stream"):
        for config, data in memory.items():
            a, b = data.get(f"{scenario}@{small}"), data.get(f"{scenario}@{large}")
            if a is None or b is None:
                continue
            base = memory.get("none", {})
            growth = b["held_growth"] - a["held_growth"]
            peak_growth = b["peak"] - a["peak"]
            beyond = None
            if config != "none" and f"{scenario}@{large}" in base:
                none_growth = base[f"{scenario}@{large}"]["held_growth"] - base[f"{scenario}@{small}"]["held_growth"]
                none_peak = base[f"{scenario}@{large}"]["peak"] - base[f"{scenario}@{small}"]["peak"]
                beyond = max(growth - none_growth, peak_growth - none_peak) / (large - small)
            elif config != "none":
                beyond = max(growth, 0) / (large - small)
            grows = None if beyond is None else beyond > 8  # a few bytes of noise; a kept chunk is 100s
            verdicts[f"{config}:{scenario}"] = {"bytes_per_chunk": beyond, "grows": grows}
            lines.append(
                f"{scenario:<32} {config:<24} {a['peak'] / 1024:>12.1f} {b['peak'] / 1024:>13.1f} "
                f"{b['held_growth'] / 1024:>12.1f} {fmt(beyond, '.1f'):>20}  "
                f"{'-' if grows is None else ('YES' if grows else 'no')}"
            )
    return lines, verdicts


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")
IMPORT_BASE = "import opentelemetry.trace, opentelemetry.metrics, wrapt"
IMPORT_OURS = "import llm_cost_otel"


def import_total_us(python: str, statement: str) -> float:
    """Sum of the top-level cumulative times ``-X importtime`` reports (interpreter start-up
    imports included; they cancel out in a difference)."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True, cwd="/"
    )
    total = 0
    for line in proc.stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m and len(m.group(3)) == 1:
            total += int(m.group(2))
    return float(total)


def import_breakdown(python: str) -> list[tuple[str, float]]:
    """Modules that ``import llm_cost_otel`` loads after the baseline, by self time (ms)."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", f"{IMPORT_BASE}; {IMPORT_OURS}"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    entries: list[tuple[str, float, bool]] = []
    for line in proc.stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m:
            entries.append((m.group(4), int(m.group(1)) / 1000, len(m.group(3)) == 1))
    top_levels = [i for i, (_, _, top) in enumerate(entries) if top]
    ours = next((i for i in top_levels if entries[i][0] == "llm_cost_otel"), None)
    if ours is None:
        return []
    before = max((i for i in top_levels if i < ours), default=-1)
    subtree = sorted(((name, ms) for name, ms, _ in entries[before + 1 : ours + 1]), key=lambda e: -e[1])
    return subtree


def compile_package(python: str) -> None:
    """Write llm_cost_otel's bytecode caches, as pip does when it installs a package (the
    baseline's packages have theirs). From a checkout with ``PYTHONDONTWRITEBYTECODE=1`` (set
    on these machines) every process would otherwise compile our sources again, and the
    import time would be mostly the compiler's (~20 ms here against ~10 ms)."""
    script = (
        "import compileall, importlib.util\n"
        "spec = importlib.util.find_spec('llm_cost_otel')\n"  # finds the package, does not import it
        "assert spec and spec.submodule_search_locations\n"
        "compileall.compile_dir(spec.submodule_search_locations[0], quiet=1)"
    )
    subprocess.run([python, "-c", script], check=True, cwd="/")


def measure_import(python: str, repeats: int) -> dict[str, Any]:
    """``import llm_cost_otel`` in fresh processes, alternating with the baseline.

    ``added_ms`` (the gate): timed in-process right after importing the baseline
    (opentelemetry-api and wrapt), so it is exactly what llm_cost_otel adds on top of them.
    ``importtime_*``: the sum of ``-X importtime``'s top-level cumulative times of each
    statement alone (llm_cost_otel does not import wrapt until ``instrument()``, so its total
    can be below the baseline's)."""
    base: list[float] = []
    ours: list[float] = []
    direct: list[float] = []
    probe = (
        f"import json, sys, time\n{IMPORT_BASE}\nt = time.perf_counter()\n{IMPORT_OURS}\n"
        "print(json.dumps([(time.perf_counter() - t) * 1e3, "
        f"[m for m in {HEAVY_MODULES!r} if m in sys.modules]]))"
    )
    heavy: list[str] = []
    compile_package(python)
    for _ in range(repeats):
        base.append(import_total_us(python, IMPORT_BASE))
        ours.append(import_total_us(python, IMPORT_OURS))
        proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True, cwd="/")
        ms, loaded = json.loads(proc.stdout)
        direct.append(ms)
        heavy = sorted(set(heavy) | set(loaded))
    return {
        "added_ms": statistics.median(direct),
        "added_ms_all": direct,
        "importtime_base_ms": statistics.median(base) / 1000,
        "importtime_ours_ms": statistics.median(ours) / 1000,
        "heavy_loaded": heavy,
        "slowest_modules_ms": import_breakdown(python)[:8],
    }


def measure_extras(python: str, quick: bool) -> dict[str, Any]:
    """Pricing micro-benchmark and the per-chunk cost of stream observation, in one process."""
    spec = {
        "task": "pricing,chunks",
        "loops": 5000 if quick else 20000,
        "repeats": 5 if quick else 9,
        "chunk_reps": 20 if quick else 60,
    }
    return run_worker(python, spec)


# --- orchestration ---


def measure_bytecodes(python: str, chunks: int) -> dict[str, Any]:
    """Bytecodes per warm call (``opcount.py``): a count that does not move with the machine's
    load. The floor, the minimal instrumentation and ours on the non-streaming calls; ours on
    the streams at ``chunks`` and 4x ``chunks``, whose difference gives bytecodes per chunk."""
    import opcount

    def total(config: str, scenario: str, n: int = chunks) -> int:
        return sum(opcount.measure(config, scenario, n, python=python).values())

    out: dict[str, Any] = {"floor": total("floor", "floor")}
    for scenario in NON_STREAMING:
        none = total("none", scenario)
        out[scenario] = {config: total(config, scenario) - none for config in ("minimal", "llm-cost-otel")}
    for scenario in STREAMS:
        added = {n: total("llm-cost-otel", scenario, n) - total("none", scenario, n) for n in (chunks, 4 * chunks)}
        out[scenario] = {"added": added[chunks], "per_chunk": (added[4 * chunks] - added[chunks]) / (3 * chunks)}
    return out


def bytecode_lines(counts: dict[str, Any], chunks: int) -> list[str]:
    floor = counts["floor"]
    lines = [f"floor: {floor:,} bytecodes"]
    for scenario in NON_STREAMING:
        row = counts[scenario]
        lines.append(
            f"{scenario}: llm-cost-otel +{row['llm-cost-otel']:,} ({row['llm-cost-otel'] / floor:.2f}x the floor), "
            f"minimal instrumentation +{row['minimal']:,} ({row['minimal'] / floor:.2f}x)"
        )
    for scenario in STREAMS:
        row = counts[scenario]
        lines.append(
            f"{scenario}: llm-cost-otel +{row['added']:,} at {chunks} chunks, {row['per_chunk']:.1f} per chunk"
        )
    return lines


def bytecode_gates(counts: dict[str, Any]) -> list[Gate]:
    floor = counts["floor"]
    gates = []
    for scenario in NON_STREAMING:
        row = counts[scenario]
        gates.append(
            Gate(f"{scenario}: bytecodes added / floor's", row["llm-cost-otel"] / floor, None, GOAL_FLOOR_RATIO, "x")
        )
        gates.append(
            Gate(
                f"{scenario}: bytecodes added / minimal instrumentation's",
                row["llm-cost-otel"] / row["minimal"],
                None,
                GOAL_FLOOR_RATIO,
                "x",
            )
        )
    return gates


def peer_configs(python: str) -> list[Config]:
    found = []
    for name in ("none", *PEERS):
        probe = PEER_PROBES.get(name, "anthropic")
        ok = subprocess.run([python, "-c", f"import {probe}"], capture_output=True, cwd="/").returncode == 0
        if ok:
            found.append(Config(name, python, "peers"))
        else:
            log(f"peers: {name} is not importable in {python}; skipped")
    return found if any(c.name != "none" for c in found) else []


@dataclass
class Gate:
    name: str
    value: float | None
    limit: float | None
    """Quick mode fails above this; None: reported against the goal only."""
    goal: float
    unit: str

    @property
    def failed(self) -> bool:
        return self.limit is not None and self.value is not None and self.value > self.limit

    def line(self) -> str:
        status = "FAIL" if self.failed else ("ok" if self.limit is not None else "info")
        verdict = "n/a" if self.value is None else ("meets goal" if self.value <= self.goal else "ABOVE GOAL")
        limit = f"limit {self.limit:g}" if self.limit is not None else "no limit"
        return (
            f"  [{status:>4}] {self.name:<66} {fmt(self.value, '.2f', ' ' + self.unit):>13}  "
            f"goal {self.goal:g}: {verdict:<10} ({limit})"
        )


def timing_gates(timing: Timing, counts: Sequence[int], chunks: int) -> list[Gate]:
    gates = []
    floor = timing.floor()
    ours = next(c for c in timing.configs if c.name == "llm-cost-otel" and not c.tag)
    for scenario in NON_STREAMING:
        added = timing.added(ours, scenario)
        in_call = timing.floor_in_call(scenario)
        minimal = timing.minimal(scenario)
        pure = added / floor if added is not None and floor else None
        near = added / in_call if added is not None and in_call and in_call > 0 else None
        gates.append(Gate(f"{scenario}: added / floor", pure, None, GOAL_FLOOR_RATIO, "x"))
        if minimal is not None:
            # The goal's own bound: no instrumentation that does the floor's work around the
            # call can add less than this one, which does nothing else.
            bound = minimal / floor if floor else None
            gates.append(
                Gate(f"{scenario}: minimal instrumentation's added / floor", bound, None, GOAL_FLOOR_RATIO, "x")
            )
            versus = added / minimal if added is not None and minimal > 0 else None
            gates.append(
                Gate(f"{scenario}: added / minimal instrumentation's added", versus, None, GOAL_FLOOR_RATIO, "x")
            )
        # The gate. The pure floor is a tight loop that a busy machine hardly slows, while it
        # slows a big code path (an SDK call, and what we add to it) 2-3x; the floor timed
        # right after each SDK call runs in the same conditions as our own work.
        gates.append(
            Gate(f"{scenario}: added / floor in the call (gate)", near, GATE_FLOOR_RATIO, GOAL_FLOOR_RATIO, "x")
        )
    for scenario in STREAMS if len(counts) > 1 else ():
        if timing.get(ours.label, f"{scenario}@{counts[0]}") is None:
            continue
        slope = per_chunk(timing, ours, scenario, counts, chunks)["slope"]
        gates.append(Gate(f"{scenario}: per chunk, end to end", slope, None, GOAL_PER_CHUNK_US, "us"))
    return gates


def other_gates(imports: dict[str, Any] | None, extras: dict[str, Any] | None) -> list[Gate]:
    gates = []
    if imports is not None:
        name = "import llm_cost_otel: added over otel api + wrapt"
        gates.append(Gate(name, imports["added_ms"], GATE_IMPORT_MS, GOAL_IMPORT_MS, "ms"))
        heavy = f"heavy modules at import ({', '.join(HEAVY_MODULES)})"
        gates.append(Gate(heavy, float(len(imports["heavy_loaded"])), 0, 0, "found"))
    if extras is not None:
        for name, value in extras.get("pricing_us", {}).items():
            if not name.endswith(" ms"):
                gates.append(Gate(f"PriceBook.cost {name}", value, GATE_PRICING_US, GOAL_PRICING_US, "us"))
        for name, value in extras.get("chunks_us", {}).items():
            if " " not in name:
                gates.append(
                    Gate(
                        f"{name} stream: added per chunk (observer)", value, GATE_PER_CHUNK_US, GOAL_PER_CHUNK_US, "us"
                    )
                )
    return gates


def print_section(title: str, lines: Iterable[str]) -> None:
    print(f"\n## {title}")
    for line in lines:
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI mode: a few seconds, fails only on gross regression")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of alternating processes (default 3; quick 1)")
    parser.add_argument("--passes", type=int, default=None, help="alternation passes per round (default 40; quick 10)")
    parser.add_argument("--chunks", type=int, default=40, help="chunks in the stream scenarios of the main table")
    parser.add_argument("--chunk-counts", default="10,40,160", help="stream lengths for the per-chunk fit")
    parser.add_argument("--memory-counts", default="40,4000", help="stream lengths for the memory check")
    parser.add_argument("--python", default=sys.executable, help="interpreter with llm-cost-otel and the SDKs")
    parser.add_argument("--peers-python", default=None, help="interpreter of a separate env with the peers installed")
    parser.add_argument("--content", action="store_true", help="also time llm-cost-otel with content capture on")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="TAG=DIR",
        help="also time the llm_cost_otel package found in DIR (a directory holding llm_cost_otel/, e.g. a "
        "patched copy), labelled llm-cost-otel@TAG; repeatable",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma list of sections to skip: timing,memory,import,pricing (+ per-chunk observer),bytecodes",
    )
    parser.add_argument(
        "--gc",
        action="store_true",
        help="keep the garbage collector on inside timed calls (default: off inside, run between blocks)",
    )
    parser.add_argument("--json", dest="json_path", default=None, help="write every number to this JSON file")
    args = parser.parse_args(argv)

    quick = args.quick
    rounds = args.rounds or (1 if quick else 3)
    passes = args.passes or (15 if quick else 40)
    counts = sorted({int(x) for x in args.chunk_counts.split(",")} | {args.chunks})
    if quick:  # the per-chunk gate is the observer micro-benchmark; end to end only the main table
        counts = [args.chunks]
    memory_counts = [int(x) for x in args.memory_counts.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    if quick:
        skip.add("memory")  # not a gate, and the slowest part; the full run reports it
    spec: dict[str, Any] = {
        "warmup": 5 if quick else 20,
        "chunks": args.chunks,
        "chunk_counts": counts,
        "min_reps": 1 if quick else 3,
        "slice_us": 5000 if quick else 2000,
        "gc": args.gc,
    }
    if quick:  # the helper is the slowest stream; its per-chunk cost is the create stream's plus the SDK's own
        spec["scenarios"] = ["floor", *NON_STREAMING, "anthropic.create_stream", "google.generate_content_stream"]

    started = time.monotonic()
    print(f"# llm-cost-otel overhead benchmark ({'quick' if quick else 'full'})")
    print(f"python {sys.version.split()[0]} at {args.python}; {os.cpu_count()} CPUs; load average at start {loadavg()}")
    configs = [Config(n, args.python, "main") for n in ("none", "floor", "floor-in-call", "minimal", "llm-cost-otel")]
    if args.content:
        configs.append(Config("llm-cost-otel+content", args.python, "main"))
    for variant in args.variant:
        tag, _, directory = variant.partition("=")
        if not directory or not (Path(directory) / "llm_cost_otel" / "__init__.py").exists():
            parser.error(f"--variant {variant!r}: expected TAG=DIR with DIR/llm_cost_otel/__init__.py")
        configs.append(Config("llm-cost-otel", args.python, "main", tag, str(Path(directory).resolve())))
    if args.peers_python and not quick:
        configs += peer_configs(args.peers_python)
    print("configurations: " + ", ".join(c.label for c in configs))
    report: dict[str, Any] = {"quick": quick, "rounds": rounds, "passes": passes}
    gates: list[Gate] = []

    timing = None
    if "timing" not in skip:
        log(f"timing: {rounds} round(s) x {len(configs)} configurations, one fresh process each")
        timing = measure_timing(configs, rounds, passes, spec)
        print_section(
            f"Per call: process CPU time, {rounds} round(s) x {passes} alternating passes. added = median over "
            "passes of (block - none's block in the same pass, same env)",
            timing_table(timing, args.chunks),
        )
        lines, chunk_results = chunk_table(timing, counts, args.chunks)
        if len(counts) > 1:
            print_section(
                "Added cost per streamed chunk, end to end (least-squares fit over "
                + ", ".join(map(str, counts))
                + " chunks; (s40-c)/40 = (added stream - added create) / 40)",
                lines,
            )
        report["timing"] = {
            f"{label}|{key}": {
                "median_us": s.median,
                "p90_us": s.p90,
                "wall_median_us": s.wall_median,
                "n": len(s.cpu),
                "cpu_us": s.cpu,
                "wall_us": s.wall,
                "blocks": [[r, p, v] for (r, p), v in s.blocks.items()],
            }
            for (label, key), s in timing.series.items()
        }
        report["per_chunk"] = chunk_results
        gates += timing_gates(timing, counts, args.chunks)

    memory = None
    if "memory" not in skip:
        log("memory: tracemalloc over short and long streams")
        memory = measure_memory(args.python, ["none", "llm-cost-otel", "llm-cost-otel+content"], memory_counts)
        lines, verdicts = memory_table(memory, memory_counts)
        print_section("Memory with content capture off (tracemalloc; +content is the control that must grow)", lines)
        report["memory"] = {"raw": memory, "verdicts": verdicts}

    imports = None
    if "import" not in skip:
        log("import time: fresh processes, alternating")
        imports = measure_import(args.python, 3 if quick else 11)
        slowest = ", ".join(f"{name} {ms:.1f}" for name, ms in imports["slowest_modules_ms"])
        print_section(
            "Import time (median of fresh processes)",
            [
                f"import llm_cost_otel after {IMPORT_BASE!r}: +{imports['added_ms']:.1f} ms "
                f"(goal <= {GOAL_IMPORT_MS:g} ms)",
                f"-X importtime totals, each alone: {IMPORT_BASE!r} {imports['importtime_base_ms']:.1f} ms; "
                f"{IMPORT_OURS!r} {imports['importtime_ours_ms']:.1f} ms",
                f"slowest modules it loads (self ms): {slowest}",
                f"heavy modules in sys.modules after import: {', '.join(imports['heavy_loaded']) or 'none'} "
                f"(checked: {', '.join(HEAVY_MODULES)})",
            ],
        )
        report["import"] = imports

    extras = None
    if "pricing" not in skip:
        log("pricing and per-chunk observer cost")
        extras = measure_extras(args.python, quick)
        lines = [f"{k}: {v:.2f}" + ("" if k.endswith("ms") else " us") for k, v in extras["pricing_us"].items()]
        print_section("Pricing a call after warm-up (PriceBook.cost)", lines)
        lines = [f"{k}: {v:.2f} us" + (" per chunk" if " " not in k else "") for k, v in extras["chunks_us"].items()]
        if extras.get("chunks_error"):
            lines.append(f"not measured: {extras['chunks_error']}")
        print_section(
            "Stream observer on real SDK objects (what the plugin adds per chunk, SDK parsing excluded)", lines
        )
        report["extras"] = extras

    gates += other_gates(imports, extras)

    if "bytecodes" not in skip and not quick:
        log("bytecodes per call (deterministic)")
        bytecodes = measure_bytecodes(args.python, args.chunks)
        print_section(
            "Bytecodes per warm call, over none (opcount.py: deterministic, blind to cache misses)",
            bytecode_lines(bytecodes, args.chunks),
        )
        report["bytecodes"] = bytecodes
        gates += bytecode_gates(bytecodes)

    failed = [g for g in gates if g.failed]
    if quick and failed:
        # Confirm before failing: a gate must fail again on a second, longer measurement.
        log("a gate failed; measuring again, longer, before reporting it")
        if timing is not None and any("floor" in g.name for g in failed):
            timing = measure_timing(configs, 2, passes * 2, spec)
        if imports is not None and any(g.name.startswith(("import", "heavy")) for g in failed):
            imports = measure_import(args.python, 7)
        if extras is not None and any(
            g.name.startswith(("PriceBook", "anthropic stream", "google stream")) for g in failed
        ):
            extras = measure_extras(args.python, False)
        gates = (timing_gates(timing, counts, args.chunks) if timing is not None else []) + other_gates(imports, extras)
        failed = [g for g in gates if g.failed]

    print_section(
        "Goals (issue 7) and gross-regression limits (quick mode fails only past the limits)", [g.line() for g in gates]
    )
    print(f"\ntotal {time.monotonic() - started:.1f} s; load average at end {loadavg()}")
    report["gates"] = [
        {"name": g.name, "value": g.value, "limit": g.limit, "goal": g.goal, "failed": g.failed} for g in gates
    ]
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=2))
    if quick and failed:
        print("GROSS REGRESSION: " + "; ".join(g.name for g in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
