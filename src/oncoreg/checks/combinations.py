"""Rule family ``combination``: sex/site, sex/histology, age/site, age/histology, age/site/histology,
behaviour/site and grade/behaviour, all from one condition table (``data/combinations.csv``).

A line fires when every condition it states holds (a blank cell is "any"): ``sex`` equal; ``age_min <= age
<= age_max``; ``topography_from <= topography <= topography_to`` (4-character codes, ``C51`` meaning
C51.0-C51.9); ``histology_from <= histology <= histology_to`` (negated when ``histology_negate``);
``behaviour`` equal; ``grade_from <= grade <= grade_to``; ``family`` equal to the histology's IARC/IACR
site-profile family (MorphFam.txt, "must" families). A rule fires on a tumour when any of its lines does; the
lowest such line is reported. Age is the stated age, or the age from the dates when the stated age is unknown
(CanReg5 fix: an unknown age such as 99/999 never triggers the age rules).

Vectorised: for each rule, the distinct value combinations of the fields it reads are cross-joined with the
rule's lines and filtered; the result is joined back to the tumours (no per-row Python).
"""

from __future__ import annotations

import polars as pl

from oncoreg.checks.rules import combination_table, site_histology_tables

__all__ = ["combination_findings"]

#: field named in ``needs`` -> (prepared column, its condition columns in the table)
_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sex": ("_sex", ("sex",)),
    "age": ("_age_eff", ("age_min", "age_max")),
    "topography": ("_top", ("topography_from", "topography_to")),
    "morphology": ("_hist", ("histology_from", "histology_to", "family")),
    "behaviour": ("_beh", ("behaviour",)),
    "grade": ("_grade", ("grade_from", "grade_to")),
}


def _either(bound: str, test: pl.Expr) -> pl.Expr:
    return pl.col(bound).is_null() | test


def _conditions() -> pl.Expr:
    hist = pl.col("_hist")
    in_hist = hist.is_between(pl.col("histology_from"), pl.col("histology_to"))
    hist_test = pl.when(pl.col("histology_negate")).then(~in_hist).otherwise(in_hist)
    return (
        _either("sex", pl.col("_sex") == pl.col("sex"))
        & _either("age_min", pl.col("_age_eff") >= pl.col("age_min"))
        & _either("age_max", pl.col("_age_eff") <= pl.col("age_max"))
        & _either("topography_from", pl.col("_top") >= pl.col("topography_from"))
        & _either("topography_to", pl.col("_top") <= pl.col("topography_to"))
        & _either("histology_from", hist_test)
        & _either("behaviour", pl.col("_beh") == pl.col("behaviour"))
        & _either("grade_from", pl.col("_grade").is_between(pl.col("grade_from"), pl.col("grade_to")))
        & _either("family", pl.col("_family") == pl.col("family"))
    )


def combination_findings(frame: pl.DataFrame, catalogue: pl.DataFrame) -> pl.DataFrame:
    """Findings (``_row, rule_id, fired, line``) of every ``combination`` rule of ``catalogue``."""
    profiles = site_histology_tables()[0].filter(pl.col("profile") == "must")
    families = profiles.select(
        pl.col("histology").alias("_hist"), pl.col("family").cast(pl.Int32).alias("_family")
    )
    tumours = frame.with_columns(
        pl.when(pl.col("_top_valid")).then(pl.col("_top")).alias("_top"),
        pl.when(pl.col("_grade").is_between(1, 9)).then(pl.col("_grade")).alias("_grade"),
    ).join(families, on="_hist", how="left")
    table = combination_table()
    parts = []
    for rule_id, needs in (
        catalogue.filter(pl.col("family") == "combination").select("rule_id", "needs").iter_rows()
    ):
        columns = [_FIELDS[name][0] for name in needs]
        if "_hist" in columns:
            columns.append("_family")
        judged = tumours.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in columns if c != "_family"))
        keys = judged.select(columns).unique()
        absent = [c for _, (c, _) in _FIELDS.items() if c not in columns] + (
            [] if "_family" in columns else ["_family"]
        )
        hits = (
            keys.with_columns(pl.lit(None, tumours.schema[c]).alias(c) for c in absent)
            .join(table.filter(pl.col("rule_id") == rule_id), how="cross")
            .filter(_conditions())
            .group_by(columns)
            .agg(pl.col("line").min())
        )
        parts.append(
            judged.join(hits, on=columns, how="left", nulls_equal=True).select(
                "_row",
                pl.lit(rule_id).alias("rule_id"),
                pl.col("line").is_not_null().alias("fired"),
                pl.col("line").cast(pl.String),
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame()
