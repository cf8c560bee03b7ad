"""Crash and resume: an ingest process killed with SIGKILL at any point, then restarted, ends in exactly
the store state (messages, notifications, quarantine) and run counts of one uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ingest_support import canonical_dump

from oncoreg.ingest import IngestReport, ingest_directory
from oncoreg.ingest.store import KILL_ENV
from oncoreg.registry import Registry

BATCH = 120
RUN = (
    "import sys; from pathlib import Path; from oncoreg.registry import Registry; "
    "from oncoreg.ingest import ingest_directory; "
    "ingest_directory(registry=Registry(sys.argv[1]), directory=Path(sys.argv[2]), user='batch', "
    "batch_size=int(sys.argv[3]))"
)


def _start(url: str, directory: Path, kill_at: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    if kill_at:
        env[KILL_ENV] = kill_at
    return subprocess.Popen(
        [sys.executable, "-c", RUN, url, str(directory), str(BATCH)], env=env, stderr=subprocess.PIPE
    )


@pytest.fixture
def reference(message_dir: Path, tmp_path: Path) -> tuple[dict[str, object], IngestReport]:
    """The store state and report of one uninterrupted run (SQLite)."""
    with Registry.create(f"sqlite:///{tmp_path / 'reference.sqlite'}") as store:
        report = ingest_directory(registry=store, directory=message_dir, user="batch", batch_size=BATCH)
        return canonical_dump(store.engine), report


def _counts(report: IngestReport) -> tuple[int, ...]:
    return report.received, report.accepted, report.quarantined, report.duplicates, report.notifications


def test_killed_at_injected_points_then_resumed_equals_one_run(
    registry: Registry, message_dir: Path, reference: tuple[dict[str, object], IngestReport]
) -> None:
    for point in ("store-commit:2", "process-commit:2", "process:1"):
        process = _start(registry.url, message_dir, kill_at=point)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL, (point, stderr.decode()[-2000:])
    resumed = ingest_directory(registry=registry, directory=message_dir, user="batch", batch_size=BATCH)
    state, report = reference
    assert canonical_dump(registry.engine) == state
    assert _counts(resumed) == _counts(report)
    assert resumed.reconciles


def test_killed_after_a_random_delay_then_resumed_equals_one_run(
    registry: Registry, message_dir: Path, reference: tuple[dict[str, object], IngestReport]
) -> None:
    process = _start(registry.url, message_dir)
    time.sleep(random.uniform(1.0, 2.5))  # imports take about a second; the run itself a few
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    resumed = ingest_directory(registry=registry, directory=message_dir, user="batch", batch_size=BATCH)
    state, report = reference
    assert canonical_dump(registry.engine) == state
    assert resumed.reconciles
    assert resumed.received == report.received
