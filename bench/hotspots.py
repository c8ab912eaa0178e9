"""Where llm-cost-otel's added time goes: py-spy over one scenario, attributed to the plugin.

    python -m pip install py-spy
    python bench/hotspots.py anthropic.create
    python bench/hotspots.py google.generate_content_stream --chunks 160 --seconds 10

Runs ``bench/worker.py``'s ``loop`` task (the scenario in a loop, after warm-up) under
``py-spy record`` and keeps the samples under ``timed_loop``. A sample is the plugin's when
its deepest ``llm_cost_otel`` frame is not a line that hands control to the SDK (``wrapped(...)``,
``next(source)``, ``for item in source``, ``yield``...): that is, the plugin's own code and
everything it calls (the OpenTelemetry SDK, json, weakref, ...). Each such sample is charged
to that deepest plugin function ("file:function", inclusive of what it calls).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^()]*):(?P<line>\d+)\)$")
# A plugin line that hands control to the SDK: what runs below it is the SDK's own work.
_PASSTHROUGH = re.compile(
    r"wrapped\(|_untraced_(a)?sync\(|client\._request\(|next\(source\)|\bin source\b|\byield\b|\bawait\b"
)
_CALLEE_BUCKETS = (
    ("/opentelemetry/sdk/trace/", "otel sdk: spans"),
    ("/opentelemetry/sdk/metrics/", "otel sdk: metrics"),
    ("/opentelemetry/context/", "otel context"),
    ("/opentelemetry/trace/", "otel api: trace"),
    ("/opentelemetry/", "otel api: other"),
    ("/pydantic/", "pydantic"),
    ("/anthropic/", "anthropic sdk"),
    ("/google/genai/", "google-genai sdk"),
    ("/httpx2/", "httpx2"),
)

Frame = tuple[str, str, int]


def parse_frame(text: str) -> Frame:
    m = _FRAME.match(text)
    if m is None:
        return (text, "", 0)
    return (m["func"], m["path"], int(m["line"]))


def plugin_root() -> Path:
    spec = importlib.util.find_spec("llm_cost_otel")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm_cost_otel is not importable from this interpreter")
    return Path(next(iter(spec.submodule_search_locations)))


class Source:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[str]] = {}

    def line(self, path: str, number: int) -> str:
        relative = path.split("/llm_cost_otel/", 1)[-1]
        if relative not in self._lines:
            try:
                self._lines[relative] = (self.root / relative).read_text().splitlines()
            except OSError:
                self._lines[relative] = []
        lines = self._lines[relative]
        return lines[number - 1] if 0 < number <= len(lines) else ""


def is_plugin(frame: Frame) -> bool:
    return "/llm_cost_otel/" in frame[1]


def bucket(frame: Frame | None) -> str:
    if frame is None:
        return "own code"
    for prefix, name in _CALLEE_BUCKETS:
        if prefix in frame[1]:
            return name
    if "/lib/python3" in frame[1] and "site-packages" not in frame[1]:
        return "stdlib: " + frame[1].rsplit("/", 1)[-1]
    return frame[1].rsplit("/", 1)[-1] or "?"


def record(python: str, spec: dict[str, object], rate: int, native: bool) -> tuple[Path, dict[str, Any]]:
    py_spy = shutil.which("py-spy", path=str(Path(python).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy is not installed: python -m pip install py-spy")
    out = Path(tempfile.gettempdir()) / "llm-cost-otel-profile" / f"{spec['config']}-{spec['scenario']}.txt"
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    # --nonblocking: sample without pausing the target, so it runs at its normal speed.
    command = [py_spy, "record", "-r", str(rate), "-f", "raw", "--full-filenames", "--nonblocking", "-o", str(out)]
    if native:
        command.append("--native")
    command += ["--", python, str(WORKER), json.dumps(spec)]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=HERE)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"py-spy failed:\n{proc.stderr[-3000:]}")
    decoder = json.JSONDecoder()
    result: dict[str, Any] = next(
        (decoder.raw_decode(line)[0] for line in proc.stdout.splitlines() if line.startswith("{")), {}
    )
    return out, result


@dataclass
class Profile:
    loop_samples: int = 0
    """Samples under ``timed_loop``."""
    plugin_samples: int = 0
    functions: Counter[str] = field(default_factory=Counter)
    lines: Counter[str] = field(default_factory=Counter)
    callees: Counter[str] = field(default_factory=Counter)
    function_callees: dict[str, Counter[str]] = field(default_factory=dict)


def analyse(stacks: Path, source: Source) -> Profile:
    profile = Profile()
    for raw in stacks.read_text().splitlines():
        stack_text, _, count_text = raw.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = [parse_frame(f) for f in stack_text.split(";")]
        if not any(f[0] == "timed_loop" for f in frames):
            continue
        count = int(count_text)
        profile.loop_samples += count
        deepest = max((i for i, f in enumerate(frames) if is_plugin(f)), default=None)
        if deepest is None:
            continue
        frame = frames[deepest]
        if _PASSTHROUGH.search(source.line(frame[1], frame[2])):
            continue
        profile.plugin_samples += count
        name = f"{frame[1].split('/llm_cost_otel/', 1)[-1]}:{frame[0]}"
        callee = bucket(frames[deepest + 1] if deepest + 1 < len(frames) else None)
        profile.functions[name] += count
        profile.lines[f"{name}:{frame[2]}  {source.line(frame[1], frame[2]).strip()[:70]}"] += count
        profile.callees[callee] += count
        profile.function_callees.setdefault(name, Counter())[callee] += count
    return profile


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "scenario",
        help="anthropic.create, anthropic.create_stream, anthropic.stream_helper, "
        "google.generate_content or google.generate_content_stream",
    )
    parser.add_argument("--config", default="llm-cost-otel")
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rate", type=int, default=1000, help="py-spy samples per second")
    parser.add_argument("--native", action="store_true", help="py-spy --native (C frames too; slower)")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--stacks", default=None, help="analyse an existing py-spy raw file instead of recording")
    args = parser.parse_args(argv)

    source = Source(plugin_root())
    result: dict[str, Any] = {}
    if args.stacks:
        stacks = Path(args.stacks)
    else:
        spec: dict[str, object] = {
            "task": "loop",
            "config": args.config,
            "scenario": args.scenario,
            "chunks": args.chunks,
            "seconds": args.seconds,
        }
        stacks, result = record(args.python, spec, args.rate, args.native)
    profile = analyse(stacks, source)
    loop, plugin = profile.loop_samples, profile.plugin_samples
    if not loop or not plugin:
        raise SystemExit(f"no plugin samples under timed_loop in {stacks}")
    per_call = result.get("us_per_call")
    share = plugin / loop
    print(f"# {args.config} {args.scenario}" + (f" ({args.chunks} chunks)" if "stream" in args.scenario else ""))
    print(f"stacks: {stacks}")
    if per_call:
        print(f"{result.get('calls')} calls, {per_call:.0f} us per call under py-spy")
    print(
        f"plugin's own samples: {plugin} of {loop} ({share:.1%})"
        + (f" = about {share * per_call:.0f} us per call" if per_call else "")
    )
    print("\n## by plugin function (inclusive of what it calls outside the plugin)")
    print(f"{'% of plugin':>11} {'us/call':>8}  function  [main callees]")
    for name, n in profile.functions.most_common(args.top):
        us = f"{n / loop * per_call:.1f}" if per_call else "-"
        where = ", ".join(f"{c} {k / n:.0%}" for c, k in profile.function_callees[name].most_common(3))
        print(f"{n / plugin:>11.1%} {us:>8}  {name}  [{where}]")
    print("\n## by line")
    for line, n in profile.lines.most_common(args.top):
        print(f"{n / plugin:>11.1%}  {line}")
    print("\n## by what the plugin calls")
    for callee, n in profile.callees.most_common(args.top):
        print(f"{n / plugin:>11.1%}  {callee}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
