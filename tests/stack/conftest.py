"""Fixtures for the stack tests: the Prometheus/Alertmanager binaries and processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK_TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Binaries:
    promtool: str
    prometheus: str
    alertmanager: str
    amtool: str


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    """Prometheus 2.42+ and Alertmanager 0.25+ (Debian: apt-get install prometheus prometheus-alertmanager)."""
    found = {
        "promtool": os.environ.get("PROMTOOL") or _which("promtool"),
        "prometheus": os.environ.get("PROMETHEUS") or _which("prometheus"),
        "alertmanager": os.environ.get("ALERTMANAGER") or _which("prometheus-alertmanager", "alertmanager"),
        "amtool": os.environ.get("AMTOOL") or _which("amtool"),
    }
    missing = [name for name, path in found.items() if not path]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed: run scripts/install-prometheus.sh "
            "(apt-get install prometheus prometheus-alertmanager)"
        )
    return Binaries(**{k: str(v) for k, v in found.items()})


def run(args: list[str], cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}" + (f": {last_error}" if last_error else "")
    )


def http_json(url: str, data: dict[str, str] | None = None, timeout: float = 10) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=timeout) as response:
        return json.loads(response.read())


class Process:
    """A child process whose output goes to files; stopped (then killed) at teardown."""

    def __init__(self, name: str, args: list[str], workdir: Path, **popen: Any) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self._log_file = self.log.open("w")
        self.proc = subprocess.Popen(args, stdout=popen.pop("stdout", self._log_file), stderr=self._log_file, **popen)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._log_file.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()
