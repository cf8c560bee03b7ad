"""Benchmark: ``oncoreg.simulate`` at scale S (default 1.0, 1986–2024): wall and CPU time, peak RSS, rows/s.

The machine is shared (2 cores), so CPU time (user + system of this process) is reported beside wall time,
and the seconds of every simulated year. Physical comparison in the same run: the truth Parquet files the
simulator wrote are read back and written again with a trivial writer (``pyarrow.parquet.write_table``, same
settings), and the message files are copied byte for byte, giving the time the bytes alone cost. Results go
to ``benchmarks/results/simulate_scale.json``. The stages of the run (year loop, persons and screening,
treatments and messages by year, tumours and net survival) are timed from the simulator's log, with the
peak resident memory of each (sampled every 0.2 s). ``--keep DIR`` simulates into ``DIR`` and leaves it
there (the timed trivial copies are removed) instead of a temporary directory.

    .venv/bin/python benchmarks/simulate_scale.py [--scale 1.0] [--start 1986] [--end 2024] [--no-messages]
        [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import platform
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from oncoreg.simulate.output import PARQUET_OPTIONS
from oncoreg.simulate.run import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--start", type=int, default=1986)
    parser.add_argument("--end", type=int, default=2024)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-messages", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "simulate_scale.json")
    parser.add_argument("--keep", type=Path, default=None, help="simulate into this directory and keep it")
    args = parser.parse_args()
    year_seconds: dict[str, list[float]] = {}
    stages = _Stages()
    logging.getLogger("oncoreg.simulate.run").addHandler(stages)
    logging.getLogger("oncoreg.simulate.run").setLevel(logging.INFO)
    with _output_dir(args.keep) as out:
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        last = [began, cpu_began]

        def progress(done: int, total: int, text: str) -> None:
            now, cpu = time.perf_counter(), _cpu_seconds()
            year_seconds[text.split(":")[0]] = [round(now - last[0], 2), round(cpu - last[1], 2)]
            last[:] = [now, cpu]

        summary = simulate(
            out_dir=out,
            scale=args.scale,
            seed=args.seed,
            start_year=args.start,
            end_year=args.end,
            write_messages=not args.no_messages,
            progress=progress,
        )
        wall, cpu = time.perf_counter() - began, _cpu_seconds() - cpu_began
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        stages.stop()
        truth_files = sorted((out / "truth").glob("*.parquet"))
        truth_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in truth_files)
        truth_bytes = sum(p.stat().st_size for p in truth_files)
        trivial = 0.0
        for path in truth_files:  # one table in memory at a time; only the write is timed
            table = pq.read_table(path)
            began = time.perf_counter()
            pq.write_table(table, out / f"copy_{path.name}", **PARQUET_OPTIONS)
            trivial += time.perf_counter() - began
            del table
            (out / f"copy_{path.name}").unlink()
        message_files = [p for p in (out / "messages").rglob("*") if p.is_file()]
        message_bytes = sum(p.stat().st_size for p in message_files)
        copies = out / "copies"
        copies.mkdir()
        began = time.perf_counter()
        for number, path in enumerate(message_files):
            shutil.copyfile(path, copies / str(number))
        trivial_messages = time.perf_counter() - began
        shutil.rmtree(copies)
    result = {
        "benchmark": "simulate_scale",
        "scale": args.scale,
        "years": [args.start, args.end],
        "messages": not args.no_messages,
        "machine": {"cpus": 2, "python": platform.python_version(), "platform": platform.platform()},
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_rss_gb": round(peak_gb, 2),
        "targets": {"wall_seconds": 600, "peak_rss_gb": 8},
        "persons": summary.persons,
        "tumours": summary.tumours,
        "deaths": summary.deaths,
        "moves": summary.moves,
        "treatments": summary.treatments,
        "messages_written": summary.messages,
        "truth_rows": truth_rows,
        "truth_bytes": truth_bytes,
        "message_bytes": message_bytes,
        "rows_per_second": round(truth_rows / wall),
        "trivial_writer_seconds": round(trivial, 2),
        "trivial_writer_rows_per_second": round(truth_rows / trivial),
        "share_of_time_writing_truth_bytes": round(trivial / wall, 4),
        "message_files": len(message_files),
        "trivial_message_copy_seconds": round(trivial_messages, 2),
        "share_of_time_writing_message_bytes": round(trivial_messages / wall, 4),
        "stages": stages.table,
        "seconds_per_year_wall_cpu": year_seconds,
    }
    if args.keep is not None:
        result["kept_output"] = str(args.keep)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


@contextlib.contextmanager
def _output_dir(keep: Path | None) -> Iterator[Path]:
    """``keep`` (created; must be empty or absent) or a temporary directory removed afterwards."""
    if keep is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)
        return
    if keep.exists() and any(keep.iterdir()):
        raise SystemExit(f"--keep {keep}: directory is not empty")
    keep.mkdir(parents=True, exist_ok=True)
    yield keep


class _Stages(logging.Handler):
    """Wall and CPU seconds and peak RSS of each stage, from the ``stage <name>: <s> s`` log lines."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.table: dict[str, dict[str, float]] = {}
        self.cpu = _cpu_seconds()
        self.peak = 0.0
        self.running = True
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss_gb())
            time.sleep(0.2)

    def emit(self, record: logging.LogRecord) -> None:
        if not str(record.msg).startswith("stage "):
            return
        if not isinstance(record.args, tuple) or len(record.args) != 2:
            return
        name, seconds = record.args
        cpu = _cpu_seconds()
        self.peak = max(self.peak, _rss_gb())
        self.table[str(name)] = {
            "wall_seconds": round(float(str(seconds)), 1),
            "cpu_seconds": round(cpu - self.cpu, 1),
            "peak_rss_gb": round(self.peak, 2),
        }
        self.cpu, self.peak = cpu, 0.0

    def stop(self) -> None:
        self.running = False


def _rss_gb() -> float:
    """Current resident set size of this process (GB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1e6
    return 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
