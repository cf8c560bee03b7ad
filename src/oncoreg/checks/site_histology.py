"""Rule family ``site_histology``: the IARC/IACR site profiles of histologies (TR42 appendix 1; CanReg5's
``MorphFam.txt``, ``Must.txt``, ``MustNot.txt``, ``MorphFamDict.txt``, here as ``data/site_histology_*.csv``).

Each 4-digit histology has a profile: ``any`` (group 1, non-specific: every site allowed), ``must`` (group 2,
specific: the site must start with one of the prefixes listed for its family in ``site_histology_must.csv``)
or ``must_not`` (group 3, inverse: the site must not start with a prefix of its family in
``site_histology_must_not.csv``). An unlikely combination is ``rare``. A histology without a profile, or an
invalid topography, is not judged here (the validity rules report it). ``family`` in the message names the
family ("must be at a site of family 7 Liver tumours").
"""

from __future__ import annotations

import polars as pl

from oncoreg.checks.rules import site_histology_tables

__all__ = ["site_histology_findings"]


def site_histology_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings (``_row, rule_id, fired, line, family``) of ``site-histology`` for a prepared frame."""
    profiles, must, must_not, families = site_histology_tables()
    judged = frame.filter(pl.col("_top_valid") & pl.col("_hist").is_not_null()).join(
        profiles.select(
            pl.col("histology").alias("_hist"),
            "profile",
            pl.col("family"),
            pl.col("source_line").alias("line"),
        ),
        on="_hist",
        how="inner",
    )
    keys = judged.select("_top", "_hist", "profile", "family").unique()
    prefixes = pl.concat(
        [
            must.select(pl.lit("must").alias("profile"), "family", "topography_prefix"),
            must_not.select(pl.lit("must_not").alias("profile"), "family", "topography_prefix"),
        ]
    )
    matched = (
        keys.join(prefixes, on=["profile", "family"], how="left")
        .with_columns(
            pl.col("_top").str.starts_with(pl.col("topography_prefix")).fill_null(False).alias("hit")
        )
        .group_by("_top", "_hist")
        .agg(pl.col("hit").any())
    )
    named = families.select(
        "profile",
        "family",
        pl.when(pl.col("profile") == "must")
        .then(pl.format("must be at a site of family {} {}", pl.col("family"), pl.col("name")))
        .otherwise(pl.format("family {} {} excludes this site", pl.col("family"), pl.col("name")))
        .alias("family_text"),
    )
    return (
        judged.join(matched, on=["_top", "_hist"], how="left")
        .join(named, on=["profile", "family"], how="left")
        .select(
            "_row",
            pl.lit("site-histology").alias("rule_id"),
            pl.when(pl.col("profile") == "must")
            .then(~pl.col("hit"))
            .when(pl.col("profile") == "must_not")
            .then(pl.col("hit"))
            .otherwise(False)
            .alias("fired"),
            pl.col("line").cast(pl.String),
            pl.col("family_text").alias("family"),
        )
    )
