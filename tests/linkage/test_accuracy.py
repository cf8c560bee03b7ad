"""Pairwise precision and recall on the seeded synthetic population (truth known by construction)."""

from __future__ import annotations

import polars as pl
import pytest
from linkage_synthetic import Synthetic

from oncoreg.config import load_settings
from oncoreg.linkage import LinkageModel, LinkageResult, link_notifications


def pairwise_accuracy(*, result: LinkageResult, truth: pl.DataFrame) -> dict[str, float]:
    """Precision and recall over pairs of notifications; a notification under review is a singleton."""
    assigned = truth.join(
        result.links.select("notification_id", "person_id"), on="notification_id", how="left"
    )
    assigned = assigned.with_columns(pl.col("person_id").fill_null(-(10**12) - pl.col("notification_id")))

    def pairs(*keys: str) -> int:
        sizes = assigned.group_by(*keys).len()["len"]
        return int((sizes * (sizes - 1) // 2).sum())

    true_pairs, predicted, correct = (
        pairs("true_person_id"),
        pairs("person_id"),
        pairs("true_person_id", "person_id"),
    )
    return {
        "precision": correct / predicted,
        "recall": correct / true_pairs,
        "true_pairs": true_pairs,
        "predicted_pairs": predicted,
    }


@pytest.fixture(scope="module")
def result(synthetic: Synthetic, model: LinkageModel) -> LinkageResult:
    return link_notifications(
        notifications=synthetic.notifications.drop("true_person_id"),
        persons=synthetic.persons,
        model=model,
        settings=load_settings(),
    )


def test_pairwise_precision_and_recall_at_least_0995(synthetic: Synthetic, result: LinkageResult) -> None:
    truth = synthetic.notifications.select("notification_id", "true_person_id")
    accuracy = pairwise_accuracy(result=result, truth=truth)
    assert accuracy["true_pairs"] > 2000  # the population is big enough for the measure to mean something
    assert accuracy["precision"] >= 0.995
    assert accuracy["recall"] >= 0.995


def test_no_registered_person_gets_a_stranger(synthetic: Synthetic, result: LinkageResult) -> None:
    joined = result.links.join(synthetic.notifications, on="notification_id").filter(pl.col("person_id") >= 0)
    wrong = joined.filter(pl.col("person_id") != pl.col("true_person_id"))
    assert wrong.height <= joined.height * 0.001
    noisy = joined.filter(pl.col("given_identifier").is_null() | (pl.col("method") == "probabilistic"))
    assert noisy.height > 300  # the probabilistic step really was exercised


def test_unregistered_persons_become_provisional_persons(synthetic: Synthetic, result: LinkageResult) -> None:
    registered = synthetic.persons["person_id"]
    outsiders = synthetic.notifications.filter(~pl.col("true_person_id").is_in(registered.implode()))
    got = outsiders.join(result.links, on="notification_id")
    assert got.height == outsiders.height  # every one linked to something, none sent to review
    assert (got["person_id"] < 0).all()
    assert (got["method"] == "new").all()
    per_person = got.group_by("true_person_id").agg(pl.col("person_id").n_unique().alias("n"))
    assert (per_person["n"] == 1).mean() >= 0.95  # type: ignore[operator]


def test_every_notification_is_linked_or_under_review(synthetic: Synthetic, result: LinkageResult) -> None:
    linked, review = set(result.links["notification_id"]), set(result.review["notification_id"])
    assert not linked & review
    assert linked | review == set(synthetic.notifications["notification_id"])


def test_same_input_same_links(synthetic: Synthetic, model: LinkageModel, result: LinkageResult) -> None:
    reloaded = LinkageModel.from_json(model.to_json())
    again = link_notifications(
        notifications=synthetic.notifications.drop("true_person_id"),
        persons=synthetic.persons,
        model=reloaded,
        settings=load_settings(),
    )
    assert again.links.equals(result.links)
    assert again.review.equals(result.review)
    assert again.new_persons.equals(result.new_persons)
