"""Merges and splits of persons, as data: which notifications move to which person and which persons retire.

Method: a merge moves every notification of the merged persons to the surviving person and retires the
merged persons (``merged_into`` names the survivor); a split moves the chosen notifications of a person to a
new (provisional, negative id) person. The functions only compute the changes; the orchestrator applies them
through ``oncoreg.registry`` (``link_notification_to_person`` per move, then ``delete_person`` or an update
for each retired person), and the store's history records before, after, who and why for each change, so a
merge or split can be undone by applying the reverse moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from oncoreg.errors import Problem, ValidationFailed

MOVES = pl.Schema(
    {
        "notification_id": pl.Int64,
        "from_person_id": pl.Int64,
        "to_person_id": pl.Int64,
        "reason": pl.String,
    }
)
RETIRED = pl.Schema({"person_id": pl.Int64, "merged_into": pl.Int64, "reason": pl.String})


@dataclass(frozen=True)
class PersonChanges:
    """``moves``: notification_id, from_person_id, to_person_id, reason. ``retired``: person_id,
    merged_into, reason (persons left without notifications by a merge)."""

    moves: pl.DataFrame
    retired: pl.DataFrame


def _links(links: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("notification_id", "person_id") if c not in links.columns]
    if missing:
        raise ValidationFailed(
            [Problem(c, "", "linkage.columns", "links frame lacks this column") for c in missing]
        )
    return links.select(pl.col("notification_id").cast(pl.Int64), pl.col("person_id").cast(pl.Int64))


def merge_persons(*, links: pl.DataFrame, into: int, merged: Sequence[int], reason: str) -> PersonChanges:
    """Move all notifications of the ``merged`` persons to ``into`` and retire the merged persons."""
    others = sorted(set(merged) - {into})
    if not others:
        raise ValidationFailed(
            [Problem("merged", str(list(merged)), "linkage.merge", f"names no person other than {into}")]
        )
    current = _links(links)
    moves = (
        current.filter(pl.col("person_id").is_in(others))
        .select(
            "notification_id",
            pl.col("person_id").alias("from_person_id"),
            pl.lit(into, pl.Int64).alias("to_person_id"),
            pl.lit(reason).alias("reason"),
        )
        .sort("notification_id")
    )
    retired = pl.DataFrame(
        {"person_id": others, "merged_into": [into] * len(others), "reason": [reason] * len(others)},
        schema=RETIRED,
    )
    return PersonChanges(moves=moves.cast(MOVES), retired=retired)


def split_person(
    *,
    links: pl.DataFrame,
    person_id: int,
    notification_ids: Sequence[int],
    reason: str,
    new_person_id: int = -1,
) -> PersonChanges:
    """Move ``notification_ids`` of ``person_id`` to a new person ``new_person_id`` (provisional id)."""
    current = _links(links)
    wanted = pl.DataFrame({"notification_id": list(notification_ids)}, schema={"notification_id": pl.Int64})
    owned = current.filter(pl.col("person_id") == person_id).join(wanted, on="notification_id", how="semi")
    strangers = wanted.join(owned, on="notification_id", how="anti")["notification_id"].to_list()
    problems = [
        Problem("notification_ids", str(n), "linkage.split", f"is not linked to person {person_id}")
        for n in strangers
    ]
    if owned.height == 0 and not strangers:
        problems.append(Problem("notification_ids", "[]", "linkage.split", "names no notification"))
    if owned.height == current.filter(pl.col("person_id") == person_id).height and owned.height:
        problems.append(
            Problem("notification_ids", str(person_id), "linkage.split", "would move every notification")
        )
    if problems:
        raise ValidationFailed(problems)
    moves = owned.select(
        "notification_id",
        pl.col("person_id").alias("from_person_id"),
        pl.lit(new_person_id, pl.Int64).alias("to_person_id"),
        pl.lit(reason).alias("reason"),
    ).sort("notification_id")
    return PersonChanges(moves=moves.cast(MOVES), retired=pl.DataFrame(schema=RETIRED))
