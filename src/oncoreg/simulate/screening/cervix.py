"""CervicalScreen Norway histories: samples by the rule in force, triage, controls, colposcopy (§1.2).

The programme is reminder-based, so women are of three kinds [U]: never screened, regular (next
sample after the rule's interval × U(0.9, 1.3)) and irregular (interval + Exp(3 years)). Each loop
step (one per screening episode, vectorised over all women) takes the next sample, chooses the primary
test by the rule in force at the *sample date* (``cervix_rules.csv``: date, county, age and, for the
2015 randomised roll-out, an even or odd birth day), draws the result and follows the triage algorithm
of screening.md §1.2:

- cytology: normal → routine; ASC-US/LSIL → reflex HPV (HPV16/18 → colposcopy, other hrHPV → control in
  12 months, negative → routine [U]); ASC-H/HSIL → colposcopy;
- HPV: negative → routine (5 years); positive → reflex cytology: high grade → colposcopy; low grade with
  HPV16/18 → colposcopy, with other types → control in 12 months; normal with HPV16/18 → control in 12
  months, with other types → control in 24 months (36 months at 25–29 from 1 July 2023);
- control (HPV + cytology): persistent → colposcopy, else routine; colposcopy → histology
  (normal, CIN1, CIN2, CIN3, or the woman's cancer / CIN3 tumour if it is preclinical then).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.simulate.screening.config import CervixParameters, cervix_rules
from oncoreg.simulate.screening.detection import (
    Bools,
    Ints,
    People,
    ProgrammeOutput,
    categorical,
    classify,
    detections_frame,
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
    day_number,
    day_of,
    to_date_series,
)

PROGRAMME = "cervix"
_CERVIX = (
    pl.col("topography").str.starts_with("C53") & pl.col("behaviour").is_in([2, 3]) & (pl.col("sex") == 2)
)
_MONTH = DAYS_PER_YEAR / 12
_YOUNG_OTHER_TYPES_FROM = day_of(2023, 7, 1)  # 25-29, other hrHPV + normal cytology → 3 years (§1.2) [V]


def cervix_rule_in_force(
    *, sample_day: Days, age: Days, county: npt.NDArray[np.str_], birth_day_of_month: Days
) -> Ints:
    """Row index in :func:`cervix_rules` of the rule in force for each sample (−1 when none applies).

    A rule applies when ``valid_from ≤ sample date ≤ valid_to``, ``age_min ≤ age ≤ age_max``, the county
    is listed (or ``*``) and the birth-day parity matches; the highest ``priority`` wins.
    """
    rules = cervix_rules()
    chosen = np.full(sample_day.size, -1, dtype=np.int64)
    even = birth_day_of_month % 2 == 0
    for index, rule in enumerate(rules.iter_rows(named=True)):  # a handful of rules, vectorised over samples
        applies = (
            (sample_day >= day_number(rule["valid_from"]))
            & (sample_day <= day_number(rule["valid_to"]))
            & (age >= rule["age_min"])
            & (age <= rule["age_max"])
        )
        if rule["county_codes"] != "*":
            applies &= np.isin(county, str(rule["county_codes"]).split("|"))
        if rule["birth_day_parity"] == "even":
            applies &= even
        elif rule["birth_day_parity"] == "odd":
            applies &= ~even
        chosen[applies] = index
    return chosen


def simulate_cervix(
    *,
    people: People,
    tumours: pl.DataFrame,
    start_year: int,
    end_year: int,
    params: CervixParameters,
    rng: np.random.Generator,
) -> ProgrammeOutput:
    """Cervical samples, controls, colposcopies and histologies; detected tumours; classification."""
    women = people.subset(people.sex == 2)
    n = len(women)
    rules = cervix_rules()
    rule_test = rules["test"].to_numpy().astype(str)
    rule_interval = rules["interval_years"].to_numpy().astype(np.float64)
    rule_ids = rules["rule_id"].to_numpy().astype(str)
    period_hi = day_of(end_year, 12, 31)
    lo = np.maximum.reduce(
        [
            women.entry,
            anniversary(women.birth, params.age_min),
            np.full(n, max(day_number(params.programme_start), day_of(start_year))),
        ]
    )
    hi = np.minimum.reduce(
        [women.exit - 1, anniversary(women.birth, params.age_max + 1) - 1, np.full(n, period_hi)]
    )
    _, _, birth_dom = civil(women.birth)
    kind = categorical(
        rng=rng,
        probabilities=[
            params.never_share,
            params.regular_share,
            1 - params.never_share - params.regular_share,
        ],
        n=n,
    )
    targets = target_tumours(
        people=women,
        tumours=tumours,
        target=_CERVIX,
        sojourn_mean_years=params.sojourn_mean_years,
        sojourn_shape=params.sojourn_shape,
        rng=rng,
    )

    def gap(interval_years: npt.NDArray[np.float64], who: Ints) -> Days:
        regular = interval_years * rng.uniform(*params.regular_gap_factor, who.size)
        irregular = interval_years + rng.exponential(params.irregular_extra_mean_years, who.size)
        return np.rint(np.where(kind[who] == 1, regular, irregular) * DAYS_PER_YEAR).astype(np.int64)

    everyone = np.arange(n)
    next_day = lo + np.rint(rng.random(n) * gap(np.full(n, 3.0), everyone)).astype(np.int64)
    active = (kind != 0) & (lo <= hi)
    episode = np.zeros(n, dtype=np.int64)
    blocks: list[pl.DataFrame] = []
    screen_rows: list[pl.DataFrame] = []
    found_w: list[Ints] = []
    found_day: list[Days] = []
    while True:
        w = np.flatnonzero(active & (next_day <= hi) & (next_day < targets.clinical))
        if w.size == 0:
            break
        episode[w] += 1
        day = next_day[w]
        age = age_at(women.birth[w], day)
        rule = cervix_rule_in_force(
            sample_day=day, age=age, county=women.county[w], birth_day_of_month=birth_dom[w]
        )
        test = np.where(rule >= 0, rule_test[rule], "cytology")
        interval = np.where(rule >= 0, rule_interval[rule], 3.0)
        pre = (targets.preclinical_start[w] <= day) & (day < targets.clinical[w])
        hpv_test = test == "hpv"
        seen = pre & (
            rng.random(w.size) < np.where(hpv_test, params.sensitivity_hpv, params.sensitivity_cytology)
        )
        sample = _triage(rng=rng, params=params, hpv_test=hpv_test, seen=seen, age=age, day=day)
        # control and colposcopy stages
        control_day = (
            day + np.rint(sample["control_months"] * _MONTH).astype(np.int64) + rng.integers(0, 60, w.size)
        )
        limit = np.minimum.reduce([women.exit[w], targets.clinical[w], np.full(w.size, period_hi + 1)])
        attends_control = (sample["control_months"] > 0) & (rng.random(w.size) < params.followup_attendance)
        attends_control &= control_day < limit
        pre_control = (targets.preclinical_start[w] <= control_day) & (control_day < targets.clinical[w])
        persistent = attends_control & (
            (pre_control & (rng.random(w.size) < params.sensitivity_hpv))
            | (rng.random(w.size) < params.control_persistent)
        )
        referred_day = np.where(persistent, control_day, day)
        referred = sample["colposcopy"] | persistent
        colposcopy_day = referred_day + rng.integers(*params.colposcopy_delay_days, w.size)
        attends_colposcopy = referred & (rng.random(w.size) < params.followup_attendance)
        attends_colposcopy &= colposcopy_day < limit
        pre_colposcopy = (targets.preclinical_start[w] <= colposcopy_day) & (
            colposcopy_day < targets.clinical[w]
        )
        detected = attends_colposcopy & pre_colposcopy
        background = np.array(list(params.histology_background))[
            categorical(rng=rng, probabilities=list(params.histology_background.values()), n=w.size)
        ]
        histology = np.where(detected, np.where(targets.behaviour[w] == 2, "cin3", "cancer"), background)

        common = {
            "person_id": women.person_id[w],
            "programme": PROGRAMME,
            "episode": episode[w],
            "county": women.county[w],
        }
        blocks.append(
            event_block(
                n=w.size,
                **_pick(common),
                date=day,
                type="sample",
                test=test,
                indication="screening",
                result=sample["result"],
                hpv_genotype=sample["genotype"],
                reflex_cytology=sample["reflex"],
                rule_id=np.where(rule >= 0, rule_ids[rule], ""),
                recommendation=sample["action"],
                first_screen=episode[w] == 1,
                due_date=np.where(
                    sample["control_months"] > 0,
                    control_day,
                    np.where(
                        sample["colposcopy"],
                        colposcopy_day,
                        day + np.rint(interval * DAYS_PER_YEAR).astype(np.int64),
                    ),
                ),
                age=age,
            )
        )
        sel = attends_control
        blocks.append(
            event_block(
                n=int(sel.sum()),
                **_pick(common, sel),
                date=control_day[sel],
                type="sample",
                test="hpv_cytology",
                indication="follow_up",
                result=np.where(persistent[sel], "hpv_positive", "hpv_negative"),
                hpv_genotype=np.where(persistent[sel], sample["genotype"][sel], "negative"),
                recommendation=np.where(persistent[sel], "colposcopy", "routine"),
                age=age_at(women.birth[w][sel], control_day[sel]),
            )
        )
        sel = attends_colposcopy
        for kind_name in ("colposcopy", "histology"):
            blocks.append(
                event_block(
                    n=int(sel.sum()),
                    **_pick(common, sel),
                    date=colposcopy_day[sel],
                    type=kind_name,
                    test="colposcopy" if kind_name == "colposcopy" else "biopsy",
                    indication="follow_up",
                    result=("biopsy_taken" if kind_name == "colposcopy" else histology[sel]),
                    recommendation=np.where(detected[sel], "treatment", "routine")
                    if kind_name == "histology"
                    else "histology",
                    age=age_at(women.birth[w][sel], colposcopy_day[sel]),
                    tumour_id=np.where(detected[sel], targets.tumour_id[w][sel], -1)
                    if kind_name == "histology"
                    else None,
                )
            )
        completed = ~referred & ((sample["control_months"] == 0) | attends_control) | attends_colposcopy
        screen_rows.append(
            pl.DataFrame(
                {
                    "person_id": women.person_id[w],
                    "date": to_date_series("date", day),
                    "negative": completed & ~detected,
                    "followed_up": completed,
                    "window_days": np.rint(
                        np.where(hpv_test, params.window_years_hpv, params.window_years_cytology)
                        * DAYS_PER_YEAR
                    ).astype(np.int64),
                }
            )
        )
        found_w.append(w[detected])
        found_day.append(colposcopy_day[detected])
        last_day = np.maximum.reduce(
            [
                day,
                np.where(attends_control, control_day, day),
                np.where(attends_colposcopy, colposcopy_day, day),
            ]
        )
        next_day[w] = last_day + gap(interval, w)
        active[w[detected]] = False

    events = finalise_events(blocks, prefix="C")
    found = np.concatenate(found_w) if found_w else np.zeros(0, dtype=np.int64)
    detected_frame = detections_frame(
        programme=PROGRAMME,
        tumour_id=targets.tumour_id[found],
        incidence=np.concatenate(found_day) if found_day else np.zeros(0, dtype=np.int64),
    )
    eligible = pl.DataFrame(
        {"person_id": women.person_id[lo <= hi], "date": to_date_series("date", lo[lo <= hi])}
    )
    screens = (
        pl.concat(screen_rows)
        if screen_rows
        else pl.DataFrame(
            schema={
                "person_id": pl.Int64,
                "date": pl.Date,
                "negative": pl.Boolean,
                "followed_up": pl.Boolean,
                "window_days": pl.Int64,
            }
        )
    )
    truth = classify(
        programme=PROGRAMME,
        targets=targets_frame(targets=targets, detected=detected_frame),
        screens=screens,
        eligible=eligible,
    )
    return ProgrammeOutput(events=events, truth=truth, detected=detected_frame)


def _pick(common: dict[str, Any], sel: Bools | None = None) -> dict[str, Any]:
    if sel is None:
        return common
    return {k: (v[sel] if isinstance(v, np.ndarray) else v) for k, v in common.items()}


def _triage(
    *, rng: np.random.Generator, params: CervixParameters, hpv_test: Bools, seen: Bools, age: Days, day: Days
) -> dict[str, Any]:
    """Result, reflex test and recommended action of each primary sample (the §1.2 algorithm)."""
    size = hpv_test.size
    cytology_names = np.array(list(params.cytology_results))
    cytology = cytology_names[
        categorical(rng=rng, probabilities=list(params.cytology_results.values()), n=size)
    ]
    cytology = np.where(seen, "hsil", cytology)
    low_grade_cytology = np.isin(cytology, ["asc_us", "lsil"])
    high_grade_cytology = np.isin(cytology, ["asc_h", "hsil"])
    age_bands = np.array([int(a) for a in params.hpv_positive_by_age])
    band = np.clip(np.searchsorted(age_bands, age, side="right") - 1, 0, age_bands.size - 1)
    p_hpv = np.array(list(params.hpv_positive_by_age.values()))[band]
    hpv_positive = seen | np.where(
        hpv_test,
        rng.random(size) < p_hpv,
        low_grade_cytology & (rng.random(size) < params.reflex_hpv_positive),
    )
    hpv1618 = rng.random(size) < np.where(seen, 0.7, params.hpv1618_share)
    genotype = np.where(hpv_positive, np.where(hpv1618, "hpv16_18", "other"), "negative")
    reflex_names = np.array(list(params.reflex_cytology))
    reflex = reflex_names[categorical(rng=rng, probabilities=list(params.reflex_cytology.values()), n=size)]
    reflex = np.where(seen, "high_grade", reflex)
    # cytology primary
    cyt_colposcopy = high_grade_cytology | (low_grade_cytology & hpv_positive & hpv1618)
    cyt_control = np.where(low_grade_cytology & hpv_positive & ~hpv1618, 12, 0)
    # HPV primary
    young_other = (age < 30) & (day >= _YOUNG_OTHER_TYPES_FROM)
    hpv_colposcopy = hpv_positive & ((reflex == "high_grade") | ((reflex == "low_grade") & hpv1618))
    hpv_control = np.where(
        hpv_positive & ~hpv_colposcopy,
        np.where((reflex == "normal") & ~hpv1618, np.where(young_other, 36, 24), 12),
        0,
    )
    colposcopy = np.where(hpv_test, hpv_colposcopy, cyt_colposcopy)
    control_months = np.where(hpv_test, hpv_control, cyt_control)
    result = np.where(hpv_test, np.where(hpv_positive, "hpv_positive", "hpv_negative"), cytology)
    reflex_out = np.where(
        hpv_test,
        np.where(hpv_positive, reflex, ""),
        np.where(low_grade_cytology, np.where(hpv_positive, "hpv_positive", "hpv_negative"), ""),
    )
    action = np.where(colposcopy, "colposcopy", np.where(control_months > 0, "control", "routine"))
    genotype_out = np.where(hpv_test | low_grade_cytology, genotype, "")
    return {
        "result": result,
        "genotype": genotype_out,
        "reflex": reflex_out,
        "action": action,
        "colposcopy": colposcopy,
        "control_months": control_months,
    }
