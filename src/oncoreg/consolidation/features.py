"""Per-notification features the recording rules need (vectorised over the notification frame).

A notification *describes a tumour* when it carries an ICD-O-3 topography (pathology, clinical, screening
...). Its recording key is: ``site_group`` (3-character site, or the Table-1-like group of
``data/recording_sites.csv``; ``SYSTEMIC`` for haematopoietic groups 8-14 and Kaposi 15, where the site is
ignored, IARC/IACR 2004 rule 4.1), ``subsite`` (4th character for colon C18 and skin C44, recording
recommendation 2; ``.9`` = unknown), ``side`` (L/R for paired organs, recording recommendation 1; U, B and
missing = unknown) and ``hist_group`` (Table 2; a missing morphology counts as 8000, group 17).
"""

from __future__ import annotations

import polars as pl

from oncoreg.consolidation.rules import histology_groups, morphology_groups, recording_sites, source_ranks

__all__ = ["UNLISTED_GROUP", "describes_tumour", "recording_features", "source_rank"]

#: hist_group of a morphology in no Table 2 range: specific, only compatible with itself.
UNLISTED_GROUP = 99


def describes_tumour() -> pl.Expr:
    """True for notifications with an ICD-O-3 topography (they define or join tumours)."""
    return pl.col("topography").is_not_null() & (pl.col("topography").str.len_chars() >= 3)


def source_rank(rule_set: str, *, column: str = "source_type") -> pl.Expr:
    """Priority of ``source_type`` in ``rule_set`` of ``data/source_ranks.csv`` (lower wins; absent = 9)."""
    table = source_ranks().filter(pl.col("rule_set") == rule_set)
    mapping = dict(zip(table["source_type"], table["rank"], strict=True))
    return pl.col(column).replace_strict(mapping, default=9, return_dtype=pl.Int8)


def recording_features(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``morph``, ``site3``, ``site_group``, ``subsite``, ``side``, ``hist_group``, ``non_specific``,
    ``covers``, ``systemic`` and ``first_date`` to notifications that describe a tumour."""
    sites = recording_sites().select("site", "site_group", "paired", "split_subsites")
    groups = morphology_groups()
    covers = histology_groups().select(pl.col("group_no").alias("hist_group"), "covers")
    work = (
        frame.with_columns(
            pl.col("morphology").fill_null("8000").str.slice(0, 4).alias("morph"),
            pl.col("topography").str.slice(0, 3).alias("site3"),
        )
        .join(sites, left_on="site3", right_on="site", how="left", maintain_order="left")
        .join(groups.rename({"morphology": "morph"}), on="morph", how="left", maintain_order="left")
        .with_columns(
            pl.col("hist_group").fill_null(UNLISTED_GROUP),
            pl.col("non_specific").fill_null(False),
            pl.col("systemic").fill_null(False),
            pl.col("paired").fill_null(False),
            pl.col("split_subsites").fill_null(False),
        )
        .join(covers, on="hist_group", how="left", maintain_order="left")
    )
    fourth = pl.col("topography").str.replace(".", "", literal=True).str.slice(3, 1)
    return work.with_columns(
        pl.when(pl.col("systemic"))
        .then(pl.lit("SYSTEMIC"))
        .otherwise(pl.col("site_group").fill_null(pl.col("site3")))
        .alias("site_group"),
        pl.when(pl.col("split_subsites") & ~pl.col("systemic") & (fourth != "9"))
        .then(fourth)
        .otherwise(None)
        .alias("subsite"),
        pl.when(pl.col("paired") & ~pl.col("systemic") & pl.col("laterality").is_in(["L", "R"]))
        .then(pl.col("laterality"))
        .otherwise(None)
        .alias("side"),
        pl.col("covers").fill_null(pl.lit([], dtype=pl.List(pl.Int32))),
        notification_date().alias("first_date"),
    ).drop("paired", "split_subsites")


def notification_date() -> pl.Expr:
    """The date a notification speaks for: sample, diagnosis, death, then the event date."""
    return pl.coalesce("sample_date", "diagnosis_date", "death_date", "event_date", "received_date")
