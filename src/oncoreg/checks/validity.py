"""Rule family ``validity``: each code is one of its code list (IARC/IACR Check DEPedits #6, #7, #9, #10).

Topography must be an ICD-O-3 subsite; morphology a known ICD-O-3/3.1 histology; behaviour 0/1/2/3/6/9 (and
agree with a ``/b`` inside the morphology); the histology/behaviour pair listed (else ``query``: ICD-O's
behaviour matrix allows it); grade 1-9; sex 1/2/9 (or M/F); basis a code of the ENCR version in force on the
incidence date (``oncoreg.codes.basis``: ``encr_1999`` to 2022-12-31, ``encr_2022`` from 2023-01-01).
Blank topography, morphology or behaviour fail their rule; blank sex, grade or basis are "not stated" and are
not judged (CanReg5 fix: a blank grade is not "Invalid: not a number").
Every function returns ``_row, rule_id, fired`` (+ optional ``line, allowed, family``) for the rows judged.
"""

from __future__ import annotations

import polars as pl

from oncoreg.codes import BEHAVIOURS, morphology_table
from oncoreg.codes.basis import basis_codes, basis_versions

__all__ = ["basis_code_table", "validity_findings", "with_basis_version"]


def basis_code_table() -> pl.DataFrame:
    """``_basis_version, _basis, _basis_mv``: every basis code of every version, with its MV flag."""
    parts = [
        basis_codes(on=valid_from).select(
            pl.lit(version).alias("_basis_version"),
            pl.col("code").cast(pl.String).alias("_basis"),
            pl.col("microscopically_verified")
            .cast(pl.String)
            .str.to_lowercase()
            .eq("true")
            .alias("_basis_mv"),
        )
        for version, valid_from in basis_versions().select("version", "valid_from").iter_rows()
    ]
    return pl.concat(parts)


def with_basis_version(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``_basis_version`` (the version in force on ``_incidence``), ``_basis_known`` and ``_basis_mv``."""
    versions = basis_versions().select(
        pl.col("version").alias("_basis_version"), pl.col("valid_from"), pl.col("valid_to")
    )
    dated = (
        frame.select("_row", "_incidence")
        .filter(pl.col("_incidence").is_not_null())
        .join(versions, how="cross")
        .filter(
            (pl.col("_incidence") >= pl.col("valid_from"))
            & (pl.col("valid_to").is_null() | (pl.col("_incidence") <= pl.col("valid_to")))
        )
        .select("_row", "_basis_version")
    )
    out = frame.join(dated, on="_row", how="left").join(
        basis_code_table(), on=["_basis_version", "_basis"], how="left"
    )
    return out.with_columns(pl.col("_basis_mv").is_not_null().alias("_basis_known")).sort("_row")


def _rule(frame: pl.DataFrame, rule_id: str, judged: pl.Expr, fired: pl.Expr) -> pl.DataFrame:
    return frame.filter(judged).select("_row", pl.lit(rule_id).alias("rule_id"), fired.alias("fired"))


def validity_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings of the code-validity rules for a frame from :func:`with_basis_version`."""
    histologies = morphology_table()["histology"].unique().cast(pl.Int32).to_list()
    listed = morphology_table().select(
        pl.col("histology").cast(pl.Int32).alias("_hist"), pl.col("behaviour").cast(pl.Int8).alias("_beh")
    )
    listed_keys = listed.with_columns(pl.lit(True).alias("_listed"))
    frame = frame.join(listed_keys, on=["_hist", "_beh"], how="left").sort("_row")
    behaviour_ok = pl.col("_beh_text").is_in([str(code) for code in BEHAVIOURS]).fill_null(False) & (
        pl.col("_beh_inline").is_null() | (pl.col("_beh_inline") == pl.col("_beh_text"))
    )
    hist_ok = pl.col("_hist").is_in(histologies).fill_null(False)
    parts = [
        _rule(
            frame,
            "valid-sex",
            pl.col("_sex_text").is_not_null(),
            ~pl.col("_sex_text").str.to_uppercase().is_in(["1", "2", "9", "M", "F", "K"]),
        ),
        _rule(frame, "valid-topography", pl.lit(True), ~pl.col("_top_valid")),
        _rule(frame, "valid-morphology", pl.lit(True), ~hist_ok),
        _rule(frame, "valid-behaviour", pl.lit(True), ~behaviour_ok),
        _rule(frame, "listed-morphology", hist_ok & behaviour_ok, pl.col("_listed").is_null()),
        _rule(
            frame,
            "valid-grade",
            pl.col("_grade_text").is_not_null(),
            ~pl.col("_grade_text").is_in([str(g) for g in range(1, 10)]),
        ),
        _rule(
            frame,
            "valid-basis",
            pl.col("_basis").is_not_null() & pl.col("_basis_version").is_not_null(),
            ~pl.col("_basis_known"),
        ),
    ]
    return pl.concat(parts)
