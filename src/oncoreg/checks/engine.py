"""Run the edit checks over a frame of tumours, summarise per tumour, apply reviewers' overrides.

``run_checks`` prepares the frame (:mod:`oncoreg.checks.inputs`), lets every rule family judge the rows it
can judge, keeps for each finding the rule version valid on the tumour's incidence date
(``valid_from <= incidence_date <= valid_to``; blank = open; a tumour without incidence date gets the open
version), and writes the message from the rule's template. The long result has one row per tumour and rule
judged: ``id, rule_id, rule_version, result, message`` with ``result`` one of ok < query < rare < invalid
(``message`` is null for ok).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from oncoreg.checks.combinations import combination_findings
from oncoreg.checks.dates import date_findings
from oncoreg.checks.histology_rules import (
    basis_histology_findings,
    grade_histology_findings,
    sex_icd10_findings,
)
from oncoreg.checks.inputs import prepare_tumours
from oncoreg.checks.rules import RESULT_LEVELS, result_rank, rule_catalogue
from oncoreg.checks.site_histology import site_histology_findings
from oncoreg.checks.validity import validity_findings, with_basis_version
from oncoreg.errors import Problem, ValidationFailed

__all__ = ["FINDING_COLUMNS", "apply_overrides", "run_checks", "summarise"]

FINDING_COLUMNS = ("id", "rule_id", "rule_version", "result", "message")
_EXTRA: dict[str, pl.DataType] = {"line": pl.String(), "allowed": pl.String(), "family": pl.String()}
_CASTS: dict[Any, pl.DataType] = {"_row": pl.UInt32(), "fired": pl.Boolean()}
_CASTS.update(_EXTRA)


def _placeholders(frame: pl.DataFrame, on: date) -> pl.DataFrame:
    """The values a message template may name, as text (``?`` when absent)."""
    morphology = (
        pl.when(pl.col("_hist").is_not_null() & pl.col("_beh_text").is_not_null())
        .then(pl.col("_hist").cast(pl.String) + "/" + pl.col("_beh_text"))
        .otherwise(pl.col("_morph_text"))
    )
    values = {
        "sex": pl.col("_sex_text"),
        "age": pl.col("_age_text"),
        "computed_age": pl.col("_computed_age"),
        "topography": pl.col("_top_shown"),
        "morphology": morphology,
        "behaviour": pl.col("_beh_text"),
        "grade": pl.col("_grade_text"),
        "basis": pl.col("_basis"),
        "basis_version": pl.col("_basis_version"),
        "birth_date": pl.col("_birth"),
        "incidence_date": pl.col("_incidence"),
        "death_date": pl.col("_death"),
        "on": pl.lit(on),
    }
    return frame.select(
        "_row",
        "_id",
        "_incidence",
        *(v.cast(pl.String).fill_null("?").alias(f"p_{k}") for k, v in values.items()),
    )


def _fill(template: pl.Expr, names: list[str]) -> pl.Expr:
    for name in names:
        template = template.str.replace_all("{" + name + "}", pl.col(f"p_{name}"), literal=True)
    return template


def run_checks(tumours: pl.DataFrame, *, on: date | None = None) -> pl.DataFrame:
    """Apply every edit-check rule to ``tumours`` (columns: see :mod:`oncoreg.checks.inputs`).

    ``on`` is the day of checking (default today): dates after it are invalid. Returns the long findings
    ``id, rule_id, rule_version, result, message``, ordered as the input rows, then by rule id. Raises
    :class:`~oncoreg.errors.ValidationFailed` for a missing column, an unreadable date or age.
    """
    day = on if on is not None else date.today()
    prepared = with_basis_version(prepare_tumours(tumours))
    catalogue = rule_catalogue()
    parts = [
        validity_findings(prepared),
        date_findings(prepared, on=day),
        combination_findings(prepared, catalogue),
        site_histology_findings(prepared),
        grade_histology_findings(prepared),
        basis_histology_findings(prepared),
        sex_icd10_findings(prepared),
    ]
    found = pl.concat(
        [
            part.with_columns(
                pl.lit(None, dtype).alias(name) for name, dtype in _EXTRA.items() if name not in part.columns
            )
            .select("_row", "rule_id", "fired", *_EXTRA)
            .cast(_CASTS)
            for part in parts
            if part.height > 0
        ]
    )
    values = _placeholders(prepared, day)
    names = [c.removeprefix("p_") for c in values.columns if c.startswith("p_")]
    rules = catalogue.select("rule_id", "version", "result", "message", "valid_from", "valid_to")
    joined = (
        found.join(prepared.select("_row", "_id", "_incidence"), on="_row", how="left")
        .join(rules, on="rule_id", how="inner")
        .filter(
            (pl.col("valid_from").is_null() | (pl.col("_incidence") >= pl.col("valid_from")).fill_null(True))
            & (pl.col("valid_to").is_null() | (pl.col("_incidence") <= pl.col("valid_to")).fill_null(False))
        )
    )
    fired = (
        joined.filter(pl.col("fired"))
        .join(values.drop("_id", "_incidence"), on="_row", how="left")
        .with_columns(
            pl.col("line").fill_null("?").alias("p_line"),
            pl.col("allowed").fill_null("?").alias("p_allowed"),
            pl.col("family").fill_null("?").alias("p_family"),
        )
        .select(
            "_row",
            "rule_id",
            "version",
            "result",
            _fill(pl.col("message"), [*names, "line", "allowed", "family"]).alias("message"),
            "_id",
        )
    )
    quiet = joined.filter(~pl.col("fired")).select(
        "_row",
        "rule_id",
        "version",
        pl.lit("ok").alias("result"),
        pl.lit(None, pl.String).alias("message"),
        "_id",
    )
    return (
        pl.concat([fired, quiet])
        .sort("_row", "rule_id")
        .select(
            pl.col("_id").alias("id"), "rule_id", pl.col("version").alias("rule_version"), "result", "message"
        )
    )


def summarise(findings: pl.DataFrame) -> pl.DataFrame:
    """One row per tumour: ``id``, ``result`` = worst of ok < query < rare < invalid, ``findings`` = every
    finding that is not ok as ``rule_id=result`` (sorted by rule id) joined by ``;`` (empty when all ok).
    Tumours keep their first-seen order."""
    worst = pl.lit(list(RESULT_LEVELS)).list.get(result_rank().max())
    listed = pl.format("{}={}", pl.col("rule_id"), pl.col("result")).filter(pl.col("result") != "ok")
    return (
        findings.sort("rule_id", maintain_order=True)
        .group_by("id", maintain_order=True)
        .agg(worst.alias("result"), listed.str.join(";").alias("findings"))
        .with_columns(pl.col("findings").fill_null(""))
        .join(findings.select("id").unique(maintain_order=True).with_row_index("_order"), on="id")
        .sort("_order")
        .drop("_order")
    )


def apply_overrides(findings: pl.DataFrame, overrides: pl.DataFrame) -> pl.DataFrame:
    """Turn reviewed ``query``/``rare`` findings into ``ok`` with the reviewer and reason.

    ``overrides`` has ``id, rule_id, reviewer, reason`` and optionally ``rule_version`` (then an override
    given for another version of the rule does not apply: the rule changed since it was reviewed). The
    result is ``findings`` with ``overridden_result, reviewer, reason`` added. An ``invalid`` finding cannot
    be overridden: such an override raises :class:`~oncoreg.errors.ValidationFailed` naming it; overrides
    of ``ok`` findings or of findings not present are ignored.
    """
    keys = ["id", "rule_id"] + (["rule_version"] if "rule_version" in overrides.columns else [])
    missing = [name for name in (*keys, "reviewer", "reason") if name not in overrides.columns]
    if missing:
        raise ValidationFailed(
            [
                Problem(field=name, value="", rule="override-columns", text="required column is missing")
                for name in missing
            ]
        )
    given = overrides.select(
        *(pl.col(k).cast(pl.String) for k in keys),
        pl.col("reviewer").alias("_reviewer"),
        pl.col("reason").alias("_reason"),
    ).unique(keys, keep="last")
    joined = findings.join(given, on=keys, how="left", maintain_order="left")
    refused = joined.filter(pl.col("_reviewer").is_not_null() & (pl.col("result") == "invalid"))
    if refused.height:
        raise ValidationFailed(
            [
                Problem(
                    field="rule_id",
                    value=rule_id,
                    rule="override-invalid",
                    text="an invalid result cannot be overridden (correct the data instead)",
                    row=row_id,
                )
                for row_id, rule_id in refused.select("id", "rule_id").iter_rows()
            ]
        )
    applies = pl.col("_reviewer").is_not_null() & pl.col("result").is_in(["query", "rare"])
    return joined.select(
        *(c for c in findings.columns if c not in ("result", "message")),
        pl.when(applies).then(pl.lit("ok")).otherwise(pl.col("result")).alias("result"),
        pl.when(applies)
        .then(
            pl.format("{} (overridden by {}: {})", pl.col("message"), pl.col("_reviewer"), pl.col("_reason"))
        )
        .otherwise(pl.col("message"))
        .alias("message"),
        pl.when(applies).then(pl.col("result")).alias("overridden_result"),
        pl.when(applies).then(pl.col("_reviewer")).alias("reviewer"),
        pl.when(applies).then(pl.col("_reason")).alias("reason"),
    ).select(
        *FINDING_COLUMNS,
        *(c for c in findings.columns if c not in FINDING_COLUMNS),
        "overridden_result",
        "reviewer",
        "reason",
    )
