"""Interval-cancer classification (screening.md §4): hand-worked cases and the simulator's truth."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from oncoreg.screening.interval import classify_cancers, compare_with_truth
from oncoreg.simulate.screening import simulate_screening
from oncoreg.simulate.screening.synthetic import synthetic_population


def _event(
    person: int, programme: str, episode: int, day: date, kind: str, **extra: object
) -> dict[str, object]:
    return {
        "person_id": person,
        "programme": programme,
        "episode": episode,
        "date": day,
        "type": kind,
        **extra,
    }


def _tumour(tumour_id: int, person: int, day: date, icd10: str, sex: int = 2) -> dict[str, object]:
    return {"tumour_id": tumour_id, "person_id": person, "incidence_date": day, "icd10": icd10, "sex": sex}


def test_breast_cases_by_section_4() -> None:
    # §4 breast: interval = within the 2-year interval after a negative screen; screen-detected = found by
    # the recall's assessment; screened earlier but outside the window = after a missed round.
    events = pl.DataFrame(
        [
            _event(1, "breast", 1, date(2020, 1, 10), "invitation"),
            _event(1, "breast", 1, date(2020, 2, 1), "screen", result="normal", recall=False),
            _event(2, "breast", 1, date(2020, 2, 1), "screen", result="recall", recall=True),
            _event(2, "breast", 1, date(2020, 2, 20), "assessment", result="invasive"),
            _event(3, "breast", 1, date(2016, 2, 1), "screen", result="normal", recall=False),
            _event(4, "breast", 1, date(2019, 1, 1), "invitation"),
            _event(5, "breast", 1, date(2020, 2, 1), "screen", result="normal", recall=False),
        ]
    )
    tumours = pl.DataFrame(
        [
            _tumour(11, 1, date(2020, 11, 1), "C50.4"),  # 9 months after a negative screen
            _tumour(12, 2, date(2020, 2, 20), "C50.9"),  # the assessment's cancer
            _tumour(13, 3, date(2020, 6, 1), "C50.1"),  # 4 years after the last screen
            _tumour(14, 4, date(2020, 6, 1), "D05.1"),  # invited, never screened
            _tumour(15, 5, date(2021, 8, 1), "C50.9"),  # 18 months after a negative screen
        ]
    )
    got = classify_cancers(tumours=tumours, events=events, programmes=("breast",))
    expected = {
        11: ("interval", "0-11"),
        12: ("screen_detected", None),
        13: ("after_missed_round", "screen_overdue"),
        14: ("never_screened", None),
        15: ("interval", "12-23"),
    }
    assert {
        row["tumour_id"]: (row["classification"], row["detail"]) for row in got.iter_rows(named=True)
    } == expected


def test_colorectal_cancer_after_screening_colonoscopy_is_post_colonoscopy() -> None:
    # §1.3 a colonoscopy after a positive FIT ends FIT rounds; §4: later CRC is post-colonoscopy CRC.
    events = pl.DataFrame(
        [
            _event(1, "colorectal", 1, date(2023, 1, 1), "invitation"),
            _event(1, "colorectal", 1, date(2023, 2, 1), "fit_result", result="positive"),
            _event(1, "colorectal", 1, date(2023, 3, 1), "colonoscopy", result="adenoma"),
            _event(2, "colorectal", 1, date(2023, 2, 1), "fit_result", result="positive"),  # not followed up
        ]
    )
    tumours = pl.DataFrame(
        [_tumour(1, 1, date(2024, 5, 1), "C18.7", sex=1), _tumour(2, 2, date(2024, 5, 1), "C20.9", sex=1)]
    )
    got = classify_cancers(tumours=tumours, events=events, programmes=("colorectal",))
    assert got["classification"].to_list() == ["post_colonoscopy", "after_missed_round"]
    assert got["detail"].to_list() == [None, "abnormal_not_followed_up"]


def test_cervix_windows_depend_on_test_and_age_eligibility() -> None:
    # §4 cervix: after a normal screen within 3.5 years (cytology) or 5.5 years (HPV); a resident woman
    # 25-69 who never had a test is never screened (reminder-based programme, §1.2).
    events = pl.DataFrame(
        [
            _event(
                1,
                "cervix",
                1,
                date(2018, 1, 1),
                "sample",
                indication="screening",
                test="cytology",
                result="normal",
            ),
            _event(
                2,
                "cervix",
                1,
                date(2018, 1, 1),
                "sample",
                indication="screening",
                test="hpv",
                result="hpv_negative",
            ),
        ]
    )
    tumours = pl.DataFrame(
        [
            _tumour(1, 1, date(2022, 1, 1), "C53.9"),
            _tumour(2, 2, date(2022, 1, 1), "C53.9"),
            _tumour(3, 3, date(2022, 1, 1), "C53.1"),
        ]
    )
    persons = pl.DataFrame(
        {
            "person_id": [1, 2, 3],
            "sex": [2, 2, 2],
            "birth_date": [date(1980, 1, 1)] * 3,
            "entry_date": [date(1980, 1, 1)] * 3,
            "exit_date": [None, None, None],
        },
        schema_overrides={"exit_date": pl.Date},
    )
    got = classify_cancers(tumours=tumours, events=events, persons=persons, programmes=("cervix",))
    assert got["classification"].to_list() == ["after_missed_round", "interval", "never_screened"]


def test_agrees_with_the_simulators_truth() -> None:
    rng = np.random.default_rng(11)
    persons, tumours = synthetic_population(n_persons=40_000, start_year=2000, end_year=2024, rng=rng)
    result = simulate_screening(persons=persons, tumours=tumours, start_year=2000, end_year=2024, rng=rng)
    events = result.events.drop("tumour_id")
    ours = classify_cancers(tumours=result.tumours, events=events, persons=persons)
    table = compare_with_truth(classification=ours, truth=result.truth)
    agree = table.filter(pl.col("classification") == pl.col("truth"))["n"].sum()
    assert agree / table["n"].sum() > 0.99
    interval = ours.filter(pl.col("classification") == "interval").height
    assert interval > 0
