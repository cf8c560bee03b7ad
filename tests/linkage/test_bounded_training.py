"""Bounded linkage training: the key sample is seeded and keeps whole blocks; a bounded model still links."""

from __future__ import annotations

import polars as pl
import pytest
from linkage_synthetic import Synthetic

from oncoreg.linkage import LinkageModel, link_notifications, train_linkage_model
from oncoreg.linkage.model import block_keys, key_sample, model_definition, training_sample_limits


def test_block_keys_are_the_columns_a_rule_equates() -> None:
    assert block_keys("l.birth_date = r.birth_date") == ["birth_date"]
    assert block_keys("l.first_name = r.first_name AND l.last_name = r.last_name") == [
        "first_name",
        "last_name",
    ]
    assert [block_keys(rule) for rule in model_definition()["training_blocks"]] == [
        ["birth_date"],
        ["first_name", "last_name"],
    ]


def test_limits_come_from_the_definition() -> None:
    max_persons, max_notifications = training_sample_limits()
    assert max_persons == model_definition()["training_sample"]["max_persons"] > 0
    assert max_notifications == model_definition()["training_sample"]["max_notifications"] > 0


def test_key_sample_is_seeded_bounded_and_keeps_a_key_whole() -> None:
    left = pl.DataFrame(
        {"unique_id": [str(i) for i in range(20_000)], "key": [i % 997 for i in range(20_000)]}
    )
    right = left.with_columns(pl.col("key").reverse())
    first = key_sample(left, ["key"], fraction=0.1, seed=5)
    assert first.equals(key_sample(left, ["key"], fraction=0.1, seed=5))  # deterministic
    assert not first.equals(key_sample(left, ["key"], fraction=0.1, seed=6))  # the seed matters
    kept = set(first["key"])
    assert 40 < len(kept) < 160  # about 10 % of 997 keys
    assert first.height == left.filter(pl.col("key").is_in(kept)).height  # every record of a kept key
    # the same keys are kept on the other side, so every blocked pair of a kept key survives
    assert set(key_sample(right, ["key"], fraction=0.1, seed=5)["key"]) == kept
    assert key_sample(left, ["key"], fraction=1.0, seed=5).height == left.height
    with_null = pl.DataFrame({"unique_id": ["a", "b"], "key": [None, 1]})
    assert key_sample(with_null, ["key"], fraction=1.0, seed=5)["unique_id"].to_list() == ["b"]


def _m(model: LinkageModel, comparison: str, level: str) -> float:
    found = next(c for c in model.settings["comparisons"] if c["output_column_name"] == comparison)
    return float(
        next(lv for lv in found["comparison_levels"] if lv["label_for_charts"] == level)["m_probability"]
    )


@pytest.fixture(scope="module")
def bounded(synthetic: Synthetic) -> LinkageModel:
    limit = synthetic.persons.height // 3
    return train_linkage_model(
        notifications=synthetic.notifications, persons=synthetic.persons, max_persons=limit
    )


def test_bounded_training_is_recorded_and_deterministic(synthetic: Synthetic, bounded: LinkageModel) -> None:
    limit = synthetic.persons.height // 3
    assert bounded.trained_on["bounded"]["max_persons"] == limit
    assert bounded.trained_on["persons"] == synthetic.persons.height  # the prior counts every person
    assert bounded.settings["probability_two_random_records_match"] == pytest.approx(
        1 / synthetic.persons.height
    )
    again = train_linkage_model(
        notifications=synthetic.notifications, persons=synthetic.persons, max_persons=limit
    )
    assert again.settings["comparisons"] == bounded.settings["comparisons"]


def test_bounded_model_weighs_like_the_full_one(model: LinkageModel, bounded: LinkageModel) -> None:
    assert "bounded" not in model.trained_on
    for comparison in ("first_name", "last_name", "birth_date", "identifier"):
        assert _m(bounded, comparison, "exact") == pytest.approx(_m(model, comparison, "exact"), abs=0.05)
        assert _m(bounded, comparison, "exact") > 0.9


def test_bounded_model_links_as_well(
    synthetic: Synthetic, model: LinkageModel, bounded: LinkageModel
) -> None:
    def correct(used: LinkageModel) -> int:
        """Notifications linked to their true registered person."""
        result = link_notifications(
            notifications=synthetic.notifications, persons=synthetic.persons, model=used
        )
        truth = synthetic.notifications.select("notification_id", "true_person_id")
        return (
            result.links.join(truth, on="notification_id")
            .filter(pl.col("person_id") == pl.col("true_person_id"))
            .height
        )

    full = correct(model)
    assert full > 0.8 * synthetic.notifications.height
    assert correct(bounded) >= full - 0.005 * synthetic.notifications.height
