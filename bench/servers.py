"""The servers under test, Standin and Prism: started pinned to CPU 0, probed, measured, stopped.

Every wait is bounded, and a server is always stopped (its own process group) even when a run
fails, so `make bench` never leaves a process behind.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "bench" / ".node" / "node_modules" / ".bin" / "prism"
SERVER_CPU, LOAD_CPU = "0", "1"  # stack.md §6: server and load generator never share a core
HOST = "127.0.0.1"


class ServerFailed(RuntimeError):
    """The server exited or never answered; the message says why (its last stderr lines)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def fetch(method: str, url: str, headers: dict | None = None, body: bytes | None = None, timeout=10.0):
    """(status, body) of one request; any status is an answer, only transport errors raise."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Server:
    """One server process. `ready` is the path whose answer means "up" (`any_status` for Prism)."""

    def __init__(self, name: str, argv: list[str], port: int, ready: str, any_status: bool = False):
        self.name, self.argv, self.port, self.ready, self.any_status = name, argv, port, ready, any_status
        self.base = f"http://{HOST}:{port}"
        self.proc: subprocess.Popen | None = None
        self._stderr = tempfile.TemporaryFile()

    def start(self, timeout: float = 60.0) -> float:
        """Seconds from spawning the process to the first good answer on `ready`."""
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *self.argv],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,  # its own process group: stop() reaches any child it forks
        )
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise ServerFailed(f"{self.name} exited with {self.proc.returncode}: {self.stderr_tail()}")
            try:
                status, _ = fetch("GET", self.base + self.ready, timeout=2)
                if status == 200 or self.any_status:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.005)
        raise ServerFailed(f"{self.name} not ready after {timeout:.0f} s: {self.stderr_tail()}")

    def rss_mb(self) -> float:
        """Resident memory of the server process (VmRSS), from /proc."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def cpu_seconds(self) -> float:
        """CPU time (user + system, every thread) the server has used so far, from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stderr_tail(self, lines: int = 3) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "no output"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self._stderr.close()


def standin(*args: str) -> Server:
    """`standin serve` with one uvicorn worker, rate limits off so the load is never throttled."""
    port = free_port()
    argv = [sys.executable, "-m", "server", "serve", "--port", str(port), "--rate-limit", "0"]
    argv += ["--log-level", "warning", *args]
    return Server("Standin", argv, port, "/_standin/health")


def prism(spec: Path) -> Server:
    """`prism mock` on the same spec file; it answers its own 404 at `/`, which means it is up."""
    port = free_port()
    argv = [str(PRISM), "mock", str(spec), "-p", str(port), "-h", HOST, "--errors=false", "-v", "warn"]
    return Server("Prism", argv, port, "/", any_status=True)
