"""One `crm serve` on a free loopback port, its output in a file: what the end-to-end and
browser tests talk to."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from tests.faults.servers import free_port

CRM = str(Path(sys.executable).with_name("crm"))


class LiveServer:
    """Started at once; ready when ``GET /healthz`` answers (the test fails with the server's
    output if it exits or does not answer within ``ready_within`` seconds)."""

    def __init__(self, env: Mapping[str, str], log: Path, cwd: Path, ready_within: float = 30.0) -> None:
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = log
        with log.open("wb") as out:
            port = self.base.rsplit(":", 1)[1]
            self.process = subprocess.Popen(
                [CRM, "serve", "--port", port], env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"crm serve exited with {self.process.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"crm serve did not answer within {ready_within:.0f}s: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self, within: float = 15.0) -> float:
        """SIGTERM; the seconds it took to exit (the test fails if it did not, within ``within``)."""
        started = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            pytest.fail(f"crm serve did not stop within {within:.0f}s of SIGTERM: {self.output()}")
        return time.monotonic() - started
