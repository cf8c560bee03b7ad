"""Life-table estimators vs popEpi, age standardisation by hand, CLI errors."""

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
from oncoreg.codes.standard_populations import standard_population
from oncoreg.stats.ratetable import RateTable, read_rate_table
from oncoreg.stats.survival import net_survival
from oncoreg.stats.survival_continuous import SurvivalError
from oncoreg.stats.survival_data import SurvivalData, nordcan_exclusions, survival_data
from oncoreg.stats.survival_lifetable import _limits, lifetable_survival, parse_breaks
from oncoreg.stats.survival_standardise import age_groups, brenner_weights

DATA = Path(__file__).parents[1] / "data" / "stats" / "survival"


@pytest.fixture(scope="module")
def slopop() -> RateTable:
    return read_rate_table(DATA / "slopop_long.csv")


@pytest.fixture(scope="module")
def rdata_decimal(slopop: RateTable) -> SurvivalData:
    frame = pl.read_csv(DATA / "rdata.csv", infer_schema_length=0)
    days = frame["year"].str.to_date().cast(pl.Int64)
    frame = frame.with_columns(dg=1970 + days / 365.241)
    return survival_data(
        frame,
        rate_table=slopop,
        time="time",
        status="cens",
        age="age",
        sex="sex",
        sex_labels={"1": "male", "2": "female"},
        diagnosis_year="dg",
    )


def _popepi(method: str, step: float) -> pl.DataFrame:
    ref = pl.read_csv(DATA / "popepi_lifetable_reference.csv")
    return ref.filter((pl.col("method") == method) & ((pl.col("step") - step).abs() < 1e-9))


@pytest.mark.parametrize(("step", "breaks"), [(1.0, "0:10:1"), (1 / 12, "0:10:1/12")])
def test_ederer2_agrees_with_popepi(
    rdata_decimal: SurvivalData, slopop: RateTable, step: float, breaks: str
) -> None:
    """Same n, d and expected deaths: equal to rounding in every interval but the last, where popEpi (data
    cropped at 10 years by lexpand) counts the crop as censoring with yearly breaks, not with monthly."""
    ref = _popepi("e2", step)
    ours = lifetable_survival(rdata_decimal, rate_table=slopop, breaks_years=parse_breaks(breaks))
    assert ours["n_at_risk"].to_list() == ref["n"].to_list()
    assert ours["n_events"].to_list() == ref["d"].to_list()
    for column in ("estimate", "std_err", "lower", "upper"):
        assert np.max(np.abs(ours[column].to_numpy()[:-1] - ref[column].to_numpy()[:-1])) < 1e-12


@pytest.mark.parametrize(("step", "breaks"), [(1.0, "0:10:1"), (1 / 12, "0:10:1/12")])
def test_pohar_perme_popepi_weighting_agrees_with_popepi(
    rdata_decimal: SurvivalData, slopop: RateTable, step: float, breaks: str
) -> None:
    ref = _popepi("pp", step)
    ours = lifetable_survival(
        rdata_decimal,
        rate_table=slopop,
        breaks_years=parse_breaks(breaks),
        method="pohar-perme",
        weighting="popEpi",
    )
    assert np.max(np.abs(ours["estimate"].to_numpy() - ref["estimate"].to_numpy())) < 1e-9
    # the last SE uses popEpi's unweighted n.eff, where the crop at 10 years counts as censoring (see above)
    for column in ("std_err", "lower", "upper"):
        assert np.max(np.abs(ours[column].to_numpy()[:-1] - ref[column].to_numpy()[:-1])) < 1e-9


def test_pohar_perme_stnet_weighting_differs_from_popepi(
    rdata_decimal: SurvivalData, slopop: RateTable
) -> None:
    """The default (weights 1/S* at the interval start, stnet) is a different estimator: 1e-2 apart at 5 y."""
    ref = _popepi("pp", 1 / 12)
    ours = lifetable_survival(
        rdata_decimal, rate_table=slopop, breaks_years=parse_breaks("0:10:1/12"), method="pohar-perme"
    )
    assert 1e-3 < abs(ours["estimate"][59] - ref["estimate"][59]) < 2e-2


