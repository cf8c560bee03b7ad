"""``oncoreg stats tables SNAPSHOT_DIR --out DIR``: the standard tables (and figures) of a snapshot."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer


def tables_command(
    snapshot_dir: Annotated[
        Path, typer.Argument(help="Snapshot directory (tumours/persons/deaths.parquet).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output directory for the tables and manifest.json.")],
    ratetable: Annotated[
        Path | None,
        typer.Option("--ratetable", help="Rate table CSV (sex, age, year, rate_per_day|rate_per_year|prob)."),
    ] = None,
    period_length: Annotated[int, typer.Option("--period-length", help="Years per period.")] = 5,
    standard: Annotated[
        list[str] | None,
        typer.Option("--standard", help="world | europe2013 | nordic (repeat; default all three)."),
    ] = None,
    population: Annotated[
        Path | None,
        typer.Option(
            "--population", help="1 January population CSV (year, sex, age, population); default Norway."
        ),
    ] = None,
    county: Annotated[bool, typer.Option("--county", help="Also incidence by county (2005-).")] = False,
    figures: Annotated[
        bool, typer.Option("--figures", help="Also write PNG figures and Vega-Lite JSON.")
    ] = False,
    csv: Annotated[bool, typer.Option("--csv/--no-csv", help="Write CSV next to Parquet.")] = True,
) -> None:
    """Compute the standard tables (incidence, mortality, prevalence, 5-year net survival) of a snapshot."""
    import polars as pl
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from oncoreg.errors import Problem, ValidationFailed
    from oncoreg.stats.population import norwegian_person_years, read_population_csv
    from oncoreg.stats.rates import person_years_from_jan1
    from oncoreg.stats.ratetable import read_rate_table
    from oncoreg.stats.standard_tables import STANDARDS, standard_tables

    standards = standard or list(STANDARDS)
    bad = [s for s in standards if s not in STANDARDS]
    if bad:
        raise ValidationFailed(
            [Problem("--standard", b, "cli.standard", f"must be one of {', '.join(STANDARDS)}") for b in bad]
        )
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("reading snapshot", total=None)
        frames = {}
        for name in ("tumours", "persons", "deaths"):
            path = snapshot_dir / f"{name}.parquet"
            if not path.exists() and name != "deaths":
                raise ValidationFailed([Problem("snapshot", str(path), "cli.snapshot", "file missing")])
            frames[name] = pl.read_parquet(path) if path.exists() else None
        by = ["year", "sex", "age_group", *(["county"] if county else [])]
        if population is not None:
            jan1 = read_population_csv(population)
            if "age_group" not in jan1.columns:
                jan1 = jan1.with_columns(
                    pl.min_horizontal(pl.col("age") // 5 + 1, pl.lit(18)).alias("age_group")
                )
            jan1 = jan1.group_by(by).agg(pl.col("population").sum())
            person_years = person_years_from_jan1(population=jan1, by=[k for k in by if k != "year"])
        else:
            person_years = norwegian_person_years(by=by, level="county" if county else "national")
        rate_table = read_rate_table(ratetable) if ratetable is not None else None
        progress.update(task, description="computing standard tables")
        tumours, persons = frames["tumours"], frames["persons"]
        assert tumours is not None
        assert persons is not None
        tables = standard_tables(
            tumours=tumours,
            persons=persons,
            deaths=frames["deaths"],
            person_years=person_years,
            rate_table=rate_table,
            period_length=period_length,
            standards=standards,
            by_county=county,
        )
        progress.update(task, description="writing tables")
        out.mkdir(parents=True, exist_ok=True)
        entries = {}
        for name, frame in tables.items():
            files = [out / f"{name}.parquet"]
            frame.write_parquet(files[0], statistics=False)
            if csv:
                files.append(out / f"{name}.csv")
                frame.write_csv(files[1], float_precision=6)
            entries[name] = {
                "rows": frame.height,
                "files": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files},
            }
        if figures:
            progress.update(task, description="drawing figures")
            entries["figures"] = {"files": _write_figures(tables, out / "figures")}
        manifest = {
            "snapshot": str(snapshot_dir),
            "ratetable": str(ratetable) if ratetable else None,
            "population": str(population) if population else "Statistics Norway 07459 (oncoreg package data)",
            "period_length": period_length,
            "standards": standards,
            "tables": entries,
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    console.print(f"wrote {len(tables)} tables to {out}")


def _write_figures(tables: Mapping[str, object], folder: Path) -> dict[str, str]:
    """All-sites trend, age-specific and survival figures, and top sites, as PNG + Vega-Lite JSON."""
    import json as _json

    import polars as pl

    from oncoreg.stats import figures as figs
    from oncoreg.stats import vegalite as vl

    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    inc_year = tables["incidence_year"]
    age_spec = tables["incidence_age_specific"]
    inc_period = tables["incidence_period"]
    assert isinstance(inc_year, pl.DataFrame)
    assert isinstance(age_spec, pl.DataFrame)
    assert isinstance(inc_period, pl.DataFrame)
    trend = inc_year.filter((pl.col("entity") == 980) & (pl.col("standard") == inc_year["standard"][0]))
    last = int(inc_period["period_index"].max())  # type: ignore[arg-type]
    ages = age_spec.filter((pl.col("entity") == 980) & (pl.col("period_index") == last) & (pl.col("sex") > 0))
    top = inc_period.filter(
        (pl.col("period_index") == last)
        & (pl.col("standard") == inc_period["standard"][0])
        & (pl.col("entity") < 500)
        & ~pl.col("entity").is_in([320, 321, 400, 430])
    )
    pairs = {
        "asr_trend_all_sites": (
            figs.asr_trend_figure(rates=trend, title="All sites"),
            vl.asr_trend_spec(rates=trend),
        ),
        "age_specific_all_sites": (
            figs.age_specific_figure(rates=ages, title="All sites"),
            vl.age_specific_spec(rates=ages),
        ),
        "top_sites": (
            figs.top_sites_figure(incidence=top, title="Most common sites"),
            vl.top_sites_spec(incidence=top),
        ),
    }
    curves = tables.get("survival_curves")
    if isinstance(curves, pl.DataFrame) and curves.height:
        chosen = curves.filter((pl.col("entity") == 980) & (pl.col("sex") == 0))
        pairs["survival_all_sites"] = (
            figs.survival_figure(curves=chosen, title="All sites, net survival"),
            vl.survival_spec(curves=chosen),
        )
    for name, (figure, spec) in pairs.items():
        png = figs.save_figure(figure, folder / f"{name}.png")
        (folder / f"{name}.vl.json").write_text(_json.dumps(spec, sort_keys=True))
        written[name] = png.name
    return written
