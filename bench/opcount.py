"""Bytecodes one call executes, per configuration: a count that does not move between runs.

    python bench/opcount.py anthropic.create                      # none, floor, llm-cost-otel
    python bench/opcount.py google.generate_content --before DIR  # + the llm_cost_otel in DIR
    python bench/opcount.py anthropic.create --top 30             # + where ours differs from none

Timings on a shared machine swing by more than a small change; the number of bytecodes a
call runs does not. Each configuration runs in a fresh process (``PYTHONHASHSEED=0``): 50
warm-up calls, a ``gc.collect()`` with the collector then off and one more call (pydantic
rebuilds there the classes the collection dropped from its weak caches, which would
otherwise land in whichever call comes next), then one call counted
with ``sys.settrace`` and ``f_trace_opcodes``, its deferred histogram points drained inside
the count. It sees work, not cache misses: see ``PROFILE.md`` for how the two compare.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def count(config: str, scenario: str, chunks: int) -> dict[str, int]:
    """In this process: the bytecodes per function of one warm call."""
    sys.path.insert(0, str(HERE))
    import worker

    setup = worker.Setup(config)
    run = worker.scenario_run(setup, scenario, chunks)
    setup.settle()

    def drain() -> None:
        if setup.deferred is not None:
            setup.deferred()

    for _ in range(50):
        run()
        drain()
    gc.collect()
    gc.disable()
    run()  # rebuilds whatever the collection dropped from weak caches, outside the count
    drain()
    counts: collections.Counter[str] = collections.Counter()

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        key = f"{frame.f_code.co_filename}:{frame.f_code.co_name}"

        def on_event(frame: Any, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts[key] += 1
            return on_event

        return on_event

    sys.settrace(on_call)
    try:
        run()
        drain()
    finally:
        sys.settrace(None)
    return dict(counts)


def measure(
    config: str, scenario: str, chunks: int, pythonpath: str | None = None, python: str | None = None
) -> dict[str, int]:
    """``count`` in a fresh process (of ``python``, default this interpreter)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [python or sys.executable, __file__, "--child", config, scenario, str(chunks)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, int] = json.loads(out.splitlines()[-1])
    return result


def short(key: str) -> str:
    for marker in ("site-packages/", "/src/"):
        if marker in key:
            return key.split(marker, 1)[1]
    return key


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--child"]:
        print(json.dumps(count(args[1], args[2], int(args[3]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario")
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--before", metavar="DIR", help="a directory holding another llm_cost_otel/ to count too")
    parser.add_argument("--top", type=int, default=0, help="list the N functions whose counts differ most from none")
    opts = parser.parse_args(args)
    none = measure("none", opts.scenario, opts.chunks)
    floor = sum(measure("floor", "floor", opts.chunks).values())
    sys.path.insert(0, str(HERE))
    import worker

    rows = [("llm-cost-otel", measure("llm-cost-otel", opts.scenario, opts.chunks))]
    if opts.scenario in worker.CONFIGS["minimal"][0]:
        rows.append(("minimal", measure("minimal", opts.scenario, opts.chunks)))
    if opts.before:
        rows.append(("llm-cost-otel@before", measure("llm-cost-otel", opts.scenario, opts.chunks, opts.before)))
    base = sum(none.values())
    print(f"{opts.scenario}: none {base:,} bytecodes per call; floor {floor:,}")
    for label, counts in rows:
        added = sum(counts.values()) - base
        print(f"  {label:22} +{added:,}  ({added / floor:.2f}x the floor)")
    if opts.top:
        ours = rows[0][1]
        diff = {k: ours.get(k, 0) - none.get(k, 0) for k in set(ours) | set(none)}
        print(f"functions whose counts differ most (llm-cost-otel - none), top {opts.top}:")
        for key, delta in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[: opts.top]:
            print(f"  {delta:+7,}  {short(key)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
