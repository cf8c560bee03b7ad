"""``oncoreg stats tables SNAPSHOT_DIR --out DIR``: the standard tables (and figures) of a snapshot."""

from __future__ import annotations

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
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from oncoreg.stats.publish import publish_tables

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("starting", total=None)
        tables = publish_tables(
            snapshot_dir,
            out,
            ratetable=ratetable,
            period_length=period_length,
            standards=standard,
            population=population,
            county=county,
            figures=figures,
            csv=csv,
            progress=lambda text: progress.update(task, description=text),
        )
    console.print(f"wrote {len(tables)} tables to {out}")
