"""Hand-worked consolidation cases (tests/data/consolidation/README.md says where each rule comes from)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from oncoreg.consolidation import ConsolidationOptions, consolidate

DATA = Path(__file__).parents[1] / "data" / "consolidation"
AS_OF = date(2021, 6, 1)


def _notifications() -> pl.DataFrame:
    return pl.read_csv(
        DATA / "notifications.csv",
        try_parse_dates=True,
        schema_overrides={"morphology": pl.String, "basis_subcode": pl.String, "summary_stage": pl.String},
    )


def _persons(notes: pl.DataFrame) -> pl.DataFrame:
    ids = notes["person_id"].unique().sort()
    return pl.DataFrame(
        {
            "person_id": ids,
            "sex": [1 if i in (5, 8) else 2 for i in ids],
            "birth_date": [date(1950, 1, 1)] * len(ids),
            "death_date": [date(2020, 1, 3) if i in (10, 11) else None for i in ids],
        }
    )


def _run(notes: pl.DataFrame, **options: object) -> pl.DataFrame:
    result = consolidate(
        notifications=notes.drop("case"),
        persons=_persons(notes),
        as_of=AS_OF,
        options=ConsolidationOptions(**options),  # type: ignore[arg-type]
    )
    linked = result.links.group_by("tumour_id").agg(
        pl.col("notification_id").sort().cast(pl.String).str.join(";").alias("notifications")
    )
    return result.tumours.join(linked, on="tumour_id")


CASES = pl.read_csv(DATA / "expected_tumours.csv")["case"].unique(maintain_order=True).to_list()


@pytest.mark.parametrize("case", CASES)
def test_hand_worked_case(case: str) -> None:
    notes = _notifications().filter(pl.col("case") == case)
    expected = pl.read_csv(
        DATA / "expected_tumours.csv",
        try_parse_dates=True,
        schema_overrides={"morphology": pl.String, "notifications": pl.String, "summary_stage": pl.String},
    ).filter(pl.col("case") == case)
    got = _run(notes).sort("tumour_id")
    assert got["tumour_id"].to_list() == expected["tumour_id"].to_list()
    for column in expected.columns:
        if column == "case":
            continue
        assert got[column].cast(pl.String).to_list() == expected[column].cast(pl.String).to_list(), column


def test_review_tasks_of_the_cases() -> None:
    notes = _notifications()
    result = consolidate(notifications=notes.drop("case"), persons=_persons(notes), as_of=AS_OF)
    expected = pl.read_csv(DATA / "expected_reviews.csv")
    got = result.review_tasks.select("kind", "subject_id").sort("kind", "subject_id")
    assert got.to_dicts() == expected.select("kind", "subject_id").sort("kind", "subject_id").to_dicts()
    topo = result.review_tasks.filter(pl.col("kind") == "topography_conflict").row(0, named=True)
    assert json.loads(topo["details"]) == {"values": ["C19", "C20"], "notifications": [801, 802]}
    flagged = result.tumours.filter(pl.col("tumour_id").is_in([801, 901]))
    assert set(flagged["registration_status"]) == {"provisional"}


def test_norwegian_incidence_rule_takes_the_earliest_date() -> None:
    notes = _notifications().filter(pl.col("case").is_in(["encr_window", "breast_sides"]))
    got = _run(notes, incidence_rule="norway").sort("tumour_id")
    assert got["incidence_date"].to_list() == [date(2020, 1, 10), date(2020, 2, 20), date(2020, 1, 5)]
    assert got["incidence_date_basis"].to_list() == ["clinical_diagnosis", "histology", "clinical_diagnosis"]


def test_provenance_names_the_notification_and_rule() -> None:
    notes = _notifications().filter(pl.col("case") == "breast_sides")
    result = consolidate(notifications=notes.drop("case"), persons=_persons(notes), as_of=AS_OF)
    prov = {
        (row["field"]): (row["notification_id"], row["rule"])
        for row in result.provenance.filter(pl.col("tumour_id") == 101).iter_rows(named=True)
    }
    assert prov["summary_stage"] == (103, "BI-STAGE.v1")
    assert prov["morphology"] == (101, "BI-MORPH.v1")
    assert prov["incidence_date"] == (101, "INC-ENCR.v1")
    assert prov["basis"] == (101, "BI-BASIS.v1")


def test_death_certificate_waits_for_traceback_before_dco() -> None:
    notes = _notifications().filter(pl.col("case") == "dco")
    early = consolidate(notifications=notes.drop("case"), persons=_persons(notes), as_of=date(2020, 3, 1))
    assert early.tumours.height == 0
    assert early.review_tasks.select("kind", "subject_type", "subject_id").to_dicts() == [
        {"kind": "dco_traceback", "subject_type": "person", "subject_id": 10}
    ]
    late = consolidate(
        notifications=notes.drop("case"),
        persons=_persons(notes),
        as_of=date(2020, 3, 1),
        options=ConsolidationOptions(dco_traceback_days=30),
    )
    assert late.tumours["dco"].to_list() == [True]
    assert late.review_tasks.height == 0


def test_icd10_derivation_error_becomes_a_review_task() -> None:
    notes = (
        _notifications()
        .filter(pl.col("case") == "recurrence")
        .with_columns(pl.lit("C99.9").alias("topography"))
    )
    result = consolidate(notifications=notes.drop("case"), persons=_persons(notes), as_of=AS_OF)
    assert result.tumours["icd10"].to_list() == [None]
    assert result.review_tasks["kind"].to_list() == ["icd10_error"]
