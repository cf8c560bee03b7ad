"""Review tasks: what the rules could not settle (DESIGN §2 "never a silent guess", §6 conflicts).

A task is ``kind, subject_type, subject_id, reason, details`` (``details`` a JSON text with the values and
the notifications behind them), shaped for ``oncoreg.registry`` ``ReviewTaskCreate``.
"""

from __future__ import annotations

import polars as pl

__all__ = ["REVIEW_TASKS", "disagreement_tasks", "empty_review_tasks", "tumour_tasks"]

REVIEW_TASKS: dict[str, pl.DataType | type[pl.DataType]] = {
    "kind": pl.String,
    "subject_type": pl.String,
    "subject_id": pl.Int64,
    "reason": pl.String,
    "details": pl.String,
}


def empty_review_tasks() -> pl.DataFrame:
    """An empty review-task frame."""
    return pl.DataFrame(schema=REVIEW_TASKS)


def tumour_tasks(frame: pl.DataFrame, *, kind: str, reason: pl.Expr, details: list[str]) -> pl.DataFrame:
    """Tasks about tumours: one per row of ``frame`` (which has ``tumour_id`` and the ``details`` columns)."""
    return frame.select(
        pl.lit(kind).alias("kind"),
        pl.lit("tumour").alias("subject_type"),
        pl.col("tumour_id").cast(pl.Int64).alias("subject_id"),
        reason.alias("reason"),
        pl.struct(details).struct.json_encode().alias("details"),
    )


def disagreement_tasks(
    rows: pl.DataFrame, *, column: str, kind: str, where: pl.Expr | None = None
) -> pl.DataFrame:
    """A task for every tumour whose notifications (``rows``, filtered by ``where``) hold more than one
    distinct non-null ``column`` value; details list the values and the notifications."""
    subset = rows.filter(pl.col(column).is_not_null())
    if where is not None:
        subset = subset.filter(where)
    grouped = (
        subset.sort("notification_id")
        .group_by("tumour_id")
        .agg(
            pl.col(column).unique(maintain_order=True).alias("values"),
            pl.col("notification_id").alias("notifications"),
        )
        .filter(pl.col("values").list.len() > 1)
        .sort("tumour_id")
    )
    reason = pl.format(
        "notifications disagree on {}: {}",
        pl.lit(column),
        pl.col("values").cast(pl.List(pl.String)).list.join(" vs "),
    )
    return tumour_tasks(grouped, kind=kind, reason=reason, details=["values", "notifications"])
