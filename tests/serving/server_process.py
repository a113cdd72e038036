"""The service as a real process on loopback: start, wait until ready, kill."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(data_dir: Path, *args: str) -> str:
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(data_dir), *args]
    return subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class ServerProcess:
    process: subprocess.Popen
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush; what was committed must survive."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(data_dir: Path, env: dict[str, str] | None = None, attempts: int = 600) -> ServerProcess:
    port = free_port()
    log = data_dir / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(data_dir), "run", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, env=os.environ | (env or {})
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log)
    for _ in range(attempts):  # a guard against hanging, not a timing assertion
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server never became ready:\n{log.read_text()}")
