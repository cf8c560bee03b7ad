"""Benchmark ``oncoreg run`` end to end on simulated countries, against a physical limit.

For each scale: simulate the country (``oncoreg simulate``), then time in fresh processes (peak RSS from
``wait4``) on a fresh SQLite store:

1. ``oncoreg run DIR`` (everything is new: ingest, persons, linkage, consolidation, checks);
2. ``oncoreg run --rebuild`` (nothing ingested; everything re-derived from the stored messages; the
   issue's target: scale 1.0, 1986-2024, under 10 minutes); with ``--reingest`` also
   ``oncoreg run DIR --rebuild`` (every message re-read and found an exact duplicate);
3. the physical limit: the same notification rows read back and written by ``sqlite3`` executemany (one
   transaction) into an empty table of the same schema, without any processing (write time only).

``--sim DIR`` reuses a simulated country instead of simulating one. ``--store DB`` starts from a SQLite
store the country was ingested into already (``oncoreg ingest``; a scale-1.0 ingest takes over an hour):
if nothing is derived yet its first ``oncoreg run --rebuild`` is timed as the derivation, then the
rebuild (``--repeats N`` rebuilds, the slowest reported as ``rebuild``; ``--cold`` drops the kernel's
page cache before the first, as after a reboot: needs root). A second floor, SQLite's own
scan of every notification value (``physical_limit_scan``), is what any rebuild that re-reads the
stored notifications cannot beat. Results are merged into the JSON by
(scale, years), so scales can be run one at a time.

Figures: notifications per second end to end, seconds per stage (from the run's report), peak RSS.
Writes ``benchmarks/results/pipeline_run.json``. Run: ``.venv/bin/python benchmarks/pipeline_run.py
--scale 0.1 [--scale 1.0] [--start-year 1986 --end-year 2024] [--sim DIR | --store DB [--repeats N]
[--cold]] [--work DIR]``.
Not part of the test suite.
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


def _oncoreg_run(directory: Path | None, url: str, *extra: str) -> list[str]:
    args = [*([] if directory is None else [str(directory)]), "--database-url", url, "--json"]
    args += ["--as-of", "2026-01-01", *extra]
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
table = sa.Table("notification", sa.MetaData(), autoload_with=src)
dst = sa.create_engine(target)
copy = sa.Table("notification", sa.MetaData(), *[sa.Column(col.name, col.type) for col in table.columns])
copy.metadata.create_all(dst)
names = [col.name for col in table.columns]
insert = f"INSERT INTO notification ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
total, spent = 0, 0.0
with src.connect() as reader, dst.begin() as writer:
    cursor = reader.connection.dbapi_connection.cursor()
    cursor.execute(f"SELECT {', '.join(names)} FROM notification")
    out = writer.connection.dbapi_connection.cursor()
    while rows := cursor.fetchmany(50_000):
        started = time.perf_counter()
        out.executemany(insert, rows)
        spent += time.perf_counter() - started
        total += len(rows)
print(total, round(spent, 3))
"""


SCAN_COMMAND = r"""
import sqlite3, sys, time
connection = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
names = [row[1] for row in connection.execute("PRAGMA table_info(notification)")]
touched = " + ".join(f"coalesce(length({name}), 0)" for name in names)
started = time.perf_counter()
rows, values = connection.execute(f"SELECT count(*), sum({touched}) FROM notification").fetchone()
print(rows, round(time.perf_counter() - started, 3))
"""


def _simulate(
    sim: Path, *, scale: float, seed: int, start_year: int, end_year: int, log: Path
) -> dict[str, Any]:
    command = [sys.executable, "-c", "from oncoreg.cli import app; app()", "simulate", "--scale", str(scale)]
    command += ["--seed", str(seed), "--start-year", str(start_year), "--end-year", str(end_year)]
    return _timed([*command, "--out", str(sim)], log=log) | {"stdout": None}


