"""Benchmark: ``oncoreg.simulate`` at scale S (default 1.0, 1986–2024): wall time, peak RSS, rows/s.

Physical comparison in the same run: the truth Parquet files the simulator wrote are read back and written
again with a trivial writer (``pyarrow.parquet.write_table``, same settings), giving the time the bytes alone
cost. Results go to ``benchmarks/results/simulate_scale.json``.

    .venv/bin/python benchmarks/simulate_scale.py [--scale 1.0] [--start 1986] [--end 2024] [--no-messages]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        began = time.perf_counter()
        summary = simulate(
            out_dir=out,
            scale=args.scale,
            seed=args.seed,
            start_year=args.start,
            end_year=args.end,
            write_messages=not args.no_messages,
        )
        wall = time.perf_counter() - began
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        truth_files = sorted((out / "truth").glob("*.parquet"))
        truth_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in truth_files)
        truth_bytes = sum(p.stat().st_size for p in truth_files)
        tables = {p.name: pq.read_table(p) for p in truth_files}
        began = time.perf_counter()
        for name, table in tables.items():
            pq.write_table(table, out / f"copy_{name}", **PARQUET_OPTIONS)  # type: ignore[arg-type]
        trivial = time.perf_counter() - began
        message_bytes = sum(p.stat().st_size for p in (out / "messages").rglob("*") if p.is_file())
    result = {
        "benchmark": "simulate_scale",
        "scale": args.scale,
        "years": [args.start, args.end],
        "messages": not args.no_messages,
        "machine": {"cpus": 2, "python": platform.python_version(), "platform": platform.platform()},
        "wall_seconds": round(wall, 1),
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
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
