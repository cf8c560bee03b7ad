"""Group the tumour-describing notifications of each person into tumours (recording rules, DESIGN §6).

Every notification is ranked by strength within its person (pathology before clinical, specific before
non-specific morphology, known laterality/subsite before unknown, then earliest, then lowest id). Each
notification joins the strongest *stronger* notification of the same person and site group it is compatible
with (exact side/subsite matches preferred); one with none starts a tumour. Compatible means:

* histology: the same Table 2 group, or one is non-specific and covers the other (17 covers 1-7, 15, 16;
  14 covers 8-13; 5 covers 1-4; IARC/IACR 2004 rule 4.2, DESIGN §6);
* laterality (paired organs): equal, or either unknown (unknown joins the known one);
* subsite (colon C18, skin C44): equal, or either unknown (``.9``);
* a non-pathology notification's side and subsite are *soft* against a pathology one: a clinical "left"
  joins the pathology "right" of the same organ and histology when no exact match exists (the conflict goes
  to review; see :mod:`oncoreg.consolidation.conflicts`).

Time never separates tumours (IARC/IACR 2004 rule 1; recurrence or progression is not a new case,
reference/norway.md §0). The tumour id is the lowest notification id of the group, so a rebuild gives the
same ids and a later notification never renames an existing tumour unless it merges two.
"""

from __future__ import annotations

import polars as pl

from oncoreg.consolidation.features import source_rank

__all__ = ["group_tumours"]

_KEYS = ["person_id", "site_group"]


def _compatible(left: str, right: str) -> pl.Expr:
    """Histology compatibility between columns suffixed ``left`` and ``right``."""
    return (
        (pl.col(f"hist_group{left}") == pl.col(f"hist_group{right}"))
        | (
            pl.col(f"non_specific{left}")
            & pl.col(f"covers{left}").list.contains(pl.col(f"hist_group{right}"))
        )
        | (
            pl.col(f"non_specific{right}")
            & pl.col(f"covers{right}").list.contains(pl.col(f"hist_group{left}"))
        )
    )


def _part_match(name: str) -> tuple[pl.Expr, pl.Expr]:
    """(hard match, soft mismatch) of component ``name`` between a row and a stronger row ``_s``."""
    mine, theirs = pl.col(name), pl.col(f"{name}_s")
    agree = mine.is_null() | theirs.is_null() | (mine == theirs)
    soft = ~pl.col("is_pathology") & pl.col("is_pathology_s")
    return agree | soft, ~agree


def group_tumours(described: pl.DataFrame) -> pl.DataFrame:
    """``notification_id -> tumour_id`` for notifications with recording features (see ``features``)."""
    ranked = described.with_columns(
        (pl.col("source_type") == "pathology").alias("is_pathology"),
        source_rank("any").alias("_src"),
    ).with_columns(
        pl.struct(
            "_src",
            "non_specific",
            pl.col("side").is_null().alias("_side_unknown"),
            pl.col("subsite").is_null().alias("_sub_unknown"),
            "first_date",
            "notification_id",
        )
        .rank("ordinal")
        .over("person_id")
        .alias("pos")
    )
    cols = [
        "notification_id",
        "pos",
        "hist_group",
        "non_specific",
        "covers",
        "side",
        "subsite",
        "is_pathology",
    ]
    left = ranked.select(*_KEYS, *cols)
    right = left.rename({c: f"{c}_s" for c in cols})
    side_ok, side_off = _part_match("side")
    sub_ok, sub_off = _part_match("subsite")
    pairs = (
        left.join(right, on=_KEYS, how="inner")
        .filter((pl.col("pos_s") < pl.col("pos")) & _compatible("", "_s") & side_ok & sub_ok)
        .with_columns((side_off.cast(pl.Int8) + sub_off.cast(pl.Int8)).alias("_mismatch"))
        .sort("notification_id", "_mismatch", "pos_s")
        .unique("notification_id", keep="first")
        .select("notification_id", pl.col("notification_id_s").alias("parent"))
    )
    parent = left.select("notification_id").join(pairs, on="notification_id", how="left")
    parent = parent.with_columns(pl.col("parent").fill_null(pl.col("notification_id")))
    # pointer jumping: every step halves the remaining chain, so a handful of joins reach the roots
    while True:
        hop = parent.join(
            parent.rename({"notification_id": "parent", "parent": "_grand"}), on="parent", how="left"
        )
        if hop.filter(pl.col("_grand") != pl.col("parent")).height == 0:
            break
        parent = hop.select("notification_id", pl.col("_grand").alias("parent"))
    return parent.with_columns(pl.col("notification_id").min().over("parent").alias("tumour_id")).select(
        "notification_id", "tumour_id"
    )
