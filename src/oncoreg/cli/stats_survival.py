"""``oncoreg stats survival``: observed, relative and net survival from a CSV of patients and a rate table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from oncoreg.errors import OncoregError

if TYPE_CHECKING:
    import polars as pl


class SurvivalOptionError(OncoregError):
    """A command-line option of ``oncoreg stats survival`` is malformed."""


def _pairs(text: str | None, option: str) -> dict[str, str]:
    if not text:
        return {}
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SurvivalOptionError(f"{option} {text!r}: expected KEY=VALUE[,KEY=VALUE], got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _floats(text: str | None, option: str) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise SurvivalOptionError(f"{option} {text!r}: expected numbers separated by commas") from None


ICSS_NAMES = {"icss1": "icss_1", "icss2": "icss_2", "icss3": "icss_3"}


def _period(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, sep, last = text.partition(":")
    try:
        if not sep:
            raise ValueError
        years = int(first), int(last)
    except ValueError:
        raise SurvivalOptionError(
            f"--period {text!r}: expected FIRST:LAST calendar years, e.g. 2019:2023"
        ) from None
    if years[1] < years[0]:
        raise SurvivalOptionError(f"--period {text!r}: the last year is before the first")
    return years


def _weights(value: str) -> pl.DataFrame:
    """A standard named ``icss1``/``icss2``/``icss3`` or a CSV file."""
    import polars as pl

    from oncoreg.codes.standard_populations import standard_population

    if value.lower() in ICSS_NAMES:
        return standard_population(ICSS_NAMES[value.lower()])
    try:
        return pl.read_csv(value)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SurvivalOptionError(
            f"--weights {value!r}: not icss1, icss2, icss3 nor a readable CSV ({exc})".splitlines()[0]
        ) from exc


def survival_command(
    patients: Annotated[Path, typer.Argument(help="CSV file, one row per patient (tumour).")],
    ratetable: Annotated[
        Path,
        typer.Option(
            help="Rate table CSV: sex, age (completed years), year (first calendar year a rate applies) and "
            "one "
            "of rate_per_day, rate_per_year, prob (1-year survival probability)."
        ),
    ],
    ratetable_map: Annotated[
        str | None,
        typer.Option(help="Rename rate-table columns: sex=COL,age=COL,year=COL,prob=COL (any subset)."),
    ] = None,
    time: Annotated[str, typer.Option(help="Column with the follow-up time from diagnosis.")] = "time",
    time_unit: Annotated[
        str, typer.Option(help="Unit of --time: days, months or years (365.241 days).")
    ] = "days",
    status: Annotated[
        str, typer.Option(help="Column with the vital status at the end of follow-up.")
    ] = "status",
    dead: Annotated[
        str, typer.Option(help="Status values meaning death, e.g. 1 or 1,2; others are censored.")
    ] = "1",
    age: Annotated[str, typer.Option(help="Column with the age at diagnosis.")] = "age",
    age_unit: Annotated[str, typer.Option(help="Unit of --age: years or days.")] = "years",
    sex: Annotated[
        str, typer.Option(help="Column with sex, matched to the rate table's sex values.")
    ] = "sex",
    sex_labels: Annotated[
        str | None,
        typer.Option(help="Map data sex values to rate-table ones: DATA=TABLE,... e.g. 1=male,2=female."),
    ] = None,
    diagnosis_date: Annotated[
        str | None, typer.Option(help="Column with the ISO date of diagnosis (YYYY-MM-DD).")
    ] = None,
    diagnosis_year: Annotated[
        str | None,
        typer.Option(
            help="Column with the decimal (or integer) year of diagnosis, instead of --diagnosis-date."
        ),
    ] = None,
    method: Annotated[
        str, typer.Option(help="pohar-perme (net), ederer2, ederer1, hakulinen (relative) or observed.")
    ] = "pohar-perme",
    estimator: Annotated[
        str,
        typer.Option(
            help="continuous (relsurv rs.surv, at event times) or lifetable (strs/stnet/popEpi intervals)."
        ),
    ] = "continuous",
    breaks: Annotated[
        str,
        typer.Option(
            help="Life-table interval breaks in years, START:END:STEP (STEP may be 1/12) or a list."
        ),
    ] = "0:10:1",
    times: Annotated[
        str | None, typer.Option(help="Report at these times in years, e.g. 1,3,5,10 (default: all times).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Stratify by these columns: COL[,COL].")] = None,
    standardize: Annotated[
        str | None,
        typer.Option(help="Age-standardise with this column of age in years (needs --weights)."),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            help="Standard weights: icss1, icss2 or icss3 (ICSS, Corazziari et al. 2004) or a CSV file with "
            "age_start, age_end and weight or weight_share."
        ),
    ] = None,
    brenner: Annotated[
        bool,
        typer.Option(
            help="Brenner's individual weights instead of traditional standardisation (life table)."
        ),
    ] = False,
    conf_level: Annotated[float, typer.Option(help="Confidence level of the limits.")] = 0.95,
    approach: Annotated[
        str,
        typer.Option(
            help="cohort (all follow-up), period (follow-up inside --period) or hybrid (Brenner & Rachet: "
            "patients diagnosed in --cohort-years from diagnosis, others inside --period); life table only."
        ),
    ] = "cohort",
    cohort_years: Annotated[
        str | None,
        typer.Option(
            help="Hybrid: diagnosis years C1:C2 followed from diagnosis (default: 2 years before --period)."
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Calendar years FIRST:LAST (inclusive) of the period window, e.g. 2019:2023."),
    ] = None,
    weighting: Annotated[
        str,
        typer.Option(
            help="Life-table Pohar Perme weights: stnet (1/S* at interval start) or popEpi (survtab)."
        ),
    ] = "stnet",
    min_at_risk: Annotated[
        int, typer.Option(help="Leave estimates empty once fewer than this many are at risk (NORDCAN: 25).")
    ] = 0,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output CSV (default: standard output).")
    ] = None,
) -> None:
    """Relative/net survival; CSV out: stratum, time (years), estimate, std_err, lower, upper, n_at_risk."""
    import sys

    import polars as pl

    from oncoreg.stats.ratetable import read_rate_table
    from oncoreg.stats.survival import net_survival
    from oncoreg.stats.survival_continuous import METHODS
    from oncoreg.stats.survival_data import survival_data
    from oncoreg.stats.survival_lifetable import parse_breaks

    choices = {
        "--time-unit": (time_unit, ("days", "months", "years")),
        "--age-unit": (age_unit, ("days", "years")),
        "--method": (method, METHODS),
        "--estimator": (estimator, ("continuous", "lifetable")),
        "--approach": (approach, ("cohort", "period", "hybrid")),
        "--weighting": (weighting, ("stnet", "popEpi")),
    }
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            raise SurvivalOptionError(f"{option} {value!r}: must be one of {', '.join(allowed)}")
    period_years = _period(period) if approach in ("period", "hybrid") else None
    if approach in ("period", "hybrid") and period_years is None:
        raise SurvivalOptionError(f"--approach {approach} needs --period FIRST:LAST (calendar years)")
    hybrid_years = None
    if approach == "hybrid" and period_years is not None:
        hybrid_years = _period(cohort_years) or (period_years[0] - 2, period_years[0] - 1)
    if (standardize is None) != (weights is None):
        raise SurvivalOptionError("--standardize and --weights must be given together")
    table = read_rate_table(
        ratetable, columns={k: v for k, v in _pairs(ratetable_map, "--ratetable-map").items()}
    )
    try:
        frame = pl.read_csv(patients, infer_schema_length=0)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SurvivalOptionError(f"cannot read {patients}: {exc}".splitlines()[0]) from exc
    by_columns = [c.strip() for c in by.split(",")] if by else []
    data = survival_data(
        frame,
        rate_table=table,
        time=time,
        time_unit=time_unit,  # type: ignore[arg-type]
        status=status,
        dead_values=[v.strip() for v in dead.split(",")],
        age=age,
        age_unit=age_unit,  # type: ignore[arg-type]
        sex=sex,
        sex_labels=_pairs(sex_labels, "--sex-labels"),
        diagnosis_date=diagnosis_date,
        diagnosis_year=diagnosis_year,
        by=by_columns,
    )
    weight_table, standard_ages = None, None
    if weights is not None and standardize is not None:
        if standardize not in frame.columns:
            raise SurvivalOptionError(f"--standardize {standardize!r}: no such column in {patients}")
        weight_table = _weights(weights)
        ages = frame[standardize].cast(pl.Float64, strict=False)
        if ages.null_count():
            raise SurvivalOptionError(f"--standardize {standardize!r}: column holds non-numeric ages")
        standard_ages = ages.to_numpy()
    result = net_survival(
        data,
        rate_table=table,
        method=method,  # type: ignore[arg-type]
        estimator=estimator,  # type: ignore[arg-type]
        times_years=_floats(times, "--times"),
        breaks_years=list(parse_breaks(breaks)) if estimator == "lifetable" else None,
        conf_level=conf_level,
        weights=weight_table,
        standardisation="brenner" if brenner else "traditional",
        min_at_risk=min_at_risk,
        standardise_age_years=standard_ages,
        period_years=period_years,
        weighting=weighting,  # type: ignore[arg-type]
        hybrid_cohort_years=hybrid_years,
    )
    if output is None:
        sys.stdout.write(result.write_csv())
    else:
        result.write_csv(output)
