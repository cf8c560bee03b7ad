"""Deterministic linkage: a valid identifier that a known person holds links, unless the rest contradicts it.

Method: the distinct given identifiers are classified once each, vectorised
(:func:`oncoreg.registry.identifiers.classify_identifier_frame`, equal to ``classify_identifier``: fnr,
D-number, H-number or invalid, by the mod-11 check digits of reference/norway.md §4.1) and joined back. A
valid identifier that exactly one known person holds (as fnr/dnr, or as an H-number remembered from earlier
linkage) is a candidate link. The contradiction rules of ``data/contradiction_rules.csv`` (e.g. birth date
differs and last-name Jaro–Winkler < 0.80, Winkler 1990) then decide: a contradicted candidate becomes a
review task, any other becomes a deterministic link. Everything else goes on to the probabilistic step.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import duckdb
import polars as pl

from oncoreg.linkage.records import normalise_name
from oncoreg.registry.identifiers import classify_identifier_frame


@dataclass(frozen=True)
class ContradictionRule:
    """One row of ``contradiction_rules.csv``; a ``None`` condition is not part of the rule."""

    rule_id: str
    version: int
    birth_date_differs: bool | None
    last_name_jw_below: float | None
    first_name_jw_below: float | None
    sex_differs: bool | None
    description: str


def _flag(text: str) -> bool | None:
    return None if text == "" else text == "true"


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


@lru_cache(maxsize=1)
def contradiction_rules() -> tuple[ContradictionRule, ...]:
    """The packaged contradiction rules."""
    text = resources.files("oncoreg.linkage").joinpath("data/contradiction_rules.csv").read_text("utf-8")
    return tuple(
        ContradictionRule(
            rule_id=row["rule_id"],
            version=int(row["version"]),
            birth_date_differs=_flag(row["birth_date_differs"]),
            last_name_jw_below=_number(row["last_name_jw_below"]),
            first_name_jw_below=_number(row["first_name_jw_below"]),
            sex_differs=_flag(row["sex_differs"]),
            description=row["description"],
        )
        for row in csv.DictReader(text.splitlines())
    )


def classify_identifiers(values: pl.Series, *, as_of: date | None = None) -> pl.DataFrame:
    """``given_identifier, identifier, identifier_type, identifier_valid`` for each distinct value.

    ``identifier`` is the cleaned 11-digit string (separators removed) or null when the value is not 11
    digits; ``identifier_type`` is fnr, dnr, hnr or invalid. Vectorised
    (:func:`oncoreg.registry.identifiers.classify_identifier_frame`, equal to the scalar classifier).
    """
    classified = classify_identifier_frame(values, as_of=as_of)
    return classified.select("given_identifier", "identifier", "identifier_type", "identifier_valid")


def _rule_condition(rule: ContradictionRule) -> str:
    parts = []
    if rule.birth_date_differs is not None:
        parts.append(("" if rule.birth_date_differs else "NOT ") + "coalesce(n_birth <> p_birth, false)")
    if rule.sex_differs is not None:
        parts.append(("" if rule.sex_differs else "NOT ") + "coalesce(n_sex <> p_sex, false)")
    if rule.last_name_jw_below is not None:
        parts.append(f"coalesce(jaro_winkler_similarity(n_last, p_last), 1.0) < {rule.last_name_jw_below!r}")
    if rule.first_name_jw_below is not None:
        parts.append(
            f"coalesce(jaro_winkler_similarity(n_first, p_first), 1.0) < {rule.first_name_jw_below!r}"
        )
    return " AND ".join(parts) if parts else "false"


def _could_fire(rule: ContradictionRule) -> pl.Expr:
    """Whether ``rule``'s birth-date and sex conditions hold (its name conditions aside), with the SQL's
    semantics: a missing value never differs."""
    parts = [pl.lit(True)]
    if rule.birth_date_differs is not None:
        differs = (pl.col("given_birth_date") != pl.col("birth_date")).fill_null(False)
        parts.append(differs if rule.birth_date_differs else ~differs)
    if rule.sex_differs is not None:
        differs = (pl.col("given_sex").cast(pl.Int32) != pl.col("sex").cast(pl.Int32)).fill_null(False)
        parts.append(differs if rule.sex_differs else ~differs)
    if all(
        condition is None
        for condition in (
            rule.birth_date_differs,
            rule.sex_differs,
            rule.last_name_jw_below,
            rule.first_name_jw_below,
        )
    ):
        return pl.lit(False)  # a rule without conditions never fires (``_rule_condition``)
    return pl.all_horizontal(parts)


def _normalised_columns(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """``frame``'s ``columns`` (source: alias) normalised by ``normalise_name``, each distinct name once
    (names repeat a lot; the normalisation's dozens of string passes are the cost)."""
    names = pl.concat([frame[source].cast(pl.String) for source in columns]).drop_nulls().unique()
    mapping = names.to_frame("name").with_columns(normalise_name(pl.col("name")).alias("normalised"))
    return frame.select(
        pl.col(source)
        .cast(pl.String)
        .replace_strict(mapping["name"], mapping["normalised"], default=None, return_dtype=pl.String)
        .alias(alias)
        for source, alias in columns.items()
    )


def contradictions(
    pairs: pl.DataFrame, *, rules: tuple[ContradictionRule, ...] | None = None
) -> pl.DataFrame:
    """Add ``contradiction`` (the first firing rule's id, or null) to candidate pairs.

    ``pairs`` holds ``given_first_name, given_last_name, given_birth_date, given_sex`` (notification) and
    ``first_name, last_name, birth_date, sex`` (person). Names are compared after normalisation; a missing
    value never contradicts. Only the pairs whose birth date and sex meet some rule's conditions (few: most
    candidates agree on both) have their names normalised and compared in DuckDB; the others cannot be
    contradicted.
    """
    active = rules if rules is not None else contradiction_rules()
    possible = pl.any_horizontal([pl.lit(False), *(_could_fire(rule) for rule in active)])
    mask = pairs.select(possible.alias("possible")).to_series()
    rows = mask.arg_true()
    if rows.len() == 0:
        return pairs.with_columns(pl.lit(None, dtype=pl.String).alias("contradiction"))
    subset = pairs.filter(mask)
    names = _normalised_columns(
        subset,
        {
            "given_first_name": "n_first",
            "given_last_name": "n_last",
            "first_name": "p_first",
            "last_name": "p_last",
        },
    )
    view = pl.DataFrame({"_row": rows}).with_columns(
        names["n_first"],
        names["n_last"],
        subset["given_birth_date"].alias("n_birth"),
        subset["given_sex"].cast(pl.Int32).alias("n_sex"),
        names["p_first"],
        names["p_last"],
        subset["birth_date"].alias("p_birth"),
        subset["sex"].cast(pl.Int32).alias("p_sex"),
    )
    cases = " ".join(f"WHEN {_rule_condition(rule)} THEN '{rule.rule_id}'" for rule in active)
    sql = f"SELECT _row, CASE {cases} ELSE NULL END AS contradiction FROM view ORDER BY _row"
    connection = duckdb.connect()
    try:
        connection.register("view", view.to_arrow())
        fired = pl.from_arrow(connection.sql(sql).to_arrow_table())
    finally:
        connection.close()
    assert isinstance(fired, pl.DataFrame)
    column = (
        pl.repeat(None, pairs.height, dtype=pl.String, eager=True)
        .alias("contradiction")
        .scatter(fired["_row"], fired["contradiction"].cast(pl.String))
    )
    return pairs.with_columns(column)
