"""Hand-worked linkage cases (tests/data/linkage/hand_*.csv) inside the synthetic population."""

from __future__ import annotations

import json

import polars as pl
import pytest
from linkage_synthetic import Synthetic

from oncoreg.config import load_settings
from oncoreg.errors import ValidationFailed
from oncoreg.linkage import LinkageModel, LinkageResult, link_notifications

HNR = "12528092576"


def _persons(hand: pl.DataFrame, synthetic: Synthetic) -> pl.DataFrame:
    return pl.concat([hand.drop("note"), synthetic.persons], how="vertical_relaxed")


@pytest.fixture(scope="module")
def hand_result(
    hand_persons: pl.DataFrame, hand_notifications: pl.DataFrame, synthetic: Synthetic, model: LinkageModel
) -> LinkageResult:
    return link_notifications(
        notifications=hand_notifications.drop("expected_person_id", "expected_method", "note"),
        persons=_persons(hand_persons, synthetic),
        model=model,
        settings=load_settings(),
    )


def test_hand_cases_link_as_worked_out(hand_notifications: pl.DataFrame, hand_result: LinkageResult) -> None:
    got = hand_notifications.join(hand_result.links, on="notification_id", how="left")
    for row in got.filter(pl.col("expected_method") != "review").iter_rows(named=True):
        assert (row["person_id"], row["method"]) == (row["expected_person_id"], row["expected_method"]), row[
            "note"
        ]


def test_contradicting_identifier_becomes_review_task(hand_result: LinkageResult) -> None:
    review = hand_result.review.filter(pl.col("notification_id") == 102)
    assert review.height == 1
    assert review["kind"][0] == "linkage"
    assert "identifier.contradiction.birth_last" in review["reason"][0]
    assert json.loads(review["candidates"][0]) == [{"person_id": 2, "match_probability": None}]
    assert 102 not in hand_result.links["notification_id"].to_list()


def test_twins_are_not_merged(hand_result: LinkageResult) -> None:
    twins = hand_result.links.filter(pl.col("notification_id").is_in([105, 106])).sort("notification_id")
    assert twins["person_id"].to_list() == [4, 5]
    assert (twins["match_probability"] >= 0.99).all()


def test_unknown_person_becomes_one_provisional_person(hand_result: LinkageResult) -> None:
    new = hand_result.new_persons
    assert new.height == 1
    person = new.row(0, named=True)
    assert person["person_id"] == -1
    assert person["provisional"] is True
    assert (person["identifier"], person["identifier_type"], person["last_name"]) == (
        "04049017192",
        "fnr",
        "Tveit",
    )


def test_h_number_is_learned_and_used_later(
    hand_persons: pl.DataFrame, synthetic: Synthetic, model: LinkageModel, hand_result: LinkageResult
) -> None:
    learned = hand_result.identifiers
    assert learned.select("person_id", "identifier", "identifier_type").rows() == [(7, HNR, "hnr")]
    later = pl.DataFrame(
        {
            "notification_id": [201],
            "source_type": ["radiotherapy"],
            "event_date": ["2021-01-05"],
            "given_identifier": [HNR],
            "given_first_name": ["Peer"],  # a typo: the identifier alone must carry the link now
            "given_last_name": ["Haugland"],
            "given_birth_date": ["1980-12-12"],
            "given_sex": [1],
            "given_municipality": [None],
        },
        schema_overrides={"given_municipality": pl.String},
    ).with_columns(pl.col("event_date", "given_birth_date").str.to_date(), pl.col("given_sex").cast(pl.Int8))
    persons = pl.concat(
        [_persons(hand_persons, synthetic), learned.select("person_id", "identifier", "identifier_type")],
        how="diagonal_relaxed",
    )
    result = link_notifications(notifications=later, persons=persons, model=model, settings=load_settings())
    assert result.links.select("person_id", "method").rows() == [(7, "deterministic")]


def test_register_event_creates_a_person_others_link_to(synthetic: Synthetic, model: LinkageModel) -> None:
    base = {
        "event_date": ["2021-03-01", "2021-04-01"],
        "given_identifier": ["04049017192", "04049017192"],
        "given_first_name": ["Nils", "Nils"],
        "given_last_name": ["Tveit", "Tveit"],
        "given_birth_date": ["1990-04-04", "1990-04-04"],
        "given_sex": [1, 1],
        "given_municipality": ["4601", "4601"],
    }
    batch = pl.DataFrame(
        {"notification_id": [301, 302], "source_type": ["population_register", "pathology"], **base}
    ).with_columns(pl.col("event_date", "given_birth_date").str.to_date(), pl.col("given_sex").cast(pl.Int8))
    result = link_notifications(
        notifications=batch, persons=synthetic.persons, model=model, settings=load_settings()
    )
    assert result.new_persons.select("person_id", "identifier", "provisional").rows() == [
        (-1, "04049017192", False)
    ]
    assert result.links.select("notification_id", "person_id", "method").rows() == [
        (301, -1, "new"),
        (302, -1, "deterministic"),
    ]


def test_missing_columns_are_named(synthetic: Synthetic, model: LinkageModel) -> None:
    with pytest.raises(ValidationFailed, match="given_birth_date"):
        link_notifications(
            notifications=synthetic.notifications.drop("given_birth_date"),
            persons=synthetic.persons,
            model=model,
        )
