"""BreastScreen Norway histories: invitations, attendance, double reading, recall, assessment (§1.1).

Schedule: county *c* joins at S_c (``breast_rollout.csv``). Women are invited by birth cohort: the
appointment of round *k* is ``S_c + φ + k·730.5`` days with the cohort phase
``φ = ((birth year mod 2)·12 + birth month − 1)·730.5/24``, while aged 50–69, resident and alive; so
the first invitation comes at 50–52 and every two years after (screening.md §1.1: "by area and birth
cohort"). Attendance: per-woman propensity ~ Beta (mean by county). Screen detection as in
:mod:`~oncoreg.simulate.screening.detection`; recall of cancer-free women with the false-positive rates
(first vs subsequent screen); reader scores and consensus conditioned on the recall decision so that
discordant and concordant-positive shares match Hofvind et al. 2009 (screening.md §1.1).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from oncoreg.simulate.screening.config import BreastParameters, breast_rollout
from oncoreg.simulate.screening.detection import (
    People,
    ProgrammeOutput,
    categorical,
    classify,
    detections_frame,
    group_first,
    propensity,
    sensitivity_at,
    target_tumours,
    targets_frame,
)
from oncoreg.simulate.screening.events import event_block, finalise_events
from oncoreg.simulate.screening.timeline import (
    DAYS_PER_YEAR,
    Days,
    age_at,
    anniversary,
    civil,
    day_of,
    to_date_series,
)

PROGRAMME = "breast"
_NATIONWIDE_DAY = day_of(2005)
_BREAST = (
    pl.col("topography").str.starts_with("C50") & pl.col("behaviour").is_in([2, 3]) & (pl.col("sex") == 2)
)


def _scores(rng: np.random.Generator, probabilities: tuple[float, ...], n: int) -> Days:
    return categorical(rng=rng, probabilities=probabilities, n=n) + 2


def simulate_breast(
    *,
    people: People,
    tumours: pl.DataFrame,
    start_year: int,
    end_year: int,
    params: BreastParameters,
    rng: np.random.Generator,
) -> ProgrammeOutput:
    """Breast screening events, screen-detected tumours and the classification of every breast cancer."""
    women = people.subset(people.sex == 2)
    rollout = breast_rollout()
    start_of = dict(zip(rollout["county_code"], rollout["programme_start"].cast(pl.Int64), strict=True))
    attendance_of = dict(zip(rollout["county_code"], rollout["attendance"], strict=True))
    default_attendance = float(rollout["attendance"].cast(pl.Float64).mean() or 0.76)  # type: ignore[arg-type]
    county = pl.Series(women.county)
    programme_start = county.replace_strict(
        start_of, default=_NATIONWIDE_DAY, return_dtype=pl.Int64
    ).to_numpy()
    mean_attendance = county.replace_strict(
        attendance_of, default=default_attendance, return_dtype=pl.Float64
    ).to_numpy()

    interval = params.interval_years * DAYS_PER_YEAR
    period_lo, period_hi = day_of(start_year, 1, 1), day_of(end_year, 12, 31)
    birth_year, birth_month, _ = civil(women.birth)
    base = programme_start + ((birth_year % 2) * 12 + birth_month - 1) * interval / 24
    first_possible = np.maximum.reduce(
        [women.entry, anniversary(women.birth, params.age_min), programme_start]
    )
    last_possible = np.minimum.reduce(
        [women.exit - 1, anniversary(women.birth, params.age_max + 1) - 1, np.full(len(women), period_hi)]
    )
    k_lo = np.ceil((first_possible - base) / interval).astype(np.int64)
    k_hi = np.floor((last_possible - base) / interval).astype(np.int64)
    rounds = np.maximum(k_hi - k_lo + 1, 0)

    # one row per invitation (women in person_id order, rounds in date order)
    w = np.repeat(np.arange(len(women)), rounds)
    offset = np.arange(w.size) - np.repeat(np.cumsum(rounds) - rounds, rounds)
    episode = offset + 1
    appointment = np.rint(base[w] + (k_lo[w] + offset) * interval).astype(np.int64)

    attends = (
        rng.random(w.size)
        < propensity(rng=rng, mean=mean_attendance, concentration=params.attendance_concentration)[w]
    )
    attended_before: Days = np.cumsum(attends) - attends
    group_start = np.repeat(np.cumsum(rounds) - rounds, rounds)
    screens_before: Days = attended_before - attended_before[group_start]
    first_screen = attends & (screens_before == 0)
    in_period = appointment >= period_lo
    delay = rng.integers(params.assessment_delay_min_days, params.assessment_delay_max_days + 1, w.size)

    # natural history and detection
    targets = target_tumours(
        people=women,
        tumours=tumours,
        target=_BREAST,
        sojourn_mean_years=params.sojourn_mean_years,
        sojourn_shape=params.sojourn_shape,
        rng=rng,
    )
    # a woman recalled for a tumour that would surface before the planned assessment is seen before then
    room = targets.clinical[w] - appointment - 1
    delay = np.where((room >= 1) & (room < delay), room, delay)
    preclinical = (targets.preclinical_start[w] <= appointment) & (appointment + delay < targets.clinical[w])
    preclinical &= appointment + delay <= period_hi
    sensitivity = sensitivity_at(
        day=appointment,
        preclinical_start=targets.preclinical_start[w],
        clinical=targets.clinical[w],
        at_onset=params.sensitivity_at_onset,
        at_surfacing=params.sensitivity,
    )
    sensitivity *= np.where(first_screen, 1.0, params.subsequent_sensitivity_ratio)
    seen = attends & in_period & preclinical & (rng.random(w.size) < sensitivity)
    seen_rows = np.flatnonzero(seen)
    detecting = np.zeros(w.size, dtype=bool)
    detecting[seen_rows[group_first(w[seen_rows])]] = True
    final_incidence = targets.clinical.copy()
    final_incidence[w[detecting]] = appointment[detecting] + delay[detecting]

    keep = in_period & (appointment < final_incidence[w])
    recall = detecting | (
        rng.random(w.size) < np.where(first_screen, params.fp_recall_first, params.fp_recall_subsequent)
    )
    recall &= attends
    reads = _readings(rng=rng, recall=recall, detecting=detecting, params=params)
    assessment_day = appointment + delay
    assessed = recall & keep & (assessment_day < women.exit[w]) & (assessment_day <= period_hi)
    assessed &= assessment_day <= final_incidence[w]
    benign = rng.random(w.size) < params.benign_biopsy_share
    outcome = np.where(
        detecting,
        np.where(targets.behaviour[w] == 2, "dcis", "invasive"),
        np.where(benign, "benign", "normal"),
    )

    age = age_at(women.birth[w], appointment)
    person = women.person_id[w]
    county_w = women.county[w]
    letter = np.maximum(appointment - params.letter_days_before, women.entry[w])
    blocks = []
    sel = keep
    blocks.append(
        event_block(
            n=int(sel.sum()),
            person_id=person[sel],
            programme=PROGRAMME,
            episode=episode[sel],
            date=letter[sel],
            type="invitation",
            test="mammography",
            indication="screening",
            due_date=appointment[sel],
            age=age_at(women.birth[w][sel], letter[sel]),
            county=county_w[sel],
        )
    )
    reminder_day = appointment + 42
    sel = keep & ~attends & (reminder_day < np.minimum(women.exit[w], period_hi + 1))
    sel &= reminder_day <= final_incidence[w]
    blocks.append(
        event_block(
            n=int(sel.sum()),
            person_id=person[sel],
            programme=PROGRAMME,
            episode=episode[sel],
            date=reminder_day[sel],
            type="reminder",
            test="mammography",
            indication="screening",
            result="did_not_attend",
            age=age_at(women.birth[w][sel], reminder_day[sel]),
            county=county_w[sel],
        )
    )
    sel = keep & attends
    blocks.append(
        event_block(
            n=int(sel.sum()),
            person_id=person[sel],
            programme=PROGRAMME,
            episode=episode[sel],
            date=appointment[sel],
            type="screen",
            test="mammography",
            indication="screening",
            result=np.where(recall[sel], "recall", "normal"),
            reader1_score=reads[0][sel],
            reader2_score=reads[1][sel],
            first_screen=first_screen[sel],
            consensus=np.maximum(reads[0], reads[1])[sel] >= 2,
            recall=recall[sel],
            recommendation=np.where(recall[sel], "assessment", "routine"),
            due_date=np.where(
                recall[sel], assessment_day[sel], np.rint(appointment[sel] + interval).astype(np.int64)
            ),
            age=age[sel],
            county=county_w[sel],
        )
    )
    sel = assessed
    blocks.append(
        event_block(
            n=int(sel.sum()),
            person_id=person[sel],
            programme=PROGRAMME,
            episode=episode[sel],
            date=assessment_day[sel],
            type="assessment",
            test=np.where(outcome[sel] == "normal", "imaging", "biopsy"),
            indication="follow_up",
            result=outcome[sel],
            recommendation=np.where(detecting[sel], "treatment", "routine"),
            age=age_at(women.birth[w][sel], assessment_day[sel]),
            county=county_w[sel],
            tumour_id=np.where(detecting[sel], targets.tumour_id[w][sel], -1),
        )
    )
    events = finalise_events(blocks, prefix="B")

    detected = detections_frame(
        programme=PROGRAMME,
        tumour_id=targets.tumour_id[w[detecting]],
        incidence=appointment[detecting] + delay[detecting],
    )
    screened = keep & attends
    negative = screened & (~recall | (assessed & ~detecting))
    screens = pl.DataFrame(
        {
            "person_id": person[screened],
            "date": to_date_series("date", appointment[screened]),
            "negative": negative[screened],
            "followed_up": (~recall | assessed)[screened],
            "window_days": np.full(int(screened.sum()), round(params.interval_months * DAYS_PER_YEAR / 12)),
        }
    )
    eligible = pl.DataFrame({"person_id": person[keep], "date": to_date_series("date", appointment[keep])})
    truth = classify(
        programme=PROGRAMME,
        targets=targets_frame(targets=targets, detected=detected),
        screens=screens,
        eligible=eligible,
    )
    return ProgrammeOutput(events=events, truth=truth, detected=detected)


def _readings(
    *, rng: np.random.Generator, recall: np.ndarray, detecting: np.ndarray, params: BreastParameters
) -> tuple[Days, Days]:
    """Reader 1 and 2 scores (1-5): both 1 unless discordant (one ≥ 2) or concordant positive (both ≥ 2)."""
    n = recall.size
    u = rng.random(n)
    discordant = np.where(
        recall,
        u < np.where(detecting, params.discordant_share_detected, params.discordant_share_false_positive),
        u < params.discordant_dismissed,
    )
    concordant = np.where(
        recall,
        ~discordant,
        (u >= params.discordant_dismissed) & (u < params.discordant_dismissed + params.concordant_dismissed),
    )
    scores = params.scores_detected
    positive1 = np.where(detecting, _scores(rng, scores, n), _scores(rng, params.scores_false_positive, n))
    positive2 = np.where(detecting, _scores(rng, scores, n), _scores(rng, params.scores_false_positive, n))
    first_reader_positive = rng.random(n) < 0.5
    reader1 = np.where(concordant | (discordant & first_reader_positive), positive1, 1)
    reader2 = np.where(concordant | (discordant & ~first_reader_positive), positive2, 1)
    return reader1.astype(np.int64), reader2.astype(np.int64)
