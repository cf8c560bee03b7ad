"""``oncoreg stats tables``: reads a snapshot folder, writes tables, a manifest and figures."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import typer
from test_standard_tables import _rate_table, build_snapshot
from typer.testing import CliRunner

from oncoreg.cli.stats_tables import tables_command


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("tables")(tables_command)
    app.command("noop")(lambda: None)  # keep "tables" a named sub-command
    return app


def test_cli_writes_tables_manifest_and_figures(app: typer.Typer, tmp_path: Path) -> None:
    snapshot = build_snapshot()
    snap = tmp_path / "snap"
    snap.mkdir()
    for name in ("tumours", "persons", "deaths"):
        snapshot[name].write_parquet(snap / f"{name}.parquet")
    pop = tmp_path / "pop.csv"
    ages = pl.DataFrame({"age": list(range(0, 90, 5))})
    years = pl.DataFrame({"year": list(range(2005, 2026))})
    sexes = pl.DataFrame({"sex": [1, 2]})
    years.join(sexes, how="cross").join(ages, how="cross").with_columns(population=pl.lit(10_000)).write_csv(
        pop
    )
    rates = tmp_path / "rates.csv"
    table = _rate_table()
    rows = [
        {"sex": s, "age": int(a), "year": int(y), "rate_per_day": float(table.hazard[i, j, k])}
        for i, s in enumerate(table.sexes)
        for j, a in enumerate(table.ages)
        for k, y in enumerate(table.years)
    ]
    pl.DataFrame(rows).write_csv(rates)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "tables",
            str(snap),
            "--out",
            str(out),
            "--ratetable",
            str(rates),
            "--population",
            str(pop),
            "--standard",
            "world",
            "--figures",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["standards"] == ["world"]
    assert {"incidence_year", "survival", "mortality_period", "prevalence"} <= set(manifest["tables"])
    inc = pl.read_parquet(out / "incidence_period.parquet")
    assert inc["standard"].unique().to_list() == ["world"]
    assert (out / "survival.csv").exists()
    assert (out / "figures" / "asr_trend_all_sites.png").stat().st_size > 1000
    assert json.loads((out / "figures" / "top_sites.vl.json").read_text())["data"]["values"]


def test_cli_help(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["tables", "--help"])
    assert result.exit_code == 0
    assert "--ratetable" in result.output
