"""The realism report: simulated figures against published Norwegian ones (``data/published_figures.csv``).

Simulated case counts are divided by the run's scale; a published case count is listed when the run covers
its year. MV% and DCO% are computed over the published window, or over all simulated years when the run does
not cover it; 5-year relative survival is compared with the true net survival (mean of exp(-H(5)), ages
0–89, non-DCO malignant tumours) of patients diagnosed in the published period (or the run's last five
years). Screening programme indicators (``screening_realism``: participation, recall, detection,
positivity, ...) are added when the run wrote ``screening_events.parquet``, over the period each published
figure describes when the run covers it (``published.csv``), else over the run. A ``period`` the run does not
cover reads ``2018-2024 (run; published 1996-2005)``.

**Judging.** Every row carries ``events``, the count its simulated value rests on (cases; MV or DCO
tumours; screen-detected cancers, recalls, participants, ...; for survival the patients averaged), and
``expected_events`` = published value × the simulated denominator (× scale for counts). When
``expected_events`` ≥ ``min_expected`` (300) the row is judged by ``±10%``: |simulated/published − 1| ≤ 10%.
Below that the sampling noise of a correct model alone exceeds the band too often (95% half-width
1.96/√300 ≈ 11% at 300 events, 20% at 100), so the row is judged by ``95% CI``: the published value lies in
the exact two-sided 95% interval of the simulated figure, Clopper–Pearson for a proportion k/n
(``binomial_interval``), Garwood for a count (``poisson_interval``). Survival (a mean of true values, not a
count) is always judged by ±10%. ``within`` follows ``judged_by``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from scipy import stats as sps

from oncoreg.simulate.tables import read_csv

TOLERANCE = 0.10
MIN_EXPECTED = 300.0
BY_TOLERANCE, BY_INTERVAL = f"±{TOLERANCE:.0%}", "95% CI"


def binomial_interval(events: int, trials: int, *, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of the proportion ``events / trials``:
    ``[B(a/2; k, n−k+1), B(1−a/2; k+1, n−k)]`` with B the beta quantile and a = 1 − level, the lower
    limit 0 when k = 0 and the upper 1 when k = n (Clopper & Pearson, Biometrika 1934;26:404-413)."""
    if trials <= 0:
        return float("nan"), float("nan")
    alpha = 1 - level
    lower = 0.0 if events == 0 else float(sps.beta.ppf(alpha / 2, events, trials - events + 1))
    upper = 1.0 if events >= trials else float(sps.beta.ppf(1 - alpha / 2, events + 1, trials - events))
    return lower, upper


