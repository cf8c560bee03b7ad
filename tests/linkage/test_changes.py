"""Merges and splits of persons as data."""

from __future__ import annotations

import polars as pl
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.linkage import merge_persons, split_person

LINKS = pl.DataFrame({"notification_id": [1, 2, 3, 4, 5], "person_id": [10, 10, 11, 12, 11]})


def test_merge_moves_every_notification_of_the_merged_persons() -> None:
    changes = merge_persons(links=LINKS, into=10, merged=[11, 12, 10], reason="duplicate person")
    assert changes.moves.select("notification_id", "from_person_id", "to_person_id").rows() == [
        (3, 11, 10),
        (4, 12, 10),
        (5, 11, 10),
    ]
    assert changes.retired.select("person_id", "merged_into").rows() == [(11, 10), (12, 10)]
    assert set(changes.moves["reason"]) == {"duplicate person"}


def test_merge_into_itself_is_refused() -> None:
    with pytest.raises(ValidationFailed, match=r"linkage\.merge"):
        merge_persons(links=LINKS, into=10, merged=[10], reason="x")


def test_split_moves_the_chosen_notifications_to_a_new_person() -> None:
    changes = split_person(links=LINKS, person_id=11, notification_ids=[5], reason="twin", new_person_id=-3)
    assert changes.moves.select("notification_id", "from_person_id", "to_person_id").rows() == [(5, 11, -3)]
    assert changes.retired.height == 0


@pytest.mark.parametrize(
    ("ids", "rule"), [([1], "is not linked"), ([3, 5], "every notification"), ([], "no ")]
)
def test_bad_splits_are_refused(ids: list[int], rule: str) -> None:
    with pytest.raises(ValidationFailed, match=rule):
        split_person(links=LINKS, person_id=11, notification_ids=ids, reason="x")
