"""Comparison records: persons and notifications in the one shape the linkage model compares.

Names are normalised for Norwegian spelling variation by the rules of ``data/name_rules.csv``
(lower-case; æ→ae, ø/oe→o, å/aa→a, accents stripped, ch→k, th→t, ph→f, c→k; then every doubled letter
collapsed, so Hanssen = Hansen and Kristoffer = Christoffer). Birth dates are split into year, month and day
so that one wrong component or a day/month transposition can be scored; the identifier keeps only
fødselsnumre and D-numbers (H-numbers are hospital-local and say nothing across hospitals).
"""

from __future__ import annotations

import csv
import string
from functools import lru_cache
from importlib import resources

import polars as pl

#: Columns of a comparison record (the input of the Splink model).
RECORD_COLUMNS = (
    "unique_id",
    "first_name",
    "first_token",
    "last_name",
    "last_prefix",
    "birth_date",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex",
    "municipality",
    "identifier",
    "identifier_head",
    "identifier_tail",
)


@lru_cache(maxsize=1)
def name_rules() -> tuple[tuple[str, str], ...]:
    """The literal replacements of ``data/name_rules.csv`` in application order."""
    text = resources.files("oncoreg.linkage").joinpath("data/name_rules.csv").read_text("utf-8")
    rows = sorted(csv.DictReader(text.splitlines()), key=lambda row: int(row["step"]))
    return tuple((row["pattern"], row["replacement"]) for row in rows)


def normalise_name(expr: pl.Expr) -> pl.Expr:
    """A Polars expression normalising a name column (see module docstring); empty results become null."""
    out = expr.str.to_lowercase().str.strip_chars()
    for pattern, replacement in name_rules():
        out = out.str.replace_all(pattern, replacement, literal=True)
    for letter in string.ascii_lowercase:
        out = out.str.replace_all(letter + letter, letter, literal=True)
    out = out.str.replace_all(r"[^a-z ]", "").str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(out.str.len_chars() > 0).then(out).otherwise(None)


def _normalised_names(values: pl.Series) -> pl.DataFrame:
    """``name, normalised`` for each distinct value (names repeat a lot: normalising each once is cheap)."""
    distinct = values.cast(pl.String).drop_nulls().unique().to_frame("name")
    return distinct.with_columns(normalise_name(pl.col("name")).alias("normalised"))


def comparison_records(
    frame: pl.DataFrame,
    *,
    unique_id: pl.Expr,
    first_name: str,
    last_name: str,
    birth_date: str,
    sex: str,
    municipality: str,
    identifier: pl.Expr,
) -> pl.DataFrame:
    """Records of :data:`RECORD_COLUMNS` from ``frame``; ``identifier`` must already exclude H-numbers.

    Names are normalised once per distinct spelling and joined back (same result as normalising every
    row)."""
    born = pl.col(birth_date).cast(pl.Date)
    ident = identifier.str.replace_all(r"[^0-9]", "")
    ident = pl.when(ident.str.len_chars() == 11).then(ident).otherwise(None)
    firsts = _normalised_names(frame[first_name])
    lasts = _normalised_names(frame[last_name])
    base = frame.select(
        unique_id.cast(pl.String).alias("unique_id"),
        pl.col(first_name).cast(pl.String).alias("_first"),
        pl.col(last_name).cast(pl.String).alias("_last"),
        born.alias("_born"),
        pl.col(sex).alias("_sex"),
        pl.col(municipality).cast(pl.String).alias("municipality"),
        ident.alias("identifier"),
    )
    named = base.join(
        firsts.rename({"name": "_first", "normalised": "first_name"}),
        on="_first",
        how="left",
        maintain_order="left",
    ).join(
        lasts.rename({"name": "_last", "normalised": "last_name"}),
        on="_last",
        how="left",
        maintain_order="left",
    )
    return named.select(
        "unique_id",
        "first_name",
        pl.col("first_name").str.split(" ").list.first().alias("first_token"),
        "last_name",
        pl.col("last_name").str.slice(0, 3).alias("last_prefix"),
        pl.col("_born").dt.to_string("%Y-%m-%d").alias("birth_date"),
        pl.col("_born").dt.year().cast(pl.Int32).alias("birth_year"),
        pl.col("_born").dt.month().cast(pl.Int32).alias("birth_month"),
        pl.col("_born").dt.day().cast(pl.Int32).alias("birth_day"),
        pl.when(pl.col("_sex").cast(pl.Int32).is_in([1, 2])).then(pl.col("_sex").cast(pl.Int32)).alias("sex"),
        "municipality",
        "identifier",
        pl.col("identifier").str.slice(0, 6).alias("identifier_head"),
        pl.col("identifier").str.slice(6, 5).alias("identifier_tail"),
    )
