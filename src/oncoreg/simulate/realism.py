"""The realism report: simulated figures against published Norwegian ones (``data/published_figures.csv``).

Simulated case counts are divided by the run's scale. A published case count is listed only when the run
covers its year and its expected simulated count (published × scale) is at least ``min_expected`` (300 by
default: below that, Poisson noise alone exceeds the ±10% band too often). MV% and DCO% are computed over the
published window, or over all simulated years when the run does not cover it; 5-year relative survival is
compared with the true net survival (mean of exp(-H(5)), ages 0–89, non-DCO malignant tumours) of patients
diagnosed in the published period (or the run's last five years).
Screening programme indicators (``screening_realism``: participation, recall, detection, positivity, ...)
are added when the run wrote ``screening_events.parquet``, over all simulated years.
``within`` = |simulated/published − 1| ≤ 10%.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from oncoreg.simulate.tables import read_csv

TOLERANCE = 0.10


def _sites(site: str) -> list[int] | None:
    return None if site == "all" else [int(part) for part in site.split("+")]


def realism_report(*, truth_dir: Path, scale: float, min_expected: float = 300.0) -> pl.DataFrame:
    """Rows ``measure, period, sex, site, published, simulated, ratio, within`` for the figures that apply."""
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
        if figure["measure"] == "cases" and not covered:
            continue
        if figure["measure"] == "cases" and figure["value"] * scale < min_expected:
            continue
        window = (
            years if covered else simulated_years[-5:] if figure["measure"] == "rs5_pct" else simulated_years
        )
        selected = malignant.filter(pl.col("year").is_in(window))
        if figure["sex"] in (1, 2):
            selected = selected.filter(pl.col("sex") == figure["sex"])
        sites = _sites(figure["site"])
        if sites is not None:
            selected = selected.filter(pl.col("entity").is_in(sites))
        if selected.height == 0:
            continue
        if figure["measure"] == "cases":
            value = selected.height / scale
        elif figure["measure"] == "mv_pct":
            value = 100 * float(selected["basis"].is_in([5, 6, 7]).cast(pl.Float64).mean())  # type: ignore[arg-type]
        elif figure["measure"] == "dco_pct":
            value = 100 * float(selected["dco"].cast(pl.Float64).mean())  # type: ignore[arg-type]
        else:
            eligible = selected.filter(~pl.col("dco") & (pl.col("age") < 90))
            value = 100 * float(eligible["net_survival_5y"].mean())  # type: ignore[arg-type]
        period = f"{window[0]}-{window[-1]}" if len(window) > 1 else str(window[0])
        ratio = float(value) / float(figure["value"])
        rows.append(
            {
                "measure": figure["measure"],
                "period": period,
                "sex": figure["sex"],
                "site": figure["site"],
                "published": float(figure["value"]),
                "simulated": round(float(value), 2),
                "ratio": round(ratio, 4),
                "within": abs(ratio - 1) <= TOLERANCE,
                "source": figure["source"],
            }
        )
    rows.extend(_screening_rows(truth_dir=truth_dir, years=simulated_years))
    return pl.DataFrame(rows, schema_overrides={"sex": pl.Int8})


def _screening_sex(programme: str, measure: str) -> int:
    if programme != "colorectal" or measure.endswith("_women"):
        return 2
    return 1 if measure.endswith("_men") else 0


def _screening_rows(*, truth_dir: Path, years: list[int]) -> list[dict[str, object]]:
    """Programme indicators (participation, recall, positivity, ...) of the screening stage, when it ran:
    measure ``screening_<name>``, site the programme, over the whole run; only measures with a published
    figure."""
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
    table = screening_realism(result=result, persons=pl.read_parquet(truth_dir / "persons.parquet"))
    table = table.filter(pl.col("published").is_not_null() & pl.col("simulated").is_not_null())
    return [
        {
            "measure": f"screening_{row['measure']}",
            "period": f"{years[0]}-{years[-1]}",
            "sex": _screening_sex(row["programme"], row["measure"]),
            "site": row["programme"],
            "published": float(row["published"]),
            "simulated": round(float(row["simulated"]), 4),
            "ratio": round(float(row["simulated"]) / float(row["published"]), 4),
            "within": abs(float(row["simulated"]) / float(row["published"]) - 1) <= TOLERANCE,
            "source": row["source"],
        }
        for row in table.iter_rows(named=True)
    ]


def write_report(*, report: pl.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """Write ``realism.csv`` and ``realism.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "realism.csv", out_dir / "realism.md"
    report.write_csv(csv_path)
    lines = [
        "# Realism report: simulated vs published",
        "",
        f"Tolerance ±{TOLERANCE:.0%}; {int(report['within'].sum())} of {report.height} figures within.",
        "",
        "| measure | period | sex | site | published | simulated | ratio | within | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report.iter_rows(named=True):
        lines.append(
            f"| {row['measure']} | {row['period']} | {row['sex']} | {row['site']} | {row['published']:g} | "
            f"{row['simulated']:g} | {row['ratio']:.3f} | {'yes' if row['within'] else 'NO'} | "
            f"{row['source']} |"
        )
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path
