"""The edit-check rules as data: the catalogue (``data/rules.csv``) and the tables each rule family reads.

Every rule has an id, a version, a family (which engine module applies it), a result level
(``ok < query < rare < invalid``), the fields it needs, validity dates (on the incidence date; blank = open),
a description, a message template naming field, value and rule, and a reference. The tables are described in
``data/README.md`` with their provenance. Everything is read once and cached.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib.resources import files
from typing import Any

import polars as pl

__all__ = [
    "RESULT_LEVELS",
    "basis_exempt_table",
    "combination_table",
    "grade_histology_table",
    "params",
    "result_rank",
    "rule_catalogue",
    "site_histology_tables",
]

#: Result levels, best to worst; a tumour's result is the worst of its findings.
RESULT_LEVELS: tuple[str, ...] = ("ok", "query", "rare", "invalid")

_DATA = files("oncoreg.checks") / "data"


def _read(name: str, **kwargs: Any) -> pl.DataFrame:
    with (_DATA / name).open("rb") as handle:
        return pl.read_csv(handle, **kwargs)


def result_rank(column: str = "result") -> pl.Expr:
    """0 for ok, 1 query, 2 rare, 3 invalid (the order of :data:`RESULT_LEVELS`)."""
    return pl.col(column).replace_strict(
        list(RESULT_LEVELS), list(range(len(RESULT_LEVELS))), return_dtype=pl.Int8
    )


@lru_cache(maxsize=1)
def params() -> dict[str, Any]:
    """``data/params.toml``: the unknown-age code and the largest plausible age."""
    parsed: dict[str, Any] = tomllib.loads((_DATA / "params.toml").read_text(encoding="utf-8"))
    return parsed


@lru_cache(maxsize=1)
def rule_catalogue() -> pl.DataFrame:
    """All rules: ``rule_id, version, family, result, needs, valid_from, valid_to, description, message,
    reference`` (``version`` as text, validity dates as ``pl.Date``)."""
    table = _read("rules.csv", infer_schema=False)
    return table.with_columns(
        pl.col("valid_from").str.to_date(strict=True),
        pl.col("valid_to").str.to_date(strict=True),
        pl.col("needs").str.split(";"),
    )


def _topography_bound(column: str, *, upper: bool) -> pl.Expr:
    """``C51`` -> ``C510`` (lower) / ``C519`` (upper); ``C38.4`` -> ``C384``."""
    code = pl.col(column).str.replace(".", "", literal=True)
    filler = "9" if upper else "0"
    return pl.when(code.str.len_chars() == 3).then(code + filler).otherwise(code).alias(column)


@lru_cache(maxsize=1)
def combination_table() -> pl.DataFrame:
    """``data/combinations.csv`` with topography bounds as 4-character codes without the dot (``C510``)."""
    table = _read(
        "combinations.csv",
        schema_overrides={
            "sex": pl.Int8,
            "age_min": pl.Int32,
            "age_max": pl.Int32,
            "topography_from": pl.String,
            "topography_to": pl.String,
            "histology_from": pl.Int32,
            "histology_to": pl.Int32,
            "histology_negate": pl.Boolean,
            "behaviour": pl.Int8,
            "grade_from": pl.Int8,
            "grade_to": pl.Int8,
            "family": pl.Int32,
            "line": pl.Int32,
        },
    )
    return table.with_columns(
        _topography_bound("topography_from", upper=False),
        _topography_bound("topography_to", upper=True),
        pl.col("histology_negate").fill_null(False),
    )


@lru_cache(maxsize=1)
def grade_histology_table() -> pl.DataFrame:
    """``data/grade_histology.csv``: first matching line (lowest ``line``) gives the allowed grades."""
    table = _read("grade_histology.csv", schema_overrides={"allowed": pl.String})
    return table.with_columns(pl.col("allowed").str.split(";").alias("allowed_list"))


@lru_cache(maxsize=1)
def basis_exempt_table() -> pl.DataFrame:
    """``data/basis_histology_exempt.csv``: histologies (optionally at sites) accepted whatever the basis."""
    table = _read("basis_histology_exempt.csv", schema_overrides={"topography_from": pl.String})
    return table.with_columns(
        _topography_bound("topography_from", upper=False), _topography_bound("topography_to", upper=True)
    )


@lru_cache(maxsize=1)
def site_histology_tables() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(profiles, must, must_not, families)`` of the IARC/IACR site-profile check (MorphFam etc.)."""
    profiles = _read("site_histology_profiles.csv", schema_overrides={"histology": pl.Int32})
    must = _read("site_histology_must.csv", schema_overrides={"topography_prefix": pl.String})
    must_not = _read("site_histology_must_not.csv", schema_overrides={"topography_prefix": pl.String})
    families = _read("site_histology_families.csv")
    return profiles, must, must_not, families
