"""``oncoreg stats rates`` and ``oncoreg stats projection``: thin shells over ``oncoreg.stats``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from oncoreg.errors import Problem, ValidationFailed

if TYPE_CHECKING:
    import polars as pl

    from oncoreg.stats.rates import CiMethod

STANDARD_ALIASES = {"world": "world_segi_1960", "europe": "europe_1976", "nordic": "nordic_2000"}


def _read_csv(path: Path, *, numeric: list[str], label: str) -> pl.DataFrame:
    """Read a CSV and check that ``numeric`` columns exist and hold numbers; name the first bad rows."""
    import polars as pl

    if not path.is_file():
        raise ValidationFailed([Problem(label, str(path), "cli.file", "file not found")])
    try:
        frame = pl.read_csv(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise ValidationFailed([Problem(label, str(path), "cli.csv", f"not a readable CSV ({exc})")]) from exc
    problems = [
        Problem(c, "", "cli.columns", f"missing column in {path.name}")
        for c in numeric
        if c not in frame.columns
    ]
    if problems:
        raise ValidationFailed(problems)
    for col in numeric:
        as_num = frame[col].cast(pl.Float64, strict=False)
        bad = frame.with_row_index("row", offset=2).filter(as_num.is_null() & frame[col].is_not_null())
        problems += [
            Problem(col, str(r[col]), "cli.number", f"not a number in {path.name}", str(r["row"]))
            for r in bad.head(10).iter_rows(named=True)
        ]
    if problems:
        raise ValidationFailed(problems)
    return frame


def _weights(standard: str) -> pl.DataFrame:
    from oncoreg.codes.standard_populations import standard_population

    return standard_population(STANDARD_ALIASES.get(standard, standard))


def rates_command(
    cases: Annotated[
        Path, typer.Argument(help="CSV of counts: the --by columns, the age column and --count.")
    ],
    population: Annotated[Path, typer.Option("--population", help="CSV of person-years (see --jan1).")],
    by: Annotated[str, typer.Option("--by", help="Comma-separated stratum columns, e.g. sex,year.")] = "",
    standard: Annotated[
        str, typer.Option("--standard", help="world, europe, nordic or any oncoreg standard population name.")
    ] = "world",
    ci: Annotated[
        str, typer.Option("--ci", help="normal, lognormal, gamma (Fay-Feuer) or tiwari.")
    ] = "gamma",
    count: Annotated[str, typer.Option("--count", help="Column of counts (cases or deaths).")] = "cases",
    age: Annotated[str, typer.Option("--age", help="Age-group column, 1-18 for 0-4 ... 85+.")] = "age_group",
    jan1: Annotated[
        bool,
        typer.Option(
            "--jan1/--person-years",
            help="Population holds 1 January counts in 'population' by 'year' (person-years = mean of "
            "consecutive years) instead of a 'person_years' column.",
        ),
    ] = False,
    per: Annotated[float, typer.Option("--per", help="Rates per this many person-years.")] = 100_000.0,
    level: Annotated[float, typer.Option("--level", help="Confidence level.")] = 0.95,
    age_specific: Annotated[
        bool, typer.Option("--age-specific", help="Age-specific rates instead of ASRs.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output CSV (default: stdout).")
    ] = None,
) -> None:
    """Counts, crude and age-standardised rates with CIs, cumulative rate and risk 0-74, per stratum."""
    from oncoreg.stats.rates import CI_METHODS, age_specific_rates, person_years_from_jan1, standardised_rates

    strata = [c.strip() for c in by.split(",") if c.strip()]
    if ci not in CI_METHODS:
        raise ValidationFailed([Problem("--ci", ci, "cli.ci", f"must be one of {', '.join(CI_METHODS)}")])
    case_frame = _read_csv(cases, numeric=[count, age], label="CASES")
    missing = [c for c in strata if c not in case_frame.columns]
    if missing:
        raise ValidationFailed(
            [Problem(c, "", "cli.columns", f"--by column missing in {cases.name}") for c in missing]
        )
    if jan1:
        pop = _read_csv(population, numeric=["population", "year"], label="--population")
        pyr = person_years_from_jan1(
            population=pop, by=[c for c in [*strata, age] if c != "year"], year="year"
        )
    else:
        pyr = _read_csv(population, numeric=["person_years", age], label="--population")
    method = cast("CiMethod", ci)
    if age_specific:
        table = age_specific_rates(
            cases=case_frame,
            person_years=pyr,
            by=strata,
            age=age,
            count=count,
            ci=method,
            level=level,
            per=per,
        )
    else:
        table = standardised_rates(
            cases=case_frame,
            person_years=pyr,
            weights=_weights(standard),
            by=strata,
            age=age,
            count=count,
            ci=method,
            level=level,
            per=per,
        )
    if output is None:
        sys.stdout.write(table.write_csv())
    else:
        table.write_csv(output)


def projection_command(
    cases: Annotated[
        Path, typer.Argument(help="CSV 'age_group, period, cases' (age_group 1-18, period = first year).")
    ],
    population: Annotated[
        Path,
        typer.Option(
            "--population", help="CSV 'age_group, period, population', including 1-5 future periods."
        ),
    ],
    start_age_group: Annotated[
        int, typer.Option("--start-age-group", help="Youngest age group in the model (nordpred startestage).")
    ] = 5,
    start_use_age_group: Annotated[
        int,
        typer.Option(
            "--start-use-age-group", help="Youngest age group projected by the model (startuseage)."
        ),
    ] = 6,
    periods: Annotated[
        str | None,
        typer.Option(
            "--periods", "--no-of-periods", help="Periods in the base: a number or candidates like 4:6."
        ),
    ] = None,
    cut_trend: Annotated[
        str, typer.Option("--cut-trend", help="Share of drift cut per future period.")
    ] = "0,.25,.5,.75,.75",
    recent: Annotated[
        bool | None,
        typer.Option("--recent/--no-recent", help="Use the last-ten-year slope (default: by test)."),
    ] = None,
    link: Annotated[str, typer.Option("--link", help="power5 (nordpred) or poisson.")] = "power5",
    standard: Annotated[
        str, typer.Option("--standard", help="world, europe or nordic, for the ASR.")
    ] = "world",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object instead of CSV.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output CSV (default: stdout).")
    ] = None,
) -> None:
    """Project cancer cases with nordpred (power-5 age-period-cohort model, cut trend)."""
    from oncoreg.stats.nordpred import nordpred, nordpred_asr

    if link not in ("power5", "poisson"):
        raise ValidationFailed([Problem("--link", link, "cli.link", "must be power5 or poisson")])
    try:
        cuts = [float(c) for c in cut_trend.split(",")]
        chosen: int | list[int] | None = None
        if periods is not None:
            lo, _, hi = periods.partition(":")
            chosen = list(range(int(lo), int(hi) + 1)) if hi else int(lo)
    except ValueError as exc:
        raise ValidationFailed(
            [Problem("--periods/--cut-trend", f"{periods} {cut_trend}", "cli.number", str(exc))]
        ) from exc
    case_frame = _read_csv(cases, numeric=["age_group", "period", "cases"], label="CASES")
    pop = _read_csv(population, numeric=["age_group", "period", "population"], label="--population")
    import polars as pl

    ints = [pl.col("age_group").cast(pl.Int64), pl.col("period").cast(pl.Int64)]
    result = nordpred(
        cases=case_frame.with_columns(ints),
        population=pop.with_columns(ints),
        start_est_age=start_age_group,
        start_use_age=start_use_age_group,
        periods=chosen,
        recent=recent,
        cut_trend=cuts,
        link=link,  # type: ignore[arg-type]
    )
    weights = _weights(standard).sort("age_group")["weight"].to_numpy()
    asr = nordpred_asr(result=result, weights=weights)
    table = result.table.select(
        "age_group", "period", "cases", (pl.col("rate") * 1e5).alias("rate"), "projected"
    )
    if as_json:
        obj = {
            "periods_used": result.estimate.periods_used,
            "gof_p": result.estimate.gof_p,
            "recent": result.recent,
            "recent_p": result.estimate.recent_p,
            "predictions": table.filter(pl.col("projected")).drop("projected").to_dicts(),
            "asr": asr.to_dicts(),
        }
        sys.stdout.write(json.dumps(obj, indent=1) + "\n")
    elif output is None:
        sys.stdout.write(table.write_csv())
    else:
        table.write_csv(output)