def test_parse_breaks() -> None:
    assert parse_breaks("0:1:1/4").tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert parse_breaks("0,1,5").tolist() == [0, 1, 5]
    with pytest.raises(Exception, match="breaks '0:5': expected START:END:STEP"):
        parse_breaks("0:5")


def test_traditional_standardisation_is_the_hand_weighted_average(slopop: RateTable) -> None:
    frame = pl.read_csv(DATA / "rdata.csv", infer_schema_length=0)
    data = survival_data(
        frame,
        rate_table=slopop,
        time="time",
        status="cens",
        age="age",
        sex="sex",
        sex_labels={"1": "male", "2": "female"},
        diagnosis_date="year",
    )
    weights = pl.read_csv(DATA / "icss_hand_weights.csv")
    std = net_survival(data, rate_table=slopop, method="ederer2", times_years=[5], weights=weights)
    young = data.subset(data.age_days / 365.241 < 60)
    old = data.subset(data.age_days / 365.241 >= 60)
    s_young = net_survival(young, rate_table=slopop, method="ederer2", times_years=[5])
    s_old = net_survival(old, rate_table=slopop, method="ederer2", times_years=[5])
    expected = 0.4 * s_young["estimate"][0] + 0.6 * s_old["estimate"][0]
    expected_se = np.hypot(0.4 * s_young["std_err"][0], 0.6 * s_old["std_err"][0])
    assert std["estimate"][0] == pytest.approx(expected, abs=1e-12)
    assert std["std_err"][0] == pytest.approx(expected_se, abs=1e-12)


def test_brenner_weights_are_standard_over_observed_share() -> None:
    groups = age_groups(pl.read_csv(DATA / "icss_hand_weights.csv"))
    ages = np.array([30.0, 45.0, 59.9, 70.0])  # 3 of 4 under 60 (observed 0.75 vs standard 0.4)
    assert brenner_weights(ages, groups=groups).tolist() == pytest.approx([0.4 / 0.75] * 3 + [0.6 / 0.25])


def test_icss_1_groups_from_popepi_file() -> None:
    icss = pl.read_csv(Path("/work/shared/refdata/popEpi_ICSS.csv")).select(
        pl.col("age").alias("age_start"), pl.col("ICSS1").alias("weight")
    )
    groups = age_groups(icss)
    assert groups["share"].sum() == pytest.approx(1.0)
    assert groups["age_start"][0] == 15  # the 0-14 group has weight 0 and is dropped


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["stats", "survival", str(DATA / "rdata.csv"), "--ratetable", str(DATA / "slopop_long.csv")]
    cases = [
        (
            ["--status", "cens", "--diagnosis-date", "year"],
            "is not in the rate table (its sexes are female, male)",
        ),
        (
            ["--status", "nope", "--diagnosis-date", "year", "--sex-labels", "1=male,2=female"],
            "nope '': column missing",
        ),
        (["--status", "cens", "--diagnosis-date", "year", "--method", "ederer3"], "--method 'ederer3'"),
        (["--status", "cens", "--diagnosis-date", "year", "--sex-labels", "1male"], "--sex-labels '1male'"),
        (
            ["--status", "cens", "--diagnosis-date", "age", "--sex-labels", "1=male,2=female"],
            "is not an ISO date",
        ),
    ]
    for extra, message in cases:
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code != 0
        assert message in str(result.exception), (extra, result.exception)


