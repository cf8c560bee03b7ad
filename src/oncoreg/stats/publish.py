"""The standard tables of a snapshot as files: Parquet (and CSV) per table, figures, and a manifest.

:func:`publish_tables` is what ``oncoreg stats tables SNAPSHOT_DIR --out DIR`` runs: it reads the
snapshot's ``tumours``, ``persons`` and (if present) ``deaths`` Parquet files, computes
:func:`oncoreg.stats.standard_tables.standard_tables` with Norwegian person-years (or those of a
population file), writes every table with its SHA-256 in ``manifest.json``, and optionally PNG figures with
their Vega-Lite specs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from oncoreg.errors import Problem, ValidationFailed

#: ``progress(description)`` before each step.
Progress = Callable[[str], None]
ALL_SITES = 980
#: Grouped entities left out of the top-sites figure (their parts are in it).
_GROUPED = (320, 321, 400, 430)


def read_snapshot_frames(snapshot_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """``tumours``, ``persons`` and ``deaths`` (None when the snapshot has none) of a snapshot folder."""
    for name in ("tumours", "persons"):
        path = snapshot_dir / f"{name}.parquet"
        if not path.exists():
            raise ValidationFailed([Problem("snapshot", str(path), "cli.snapshot", "file missing")])
    deaths = snapshot_dir / "deaths.parquet"
    return (
        pl.read_parquet(snapshot_dir / "tumours.parquet"),
        pl.read_parquet(snapshot_dir / "persons.parquet"),
        pl.read_parquet(deaths) if deaths.exists() else None,
    )


def person_years(*, population: Path | None, county: bool) -> pl.DataFrame:
    """Person-years by year, sex, 5-year age group (and county): from a 1 January population CSV
    (``year, sex, age, population``) or, by default, Statistics Norway's (package data)."""
    from oncoreg.stats.population import norwegian_person_years, read_population_csv
    from oncoreg.stats.rates import person_years_from_jan1

    by = ["year", "sex", "age_group", *(["county"] if county else [])]
    if population is None:
        return norwegian_person_years(by=by, level="county" if county else "national")
    jan1 = read_population_csv(population)
    if "age_group" not in jan1.columns:
        jan1 = jan1.with_columns(pl.min_horizontal(pl.col("age") // 5 + 1, pl.lit(18)).alias("age_group"))
    jan1 = jan1.group_by(by).agg(pl.col("population").sum())
    return person_years_from_jan1(population=jan1, by=[k for k in by if k != "year"])


def write_tables(tables: Mapping[str, pl.DataFrame], out: Path, *, csv: bool) -> dict[str, Any]:
    """Each table as Parquet (and CSV); the manifest entries (rows, file checksums)."""
    out.mkdir(parents=True, exist_ok=True)
    entries: dict[str, Any] = {}
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
    return entries


def write_figures(tables: Mapping[str, pl.DataFrame], folder: Path) -> dict[str, str]:
    """All-sites trend, age-specific and survival figures, and the top sites, as PNG + Vega-Lite JSON;
    returns figure name → PNG file name."""
    from oncoreg.stats import figures as figs
    from oncoreg.stats import vegalite as vl

    folder.mkdir(parents=True, exist_ok=True)
    inc_year = tables["incidence_year"]
    age_spec = tables["incidence_age_specific"]
    inc_period = tables["incidence_period"]
    trend = inc_year.filter((pl.col("entity") == ALL_SITES) & (pl.col("standard") == inc_year["standard"][0]))
    last = int(inc_period["period_index"].max())  # type: ignore[arg-type]
    ages = age_spec.filter(
        (pl.col("entity") == ALL_SITES) & (pl.col("period_index") == last) & (pl.col("sex") > 0)
    )
    top = inc_period.filter(
        (pl.col("period_index") == last)
        & (pl.col("standard") == inc_period["standard"][0])
        & (pl.col("entity") < 500)
        & ~pl.col("entity").is_in(_GROUPED)
    )
    pairs: dict[str, tuple[Any, dict[str, Any]]] = {
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
    if curves is not None and curves.height:
        chosen = curves.filter((pl.col("entity") == ALL_SITES) & (pl.col("sex") == 0))
        pairs["survival_all_sites"] = (
            figs.survival_figure(curves=chosen, title="All sites, net survival"),
            vl.survival_spec(curves=chosen),
        )
    written: dict[str, str] = {}
    for name, (figure, spec) in pairs.items():
        png = figs.save_figure(figure, folder / f"{name}.png")
        (folder / f"{name}.vl.json").write_text(json.dumps(spec, sort_keys=True))
        written[name] = png.name
    return written


def publish_tables(
    snapshot_dir: Path,
    out: Path,
    *,
    ratetable: Path | None = None,
    period_length: int = 5,
    standards: Sequence[str] | None = None,
    population: Path | None = None,
    county: bool = False,
    figures: bool = False,
    csv: bool = True,
    progress: Progress | None = None,
) -> dict[str, pl.DataFrame]:
    """Compute the standard tables of the snapshot in ``snapshot_dir`` and write them (see the module);
    returns the tables. Raises :class:`~oncoreg.errors.ValidationFailed` for an unknown standard or a
    snapshot without tumours or persons."""
    from oncoreg.stats.ratetable import read_rate_table
    from oncoreg.stats.standard_tables import STANDARDS, standard_tables

    chosen = list(standards or STANDARDS)
    bad = [s for s in chosen if s not in STANDARDS]
    if bad:
        raise ValidationFailed(
            [Problem("--standard", b, "cli.standard", f"must be one of {', '.join(STANDARDS)}") for b in bad]
        )

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    step("reading snapshot")
    tumours, persons, deaths = read_snapshot_frames(snapshot_dir)
    years = person_years(population=population, county=county)
    rate_table = read_rate_table(ratetable) if ratetable is not None else None
    step("computing standard tables")
    tables = standard_tables(
        tumours=tumours,
        persons=persons,
        deaths=deaths,
        person_years=years,
        rate_table=rate_table,
        period_length=period_length,
        standards=chosen,
        by_county=county,
    )
    step("writing tables")
    entries = write_tables(tables, out, csv=csv)
    if figures:
        step("drawing figures")
        entries["figures"] = {"files": write_figures(tables, out / "figures")}
    manifest = {
        "snapshot": str(snapshot_dir),
        "ratetable": str(ratetable) if ratetable else None,
        "population": str(population) if population else "Statistics Norway 07459 (oncoreg package data)",
        "period_length": period_length,
        "standards": chosen,
        "tables": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return tables
