"""Shared by the browser tests: Debian's Chromium, its flags, and ``oncoreg serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Where the browser tests save their screenshots: a scratch folder, unless ``ONCOREG_SCREENSHOTS`` names
#: one (``make screenshots`` points it at docs/screenshots to refresh the documentation's pictures).
SCREENSHOTS = Path(
    os.environ.get("ONCOREG_SCREENSHOTS") or Path(tempfile.gettempdir()) / "oncoreg-screenshots"
)
# headless as root, and no background traffic: this machine's network is closed
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(data: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``oncoreg serve`` over the data directory ``data`` on a free port, until the block ends.

    Yields the base URL (``localhost``: a secure context, so Chromium keeps Secure cookies) and the server's
    log file. Development mode, because plain http drops Secure cookies (the flag is tested apart).
    """
    port = free_port()
    env = {
        **os.environ,
        "ONCOREG_DATA_DIR": str(data),
        "ONCOREG_ENVIRONMENT": "development",
        "ONCOREG_SECRET_KEY": "browser-test-secret-" + "s" * 24,
        "ONCOREG_CONFIG": str(tmp_path / "none.toml"),
    }
    env.pop("ONCOREG_DATABASE_URL", None)
    log = tmp_path / "server.log"
    command = [sys.executable, "-c", "import typer; from oncoreg.cli.serve import serve; typer.run(serve)"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield f"http://localhost:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=20)
