"""Rule families read by histology range: ``grade_histology``, ``basis_histology``, ``sex_morphology_icd10``.

* ``grade-histology`` (IARC/IACR Check DEPedits #9): for a malignant tumour (/3, /6, /9) with a stated grade
  1-8, the first line of ``data/grade_histology.csv`` whose range holds the histology gives the allowed grades
  (8331 -> 1; 8020-8021 -> 4; B-cell sets -> 6; grades 5-8 only from 9590). Grade 9 is always allowed.
* ``basis-histology`` (DEPedits #10): a basis that is not microscopic *in the ENCR version in force on the
  incidence date* (``oncoreg.codes.basis``) with a histology not in ``data/basis_histology_exempt.csv`` (whose
  lines may also require a site, e.g. 8720 only at C44/C69) is a query.
* ``sex-histology-icd10``: IARCcrgTools' O3_10M sex flags (``oncoreg.codes`` table ``icd10_by_morphology``,
  column ``only_sex``): a morphology converting to a one-sex ICD-10 code in a person of the other sex.
"""

from __future__ import annotations

import polars as pl

from oncoreg.checks.rules import basis_exempt_table, grade_histology_table
from oncoreg.codes.versions import read_table

__all__ = ["basis_histology_findings", "grade_histology_findings", "sex_icd10_findings"]


def grade_histology_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings (``_row, rule_id, fired, line, allowed``) of ``grade-histology``."""
    judged = frame.filter(
        pl.col("_grade").is_between(1, 9) & pl.col("_beh").is_in([3, 6, 9]) & pl.col("_hist").is_not_null()
    )
    lines = grade_histology_table()
    first = (
        judged.select("_hist")
        .unique()
        .join(lines, how="cross")
        .filter(pl.col("_hist").is_between(pl.col("histology_from"), pl.col("histology_to")))
        .sort("line")
        .group_by("_hist")
        .first()
    )
    allowed_text = pl.col("allowed").str.replace_all(";", " or ", literal=True)
    return judged.join(
        first.select("_hist", "line", "allowed", "allowed_list"), on="_hist", how="left"
    ).select(
        "_row",
        pl.lit("grade-histology").alias("rule_id"),
        (
            (pl.col("_grade") != 9)
            & pl.col("line").is_not_null()
            & ~pl.col("allowed_list").list.contains(pl.col("_grade").cast(pl.String))
        )
        .fill_null(False)
        .alias("fired"),
        pl.col("line").cast(pl.String),
        allowed_text.alias("allowed"),
    )


def basis_histology_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings (``_row, rule_id, fired``) of ``basis-histology`` for a frame with ``_basis_mv``."""
    judged = frame.filter(
        pl.col("_basis").is_not_null()
        & pl.col("_basis_version").is_not_null()
        & pl.col("_hist").is_not_null()
    )
    exempt = (
        judged.select("_hist", "_top")
        .unique()
        .join(basis_exempt_table(), how="cross")
        .filter(
            pl.col("_hist").is_between(pl.col("histology_from"), pl.col("histology_to"))
            & (
                pl.col("topography_from").is_null()
                | pl.col("_top")
                .is_between(pl.col("topography_from"), pl.col("topography_to"))
                .fill_null(False)
            )
        )
        .select("_hist", "_top", pl.lit(True).alias("_exempt"))
        .unique()
    )
    return judged.join(exempt, on=["_hist", "_top"], how="left", nulls_equal=True).select(
        "_row",
        pl.lit("basis-histology").alias("rule_id"),
        (~pl.col("_basis_mv").fill_null(False) & pl.col("_exempt").is_null()).alias("fired"),
    )


def sex_icd10_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings (``_row, rule_id, fired, allowed``) of ``sex-histology-icd10``."""
    only = (
        read_table("icd10_by_morphology.csv")
        .filter(pl.col("only_sex").is_not_null() & (pl.col("only_sex") != ""))
        .select(
            pl.col("histology").cast(pl.Int32).alias("_hist"),
            pl.col("behaviour").cast(pl.Int8).alias("_beh"),
            pl.col("only_sex").replace_strict({"M": 1, "F": 2}, return_dtype=pl.Int8).alias("_only_sex"),
        )
        .unique(["_hist", "_beh"])
    )
    judged = frame.filter(
        pl.col("_sex").is_not_null() & pl.col("_hist").is_not_null() & pl.col("_beh").is_not_null()
    )
    return judged.join(only, on=["_hist", "_beh"], how="left").select(
        "_row",
        pl.lit("sex-histology-icd10").alias("rule_id"),
        (pl.col("_only_sex").is_not_null() & (pl.col("_only_sex") != pl.col("_sex"))).alias("fired"),
        pl.col("_only_sex").cast(pl.String).alias("allowed"),
    )
