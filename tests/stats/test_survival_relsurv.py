"""Continuous-time estimators against relsurv ``rs.surv`` (stored output and, when R is present, live)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from oncoreg.cli import app
from oncoreg.stats.ratetable import RateTable, read_rate_table
from oncoreg.stats.survival import RelativeSurvival, net_survival
from oncoreg.stats.survival_continuous import continuous_survival
from oncoreg.stats.survival_data import SurvivalData, survival_data

DATA = Path(__file__).parents[1] / "data" / "stats" / "survival"
YEARS = [0.5, 1, 2, 3, 5, 10]
RELSURV_1960_SHIFT_DAYS = 3653  # days from 1960-01-01 to 1970-01-01


@pytest.fixture(scope="module")
def slopop() -> RateTable:
    return read_rate_table(DATA / "slopop_long.csv")


@pytest.fixture(scope="module")
def rdata(slopop: RateTable) -> SurvivalData:
    frame = pl.read_csv(DATA / "rdata.csv", infer_schema_length=0)
    return survival_data(
        frame,
        rate_table=slopop,
        time="time",
        status="cens",
        age="age",
        sex="sex",
        sex_labels={"1": "male", "2": "female"},
        diagnosis_date="year",
        by=["sex"],
    )


def _stratum_label(stratum: str) -> str:
    return "all" if stratum == "all" else stratum


def _reference(name: str) -> pl.DataFrame:
    return pl.read_csv(DATA / name)


@pytest.mark.parametrize("method", ["pohar-perme", "ederer2", "ederer1"])
def test_python_api_reproduces_relsurv_within_1e_6(
    rdata: SurvivalData, slopop: RateTable, method: str
) -> None:
    ref = _reference("relsurv_rdata_reference.csv").filter(pl.col("method") == method)
    overall = net_survival(
        dataclasses.replace(rdata, strata=rdata.strata.select([])),
        rate_table=slopop,
        method=method,  # type: ignore[arg-type]
        times_years=YEARS,
    )
    by_sex = net_survival(rdata, rate_table=slopop, method=method, times_years=YEARS)  # type: ignore[arg-type]
    ours = pl.concat([overall, by_sex])
    joined = ref.join(ours, left_on=["stratum", "years"], right_on=["stratum", "time"])
    assert len(joined) == len(ref) == 18
    assert np.max(np.abs(joined["surv"].to_numpy() - joined["estimate"].to_numpy())) < 1e-6
    assert np.max(np.abs(joined["std_err"].to_numpy() - joined["std_err_right"].to_numpy())) < 1e-6


def test_cli_reproduces_relsurv_within_1e_6(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            "stats",
            "survival",
            str(DATA / "rdata.csv"),
            "--ratetable",
            str(DATA / "slopop_long.csv"),
            "--time",
            "time",
            "--time-unit",
            "days",
            "--status",
            "cens",
            "--dead",
            "1",
            "--age",
            "age",
            "--age-unit",
            "years",
            "--sex",
            "sex",
            "--sex-labels",
            "1=male,2=female",
            "--diagnosis-date",
            "year",
            "--method",
            "pohar-perme",
            "--times",
            "0.5,1,2,3,5,10",
            "--by",
            "sex",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    ours = pl.read_csv(out)
    assert ours.columns == ["stratum", "time", "estimate", "std_err", "lower", "upper", "n_at_risk"]
    ref = _reference("relsurv_rdata_reference.csv").filter(pl.col("method") == "pohar-perme")
    joined = ref.join(ours, left_on=["stratum", "years"], right_on=["stratum", "time"])
    assert len(joined) == 12
    assert np.max(np.abs(joined["surv"].to_numpy() - joined["estimate"].to_numpy())) < 1e-6
    assert np.max(np.abs(joined["std_err"].to_numpy() - joined["std_err_right"].to_numpy())) < 1e-6


def test_observed_and_confidence_limits_match_survfit_and_relsurv(
    rdata: SurvivalData, slopop: RateTable
) -> None:
    ref = _reference("relsurv_hakulinen_reference.csv").filter(pl.col("method") == "observed")
    ours = net_survival(rdata, rate_table=slopop, method="observed", times_years=YEARS)
    joined = ref.with_columns(years=(pl.col("time_days") / 365.241).round(3)).join(
        ours, left_on=["stratum", "years"], right_on=["stratum", "time"]
    )
    assert len(joined) == 12
    for ref_col, our_col in (
        ("surv", "estimate"),
        ("std_err", "std_err_right"),
        ("lower", "lower_right"),
        ("upper", "upper_right"),
        ("n_risk", "n_at_risk"),
    ):
        assert np.max(np.abs(joined[ref_col].to_numpy() - joined[our_col].to_numpy())) < 1e-9


def test_hakulinen_equals_relsurv_once_its_date_origin_slip_is_reproduced(
    rdata: SurvivalData, slopop: RateTable
) -> None:
    """relsurv's Hakulinen looks rates up in the original table whose dates count from 1960 while the data
    count from 1970, i.e. ten years early; shifting our dates the same way reproduces it exactly."""
    ref = _reference("relsurv_hakulinen_reference.csv").filter(pl.col("method") == "hakulinen")
    fin = float(np.max(rdata.time_days + rdata.date_days)) - RELSURV_1960_SHIFT_DAYS
    shifted = dataclasses.replace(rdata, date_days=rdata.date_days - RELSURV_1960_SHIFT_DAYS)
    for stratum in ("sex=1", "sex=2"):  # relsurv strata are computed separately
        part = shifted.subset((shifted.strata["sex"] == stratum[-1]).to_numpy())
        curve = continuous_survival(part, rate_table=slopop, method="hakulinen", fin_date_days=fin)
        rows = ref.filter(pl.col("stratum") == stratum)
        index = curve.at(rows["time_days"].to_numpy())
        assert np.max(np.abs(curve.estimate[index] - rows["surv"].to_numpy())) < 1e-9
        assert np.max(np.abs(curve.std_err()[index] - rows["std_err"].to_numpy())) < 1e-9
    unshifted = net_survival(rdata, rate_table=slopop, method="hakulinen", times_years=[5])
    assert unshifted["estimate"][0] != pytest.approx(
        ref.filter(pl.col("stratum") == "sex=1")["surv"][4], abs=1e-3
    )


def test_object_api_agrees_with_function(rdata: SurvivalData, slopop: RateTable) -> None:
    fitted = RelativeSurvival(method="ederer2").fit(rdata, rate_table=slopop)
    assert fitted.result_ is not None
    assert fitted.table(times_years=YEARS).equals(
        net_survival(rdata, rate_table=slopop, method="ederer2", times_years=YEARS)
    )


@pytest.mark.parametrize("method", ["pohar-perme", "ederer2", "ederer1", "hakulinen", "observed"])
def test_zero_expected_hazard_gives_hand_worked_kaplan_meier(method: str) -> None:
    table = read_rate_table(DATA / "zero_rates.csv")
    data = survival_data(
        pl.read_csv(DATA / "hand_tiny.csv"), rate_table=table, diagnosis_date="diagnosis_date"
    )
    out = net_survival(
        data,
        rate_table=table,
        method=method,
        times_years=[
            50 / 365.241,
            100 / 365.241,  # type: ignore[arg-type]
            250 / 365.241,
            300 / 365.241,
        ],
    )
    assert out["estimate"].to_list() == pytest.approx([1.0, 2 / 3, 2 / 3, 0.0], abs=1e-12)
    assert out["n_at_risk"].to_list() == [3, 3, 1, 1]  # follow-up >= t: 100,200,300 | 300
    if method != "observed":  # relsurv-type variance Σ D/Y² on the log scale, times S
        assert out["std_err"][1] == pytest.approx(2 / 3 * (1 / 3), abs=1e-12)


def test_sixty_thousand_resampled_patients_plausible(rdata: SurvivalData, slopop: RateTable) -> None:
    rng = np.random.default_rng(7)
    pick = rng.integers(0, len(rdata), 60_000)
    big = rdata.subset(np.ones(len(rdata), dtype=bool))
    big = dataclasses.replace(
        big,
        time_days=big.time_days[pick] + rng.integers(0, 30, 60_000),
        dead=big.dead[pick],
        age_days=big.age_days[pick] + rng.uniform(0, 365, 60_000),
        date_days=big.date_days[pick] + rng.integers(-60, 60, 60_000),
        sex_index=big.sex_index[pick],
        strata=pl.DataFrame(),
    )
    # Speed is shown by benchmarks/survival_vs_relsurv.py, never asserted here.
    curve = continuous_survival(big, rate_table=slopop, method="pohar-perme")
    assert 0.5 < curve.estimate[np.searchsorted(curve.time, 1826)] < 1.0


@pytest.mark.r
def test_relsurv_live_matches_stored_reference(tmp_path: Path) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    check = subprocess.run(["Rscript", "-e", "library(relsurv)"], capture_output=True, check=False)
    if check.returncode != 0:
        pytest.skip("R package relsurv not installed")
    subprocess.run(
        ["Rscript", str(DATA / "relsurv_hakulinen_reference.R")],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    live = pl.read_csv(tmp_path / "relsurv_hakulinen_reference.csv")
    stored = _reference("relsurv_hakulinen_reference.csv")
    assert np.max(np.abs(live["surv"].to_numpy() - stored["surv"].to_numpy())) < 1e-12


@pytest.mark.parametrize("method", ["pohar-perme", "ederer2"])
def test_numba_and_numpy_engines_agree(rdata: SurvivalData, slopop: RateTable, method: str) -> None:
    pytest.importorskip("numba")
    fast = continuous_survival(rdata, rate_table=slopop, method=method, engine="numba")  # type: ignore[arg-type]
    plain = continuous_survival(rdata, rate_table=slopop, method=method, engine="numpy")  # type: ignore[arg-type]
    assert np.max(np.abs(fast.estimate - plain.estimate)) < 1e-12
    assert np.max(np.abs(fast.std_err_log - plain.std_err_log)) < 1e-12


def test_min_at_risk_stops_the_curve_at_the_first_small_risk_set(
    rdata: SurvivalData, slopop: RateTable
) -> None:
    times = [1, 5, 10, 12, 14]
    rdata = dataclasses.replace(rdata, strata=pl.DataFrame())
    full = net_survival(rdata, rate_table=slopop, times_years=times)
    cut = net_survival(rdata, rate_table=slopop, times_years=times, min_at_risk=25)
    assert full["n_at_risk"].to_list()[0] >= 25
    small = full["n_at_risk"].to_numpy() < 25
    first = int(np.argmax(small)) if small.any() else len(times)
    assert np.isnan(cut["estimate"].to_numpy()[first:]).all()
    assert np.allclose(cut["estimate"].to_numpy()[:first], full["estimate"].to_numpy()[:first])
