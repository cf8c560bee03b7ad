"""Benchmark: the full standard tables for a scale-1.0 snapshot (about 1.2 M tumours 1986-2024).

The snapshot is the simulator's truth (``oncoreg simulate --scale S --start-year 1986 --no-messages``)
replicated
``--copies`` times with new person/tumour ids and every copy's dates shifted by a random number of days
(-120..120; persons, tumours and deaths together), so entity, age, sex and follow-up distributions stay
realistic.
Times: reading the Parquet files + ``standard_tables`` (incidence, mortality, prevalence, 5-year net survival,
three standards) against a physical floor, DuckDB scanning tumours.parquet with one group-by.
Writes ``benchmarks/results/standard_tables.json``.

    .venv/bin/python benchmarks/standard_tables.py --sim /tmp/sim01 --copies 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from oncoreg.stats.population import norwegian_person_years
from oncoreg.stats.ratetable import rate_table_from_frame
from oncoreg.stats.standard_tables import standard_tables


def truth_frames(sim: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The simulator's truth as snapshot-shaped tumours, persons and deaths."""
    t = pl.read_parquet(sim / "truth/tumours.parquet")
    p = pl.read_parquet(sim / "truth/persons.parquet")
    d = pl.read_parquet(sim / "truth/deaths.parquet")
    persons = p.select(
        "person_id",
        "sex",
        "birth_date",
        pl.when(pl.col("exit_reason") == "death")
        .then(pl.lit("dead"))
        .when(pl.col("exit_reason") == "emigration")
        .then(pl.lit("emigrated"))
        .otherwise(pl.lit("alive"))
        .alias("vital_status"),
        pl.when(pl.col("exit_reason") == "death").then("exit_date").alias("death_date"),
        pl.when(pl.col("exit_reason") == "emigration").then("exit_date").alias("emigration_date"),
        "county",
    ).filter(
        pl.col("person_id").is_in(t["person_id"].implode())
        | pl.col("person_id").is_in(d["person_id"].implode())
    )
    deaths = d.join(p.select("person_id", "sex", "birth_date"), on="person_id").select(
        "person_id",
        "death_date",
        "underlying_cause",
        "sex",
        ((pl.col("death_date") - pl.col("birth_date")).dt.total_days() // 365.25).cast(pl.Int16).alias("age"),
    )
    tumours = t.drop("vital_status", "exit_date", "net_survival_5y").with_columns(
        iarc_status=pl.lit("primary")
    )
    return tumours, persons, deaths


def replicate(frames: tuple[pl.DataFrame, ...], copies: int, seed: int = 1) -> tuple[pl.DataFrame, ...]:
    """``copies`` copies with offset ids and per-copy date shifts; dates after 2024 are dropped."""
    rng = np.random.default_rng(seed)
    shifts = rng.integers(-120, 121, copies)
    tumours, persons, deaths = frames
    step = int(max(persons["person_id"].max(), deaths["person_id"].max())) + 1  # type: ignore[arg-type]
    tstep = int(tumours["tumour_id"].max()) + 1  # type: ignore[arg-type]
    out: list[list[pl.DataFrame]] = [[], [], []]
    end = pl.date(2024, 12, 31)
    for c in range(copies):
        shift = pl.duration(days=int(shifts[c]))
        out[0].append(
            tumours.with_columns(
                pl.col("person_id") + c * step,
                pl.col("tumour_id") + c * tstep,
                pl.col("incidence_date") + shift,
                pl.col("birth_date") + shift,
            ).filter(pl.col("incidence_date").is_between(pl.date(1986, 1, 1), end))
        )
        out[1].append(
            persons.with_columns(
                pl.col("person_id") + c * step,
                *(pl.col(k) + shift for k in ("birth_date", "death_date", "emigration_date")),
            ).with_columns(
                pl.when(pl.col("death_date") > end)
                .then(None)
                .otherwise(pl.col("death_date"))
                .alias("death_date")
            )
        )
        out[2].append(
            deaths.with_columns(pl.col("person_id") + c * step, pl.col("death_date") + shift).filter(
                pl.col("death_date") <= end
            )
        )
    return tuple(pl.concat(parts) for parts in out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sim", type=Path, required=True, help="simulator output directory (has truth/)")
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--scale", type=float, default=0.01, help="the simulation's --scale")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/standard_tables.json")
    args = parser.parse_args()
    tumours, persons, deaths = replicate(truth_frames(args.sim), args.copies)
    rates = pl.read_csv(args.sim / "truth/ratetable.csv")
    rate_table = rate_table_from_frame(rates.drop("prob") if "rate_per_day" in rates.columns else rates)
    effective_scale = args.scale * args.copies
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, frame in (("tumours", tumours), ("persons", persons), ("deaths", deaths)):
            frame.write_parquet(folder / f"{name}.parquet")
        start = time.perf_counter()
        con = duckdb.connect()
        floor_rows = con.execute(
            "SELECT entity, sex, year(incidence_date) AS y, count(*) "
            f"FROM '{folder}/tumours.parquet' GROUP BY ALL"
        ).fetchall()
        floor = time.perf_counter() - start
        start = time.perf_counter()
        read = {
            name: pl.read_parquet(folder / f"{name}.parquet") for name in ("tumours", "persons", "deaths")
        }
        py = norwegian_person_years(by=("year", "sex", "age_group")).with_columns(
            pl.col("person_years") * effective_scale
        )
        read_time = time.perf_counter() - start
        start = time.perf_counter()
        cpu_start = time.process_time()
        tables = standard_tables(
            tumours=read["tumours"],
            persons=read["persons"],
            deaths=read["deaths"],
            person_years=py,
            rate_table=rate_table,
        )
        total = time.perf_counter() - start
        cpu_total = time.process_time() - cpu_start
        start = time.perf_counter()
        no_survival = standard_tables(
            tumours=read["tumours"], persons=read["persons"], deaths=read["deaths"], person_years=py
        )
        without_survival = time.perf_counter() - start
    result = {
        "tumours": tumours.height,
        "persons": persons.height,
        "deaths": deaths.height,
        "years": [1986, 2024],
        "source": f"oncoreg simulate --scale {args.scale} (1986-2024) replicated x{args.copies}",
        "duckdb_scan_groupby_seconds": round(floor, 3),
        "duckdb_groups": len(floor_rows),
        "read_parquet_seconds": round(read_time, 3),
        "standard_tables_seconds": round(total, 3),
        "standard_tables_cpu_seconds": round(cpu_total, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "standard_tables_without_survival_seconds": round(without_survival, 3),
        "survival_seconds": round(total - without_survival, 3),
        "ratio_to_duckdb_floor": round(total / floor, 1),
        "target_seconds": 60,
        "rows": {name: frame.height for name, frame in tables.items()},
        "tables_without_survival": sorted(no_survival),
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cpus": __import__("os").cpu_count(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
