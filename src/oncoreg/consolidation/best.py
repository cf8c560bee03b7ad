"""Best information per tumour field (DESIGN §6 "Best information"; rules in ``data/best_information.csv``).

Each rule sorts a tumour's notifications by its keys and takes the first row that has a value; the chosen
notification is the field's provenance. Keys: ``known`` (value present and not an unknown code),
``source:<set>`` (``data/source_ranks.csv``), ``specific`` (morphology outside the non-specific groups 5, 14,
17), ``value_desc`` (numerically highest code: IARC/IACR 2004 rule 4.2), ``subsite_known`` (4th character
not 9), ``basis_rank`` (``oncoreg.codes.basis`` validity rank, ENCR), ``earliest``, ``id``.
"""

from __future__ import annotations

import polars as pl

from oncoreg.consolidation.features import source_rank
from oncoreg.consolidation.rules import FieldRule, field_rules

__all__ = ["best_fields"]

_UNKNOWN: dict[str, list[str]] = {
    "laterality": ["U"],
    "summary_stage": ["unknown"],
    "topography": [],
    "morphology": [],
}


def _known(rule: FieldRule) -> pl.Expr:
    first = rule.columns[0]
    known = pl.any_horizontal([pl.col(c).is_not_null() for c in rule.columns])
    if first == "grade":
        known = known & (pl.col("grade") != 9)
    if first == "behaviour":
        known = known & pl.col("behaviour").is_in([0, 1, 2, 3])
    if first == "basis":
        known = known & (pl.col("basis") != 9)
    unknown = _UNKNOWN.get(first, [])
    if unknown:
        known = known & ~pl.col(first).is_in(unknown)
    return known


def _key(name: str, rule: FieldRule) -> tuple[pl.Expr, bool]:
    """(sort expression, descending) for one key of a rule."""
    first = pl.col(rule.columns[0])
    if name == "known":
        return _known(rule), True
    if name.startswith("source:"):
        return source_rank(name.split(":", 1)[1]), False
    if name == "specific":
        return ~pl.col("non_specific").fill_null(True), True
    if name == "value_desc":
        return first, True
    if name == "subsite_known":
        return ~first.fill_null("").str.ends_with("9"), True
    if name == "basis_rank":
        return pl.col("basis_rank").fill_null(-1), True
    if name == "earliest":
        return pl.col("first_date"), False
    if name == "id":
        return pl.col("notification_id"), False
    raise ValueError(f"unknown best-information key {name!r} in rule {rule.rule_id}")


def best_fields(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(fields, provenance)`` for the tumour-describing notifications ``rows`` (with ``tumour_id``).

    ``fields`` has one row per tumour and every rule's columns; ``provenance`` one row per tumour and field
    with a value: ``tumour_id, field, notification_id, rule``.
    """
    tumours = rows.select("tumour_id").unique().sort("tumour_id")
    provenance = []
    for rule in field_rules():
        keys = [_key(name, rule) for name in rule.order]
        chosen = (
            rows.filter(_known(rule))
            .sort(
                [pl.col("tumour_id"), *[expr for expr, _ in keys]],
                descending=[False, *[desc for _, desc in keys]],
                nulls_last=True,
            )
            .unique("tumour_id", keep="first", maintain_order=True)
        )
        tumours = tumours.join(chosen.select("tumour_id", *rule.columns), on="tumour_id", how="left")
        provenance.append(
            chosen.select(
                "tumour_id",
                pl.lit(rule.field).alias("field"),
                "notification_id",
                pl.lit(f"{rule.rule_id}.v{rule.version}").alias("rule"),
            )
        )
    return tumours, pl.concat(provenance)
