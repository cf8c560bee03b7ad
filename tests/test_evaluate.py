"""Evaluation against the simulator's truth on hand-made frames (tests/data/snapshot/README.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import polars as pl
import pytest

from oncoreg.evaluate import EvaluationError, evaluate_frames, histology_groups, linkage_scores

DATA = Path(__file__).parent / "data" / "snapshot"


def _csv(name: str) -> pl.DataFrame:
    return pl.read_csv(DATA / name, try_parse_dates=True)


def _truth() -> tuple[pl.DataFrame, pl.DataFrame]:
    return _csv("evaluate_truth_messages.csv"), _csv("evaluate_truth_tumours.csv")


def _perfect_snapshot(messages: pl.DataFrame, tumours: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The truth as a snapshot would hold it, under other surrogate ids."""
    notifications = messages.filter(~pl.col("malformed")).select(
        "message_id",
        (pl.col("person_id") + 500).alias("person_id"),
        (pl.col("tumour_id") + 900).alias("tumour_id"),
    )
    snapshot_tumours = tumours.with_columns((pl.col("tumour_id") + 900).alias("tumour_id")).rename(
        {"stage": "summary_stage"}
    )
    return notifications, snapshot_tumours


def test_perfect_snapshot_scores_one_everywhere() -> None:
    messages, tumours = _truth()
    notifications, snapshot_tumours = _perfect_snapshot(messages, tumours)
    result = evaluate_frames(
        truth_messages=messages,
        truth_tumours=tumours,
        notifications=notifications,
        tumours=snapshot_tumours,
        quarantined=pl.Series(["m6"]),
    )
    assert (result.linkage.precision, result.linkage.recall) == (1.0, 1.0)
    assert (result.linkage.true_pairs, result.linkage.messages) == (4, 5)
    assert result.tumours.snapshot == result.tumours.truth == result.tumours.matched_truth == 3
    assert result.fields == dict.fromkeys(result.fields, 1.0)
    assert result.passed
    json.dumps(result.to_dict())  # JSON-ready


def test_known_split_and_merge_give_the_hand_computed_figures() -> None:
    messages, tumours = _truth()
    result = evaluate_frames(
        truth_messages=messages,
        truth_tumours=tumours,
        notifications=_csv("evaluate_split_merge_notifications.csv"),
        tumours=_csv("evaluate_split_merge_tumours.csv"),
        quarantined=pl.Series(["m6", "m99"]),
    )
    expected = json.loads((DATA / "evaluate_split_merge_expected.json").read_text())
    assert asdict(result.linkage) == expected["linkage"]
    assert asdict(result.tumours) == pytest.approx(expected["tumours"])
    assert result.fields == expected["fields"]
    assert asdict(result.malformed) == expected["malformed"]
    failed = {t.name for t in result.targets if not t.passed}
    assert failed == {
        "linkage precision",
        "linkage recall",
        "tumour count difference %",
        "agreement morphology_group",
        "agreement incidence_date",
    }
    assert not result.passed


def test_unquarantined_malformed_message_fails_its_target() -> None:
    messages, tumours = _truth()
    notifications, snapshot_tumours = _perfect_snapshot(messages, tumours)
    result = evaluate_frames(
        truth_messages=messages,
        truth_tumours=tumours,
        notifications=notifications,
        tumours=snapshot_tumours,
        quarantined=pl.Series([], dtype=pl.String),
    )
    assert result.malformed.quarantined == 0
    assert [t.name for t in result.targets if not t.passed] == ["malformed quarantined"]


def test_pair_counts_agree_with_brute_force_on_random_clusters() -> None:
    import itertools
    import random

    rng = random.Random(7)
    ids = [f"m{i}" for i in range(60)]
    truth = pl.DataFrame({"message_id": ids, "person_id": [rng.randrange(12) for _ in ids]})
    predicted = pl.DataFrame({"message_id": ids, "person_id": [rng.randrange(9) for _ in ids]})
    got = linkage_scores(predicted=predicted, truth=truth)
    t = dict(truth.iter_rows())
    p = dict(predicted.iter_rows())
    pairs = list(itertools.combinations(ids, 2))
    same_p = {(a, b) for a, b in pairs if p[a] == p[b]}
    same_t = {(a, b) for a, b in pairs if t[a] == t[b]}
    assert got.true_positive_pairs == len(same_p & same_t)
    assert got.precision == pytest.approx(len(same_p & same_t) / len(same_p))
    assert got.recall == pytest.approx(len(same_p & same_t) / len(same_t))


def test_histology_groups_follow_table_2() -> None:
    groups = dict(histology_groups().iter_rows())
    assert (groups[8140], groups[8070], groups[9140], groups[8000], groups[9050]) == (3, 1, 15, 17, 7)
    assert 8006 not in groups


def test_snapshot_without_message_identifiers_is_refused() -> None:
    messages, tumours = _truth()
    notifications, snapshot_tumours = _perfect_snapshot(messages, tumours)
    with pytest.raises(EvaluationError, match="no message_id"):
        evaluate_frames(
            truth_messages=messages,
            truth_tumours=tumours,
            notifications=notifications.with_columns(pl.lit(None, pl.String).alias("message_id")),
            tumours=snapshot_tumours,
            quarantined=pl.Series([], dtype=pl.String),
        )
