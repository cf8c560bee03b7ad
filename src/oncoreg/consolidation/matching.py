"""Attach notifications that carry only an ICD-10 code (NPR episodes, death certificates, radiotherapy and
systemic-therapy records) to a tumour of their person (DESIGN §6; reference/norway.md §2.2 NPR linkage).

A notification matches a tumour whose derived ICD-10 (else its topography) falls in the same match group
(``data/icd10_match_groups.csv``: 3 characters unless grouped; C76-C80 match any tumour). Among matches it
takes the latest tumour first notified no later than 90 days after the notification's date, else the
earliest tumour. Notifications without a match stay unattached (a death certificate then goes to
:mod:`oncoreg.consolidation.dco`).
"""

from __future__ import annotations

import polars as pl

from oncoreg.consolidation.features import notification_date
from oncoreg.consolidation.rules import icd10_match_groups

__all__ = ["attach_by_icd10", "match_group"]

_LATE = 90  # days a notification may precede its tumour's first notification


def match_group(column: str) -> pl.Expr:
    """The ICD-10 match group of the code in ``column`` (``ANY`` for unknown primary sites)."""
    table = icd10_match_groups()
    mapping = dict(zip(table["icd10_3"], table["match_group"], strict=True))
    three = pl.col(column).str.slice(0, 3)
    return three.replace(mapping)


def attach_by_icd10(others: pl.DataFrame, tumours: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """``notification_id, tumour_id`` for the ICD-10-only notifications ``others`` that match a tumour."""
    first = rows.group_by("tumour_id").agg(pl.col("first_date").min().alias("_first"))
    targets = (
        tumours.with_columns(pl.coalesce("icd10", "topography").alias("_code"))
        .join(first, on="tumour_id", how="left")
        .select("tumour_id", "person_id", "_first", match_group("_code").alias("_group"))
    )
    notes = others.select(
        "notification_id",
        "person_id",
        notification_date().alias("_date"),
        match_group("icd10").alias("_want"),
    )
    late = pl.col("_first") > pl.col("_date").dt.offset_by(f"{_LATE}d")
    return (
        notes.join(targets, on="person_id", how="inner")
        .filter((pl.col("_want") == pl.col("_group")) | (pl.col("_want") == "ANY"))
        .with_columns(
            late.fill_null(False).alias("_late"), (-pl.col("_first").cast(pl.Int32)).alias("_recent")
        )
        .with_columns(
            pl.when(pl.col("_late").all().over("notification_id"))
            .then(pl.col("_first").cast(pl.Int32))
            .otherwise(pl.col("_recent"))
            .alias("_order")
        )
        .sort("notification_id", "_late", "_order", "tumour_id")
        .unique("notification_id", keep="first", maintain_order=True)
        .select("notification_id", "tumour_id")
    )
