"""Benchmark ``oncoreg run`` end to end on simulated countries, against a physical limit.

For each scale: simulate the country (``oncoreg simulate``), then time in fresh processes (peak RSS from
``wait4``) on a fresh SQLite store:

1. ``oncoreg run DIR`` (everything is new: ingest, persons, linkage, consolidation, checks);
2. ``oncoreg run DIR --rebuild`` (every message an exact duplicate; everything re-derived from the store);
3. the physical limit: the same notification rows bulk-inserted (executemany, one transaction) into an
   empty SQLite table of the same schema, without any processing.

Figures: notifications per second end to end, seconds per stage (from the run's report), peak RSS.
Writes ``benchmarks/results/pipeline_run.json``. Run: ``.venv/bin/python benchmarks/pipeline_run.py
--scale 0.1 [--scale 1.0] [--start-year 1986 --end-year 2024]``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "pipeline_run.json"
RUN_COMMAND = (
    "import sys, typer; from oncoreg.cli.run import run; sys.argv[0] = 'oncoreg run'; typer.run(run)"
)


def _timed(command: list[str], *, log: Path) -> dict[str, Any]:
    """Run ``command`` in a fresh process: wall seconds, peak RSS (MiB), exit status, stdout."""
    started = time.perf_counter()
    with log.open("wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "exit_status": os.waitstatus_to_exitcode(status),
        "stdout": out.decode("utf-8", "replace"),
    }


def _report(stdout: str) -> dict[str, Any]:
    """The JSON report at the end of ``oncoreg run --json``'s output (anything a library printed before it
    is skipped)."""
    start = stdout.find("{\n")
    return json.loads(stdout[start:]) if start >= 0 else {}


def _oncoreg_run(directory: Path, url: str, *extra: str) -> list[str]:
    args = [str(directory), "--database-url", url, "--json", "--as-of", "2026-01-01", *extra]
    if (
        shutil.which("oncoreg")
        and "run" in subprocess.run(["oncoreg", "--help"], capture_output=True, text=True, check=False).stdout
    ):
        return ["oncoreg", "run", *args]
    return [sys.executable, "-c", RUN_COMMAND, *args]


BULK_COMMAND = r"""
import sys, time, sqlalchemy as sa
source, target = sys.argv[1], sys.argv[2]
src = sa.create_engine(source)
meta = sa.MetaData()
table = sa.Table("notification", meta, autoload_with=src)
with src.connect() as c:
    rows = [dict(r._mapping) for r in c.execute(sa.select(table))]
dst = sa.create_engine(target)
copy = sa.Table("notification", sa.MetaData(), *[sa.Column(col.name, col.type) for col in table.columns])
copy.metadata.create_all(dst)
started = time.perf_counter()
with dst.begin() as c:
    for i in range(0, len(rows), 5000):
        c.execute(sa.insert(copy), rows[i:i + 5000])
print(len(rows), round(time.perf_counter() - started, 3))
"""


def bench_scale(scale: float, *, start_year: int, end_year: int, work: Path, seed: int) -> dict[str, Any]:
    sim = work / f"sim-{scale}"
    simulate = _timed(
        [
            sys.executable,
            "-c",
            "from oncoreg.cli import app; app()",
            "simulate",
            "--scale",
            str(scale),
            "--seed",
            str(seed),
            "--start-year",
            str(start_year),
            "--end-year",
            str(end_year),
            "--out",
            str(sim),
        ],
        log=work / f"simulate-{scale}.log",
    )
    db = work / f"registry-{scale}.sqlite"
    url = f"sqlite:///{db}"
    first = _timed(_oncoreg_run(sim, url), log=work / f"run-{scale}.log")
    report = _report(first.pop("stdout"))
    rebuild = _timed(_oncoreg_run(sim, url, "--rebuild"), log=work / f"rebuild-{scale}.log")
    rebuilt = _report(rebuild.pop("stdout"))
    bulk = _timed(
        [sys.executable, "-c", BULK_COMMAND, url, f"sqlite:///{work / f'bulk-{scale}.sqlite'}"],
        log=work / f"bulk-{scale}.log",
    )
    rows, bulk_seconds = bulk.pop("stdout").split()
    notifications = int(report.get("accepted", 0))
    return {
        "scale": scale,
        "years": [start_year, end_year],
        "messages_received": report.get("received"),
        "notifications": notifications,
        "persons": report.get("persons_total"),
        "tumours": report.get("tumours_total"),
        "simulate": simulate | {"stdout": None},
        "run": first
        | {
            "notifications_per_second": round(notifications / first["seconds"], 1)
            if first["seconds"]
            else None,
            "stage_seconds": report.get("seconds"),
        },
        "rebuild": rebuild
        | {
            "notifications_per_second": round(notifications / rebuild["seconds"], 1)
            if rebuild["seconds"]
            else None,
            "stage_seconds": rebuilt.get("seconds"),
            "changed": {
                k: rebuilt.get(k)
                for k in ("persons_created", "persons_updated", "tumours_created", "tumours_updated")
            },
        },
        "physical_limit_bulk_insert": {
            "rows": int(rows),
            "seconds": float(bulk_seconds),
            "rows_per_second": round(int(rows) / float(bulk_seconds), 1) if float(bulk_seconds) else None,
            "peak_rss_mib": bulk["peak_rss_mib"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="country scale (repeatable)")
    parser.add_argument("--start-year", type=int, default=2015)
    parser.add_argument("--end-year", type=int, default=2024)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", type=Path, default=None, help="working directory (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="oncoreg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = [
        bench_scale(scale, start_year=args.start_year, end_year=args.end_year, work=work, seed=args.seed)
        for scale in (args.scale or [0.1])
    ]
    document = {
        "benchmark": "oncoreg run end to end (SQLite) vs bulk insert of the same notification rows",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
