"""Data-quality indicator pages: MV%, DCO%, PSU%, age unknown %, M:I and timeliness from a
snapshot (:func:`oncoreg.checks.quality.quality_indicators`, computed with the explorer's cached
tables).

Rows per entity (with an all-sites row) or per county for one year of diagnosis (default: the
latest year with at least half the cases of the busiest, since the last year is still being
registered); the chart shows the all-sites MV%, DCO% and PSU% by year. For researchers, cells
with fewer cases than the small-count threshold are blanked (a few cases' indicators can identify
them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from oncoreg.errors import Problem, ValidationFailed

View = Literal["entity", "county"]
INDICATORS = ("mv_pct", "dco_pct", "psu_pct", "age_unknown_pct", "mi_ratio", "timeliness_median_days")
COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "Entity"),
    ("cases", "Cases"),
    ("mv_pct", "MV %"),
    ("dco_pct", "DCO %"),
    ("psu_pct", "PSU %"),
    ("age_unknown_pct", "Age unknown %"),
    ("mi_ratio", "M:I"),
    ("timeliness_median_days", "Median days to registration"),
)
_NAMES = {"mv_pct": "MV %", "dco_pct": "DCO %", "psu_pct": "PSU %"}


@dataclass(frozen=True)
class QualityAnswer:
    """One year's indicators per entity or county, the trend chart spec, and what was suppressed."""

    view: View
    period: str
    periods: list[str]
    rows: pl.DataFrame
    columns: tuple[tuple[str, str], ...]
    spec: dict[str, Any]
    suppressed: int
    threshold: int | None


def quality_view(
    *,
    tables: Mapping[str, pl.DataFrame],
    view: View = "entity",
    period: str = "",
    small_count_threshold: int | None = None,
) -> QualityAnswer:
    """The indicators of ``period`` (default: the latest year) by ``view``."""
    if view not in ("entity", "county"):
        raise ValidationFailed([Problem("view", str(view), "quality.view", "must be entity or county")])
    frame = tables[f"quality_{view}"]
    periods = sorted(str(p) for p in frame["period"].unique().drop_nulls())
    if not period:
        period = _default_period(tables["quality_entity"]) or (periods[-1] if periods else "")
    elif period not in periods:
        raise ValidationFailed(
            [Problem("period", period, "quality.period", f"must be one of {', '.join(periods)}")]
        )
    rows = frame.filter(pl.col("period") == period)
    rows = rows.sort(pl.col("entity").is_not_null(), "entity") if view == "entity" else rows.sort("label")
    suppressed = 0
    if small_count_threshold is not None and small_count_threshold > 1:
        small = (pl.col("cases") > 0) & (pl.col("cases") < small_count_threshold)
        rows = rows.with_columns(small.alias("suppressed")).with_columns(
            [
                pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("cases", *INDICATORS)
            ]
        )
        suppressed = int(rows["suppressed"].sum())
    columns = COLUMNS if view == "entity" else (("label", "County"), *COLUMNS[1:])
    trend = tables["quality_entity"].filter(pl.col("entity").is_null()).sort("period")
    long = trend.unpivot(index="period", on=list(_NAMES), variable_name="indicator", value_name="percent")
    long = long.with_columns(pl.col("indicator").replace_strict(_NAMES, return_dtype=pl.String))
    spec: dict[str, Any] = {
        "title": "All sites: microscopic verification, death certificate only, primary site unknown",
        "width": "container",
        "height": 260,
        "data": {"values": long.to_dicts()},
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "period", "type": "ordinal", "title": "Year of diagnosis"},
            "y": {"field": "percent", "type": "quantitative", "title": "% of cases"},
            "color": {"field": "indicator", "type": "nominal", "title": "Indicator"},
        },
    }
    return QualityAnswer(
        view=view,
        period=period,
        periods=periods,
        rows=rows.select([c for c, _ in columns]),
        columns=columns,
        spec=spec,
        suppressed=suppressed,
        threshold=small_count_threshold,
    )


def _default_period(by_entity: pl.DataFrame) -> str | None:
    """The latest year with at least half the cases of the busiest year (the last may be incomplete)."""
    totals = by_entity.filter(pl.col("entity").is_null() & pl.col("cases").is_not_null())
    if totals.height == 0:
        return None
    full = totals.filter(pl.col("cases") >= totals["cases"].max() / 2)  # type: ignore[operator]
    return str(full.sort("period")["period"][-1])


def display_rows(answer: QualityAnswer) -> list[list[str]]:
    """Rows as text: percentages with one decimal, M:I with two, days as whole numbers."""
    out = []
    for row in answer.rows.iter_rows(named=True):
        cells = []
        for name, _ in answer.columns:
            value = row[name]
            if value is None or (isinstance(value, float) and value != value):
                cells.append("·" if answer.suppressed and name != "label" else "")
            elif name == "mi_ratio":
                cells.append(f"{value:.2f}")
            elif name == "timeliness_median_days":
                cells.append(f"{value:.0f}")
            elif isinstance(value, float):
                cells.append(f"{value:.1f}")
            else:
                cells.append(str(value))
        out.append(cells)
    return out
