"""ColorectalScreen Norway histories: FIT rounds from 2022 and colonoscopy after positives (§1.3).

Invitation: people born in 1967 or later are invited in the year they turn 55, in birth-month order
(letter on the 1st of the birth month + U(0, 27) days); where the county joined later
(``colorectal_rollout.csv``, nationwide January 2024) the due cohorts are invited from the county's start
in birth-month order (so some are 56). Rounds every 2 years, at most 5, while younger than 65, resident
and alive. Kit 14 days after the letter, reminder after 6 weeks if no sample. Participation: Beta
propensity per person with the published mean by sex. FIT value µg Hb/g: positive above the cut-off;
a preclinical cancer makes the test positive with the FIT sensitivity. Positives are referred to
colonoscopy; a colonoscopy ends the FIT rounds (§1.3). Findings: the cancer if preclinical (colonoscopy
sensitivity), else normal / adenoma / advanced adenoma.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from oncoreg.simulate.screening.config import ColorectalParameters, colorectal_rollout
from oncoreg.simulate.screening.detection import (
    Ints,
    People,
    ProgrammeOutput,
    categorical,
    classify,
    detections_frame,
    group_first,
    propensity,
    target_tumours,
    targets_frame,
)
from oncoreg.simulate.screening.events import event_block, finalise_events
from oncoreg.simulate.screening.timeline import (
    DAYS_PER_YEAR,
    age_at,
    anniversary,
    civil,
    day_of,
    to_date_series,
)

PROGRAMME = "colorectal"
_COLORECTAL = pl.col("topography").str.contains(r"^C(18|19|20)") & (pl.col("behaviour") == 3)
_NATIONWIDE_DAY = day_of(2024)


def simulate_colorectal(
    *,
    people: People,
    tumours: pl.DataFrame,
    start_year: int,
    end_year: int,
    params: ColorectalParameters,
    rng: np.random.Generator,
) -> ProgrammeOutput:
    """FIT invitations, results, colonoscopies; detected tumours; classification of colorectal cancers."""
    birth_year, birth_month, _ = civil(people.birth)
    cohort = people.subset((birth_year >= params.first_cohort) & np.isin(people.sex, [1, 2]))
    n = len(cohort)
    birth_year, birth_month, _ = civil(cohort.birth)
    rollout = colorectal_rollout()
    start_of = dict(zip(rollout["county_code"], rollout["programme_start"].cast(pl.Int64), strict=True))
    county_start = (
        pl.Series(cohort.county)
        .replace_strict(start_of, default=_NATIONWIDE_DAY, return_dtype=pl.Int64)
        .to_numpy()
    )
    month_start = (
        (
            (birth_year + params.age_invited - 1970).astype("datetime64[Y]").astype("datetime64[M]")
            + (birth_month - 1)
        )
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    due = month_start + rng.integers(0, 28, n)
    catch_up = (
        county_start + np.rint((birth_month - 1) * 365.25 / 12).astype(np.int64) + rng.integers(0, 28, n)
    )
    first_letter = np.where(due >= county_start, due, np.maximum(catch_up, county_start))
    interval = params.interval_years * DAYS_PER_YEAR
    period_lo, period_hi = day_of(start_year), day_of(end_year, 12, 31)
    last_letter = np.minimum.reduce(
        [cohort.exit - 1, anniversary(cohort.birth, params.age_max + 1) - 1, np.full(n, period_hi)]
    )
    k_lo = np.maximum(np.ceil((np.maximum(cohort.entry, period_lo) - first_letter) / interval), 0).astype(
        np.int64
    )
    k_hi = np.minimum(np.floor((last_letter - first_letter) / interval), params.max_rounds - 1).astype(
        np.int64
    )
    rounds = np.maximum(k_hi - k_lo + 1, 0)
    w = np.repeat(np.arange(n), rounds)
    k = k_lo[w] + np.arange(w.size) - np.repeat(np.cumsum(rounds) - rounds, rounds)
    letter = np.rint(first_letter[w] + k * interval).astype(np.int64)
    kit = letter + params.kit_days_after_letter

    mean = np.where(cohort.sex == 2, params.participation_women, params.participation_men)
    participates = (
        rng.random(w.size)
        < propensity(rng=rng, mean=mean, concentration=params.participation_concentration)[w]
    )
    sample_day = kit + np.rint(rng.exponential(12, w.size)).astype(np.int64) + 2
    reminded = ~participates | (sample_day > kit + params.reminder_days_after_kit)
    sample_day = np.where(
        reminded & participates,
        kit + params.reminder_days_after_kit + rng.integers(3, 40, w.size),
        sample_day,
    )
    targets = target_tumours(
        people=cohort,
        tumours=tumours,
        target=_COLORECTAL,
        sojourn_mean_years=params.sojourn_mean_years,
        sojourn_shape=params.sojourn_shape,
        rng=rng,
    )
    exit_w = cohort.exit[w]
    clinical_w = targets.clinical[w]
    participates &= (sample_day < exit_w) & (sample_day < clinical_w) & (sample_day <= period_hi)
    attended_before: Ints = np.cumsum(participates) - participates
    group_start = np.repeat(np.cumsum(rounds) - rounds, rounds)
    first_fit = participates & (attended_before - attended_before[group_start] == 0)
    not_analysable = participates & (rng.random(w.size) < params.not_analysable)
    result_day = sample_day + np.where(not_analysable, 21, 0) + 2
    pre = (targets.preclinical_start[w] <= result_day) & (result_day < clinical_w)
    seen = participates & pre & (rng.random(w.size) < params.fit_sensitivity)
    background = rng.random(w.size) < np.where(
        cohort.sex[w] == 2, params.background_positive_women, params.background_positive_men
    )
    positive = participates & (seen | background)
    value = _fit_values(rng=rng, positive=positive, params=params)

    colonoscopy_day = result_day + rng.integers(*params.colonoscopy_delay_days, w.size)
    scoped = positive & (rng.random(w.size) < params.colonoscopy_attendance)
    scoped &= (colonoscopy_day < exit_w) & (colonoscopy_day < clinical_w) & (colonoscopy_day <= period_hi)
    pre_scope = (targets.preclinical_start[w] <= colonoscopy_day) & (colonoscopy_day < clinical_w)
    finds_cancer = scoped & pre_scope & (rng.random(w.size) < params.colonoscopy_sensitivity)
    names = np.array(list(params.findings_background))
    finding = np.where(
        finds_cancer,
        "cancer",
        names[categorical(rng=rng, probabilities=list(params.findings_background.values()), n=w.size)],
    )
    # rounds end after the first colonoscopy (§1.3) and at the (possibly earlier) incidence date
    scoped_rows = np.flatnonzero(scoped)
    first_scope = np.full(n, np.iinfo(np.int64).max)
    first_rows = scoped_rows[group_first(w[scoped_rows])]
    first_scope[w[first_rows]] = letter[first_rows]
    keep = (letter <= first_scope[w]) & (letter >= np.maximum(cohort.entry[w], period_lo))
    keep &= letter < clinical_w
    found = finds_cancer & keep

    age = age_at(cohort.birth[w], letter)
    common = {"person_id": cohort.person_id[w], "episode": (k + 1), "county": cohort.county[w]}

    def rows(sel: np.ndarray) -> dict[str, Any]:
        return {key: value[sel] for key, value in common.items()}

    blocks = []
    blocks.append(
        event_block(
            n=int(keep.sum()),
            **rows(keep),
            programme=PROGRAMME,
            date=letter[keep],
            type="invitation",
            test="fit",
            indication="screening",
            due_date=kit[keep],
            age=age[keep],
        )
    )
    sel = keep & (kit < exit_w) & (kit <= period_hi) & (kit <= clinical_w)
    blocks.append(
        event_block(
            n=int(sel.sum()),
            **rows(sel),
            programme=PROGRAMME,
            date=kit[sel],
            type="kit_sent",
            test="fit",
            indication="screening",
            age=age_at(cohort.birth[w][sel], kit[sel]),
        )
    )
    reminder = kit + params.reminder_days_after_kit
    sel = keep & reminded & (reminder < exit_w) & (reminder <= period_hi) & (reminder < clinical_w)
    blocks.append(
        event_block(
            n=int(sel.sum()),
            **rows(sel),
            programme=PROGRAMME,
            date=reminder[sel],
            type="reminder",
            test="fit",
            indication="screening",
            age=age_at(cohort.birth[w][sel], reminder[sel]),
        )
    )
    sel = keep & not_analysable
    blocks.append(
        event_block(
            n=int(sel.sum()),
            **rows(sel),
            programme=PROGRAMME,
            date=sample_day[sel] + 2,
            type="fit_result",
            test="fit",
            indication="screening",
            result="not_analysable",
            recommendation="new_kit",
            age=age_at(cohort.birth[w][sel], sample_day[sel] + 2),
        )
    )
    sel = keep & participates
    text = np.where(
        np.isnan(value),
        np.where(positive, "above upper quantitation limit", "below lower quantitation limit"),
        "",
    )
    next_letter = np.rint(letter + interval).astype(np.int64)
    blocks.append(
        event_block(
            n=int(sel.sum()),
            **rows(sel),
            programme=PROGRAMME,
            date=result_day[sel],
            type="fit_result",
            test="fit",
            indication="screening",
            result=np.where(positive[sel], "positive", "negative"),
            value=value[sel],
            value_text=text[sel],
            recall=positive[sel],
            first_screen=first_fit[sel],
            recommendation=np.where(positive[sel], "colonoscopy", "routine"),
            due_date=np.where(positive[sel], colonoscopy_day[sel], next_letter[sel]),
            age=age_at(cohort.birth[w][sel], result_day[sel]),
        )
    )
    sel = keep & scoped
    blocks.append(
        event_block(
            n=int(sel.sum()),
            **rows(sel),
            programme=PROGRAMME,
            date=colonoscopy_day[sel],
            type="colonoscopy",
            test="colonoscopy",
            indication="follow_up",
            result=finding[sel],
            recommendation=np.where(finds_cancer[sel], "treatment", "exit"),
            age=age_at(cohort.birth[w][sel], colonoscopy_day[sel]),
            tumour_id=np.where(finds_cancer[sel], targets.tumour_id[w][sel], -1),
        )
    )
    events = finalise_events(blocks, prefix="K")
    detected = detections_frame(
        programme=PROGRAMME, tumour_id=targets.tumour_id[w[found]], incidence=colonoscopy_day[found]
    )
    screened = keep & participates
    screens = pl.DataFrame(
        {
            "person_id": cohort.person_id[w][screened],
            "date": to_date_series("date", result_day[screened]),
            "negative": ~positive[screened],
            "followed_up": (~positive | scoped)[screened],
            "window_days": np.full(int(screened.sum()), round(params.interval_months * DAYS_PER_YEAR / 12)),
        }
    )
    colonoscopies = pl.DataFrame(
        {"person_id": cohort.person_id[w][sel], "date": to_date_series("date", colonoscopy_day[sel])}
    )
    eligible = pl.DataFrame(
        {"person_id": cohort.person_id[w][keep], "date": to_date_series("date", letter[keep])}
    )
    truth = classify(
        programme=PROGRAMME,
        targets=targets_frame(targets=targets, detected=detected),
        screens=screens,
        eligible=eligible,
        colonoscopies=colonoscopies,
    )
    return ProgrammeOutput(events=events, truth=truth, detected=detected)


def _fit_values(
    *, rng: np.random.Generator, positive: np.ndarray, params: ColorectalParameters
) -> np.ndarray:
    """FIT µg Hb/g: positives log-uniform from the cut-off to 2× the upper limit, negatives 70% below the
    lower limit and the rest uniform up to the cut-off [U]; NaN outside the quantitation limits."""
    size = positive.size
    log_hi = np.log(2 * params.upper_limit_ug_per_g)
    high = np.exp(rng.uniform(np.log(params.cutoff_ug_per_g + 1), log_hi, size))
    low = rng.uniform(params.lower_limit_ug_per_g, params.cutoff_ug_per_g, size)
    below = rng.random(size) < 0.7
    value = np.where(positive, np.floor(high), np.where(below, np.nan, np.floor(low)))
    return np.where(value > params.upper_limit_ug_per_g, np.nan, value)