def poisson_interval(events: int, *, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson mean from the count k:
    ``[chi2(a/2; 2k)/2, chi2(1−a/2; 2k+2)/2]``, the lower limit 0 when k = 0 (Garwood, Biometrika
    1936;28:437-442)."""
    alpha = 1 - level
    lower = 0.0 if events == 0 else float(sps.chi2.ppf(alpha / 2, 2 * events)) / 2
    return lower, float(sps.chi2.ppf(1 - alpha / 2, 2 * events + 2)) / 2


def judge(
    *,
    published: float,
    simulated: float,
    expected_events: float,
    interval: tuple[float, float] | None,
    min_expected: float = MIN_EXPECTED,
) -> tuple[str, bool]:
    """``(judged_by, within)``: ±10% when ``expected_events`` ≥ ``min_expected`` or there is no interval,
    else whether ``published`` lies in the simulated value's 95% ``interval``."""
    if interval is None or expected_events >= min_expected:
        return BY_TOLERANCE, abs(simulated / published - 1) <= TOLERANCE
    return BY_INTERVAL, interval[0] <= published <= interval[1]


def _row(
    *,
    measure: str,
    period: str,
    sex: int,
    site: str,
    published: float,
    simulated: float,
    events: int,
    expected_events: float,
    interval: tuple[float, float] | None,
    source: str,
    min_expected: float,
) -> dict[str, object]:
    judged_by, within = judge(
        published=published,
        simulated=simulated,
        expected_events=expected_events,
        interval=interval,
        min_expected=min_expected,
    )
    return {
        "measure": measure,
        "period": period,
        "sex": sex,
        "site": site,
        "published": published,
        "simulated": round(simulated, 4),
        "ratio": round(simulated / published, 4),
        "events": events,
        "expected_events": round(expected_events, 1),
        "ci_low": None if interval is None else round(interval[0], 4),
        "ci_high": None if interval is None else round(interval[1], 4),
        "judged_by": judged_by,
        "within": within,
        "source": source,
    }


def _period(measured: list[int], published: list[int], covered: bool, note: str = "run") -> str:
    def span(years: list[int]) -> str:
        return f"{years[0]}-{years[-1]}" if years[-1] != years[0] else str(years[0])

    return span(measured) if covered else f"{span(measured)} ({note}; published {span(published)})"


def _sites(site: str) -> list[int] | None:
    return None if site == "all" else [int(part) for part in site.split("+")]


def realism_report(*, truth_dir: Path, scale: float, min_expected: float = MIN_EXPECTED) -> pl.DataFrame:
    """Rows ``measure, period, sex, site, published, simulated, ratio, events, expected_events, ci_low,
    ci_high, judged_by, within, source`` for the figures that apply."""
    tumours = pl.read_parquet(truth_dir / "tumours.parquet").with_columns(
        pl.col("incidence_date").dt.year().alias("year")
    )
    malignant = tumours.filter(pl.col("behaviour") == 3)
    run_years = set(pl.read_parquet(truth_dir / "population.parquet")["year"].unique().to_list())
    simulated_years = sorted(run_years)[:-1]
    rows = []
    for figure in read_csv("published_figures.csv").iter_rows(named=True):
        years = list(range(figure["year_from"], figure["year_to"] + 1))
        covered = all(y in simulated_years for y in years)
        measure = figure["measure"]
        if measure == "cases" and not covered:
            continue
        window = years if covered else simulated_years[-5:] if measure == "rs5_pct" else simulated_years
        selected = malignant.filter(pl.col("year").is_in(window))
        if figure["sex"] in (1, 2):
            selected = selected.filter(pl.col("sex") == figure["sex"])
        sites = _sites(figure["site"])
        if sites is not None:
            selected = selected.filter(pl.col("entity").is_in(sites))
        if selected.height == 0:
            continue
        published = float(figure["value"])
        interval: tuple[float, float] | None
        if measure == "cases":
            events = selected.height
            value, expected = events / scale, published * scale
            low, high = poisson_interval(events)
            interval = (low / scale, high / scale)
        elif measure in ("mv_pct", "dco_pct"):
            flag = pl.col("basis").is_in([5, 6, 7]) if measure == "mv_pct" else pl.col("dco")
            events = int(selected.select(flag.sum()).item())
            value, expected = 100 * events / selected.height, published / 100 * selected.height
            low, high = binomial_interval(events, selected.height)
            interval = (100 * low, 100 * high)
        else:
            eligible = selected.filter(~pl.col("dco") & (pl.col("age") < 90))
            value = 100 * float(eligible["net_survival_5y"].mean())  # type: ignore[arg-type]
            events, expected, interval = eligible.height, float(eligible.height), None
        note = "run's last 5 years" if measure == "rs5_pct" else "run"
        rows.append(
            _row(
                measure=measure,
                period=_period(window, years, covered, note),
                sex=figure["sex"],
                site=figure["site"],
                published=published,
                simulated=float(value),
                events=events,
                expected_events=expected,
                interval=interval,
                source=figure["source"],
                min_expected=min_expected,
            )
        )
    rows.extend(_screening_rows(truth_dir=truth_dir, years=simulated_years, min_expected=min_expected))
    return pl.DataFrame(rows, schema_overrides={"sex": pl.Int8, "ci_low": pl.Float64, "ci_high": pl.Float64})


def _screening_sex(programme: str, measure: str) -> int:
    if programme != "colorectal" or measure.endswith("_women"):
        return 2
    return 1 if measure.endswith("_men") else 0


#: The person columns the screening indicators read (names and identifiers are not needed: memory).
_SCREENING_PERSON_COLUMNS = ("person_id", "birth_date", "sex", "county", "entry_date", "exit_date")


def _screening_rows(*, truth_dir: Path, years: list[int], min_expected: float) -> list[dict[str, object]]:
    """Programme indicators (participation, recall, positivity, ...) of the screening stage, when it ran:
    measure ``screening_<name>``, site the programme, over the published figure's period when the run
    covers it, else over the run; only measures with a published figure."""
    events_path = truth_dir / "screening_events.parquet"
    if not events_path.exists() or not years:
        return []
    from oncoreg.simulate.screening import ScreeningConfig, ScreeningResult, screening_realism

    result = ScreeningResult(
        tumours=pl.DataFrame(),
        events=pl.read_parquet(events_path),
        truth=pl.read_parquet(truth_dir / "screening_tumours.parquet"),
        start_year=years[0],
        end_year=years[-1],
        config=ScreeningConfig.default(),
    )
    persons = pl.read_parquet(truth_dir / "persons.parquet", columns=list(_SCREENING_PERSON_COLUMNS))
    table = screening_realism(result=result, persons=persons)
    table = table.filter(pl.col("published").is_not_null() & pl.col("simulated").is_not_null())
    rows = []
    for row in table.iter_rows(named=True):
        low, high = binomial_interval(row["numerator"], row["denominator"])
        measured = [row["year_from"], row["year_to"]]
        rows.append(
            _row(
                measure=f"screening_{row['measure']}",
                period=_period(measured, [row["published_from"], row["published_to"]], row["covered"]),
                sex=_screening_sex(row["programme"], row["measure"]),
                site=row["programme"],
                published=float(row["published"]),
                simulated=float(row["simulated"]),
                events=row["numerator"],
                expected_events=float(row["published"]) / row["per"] * row["denominator"],
                interval=(row["per"] * low, row["per"] * high),
                source=row["source"],
                min_expected=min_expected,
            )
        )
    return rows


def write_report(*, report: pl.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """Write ``realism.csv`` and ``realism.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "realism.csv", out_dir / "realism.md"
    report.write_csv(csv_path)
    lines = [
        "# Realism report: simulated vs published",
        "",
        f"{int(report['within'].sum())} of {report.height} figures within. A row is judged by "
        f"±{TOLERANCE:.0%} when its expected events (published × simulated denominator) are at least "
        f"{MIN_EXPECTED:g}, else by whether the published value lies in the exact 95% CI of the simulated "
        "value.",
        "",
        "| measure | period | sex | site | published | simulated | ratio | events | 95% CI | judged by "
        "| within | source |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report.iter_rows(named=True):
        interval = "" if row["ci_low"] is None else f"{row['ci_low']:g}–{row['ci_high']:g}"
        lines.append(
            f"| {row['measure']} | {row['period']} | {row['sex']} | {row['site']} | {row['published']:g} | "
            f"{row['simulated']:g} | {row['ratio']:.3f} | {row['events']} | {interval} | "
            f"{row['judged_by']} | {'yes' if row['within'] else 'NO'} | {row['source']} |"
        )
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path
