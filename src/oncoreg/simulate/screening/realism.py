"""Simulated programme indicators next to the published Norwegian figures (``data/published.csv``).

Definitions (screening.md §2): participation = screened / invited; recall = recalled / screened (first
and subsequent screens apart); detection = screen-detected cancers (DCIS + invasive) per 1000 screens;
interval rate 0–11 months = interval cancers within 365 days of a negative screen per 1000 negative
screens; cervical coverage = women 25–69 resident on 31 December (2019 when the period has 4 years of
history before it, else the last year) with a sample within the look-back of the primary test in force
for her on that day (3.5 years for cytology, 5.5 years for HPV: interval + 6 months, §1.2) / those
women, so it is defined in any period (all women are on HPV from July 2023); FIT positivity = positive /
analysed FIT; colonoscopy shares per colonoscopy.
"""

from __future__ import annotations

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
}


def _share(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def _breast(events: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    breast = events.filter(pl.col("programme") == "breast")
    invitations = breast.filter(pl.col("type") == "invitation").height
    screens = breast.filter(pl.col("type") == "screen")
    found = breast.filter((pl.col("type") == "assessment") & pl.col("tumour_id").is_not_null())
    found = found.select("person_id", "episode").join(screens, on=["person_id", "episode"])
    first = screens.filter(pl.col("first_screen"))
    later = screens.filter(~pl.col("first_screen"))
    negative = breast.filter(
        ((pl.col("type") == "screen") & ~pl.col("recall"))
        | ((pl.col("type") == "assessment") & pl.col("result").is_in(["normal", "benign"]))
    ).height
    early_interval = truth.filter(
        (pl.col("programme") == "breast")
        & (pl.col("classification") == "interval")
        & (pl.col("days_since_screen") < 365)
    ).height
    r1, r2 = screens["reader1_score"], screens["reader2_score"]
    return {
        "participation": _share(screens.height, invitations),
        "recall_first": _share(int(first["recall"].sum()), first.height),
        "recall_subsequent": _share(int(later["recall"].sum()), later.height),
        "detection_first": 1000 * _share(found.filter(pl.col("first_screen")).height, first.height),
        "detection_subsequent": 1000 * _share(found.filter(~pl.col("first_screen")).height, later.height),
        "detection_all": 1000 * _share(found.height, screens.height),
        "discordant_reads": _share(int(((r1 == 1) != (r2 == 1)).sum()), screens.height),
        "concordant_positive_reads": _share(int(((r1 > 1) & (r2 > 1)).sum()), screens.height),
        "interval_rate_0_11_months": 1000 * _share(early_interval, negative),
    }


def _cervix(
    events: pl.DataFrame, persons: pl.DataFrame, start_year: int, end_year: int, params: CervixParameters
) -> dict[str, float]:
    cervix = events.filter(pl.col("programme") == "cervix")
    year = 2019 if start_year + 4 <= 2019 <= end_year else end_year
    at = day_of(year, 12, 31)
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
    primary = samples.filter(pl.col("indication") == "screening")
    hpv = primary.filter(pl.col("test") == "hpv")
    return {
        "coverage_3_5_years": _share(int(covered.sum()), int(resident.sum())),
        "hpv_positivity": _share(hpv.filter(pl.col("result") == "hpv_positive").height, hpv.height),
        "colposcopy_referral": _share(
            primary.filter(pl.col("recommendation") == "colposcopy").height, primary.height
        ),
    }


def _colorectal(events: pl.DataFrame, persons: pl.DataFrame, end_year: int) -> dict[str, float]:
    crc = events.filter(pl.col("programme") == "colorectal").join(
        persons.select("person_id", "sex"), on="person_id", how="left"
    )
    # invitations at least 120 days before the period ends, so their results are in (screening.md §2.3)
    settled = crc.filter(
        pl.col("type") == "invitation", pl.col("date") <= pl.date(end_year, 12, 31).dt.offset_by("-120d")
    ).select("person_id", "episode")
    crc = crc.join(settled, on=["person_id", "episode"], how="semi")
    invitations = crc.filter(pl.col("type") == "invitation")
    results = crc.filter((pl.col("type") == "fit_result") & pl.col("result").is_in(["positive", "negative"]))
    scopes = crc.filter(pl.col("type") == "colonoscopy")

    def participation(sex: int | None) -> float:
        inv = invitations if sex is None else invitations.filter(pl.col("sex") == sex)
        res = results if sex is None else results.filter(pl.col("sex") == sex)
        return _share(res.select("person_id", "episode").unique().height, inv.height)

    participants = results.select("person_id", "episode").unique().height
    cancers = scopes.filter(pl.col("result") == "cancer").height
    return {
        "participation": participation(None),
        "participation_women": participation(2),
        "participation_men": participation(1),
        "positivity": _share(results.filter(pl.col("result") == "positive").height, results.height),
        "polyps_at_colonoscopy": _share(
            scopes.filter(pl.col("result").is_in(["adenoma", "advanced_adenoma"])).height, scopes.height
        ),
        "cancer_at_colonoscopy": _share(cancers, scopes.height),
        "cancers_per_1000_participants": 1000 * _share(cancers, participants),
    }


def screening_realism(*, result: ScreeningResult, persons: pl.DataFrame) -> pl.DataFrame:
    """Rows of programme, measure, simulated, published, unit, source, relative_difference."""
    simulated = {
        "breast": _breast(result.events, result.truth),
        "cervix": _cervix(result.events, persons, result.start_year, result.end_year, result.config.cervix),
        "colorectal": _colorectal(result.events, persons, result.end_year),
    }
    values = pl.DataFrame(
        [
            {"programme": programme, "measure": measure, "simulated": float(value)}
            for programme, measures in simulated.items()
            for measure, value in measures.items()
        ]
    )
    table = published_figures().join(values, on=["programme", "measure"], how="full", coalesce=True)
    table = table.with_columns(pl.col("simulated").fill_nan(None))
    table = table.with_columns((pl.col("simulated") / pl.col("published") - 1).alias("relative_difference"))
    return table.select([pl.col(c).cast(t) for c, t in REALISM.items()])
