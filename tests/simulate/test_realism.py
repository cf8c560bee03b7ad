"""The realism report's rules, on hand-computed cases: exact intervals, which rule judges a row, and the
published period a screening figure is measured over (covered by the run or not)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from oncoreg.simulate.realism import (
    BY_INTERVAL,
    BY_TOLERANCE,
    MIN_EXPECTED,
    _period,
    binomial_interval,
    judge,
    poisson_interval,
)
from oncoreg.simulate.screening.detection import TRUTH
from oncoreg.simulate.screening.events import EVENTS
from oncoreg.simulate.screening.realism import breast_indicators, measured_years


def test_exact_intervals_match_their_closed_forms() -> None:
    # Clopper–Pearson with 0 of n events: upper = 1 − (a/2)^(1/n); with n of n: lower = (a/2)^(1/n)
    assert binomial_interval(0, 10) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)))
    assert binomial_interval(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0))
    # Garwood: chi2 with 2 degrees of freedom is exponential, so for k = 0 the upper limit is −ln(a/2) and
    # for k = 1 the lower limit is −ln(1 − a/2)
    assert poisson_interval(0) == pytest.approx((0.0, -math.log(0.025)))
    assert poisson_interval(1)[0] == pytest.approx(-math.log(0.975))
    assert poisson_interval(1)[1] == pytest.approx(5.5716, abs=1e-4)  # tabulated (Garwood 1936)
    # 1 of 2: the interval is symmetric, [1 − sqrt(0.975), sqrt(0.975)]
    assert binomial_interval(1, 2) == pytest.approx((1 - math.sqrt(0.975), math.sqrt(0.975)))


def test_a_small_count_row_is_judged_by_its_interval() -> None:
    """26 cancers at 850 colonoscopies (3.06%, 0.87 × the published 3.5%): expected 0.035 × 850 = 29.75
    events, below 300, so the published value is checked against the 95% CI (about 2.0–4.4%)."""
    interval = binomial_interval(26, 850)
    assert interval[0] < 0.035 < interval[1]
    assert judge(published=0.035, simulated=26 / 850, expected_events=0.035 * 850, interval=interval) == (
        BY_INTERVAL,
        True,
    )
    # 5 of 850 (0.59%) is far off: its interval (about 0.19–1.4%) excludes 3.5%, so not within
    low_count = binomial_interval(5, 850)
    assert low_count[1] < 0.035
    assert judge(published=0.035, simulated=5 / 850, expected_events=29.75, interval=low_count) == (
        BY_INTERVAL,
        False,
    )


def test_a_large_count_row_is_judged_by_ten_percent() -> None:
    """2737 cancers at 562 673 first screens (4.86 per 1000; expected 6.4/1000 × 562 673 = 3601 events):
    ±10% judges it, 0.76 × is a miss; 1.08 × and exactly 300 expected events are ±10% rows within."""
    interval = tuple(1000 * v for v in binomial_interval(2737, 562_673))
    simulated = 1000 * 2737 / 562_673
    verdict = judge(published=6.4, simulated=simulated, expected_events=3601.1, interval=interval)  # type: ignore[arg-type]
    assert verdict == (BY_TOLERANCE, False)
    assert judge(published=6.4, simulated=6.4 * 1.08, expected_events=3601.1, interval=None) == (
        BY_TOLERANCE,
        True,
    )
    # the threshold itself is judged by ±10%, and a wide interval does not rescue a 0.85 × row there
    wide = (0.0, 100.0)
    assert judge(published=1.0, simulated=0.85, expected_events=MIN_EXPECTED, interval=wide) == (
        BY_TOLERANCE,
        False,
    )
    assert judge(published=1.0, simulated=0.85, expected_events=MIN_EXPECTED - 1, interval=wide) == (
        BY_INTERVAL,
        True,
    )


def test_a_figure_is_measured_over_its_published_years_only_when_the_run_covers_them() -> None:
    first_ten_years = {"year_from": 1996, "year_to": 2005, "history_years": 0}
    assert measured_years(**first_ten_years, start_year=1986, end_year=2024) == ((1996, 2005), True)
    assert measured_years(**first_ten_years, start_year=1996, end_year=2005) == ((1996, 2005), True)
    assert measured_years(**first_ten_years, start_year=2018, end_year=2024) == ((2018, 2024), False)
    assert measured_years(**first_ten_years, start_year=1986, end_year=2004) == ((1986, 2004), False)
    # cervical coverage in 2019 needs four years of samples before it
    coverage = {"year_from": 2019, "year_to": 2019, "history_years": 4}
    assert measured_years(**coverage, start_year=2015, end_year=2024) == ((2019, 2019), True)
    assert measured_years(**coverage, start_year=2016, end_year=2024) == ((2016, 2024), False)
    unpublished = {"year_from": None, "year_to": None, "history_years": None}
    assert measured_years(**unpublished, start_year=2018, end_year=2024) == ((2018, 2024), False)
    assert _period([1996, 2005], [1996, 2005], True) == "1996-2005"
    assert _period([2018, 2024], [1996, 2005], False) == "2018-2024 (run; published 1996-2005)"
    assert _period([2019, 2019], [2019, 2019], True) == "2019"


def _breast_events(rows: list[dict[str, object]]) -> pl.DataFrame:
    filled = [{name: row.get(name) for name in EVENTS} | {"programme": "breast"} for row in rows]
    return pl.DataFrame(filled, schema=EVENTS)


def test_breast_indicators_count_only_the_period() -> None:
    """Two first screens in 2000 (one finds a cancer), one subsequent screen in 2020: over 1996–2005 the
    first-round detection is 1 of 2 screens (500 per 1000) and there are no subsequent screens; over
    1996–2024 all three screens count."""
    screen = {"type": "screen", "recall": False, "reader1_score": 1, "reader2_score": 1}
    events = _breast_events(
        [
            {"person_id": 1, "episode": 1, "type": "invitation", "date": dt.date(2000, 1, 10)},
            {"person_id": 1, "episode": 1, "date": dt.date(2000, 2, 1), "first_screen": True}
            | screen
            | {"recall": True, "reader1_score": 3, "reader2_score": 3},
            {"person_id": 1, "episode": 1, "type": "assessment", "date": dt.date(2000, 2, 20)}
            | {"result": "invasive", "tumour_id": 7},
            {"person_id": 2, "episode": 1, "type": "invitation", "date": dt.date(2000, 3, 10)},
            {"person_id": 2, "episode": 1, "date": dt.date(2000, 4, 1), "first_screen": True} | screen,
            {"person_id": 2, "episode": 2, "type": "invitation", "date": dt.date(2020, 3, 10)},
            {"person_id": 2, "episode": 2, "date": dt.date(2020, 4, 1), "first_screen": False} | screen,
        ]
    )
    truth = pl.DataFrame(schema=TRUTH)
    early = breast_indicators(events, truth, (1996, 2005))
    assert (early["detection_first"].numerator, early["detection_first"].denominator) == (1, 2)
    assert early["detection_first"].value == pytest.approx(500.0)
    assert early["detection_subsequent"].denominator == 0
    assert math.isnan(early["detection_subsequent"].value)
    assert (early["participation"].numerator, early["participation"].denominator) == (2, 2)
    assert early["recall_first"].value == pytest.approx(0.5)
    assert early["concordant_positive_reads"].numerator == 1
    whole = breast_indicators(events, truth, (1996, 2024))
    assert (whole["detection_all"].numerator, whole["detection_all"].denominator) == (1, 3)
    assert (whole["detection_subsequent"].numerator, whole["detection_subsequent"].denominator) == (0, 1)
    late = breast_indicators(events, truth, (2018, 2024))
    assert (late["detection_all"].numerator, late["participation"].denominator) == (0, 1)
