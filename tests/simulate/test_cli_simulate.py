"""``oncoreg simulate`` end to end on a tiny country."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from oncoreg.cli import app


def test_help_lists_the_flags() -> None:
    result = CliRunner().invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0
    for flag in ("--scale", "--seed", "--start-year", "--end-year", "--out", "--report"):
        assert flag in result.output


def test_simulate_writes_truth_and_report(tmp_path: Path) -> None:
    args = ["simulate", "--scale", "0.002", "--seed", "5", "--start-year", "2023", "--end-year", "2023"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path), "--report", "--no-messages"])
    assert result.exit_code == 0, result.output
    for name in ("persons", "tumours", "deaths", "net_survival"):
        assert (tmp_path / "truth" / f"{name}.parquet").exists()
    report = pl.read_csv(tmp_path / "report" / "realism.csv")
    assert {"mv_pct", "dco_pct", "rs5_pct"} <= set(report["measure"].to_list())
    assert {"events", "expected_events", "ci_low", "ci_high", "judged_by"} <= set(report.columns)
    # at scale 0.002 the tumour figures rest on fewer than 300 expected events: judged by their 95% CI
    counted = report.filter(pl.col("measure").is_in(["cases", "mv_pct", "dco_pct"]))
    assert set(counted["judged_by"].to_list()) == {"95% CI"}
    assert (tmp_path / "report" / "realism.md").read_text().startswith("# Realism report")


def test_bad_years_fail_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--start-year", "1950"])
    assert result.exit_code != 0
    assert "start_year" in str(result.exception)