def _per_second(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds else None


def _rebuilt(timed: dict[str, Any], notifications: int) -> dict[str, Any]:
    report = _report(timed.pop("stdout"))
    return timed | {
        "notifications_per_second": _per_second(notifications, timed["seconds"]),
        "stage_seconds": report.get("seconds"),
        "changed": {
            k: report.get(k)
            for k in (
                "persons_created",
                "persons_updated",
                "persons_deleted",
                "tumours_created",
                "tumours_updated",
                "tumours_retired",
                "notifications_relinked",
            )
        },
    }


def _bulk_floor(url: str, work: Path, scale: float) -> dict[str, Any]:
    bulk_db = work / f"bulk-{scale}.sqlite"
    bulk = _timed(
        [sys.executable, "-c", BULK_COMMAND, url, f"sqlite:///{bulk_db}"], log=work / f"bulk-{scale}.log"
    )
    rows, bulk_seconds = bulk.pop("stdout").split()
    bulk_db.unlink(missing_ok=True)
    return {
        "what": "the notification rows written by sqlite3 executemany into an empty table, one transaction",
        "rows": int(rows),
        "seconds": float(bulk_seconds),
        "rows_per_second": _per_second(int(rows), float(bulk_seconds)),
        "peak_rss_mib": bulk["peak_rss_mib"],
    }


def _scan_floor(db: Path, work: Path, scale: float) -> dict[str, Any]:
    scan = _timed([sys.executable, "-c", SCAN_COMMAND, str(db)], log=work / f"scan-{scale}.log")
    rows, seconds = scan.pop("stdout").split()
    return {
        "what": "SQLite's own scan of every notification value (length of each), no rows handed to Python",
        "rows": int(rows),
        "seconds": float(seconds),
        "rows_per_second": _per_second(int(rows), float(seconds)),
    }


def _store_counts(db: Path) -> dict[str, int]:
    import sqlite3

    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("message", "notification", "person", "tumour")
        }
    finally:
        connection.close()


