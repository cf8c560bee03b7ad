"""End-to-end tests of ``oncoreg stats rates`` and ``oncoreg stats projection``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
from typer.testing import CliRunner

from oncoreg.cli import app

DATA = Path(__file__).parents[1] / "data" / "stats"
runner = CliRunner()


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from oncoreg.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


def test_rates_command_matches_r_reference(tmp_path: Path) -> None:
    pop = pl.read_csv(DATA / "rates" / "nordpred_population.csv").rename({"population": "person_years"})
    pop.filter(pl.col("period") < 1998).write_csv(tmp_path / "pyr.csv")
    out = tmp_path / "rates.csv"
    result = runner.invoke(
        app,
        [
            "stats",
            "rates",
            str(DATA / "rates" / "nordpred_cases.csv"),
            "--population",
            str(tmp_path / "pyr.csv"),
            "--by",
            "period",
            "--standard",
            "world",
            "--ci",
            "gamma",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    got = pl.read_csv(out).sort("period")
    ref = pl.read_csv(DATA / "rates" / "rates_reference_r.csv").sort("period")
    np.testing.assert_allclose(got["asr"].to_numpy(), ref["asr"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["asr_upper"].to_numpy(), ref["asr_upper_gamma"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["cum_risk"].to_numpy(), ref["cum_risk"].to_numpy(), rtol=1e-9)


def test_rates_command_from_january_counts(tmp_path: Path) -> None:
    pl.DataFrame({"year": [2020, 2020], "age_group": [1, 2], "cases": [3, 4]}).write_csv(tmp_path / "c.csv")
    pl.DataFrame(
        {"year": [2020, 2021, 2020, 2021], "age_group": [1, 1, 2, 2], "population": [1000, 1200, 2000, 2000]}
    ).write_csv(tmp_path / "p.csv")
    result = runner.invoke(
        app,
        [
            "stats",
            "rates",
            str(tmp_path / "c.csv"),
            "--population",
            str(tmp_path / "p.csv"),
            "--jan1",
            "--by",
            "year",
            "--age-specific",
            "--per",
            "1000",
        ],
    )
    assert result.exit_code == 0, result.output
    got = pl.read_csv(result.stdout.encode())
    assert got["person_years"].to_list() == [1100.0, 2000.0]
    np.testing.assert_allclose(got["rate"].to_numpy(), [3 / 1.1, 2.0])


def test_projection_json_reproduces_nordpred_example() -> None:
    result = runner.invoke(
        app,
        [
            "stats",
            "projection",
            str(DATA / "nordpred" / "cases.csv"),
            "--population",
            str(DATA / "nordpred" / "population.csv"),
            "--standard",
            "world",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    summary = json.loads((DATA / "nordpred" / "published_summary.json").read_text())
    assert obj["periods_used"] == 6
    assert obj["recent"] is True
    assert round(obj["recent_p"], 4) == summary["recent_p"]
    assert len(obj["predictions"]) == 18 * 5
    np.testing.assert_allclose(
        [r["rate"] for r in obj["asr"]], [r["rate"] for r in summary["asr_world"]], atol=0.005 + 1e-9
    )


def test_projection_options_and_csv(tmp_path: Path) -> None:
    out = tmp_path / "proj.csv"
    result = runner.invoke(
        app,
        [
            "stats",
            "projection",
            str(DATA / "nordpred" / "cases.csv"),
            "--population",
            str(DATA / "nordpred" / "population.csv"),
            "--periods",
            "4",
            "--no-recent",
            "--cut-trend",
            "0,0,0,0,0",
            "--link",
            "poisson",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table.height == 18 * 13
    assert table.filter(pl.col("projected"))["period"].unique().sort().to_list() == [
        1998,
        2003,
        2008,
        2013,
        2018,
    ]


def test_bad_input_is_one_line_error_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("age_group,period,cases\n1,1958,1\n2,1958,x\n")
    proc = run_main(
        "stats", "projection", str(bad), "--population", str(DATA / "nordpred" / "population.csv")
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "oncoreg: error: row 3, cases 'x': not a number in bad.csv [cli.number]"
    proc = run_main("stats", "rates", str(bad), "--population", str(bad), "--ci", "exact")
    assert proc.returncode == 2
    assert "--ci 'exact'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
