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


def contradictions(
    pairs: pl.DataFrame, *, rules: tuple[ContradictionRule, ...] | None = None
) -> pl.DataFrame:
    """Add ``contradiction`` (the first firing rule's id, or null) to candidate pairs.

    ``pairs`` holds ``given_first_name, given_last_name, given_birth_date, given_sex`` (notification) and
    ``first_name, last_name, birth_date, sex`` (person). Names are compared after normalisation; a missing
    value never contradicts.
    """
    active = rules if rules is not None else contradiction_rules()
    view = pairs.with_row_index("_row").select(
        "_row",
        normalise_name(pl.col("given_first_name")).alias("n_first"),
        normalise_name(pl.col("given_last_name")).alias("n_last"),
        pl.col("given_birth_date").alias("n_birth"),
        pl.col("given_sex").cast(pl.Int32).alias("n_sex"),
        normalise_name(pl.col("first_name")).alias("p_first"),
        normalise_name(pl.col("last_name")).alias("p_last"),
        pl.col("birth_date").alias("p_birth"),
        pl.col("sex").cast(pl.Int32).alias("p_sex"),
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
    return pairs.with_columns(fired["contradiction"].cast(pl.String).alias("contradiction"))