def _drop_page_cache() -> None:
    """Empty the kernel's page cache (written pages first), so the next run reads the store from disk."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
    except OSError as exc:
        raise SystemExit(f"--cold needs root (writing /proc/sys/vm/drop_caches): {exc}") from exc


def bench_store(
    scale: float,
    *,
    start_year: int,
    end_year: int,
    work: Path,
    store: Path,
    repeats: int = 1,
    cold: bool = False,
) -> dict[str, Any]:
    """One scale from a store it was ingested into: the first derivation (when nothing is derived yet),
    ``repeats`` rebuilds (the first from a cold page cache with ``cold``; ``rebuild`` is the slowest),
    the two floors."""
    url = f"sqlite:///{store}"
    before = _store_counts(store)
    result: dict[str, Any] = {
        "scale": scale,
        "years": [start_year, end_year],
        "store": str(store),
        "messages_received": before["message"],
        "notifications": before["notification"],
    }
    if before["person"] == 0:
        result["derivation"] = _rebuilt(
            _timed(_oncoreg_run(None, url, "--rebuild"), log=work / f"derive-{scale}.log"),
            before["notification"],
        )
    runs = []
    for number in range(repeats):
        if cold and number == 0:
            _drop_page_cache()
        rebuild = _timed(_oncoreg_run(None, url, "--rebuild"), log=work / f"rebuild-{scale}-{number}.log")
        cache = "cold (page cache dropped before)" if cold and number == 0 else "as the run before left it"
        runs.append(_rebuilt(rebuild, before["notification"]) | {"page_cache": cache})
    result["rebuild"] = max(runs, key=lambda run: float(run["seconds"]))  # the slowest counts
    result["rebuilds"] = runs
    after = _store_counts(store)
    result["persons"], result["tumours"] = after["person"], after["tumour"]
    result["store_bytes"] = store.stat().st_size
    result["physical_limit_scan"] = _scan_floor(store, work, scale)
    result["physical_limit_bulk_insert"] = _bulk_floor(url, work, scale)
    return result


def bench_scale(
    scale: float,
    *,
    start_year: int,
    end_year: int,
    work: Path,
    seed: int,
    sim: Path | None,
    reingest: bool,
) -> dict[str, Any]:
    """One scale: simulate (unless ``sim`` is given), first run, rebuild (derivation alone, and when
    ``reingest`` also with the directory re-read), then the bulk-insert floor."""
    simulate: dict[str, Any] | None = None
    if sim is None:
        sim = work / f"sim-{scale}"
        simulate = _simulate(
            sim,
            scale=scale,
            seed=seed,
            start_year=start_year,
            end_year=end_year,
            log=work / f"simulate-{scale}.log",
        )
    db = work / f"registry-{scale}.sqlite"
    url = f"sqlite:///{db}"
    first = _timed(_oncoreg_run(sim, url), log=work / f"run-{scale}.log")
    report = _report(first.pop("stdout"))
    notifications = int(report.get("accepted", 0))
    result: dict[str, Any] = {
        "scale": scale,
        "years": [start_year, end_year],
        "simulation": str(sim),
        "messages_received": report.get("received"),
        "notifications": notifications,
        "persons": report.get("persons_total"),
        "tumours": report.get("tumours_total"),
        "simulate": simulate,
        "run": first
        | {
            "notifications_per_second": _per_second(notifications, first["seconds"]),
            "stage_seconds": report.get("seconds"),
        },
    }
    # the target: everything re-derived from the stored messages, nothing new to ingest
    result["rebuild"] = _rebuilt(
        _timed(_oncoreg_run(None, url, "--rebuild"), log=work / f"rebuild-{scale}.log"), notifications
    )
    if reingest:
        result["rebuild_reingesting_directory"] = _rebuilt(
            _timed(_oncoreg_run(sim, url, "--rebuild"), log=work / f"rebuild-dir-{scale}.log"), notifications
        )
    result["store_bytes"] = db.stat().st_size
    result["physical_limit_scan"] = _scan_floor(db, work, scale)
    result["physical_limit_bulk_insert"] = _bulk_floor(url, work, scale)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="country scale (repeatable)")
    parser.add_argument("--start-year", type=int, default=2015)
    parser.add_argument("--end-year", type=int, default=2024)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sim", type=Path, default=None, help="use this simulation (one --scale only)")
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="start from this SQLite store, ingested already (one --scale only; derived in place)",
    )
    parser.add_argument(
        "--reingest", action="store_true", help="also time a rebuild that re-reads the directory"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="with --store: time this many rebuilds (the slowest counts)"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="with --store: drop the page cache before the first rebuild (root only)",
    )
    parser.add_argument("--work", type=Path, default=None, help="working directory (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    scales = args.scale or [0.1]
    if (args.sim is not None or args.store is not None) and len(scales) != 1:
        parser.error("--sim and --store need exactly one --scale (the one it was simulated at)")
    if args.sim is not None and args.store is not None:
        parser.error("--sim and --store exclude each other")
    if args.store is None and (args.repeats != 1 or args.cold):
        parser.error("--repeats and --cold go with --store")
    if args.repeats < 1:
        parser.error("--repeats takes a whole number from 1")
    work = args.work or Path(tempfile.mkdtemp(prefix="oncoreg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    kept = {(r["scale"], tuple(r["years"])): r for r in previous.get("results", [])}
    for scale in scales:
        if args.store is not None:
            kept[(scale, (args.start_year, args.end_year))] = bench_store(
                scale,
                start_year=args.start_year,
                end_year=args.end_year,
                work=work,
                store=args.store,
                repeats=args.repeats,
                cold=args.cold,
            )
            continue
        result = bench_scale(
            scale,
            start_year=args.start_year,
            end_year=args.end_year,
            work=work,
            seed=args.seed,
            sim=args.sim,
            reingest=args.reingest,
        )
        kept[(scale, (args.start_year, args.end_year))] = result
    document = {
        "benchmark": "oncoreg run end to end (SQLite): first run, rebuild; vs bulk insert of the same rows",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": [kept[key] for key in sorted(kept)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