def test_cli_lifetable_with_standardisation(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    result = CliRunner().invoke(
        app,
        [
            "stats",
            "survival",
            str(DATA / "rdata.csv"),
            "--ratetable",
            str(DATA / "slopop_long.csv"),
            "--status",
            "cens",
            "--sex-labels",
            "1=male,2=female",
            "--diagnosis-date",
            "year",
            "--estimator",
            "lifetable",
            "--breaks",
            "0:5:1/12",
            "--method",
            "ederer2",
            "--times",
            "1,5",
            "--standardize",
            "age",
            "--weights",
            str(DATA / "icss_hand_weights.csv"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table["time"].to_list() == [1.0, 5.0]
    assert 0.6 < table["estimate"][1] < table["estimate"][0] < 1.0


@pytest.mark.r
def test_popepi_live_matches_stored_reference(tmp_path: Path) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    if subprocess.run(["Rscript", "-e", "library(popEpi)"], capture_output=True, check=False).returncode != 0:
        pytest.skip("R package popEpi not installed")
    subprocess.run(
        ["Rscript", str(DATA / "popepi_lifetable_reference.R")], cwd=tmp_path, check=True, capture_output=True
    )
    live = pl.read_csv(tmp_path / "popepi_lifetable_reference.csv")
    stored = pl.read_csv(DATA / "popepi_lifetable_reference.csv")
    assert np.max(np.abs(live["estimate"].to_numpy() - stored["estimate"].to_numpy())) < 1e-12


def test_period_window_is_worked_by_hand(slopop: RateTable) -> None:
    """Zero rates, window 2001-2002, yearly intervals (365.241 days). A: diagnosed 1999-01-03, dies 2001-07-02
    (entry 729 days, counts from interval 3); B: 2000-01-02, alive at the close 2003-01-01 (entry 365 days:
    intervals 2, 3, censored at 1095 days); C: 2001-01-01, dies at 547 days (intervals 1, 2); D: 1990,
    outside the window (dropped).
    Interval 1: C alive → 1; interval 2: B, C at risk, C dies → 1/2; interval 3: A, B at risk, A dies,
    B censored at the end → 1 − 1/(2 − 1/2) = 1/3; S(3) = 1/2 × 1/3 = 1/6."""
    frame = pl.DataFrame(
        {
            "time": ["911", "1200", "547", "100"],
            "status": ["1", "0", "1", "0"],
            "age": ["50", "50", "50", "50"],
            "sex": ["male"] * 4,
            "dx": ["1999-01-03", "2000-01-02", "2001-01-01", "1990-01-01"],
        }
    )
    zero = dataclasses.replace(slopop, hazard=np.zeros_like(slopop.hazard))
    data = survival_data(frame, rate_table=zero, time_unit="days", diagnosis_date="dx")
    out = net_survival(
        data, rate_table=zero, estimator="lifetable", breaks_years=[0, 1, 2, 3], period_years=(2001, 2002)
    )
    assert np.allclose(out["estimate"].to_numpy(), [1.0, 0.5, 1 / 6], atol=1e-12)
    assert out["n_at_risk"].to_list() == [1, 2, 2]


def test_hybrid_analysis_is_worked_by_hand(slopop: RateTable) -> None:
    """Hybrid (Brenner & Rachet 2004): window 2001-2002, cohort element = diagnosed in 2000, zero rates,
    yearly intervals. A (1999-01-03, dies at 911 days) enters at 729 days → interval 3 only; B (2000-01-02,
    closed at 1095 days, censored) and E (2000-06-01, dies at 100 days, i.e. before the window) are the recent
    cohort and count from diagnosis; C (2001-01-01, dies at 547) is in the window; D (1990) is outside.
    Interval 1: B, C, E at risk, E dies → 2/3; interval 2: B, C, C dies → 1/2; interval 3: A, B, A dies,
    B censored → 1 − 1/1.5 = 1/3. S = 2/3, 1/3, 1/9. Period analysis drops E (no follow-up in the window)
    and B counts from interval 2: S = 1, 1/2, 1/6."""
    frame = pl.DataFrame(
        {
            "time": ["911", "1200", "547", "100", "100"],
            "status": ["1", "0", "1", "0", "1"],
            "age": ["50"] * 5,
            "sex": ["male"] * 5,
            "dx": ["1999-01-03", "2000-01-02", "2001-01-01", "1990-01-01", "2000-06-01"],
        }
    )
    zero = dataclasses.replace(slopop, hazard=np.zeros_like(slopop.hazard))
    data = survival_data(frame, rate_table=zero, time_unit="days", diagnosis_date="dx")
    common = {"rate_table": zero, "estimator": "lifetable", "breaks_years": [0, 1, 2, 3]}
    hybrid = net_survival(data, period_years=(2001, 2002), hybrid_cohort_years=(2000, 2000), **common)  # type: ignore[arg-type]
    assert np.allclose(hybrid["estimate"].to_numpy(), [2 / 3, 1 / 3, 1 / 9], atol=1e-12)
    assert hybrid["n_at_risk"].to_list() == [3, 2, 2]
    period = net_survival(data, period_years=(2001, 2002), **common)  # type: ignore[arg-type]
    assert np.allclose(period["estimate"].to_numpy(), [1.0, 0.5, 1 / 6], atol=1e-12)
    # cohort years inside the window change nothing: hybrid = period
    same = net_survival(data, period_years=(2001, 2002), hybrid_cohort_years=(2001, 2002), **common)  # type: ignore[arg-type]
    assert same.equals(period)
    with pytest.raises(SurvivalError):
        net_survival(data, hybrid_cohort_years=(2000, 2000), **common)  # type: ignore[arg-type]


def test_loglog_limits_stay_finite_near_one() -> None:
    """S within 1e-15 of 1 and a non-zero SE used to overflow S ** exp(z SE/(S |log S|)); the limits are now
    computed on the log(−log S) scale: finite, in [0, 1], lower ≤ S ≤ upper, without numpy warnings (pytest
    runs with warnings as errors). S ≥ 1 (net survival may exceed 1) falls back to log limits."""
    surv = np.array([1.0 - 1e-15, 1.0 - 1e-9, 0.999, 0.5, 1.0, 1.02, 0.0, np.nan])
    se = np.array([1e-3, 1e-3, 1e-3, 0.05, 0.0, 0.01, 0.0, 0.1])
    lower, upper = _limits(surv, se, conf_level=0.95, conf_type="log-log")
    finite = np.isfinite(surv)
    assert np.all(np.isfinite(lower[finite]))
    assert np.all(np.isfinite(upper[finite]))
    assert np.all((lower[:4] >= 0) & (upper[:4] <= 1) & (lower[:4] <= surv[:4]) & (surv[:4] <= upper[:4]))
    # the ordinary case equals popEpi's formula S ** exp(± z SE / (S |log S|))
    factor = 1.959963984540054 * 0.05 / (0.5 * abs(np.log(0.5)))
    assert np.isclose(lower[3], 0.5 ** np.exp(factor), rtol=1e-13)
    assert np.isclose(upper[3], 0.5 ** np.exp(-factor), rtol=1e-13)
    assert (lower[4], upper[4]) == (1.0, 1.0)
    assert lower[5] < 1.02 < upper[5]
    assert (lower[6], upper[6]) == (0.0, 0.0)
    assert np.isnan(lower[7])


def test_cli_icss_names_and_period(tmp_path: Path) -> None:
    runner = CliRunner()
    args = [
        "stats", "survival", str(DATA / "rdata.csv"), "--ratetable", str(DATA / "slopop_long.csv"),
        "--status", "cens", "--sex-labels", "1=male,2=female", "--diagnosis-date", "year",
        "--estimator", "lifetable", "--method", "pohar-perme", "--breaks", "0:5:1", "--times", "1,5",
    ]  # fmt: skip
    named = runner.invoke(app, [*args, "--standardize", "age", "--weights", "icss1"])
    assert named.exit_code == 0, named.output
    icss = standard_population("icss_1")
    icss.write_csv(tmp_path / "icss1.csv")
    from_file = runner.invoke(app, [*args, "--standardize", "age", "--weights", str(tmp_path / "icss1.csv")])
    assert named.output == from_file.output
    period = runner.invoke(app, [*args, "--approach", "period", "--period", "1993:1994"])
    assert period.exit_code == 0, period.output
    recent = runner.invoke(app, [*args, "--approach", "period", "--period", "1986:1987"])
    hybrid = runner.invoke(app, [*args, "--approach", "hybrid", "--period", "1986:1987"])
    assert hybrid.exit_code == 0, hybrid.output
    assert hybrid.output != recent.output  # the 1984-1985 diagnoses count from diagnosis
    assert period.output != runner.invoke(app, args).output
    bad = runner.invoke(app, [*args, "--approach", "period", "--period", "1994"])
    assert bad.exit_code != 0


def test_nordcan_exclusions_drop_old_dco_and_negative_follow_up() -> None:
    frame = pl.DataFrame(
        {
            "age": [45.0, 89.9, 90.0, 60.0, 70.0],
            "basis": ["7", "7", "7", "0", "7"],
            "time": [10.0, 5.0, 5.0, 3.0, -1.0],
        }
    )
    kept = nordcan_exclusions(frame, basis="basis")
    assert kept["age"].to_list() == [45.0, 89.9]
