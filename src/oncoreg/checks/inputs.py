"""Validate and normalise the tumour frame the edit checks read.

Input columns: ``id, sex, birth_date, incidence_date, age, topography, morphology, behaviour, grade, basis``
and optionally ``death_date``; text or typed. Codes are *not* validated here (an invalid code is a finding
of a check, not an input error); what cannot be read at all is: a missing column, a date that is not an ISO
date (``YYYY-MM-DD``) and an age that is not a whole number. Those raise one
:class:`~oncoreg.errors.ValidationFailed` naming every bad row and field.

The normalised frame has one row per input row with ``_row`` (0-based position) and the parsed fields
``_sex, _top, _top_valid, _hist, _beh, _grade, _birth, _incidence, _death, _age, _computed_age, _age_eff``;
age in full years at incidence: ``year(i) - year(b) - [(month, day)(i) < (month, day)(b)]``.
"""

from __future__ import annotations

import polars as pl

from oncoreg.checks.rules import params
from oncoreg.codes import topography_table
from oncoreg.errors import Problem, ValidationFailed

__all__ = ["REQUIRED_COLUMNS", "full_years", "prepare_tumours"]

REQUIRED_COLUMNS = (
    "id",
    "sex",
    "birth_date",
    "incidence_date",
    "age",
    "topography",
    "morphology",
    "behaviour",
    "grade",
    "basis",
)
_DATES = ("birth_date", "incidence_date", "death_date")
_ISO = r"^\d{4}-\d{2}-\d{2}$"


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.strip_chars().replace("", None)


def full_years(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Completed years from ``start`` to ``end`` (age at ``end`` of someone born on ``start``)."""
    before_birthday = (end.dt.month() < start.dt.month()) | (
        (end.dt.month() == start.dt.month()) & (end.dt.day() < start.dt.day())
    )
    return (end.dt.year() - start.dt.year() - before_birthday.cast(pl.Int32)).cast(pl.Int32)


def _date(frame: pl.DataFrame, name: str) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(None, pl.Date)
    if frame.schema[name] == pl.Date:
        return pl.col(name)
    if frame.schema[name] == pl.Datetime:
        return pl.col(name).dt.date()
    return _text(name).str.to_date("%Y-%m-%d", strict=False)


def _problems(frame: pl.DataFrame) -> list[Problem]:
    """Unreadable dates and ages, one problem per row and field."""
    problems: list[Problem] = []
    ids = pl.col("id").cast(pl.String)
    for name in _DATES:
        if name not in frame.columns or frame.schema[name] in (pl.Date, pl.Datetime):
            continue
        text = _text(name)
        parsed = text.str.to_date("%Y-%m-%d", strict=False)
        bad = frame.filter(text.is_not_null() & (parsed.is_null() | ~text.str.contains(_ISO)))
        for row_id, value in bad.select(ids, text).iter_rows():
            problems.append(
                Problem(
                    field=name, value=str(value), rule="iso-date", text="not a date YYYY-MM-DD", row=row_id
                )
            )
    if frame.schema["age"] not in (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32):
        text = _text("age")
        bad = frame.filter(text.is_not_null() & ~text.str.contains(r"^\d{1,3}$"))
        for row_id, value in bad.select(ids, text).iter_rows():
            problems.append(
                Problem(
                    field="age", value=str(value), rule="age-number", text="not a whole number", row=row_id
                )
            )
    return problems


def prepare_tumours(tumours: pl.DataFrame) -> pl.DataFrame:
    """Check the columns and readability of ``tumours`` and add the parsed ``_`` columns (see module doc)."""
    missing = [
        Problem(field=name, value="", rule="input-columns", text=f"required column {name!r} is missing")
        for name in REQUIRED_COLUMNS
        if name not in tumours.columns
    ]
    if missing:
        raise ValidationFailed(missing)
    problems = _problems(tumours)
    if problems:
        raise ValidationFailed(problems)
    unknown_age = int(params()["age_unknown_code"])
    subsites = topography_table().filter(pl.col("level") == 4)["code"].str.replace(".", "", literal=True)
    morph = _text("morphology")
    morph_parts = morph.str.extract_groups(r"^(\d{4})(?:/(\d))?$")
    frame = tumours.with_row_index("_row").with_columns(
        _text("id").alias("_id"),
        _text("sex").alias("_sex_text"),
        _text("topography").str.to_uppercase().alias("_top_text"),
        morph.alias("_morph_text"),
        _text("behaviour").alias("_beh_text"),
        _text("grade").alias("_grade_text"),
        _text("basis").alias("_basis"),
        _text("age").alias("_age_text"),
        morph_parts.struct.field("1").cast(pl.Int32).alias("_hist"),
        morph_parts.struct.field("2").alias("_beh_inline"),
        _date(tumours, "birth_date").alias("_birth"),
        _date(tumours, "incidence_date").alias("_incidence"),
        _date(tumours, "death_date").alias("_death"),
    )
    top = pl.col("_top_text").str.extract_groups(r"^C?(\d{2})\.?(\d)$")
    frame = frame.with_columns(
        pl.col("_sex_text")
        .str.to_uppercase()
        .replace_strict({"1": 1, "M": 1, "2": 2, "F": 2, "K": 2}, default=None, return_dtype=pl.Int8)
        .alias("_sex"),
        pl.when(top.struct.field("1").is_not_null())
        .then(pl.lit("C") + top.struct.field("1") + top.struct.field("2"))
        .alias("_top"),
        pl.coalesce(pl.col("_beh_text"), pl.col("_beh_inline")).alias("_beh_text"),
        pl.col("_grade_text").cast(pl.Int8, strict=False).alias("_grade"),
        pl.col("_age_text").cast(pl.Int32, strict=False).alias("_age"),
        full_years(pl.col("_birth"), pl.col("_incidence")).alias("_computed_age"),
    )
    age_max = int(params()["age_max"])
    stated_ok = pl.col("_age").is_between(0, age_max)
    return frame.with_columns(
        pl.col("_top").is_in(subsites.to_list()).fill_null(False).alias("_top_valid"),
        pl.col("_beh_text").cast(pl.Int8, strict=False).alias("_beh"),
        (pl.col("_age").is_null() | (pl.col("_age") == unknown_age)).alias("_age_unknown"),
        pl.when(stated_ok)
        .then(pl.col("_age"))
        .when(pl.col("_computed_age").is_between(0, age_max))
        .then(pl.col("_computed_age"))
        .alias("_age_eff"),
        pl.when(pl.col("_top").is_not_null())
        .then(pl.col("_top").str.slice(0, 3) + "." + pl.col("_top").str.slice(3, 1))
        .otherwise(pl.col("_top_text"))
        .alias("_top_shown"),
    )
