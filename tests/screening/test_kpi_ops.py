"""Indicators as data (screening.md §2): hand-worked values, levels, strata, and the simulated country."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from oncoreg.screening.episodes import episodes
from oncoreg.screening.errors import RuleSetError
from oncoreg.screening.interval import classify_cancers
from oncoreg.screening.kpi import compute_kpis, condition, kpi_run, load_kpi_definitions, report_table
from oncoreg.simulate.screening import simulate_screening
from oncoreg.simulate.screening.synthetic import synthetic_population


def _breast_events() -> pl.DataFrame:
    """10 women invited (age 52, county 03); 7 screened: 3 initial, 4 subsequent; one initial recall
    whose assessment finds an invasive cancer, one subsequent recall with a normal assessment."""
    rows: list[dict[str, object]] = []
    for person in range(1, 11):
        rows.append(
            {
                "person_id": person,
                "programme": "breast",
                "episode": 1,
                "date": date(2020, 1, 1),
                "type": "invitation",
                "age": 52,
                "county": "03",
            }
        )
    for person in range(1, 8):
        recall = person in (1, 4)
        rows.append(
            {
                "person_id": person,
                "programme": "breast",
                "episode": 1,
                "date": date(2020, 2, 1),
                "type": "screen",
                "result": "recall" if recall else "normal",
                "recall": recall,
                "first_screen": person <= 3,
                "age": 52,
                "county": "03",
            }
        )
    rows.append(
        {
            "person_id": 1,
            "programme": "breast",
            "episode": 1,
            "date": date(2020, 2, 20),
            "type": "assessment",
            "result": "invasive",
            "age": 52,
            "county": "03",
        }
    )
    rows.append(
        {
            "person_id": 4,
            "programme": "breast",
            "episode": 1,
            "date": date(2020, 2, 20),
            "type": "assessment",
            "result": "normal",
            "age": 52,
            "county": "03",
        }
    )
    return pl.DataFrame(rows)


def _value(values: pl.DataFrame, kpi_id: str, stratified_by: str = "") -> float:
    row = values.filter((pl.col("kpi_id") == kpi_id) & (pl.col("stratified_by") == stratified_by))
    return float(row["value"][0])


def test_breast_hand_worked() -> None:
    background = pl.DataFrame({"programme": ["breast"], "age_group": ["50-54"], "rate": [0.002]})
    values = compute_kpis(
        episodes=episodes(events=_breast_events()), background=background, programmes=["breast"]
    )
    # §2.1 participation = screened / invited = 7/10 → 70 %: "acceptable" (>70 %), not "desirable" (75 %)
    assert _value(values, "BR-PART") == pytest.approx(70.0)
    assert (
        values.filter((pl.col("kpi_id") == "BR-PART") & (pl.col("stratified_by") == ""))["level"][0]
        == "acceptable"
    )
    # recall initial 1/3, subsequent 1/4; both above the acceptable limits 7 % and 5 %
    assert _value(values, "BR-RECALL-INI") == pytest.approx(100 / 3)
    assert _value(values, "BR-RECALL-SUB") == pytest.approx(25.0)
    # detection 1 per 7 screens = 142.9 per 1000; PPV 1/2 recalls
    assert _value(values, "BR-DR") == pytest.approx(1000 / 7)
    assert _value(values, "BR-PPV") == pytest.approx(50.0)
    # relative to background: 1 cancer / (3 initial screens × 0.002) = 166.7 × IR
    assert _value(values, "BR-DR-INI-IR") == pytest.approx(1 / (3 * 0.002))
    by_kind = values.filter((pl.col("kpi_id") == "BR-DR") & (pl.col("stratified_by") == "screen_kind"))
    assert dict(zip(by_kind["screen_kind"], by_kind["numerator"], strict=True)) == {
        "initial": 1,
        "subsequent": 0,
    }


def test_interval_rate_relative_to_background() -> None:
    # §2.1: interval cancers 0-11 months / (negative screens × IR). 5 negative screens (7 screened minus
    # the cancer, the normal-assessment recall counts as negative → 6), one interval cancer at 6 months.
    events = _breast_events()
    tumours = pl.DataFrame(
        {
            "tumour_id": [1],
            "person_id": [2],
            "incidence_date": [date(2020, 8, 1)],
            "icd10": ["C50.9"],
            "sex": [2],
        }
    )
    classification = classify_cancers(tumours=tumours, events=events, programmes=("breast",))
    background = pl.DataFrame({"programme": ["breast"], "age_group": ["50-54"], "rate": [0.002]})
    values = compute_kpis(
        episodes=episodes(events=events),
        classification=classification,
        background=background,
        programmes=["breast"],
        strata=[()],
    )
    assert _value(values, "BR-IC-0-11") == pytest.approx(1000 / 6)
    assert _value(values, "BR-IC-0-11-IR") == pytest.approx(100 * 1 / (6 * 0.002))


def test_condition_grammar_and_bad_definitions() -> None:
    frame = pl.DataFrame({"a": [True, True, False], "b": [True, False, False], "c": [False, False, True]})
    assert frame.select(condition("a&!b|c", columns=frame.columns)).to_series().to_list() == [
        False,
        True,
        True,
    ]
    with pytest.raises(RuleSetError, match="unknown column 'd'"):
        condition("a&d", columns=frame.columns)
    header = "kpi_id,programme,name,unit_of_count,numerator,denominator,scale,unit,relative_to,"
    text = header + "acceptable,desirable,better,source\nX,breast,x,episode,a,b,1,%,,,,sideways,s\n"
    with pytest.raises(RuleSetError, match="kpi X"):
        load_kpi_definitions(text=text)


def test_run_records_the_freeze_time() -> None:
    freeze = datetime(2025, 3, 1, tzinfo=UTC)
    run = kpi_run(
        freeze_time=freeze,
        computed_at=datetime(2025, 3, 2, tzinfo=UTC),
        episodes=episodes(events=_breast_events()),
        programmes=["breast"],
    )
    assert run.freeze_time == freeze
    assert len(run.definitions_sha256) == 64
    assert run.values.height > 0


def test_simulated_country_close_to_published_norwegian_figures() -> None:
    # §1.1 attendance 76 %, recall 4.6 % / 2.6 %; §1.3 participation 55 %, positivity 6.3 %;
    # and interval cancers are found
    rng = np.random.default_rng(5)
    persons, tumours = synthetic_population(n_persons=60_000, start_year=2000, end_year=2024, rng=rng)
    result = simulate_screening(persons=persons, tumours=tumours, start_year=2000, end_year=2024, rng=rng)
    events = result.events.drop("tumour_id")
    classification = classify_cancers(tumours=result.tumours, events=events, persons=persons)
    values = compute_kpis(
        episodes=episodes(events=events),
        classification=classification,
        persons=persons,
        strata=[(), ("screen_kind",), ("county",)],
    )
    assert _value(values, "BR-PART") == pytest.approx(76.0, rel=0.1)
    assert _value(values, "BR-RECALL-INI") == pytest.approx(4.6, rel=0.15)
    assert _value(values, "BR-RECALL-SUB") == pytest.approx(2.6, rel=0.15)
    assert _value(values, "CR-UPTAKE") == pytest.approx(55.0, rel=0.15)
    assert _value(values, "CR-POS") == pytest.approx(6.3, rel=0.25)
    assert (
        values.filter((pl.col("kpi_id") == "BR-IC-0-11") & (pl.col("stratified_by") == ""))["numerator"][0]
        > 0
    )
    table = report_table(values=values, kpi_ids=["BR-PART", "BR-RECALL-INI"], rows="county")
    assert table["county"][-1] == "All"
    assert table.height > 5
