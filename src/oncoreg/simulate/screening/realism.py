"""Simulated programme indicators next to the published Norwegian figures (``data/published.csv``).

Definitions (screening.md §2): participation = screened / invited; recall = recalled / screened (first
and subsequent screens apart); detection = screen-detected cancers (DCIS + invasive) per 1000 screens;
interval rate 0–11 months = interval cancers within 365 days of a negative screen per 1000 negative
screens; cervical coverage = women 25–69 resident on 31 December of the period's last year with a sample
within the look-back of the primary test in force for her on that day (3.5 years for cytology, 5.5 years
for HPV: interval + 6 months, §1.2) / those women, so it is defined in any period (all women are on HPV
from July 2023); FIT positivity = positive / analysed FIT; colonoscopy shares per colonoscopy.

**Period.** Each published figure describes calendar years (``year_from``–``year_to`` in
``published.csv``: breast "first 10 years" = 1996–2005, cervical coverage = 2019, ...). When the run covers
them, with ``history_years`` of run before them (coverage looks back 3.5–5.5 years), the simulated figure is
measured over those years; otherwise over the whole run (``covered`` false). Breast: invitations and
screens dated in the period, their assessments, interval cancers whose last screen is in the period;
cervix: primary samples in the period, coverage on 31 December of its last year; colorectal: invitations
from 1 January of the first year to 120 days before the period ends (so their results are in, §2.3) and
what followed them.

Every indicator is a count over a count (``numerator`` events of ``denominator`` trials, times ``per``: 1,
or 1000 for rates per 1000), so the report can judge it by its sampling uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from oncoreg.simulate.screening.cervix import cervix_rule_in_force
from oncoreg.simulate.screening.config import CervixParameters, cervix_rules, published_figures
from oncoreg.simulate.screening.detection import People
from oncoreg.simulate.screening.engine import ScreeningResult
from oncoreg.simulate.screening.timeline import DAYS_PER_YEAR, age_at, civil, day_of, to_days

REALISM: dict[str, pl.DataType | type[pl.DataType]] = {
    "programme": pl.String,
    "measure": pl.String,
    "simulated": pl.Float64,
    "published": pl.Float64,
    "unit": pl.String,
    "source": pl.String,
    "relative_difference": pl.Float64,  # simulated / published − 1
    "numerator": pl.Int64,  # the events the simulated value rests on
    "denominator": pl.Int64,  # screens, invitations, women, ... (the trials)
    "per": pl.Float64,  # simulated = per × numerator / denominator
    "year_from": pl.Int32,  # the years measured (the published period when covered, else the run)
    "year_to": pl.Int32,
    "covered": pl.Boolean,  # the run covers the published period (with its history years)
    "published_from": pl.Int32,  # the period the published figure describes
    "published_to": pl.Int32,
}

Years = tuple[int, int]


@dataclass(frozen=True)
class Ratio:
    """``per × numerator / denominator`` (NaN without a denominator)."""

    numerator: int
    denominator: int
    per: float = 1.0

    @property
    def value(self) -> float:
        return self.per * self.numerator / self.denominator if self.denominator else float("nan")


def _in_years(years: Years) -> pl.Expr:
    return pl.col("date").dt.year().is_between(*years)


def breast_indicators(events: pl.DataFrame, truth: pl.DataFrame, years: Years) -> dict[str, Ratio]:
    breast = events.filter(pl.col("programme") == "breast")
    invitations = breast.filter((pl.col("type") == "invitation") & _in_years(years)).height
    screens = breast.filter((pl.col("type") == "screen") & _in_years(years))
    assessments = breast.filter(pl.col("type") == "assessment").join(
        screens.select("person_id", "episode"), on=["person_id", "episode"], how="semi"
    )
    found = assessments.filter(pl.col("tumour_id").is_not_null()).select("person_id", "episode")
    found = found.join(screens, on=["person_id", "episode"])
    first = screens.filter(pl.col("first_screen"))
    later = screens.filter(~pl.col("first_screen"))
    negative = (
        screens.filter(~pl.col("recall")).height
        + assessments.filter(pl.col("result").is_in(["normal", "benign"])).height
    )
    early_interval = truth.filter(
        (pl.col("programme") == "breast")
        & (pl.col("classification") == "interval")
        & (pl.col("days_since_screen") < 365)
        & pl.col("last_screen_date").dt.year().is_between(*years)
    ).height
    r1, r2 = screens["reader1_score"], screens["reader2_score"]
    found_first = found.filter(pl.col("first_screen")).height
    return {
        "participation": Ratio(screens.height, invitations),
        "recall_first": Ratio(int(first["recall"].sum()), first.height),
        "recall_subsequent": Ratio(int(later["recall"].sum()), later.height),
        "detection_first": Ratio(found_first, first.height, 1000),
        "detection_subsequent": Ratio(found.height - found_first, later.height, 1000),
        "detection_all": Ratio(found.height, screens.height, 1000),
        "discordant_reads": Ratio(int(((r1 == 1) != (r2 == 1)).sum()), screens.height),
        "concordant_positive_reads": Ratio(int(((r1 > 1) & (r2 > 1)).sum()), screens.height),
        "interval_rate_0_11_months": Ratio(early_interval, negative, 1000),
    }


def cervix_indicators(
    events: pl.DataFrame, persons: pl.DataFrame, years: Years, params: CervixParameters
) -> dict[str, Ratio]:
    cervix = events.filter(pl.col("programme") == "cervix")
    at = day_of(years[1], 12, 31)
    women = People.from_persons(persons.filter(pl.col("sex") == 2))
    age = age_at(women.birth, np.full(len(women), at))
    _, _, birth_day = civil(women.birth)
    rule = cervix_rule_in_force(
        sample_day=np.full(len(women), at), age=age, county=women.county, birth_day_of_month=birth_day
    )
    tests = cervix_rules()["test"].to_numpy().astype(str)
    hpv_in_force = (rule >= 0) & (tests[np.maximum(rule, 0)] == "hpv")
    look_back = np.rint(
        np.where(hpv_in_force, params.window_years_hpv, params.window_years_cytology) * DAYS_PER_YEAR
    ).astype(np.int64)
    resident = (women.entry <= at) & (women.exit > at) & (age >= 25) & (age <= 69)
    samples = cervix.filter((pl.col("type") == "sample") & (pl.col("date") <= pl.lit(at).cast(pl.Date)))
    last_sample = samples.group_by("person_id").agg(pl.col("date").max())
    last_day = dict(
        zip(last_sample["person_id"].to_list(), to_days(last_sample["date"]).tolist(), strict=True)
    )
    last = pl.Series(women.person_id[resident]).replace_strict(last_day, default=-(10**9)).to_numpy()
    covered = last > at - look_back[resident]
    primary = samples.filter((pl.col("indication") == "screening") & _in_years(years))
    hpv = primary.filter(pl.col("test") == "hpv")
    return {
        "coverage_3_5_years": Ratio(int(covered.sum()), int(resident.sum())),
        "hpv_positivity": Ratio(hpv.filter(pl.col("result") == "hpv_positive").height, hpv.height),
        "colposcopy_referral": Ratio(
            primary.filter(pl.col("recommendation") == "colposcopy").height, primary.height
        ),
    }


def colorectal_indicators(events: pl.DataFrame, persons: pl.DataFrame, years: Years) -> dict[str, Ratio]:
    crc = events.filter(pl.col("programme") == "colorectal").join(
        persons.select("person_id", "sex"), on="person_id", how="left"
    )
    # invitations at least 120 days before the period ends, so their results are in (screening.md §2.3)
    settled = crc.filter(
        pl.col("type") == "invitation",
        pl.col("date") >= pl.date(years[0], 1, 1),
        pl.col("date") <= pl.date(years[1], 12, 31).dt.offset_by("-120d"),
    ).select("person_id", "episode")
    crc = crc.join(settled, on=["person_id", "episode"], how="semi")
    invitations = crc.filter(pl.col("type") == "invitation")
    results = crc.filter((pl.col("type") == "fit_result") & pl.col("result").is_in(["positive", "negative"]))
    scopes = crc.filter(pl.col("type") == "colonoscopy")

    def participation(sex: int | None) -> Ratio:
        inv = invitations if sex is None else invitations.filter(pl.col("sex") == sex)
        res = results if sex is None else results.filter(pl.col("sex") == sex)
        return Ratio(res.select("person_id", "episode").unique().height, inv.height)

    participants = results.select("person_id", "episode").unique().height
    cancers = scopes.filter(pl.col("result") == "cancer").height
    return {
        "participation": participation(None),
        "participation_women": participation(2),
        "participation_men": participation(1),
        "positivity": Ratio(results.filter(pl.col("result") == "positive").height, results.height),
        "polyps_at_colonoscopy": Ratio(
            scopes.filter(pl.col("result").is_in(["adenoma", "advanced_adenoma"])).height, scopes.height
        ),
        "cancer_at_colonoscopy": Ratio(cancers, scopes.height),
        "cancers_per_1000_participants": Ratio(cancers, participants, 1000),
    }


def measured_years(
    *, year_from: int | None, year_to: int | None, history_years: int | None, start_year: int, end_year: int
) -> tuple[Years, bool]:
    """The years to measure a figure over, and whether they are its published period: the published
    ``year_from``–``year_to`` when the run covers them with ``history_years`` of run before them, else the
    whole run."""
    if year_from is None or year_to is None:
        return (start_year, end_year), False
    covered = start_year + (history_years or 0) <= year_from and year_to <= end_year
    return ((year_from, year_to), True) if covered else ((start_year, end_year), False)


def screening_realism(*, result: ScreeningResult, persons: pl.DataFrame) -> pl.DataFrame:
    """One row per indicator (``REALISM`` columns): the simulated value over the published figure's period
    when the run covers it (else over the run), with the counts it rests on."""
    figures = published_figures()
    rows: list[dict[str, object]] = []
    cache: dict[tuple[str, Years], dict[str, Ratio]] = {}
    for figure in figures.iter_rows(named=True):
        years, covered = measured_years(
            year_from=figure["year_from"],
            year_to=figure["year_to"],
            history_years=figure["history_years"],
            start_year=result.start_year,
            end_year=result.end_year,
        )
        programme = figure["programme"]
        if (programme, years) not in cache:
            if programme == "breast":
                cache[programme, years] = breast_indicators(result.events, result.truth, years)
            elif programme == "cervix":
                params = result.config.cervix
                cache[programme, years] = cervix_indicators(result.events, persons, years, params)
            else:
                cache[programme, years] = colorectal_indicators(result.events, persons, years)
        ratio = cache[programme, years][figure["measure"]]
        simulated = ratio.value
        rows.append(
            {
                **figure,
                "simulated": None if np.isnan(simulated) else simulated,
                "numerator": ratio.numerator,
                "denominator": ratio.denominator,
                "per": ratio.per,
                "year_from": years[0],
                "year_to": years[1],
                "covered": covered,
                "published_from": figure["year_from"],
                "published_to": figure["year_to"],
            }
        )
    schema = {c: t for c, t in REALISM.items() if c != "relative_difference"}
    table = pl.DataFrame(rows, schema_overrides=schema)
    table = table.with_columns((pl.col("simulated") / pl.col("published") - 1).alias("relative_difference"))
    return table.select([pl.col(c).cast(t) for c, t in REALISM.items()])
