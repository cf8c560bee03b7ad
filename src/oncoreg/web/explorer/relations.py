"""Suppression of the incidence counts over the whole snapshot, across every table a researcher can open.

A researcher sees new cases by entity, sex, period and county (``incidence_period``,
``incidence_county_period``) and by entity, sex and year (``incidence_year``). These cells are tied by
additive relations, and a suppressed cell that is the only suppressed one of a relation can be worked out
as a difference. All four kinds are protected together:

1. **sex**: both sexes = men + women, in every (entity, area, period or year);
2. **area**: Norway = the sum of the counties, in every (entity, period, sex);
3. **time**: a period = the sum of its years, in every (entity, sex) for Norway (the years come from
   ``incidence_year``);
4. **entity**: a grouped entity = the sum of the entities it is made of, e.g. all sites = the sum of the
   detailed sites, colorectal = colon + rectum, in every (area, period or year, sex). A candidate partition
   comes from NORDCAN's entity definitions (:func:`oncoreg.codes.entities.entity_members`) and is used only
   when the snapshot's counts satisfy it exactly in every cell, because only then can a difference give a
   cell away (NORDCAN's morphology exceptions move some tumours between entities).

Suppression is decided once per snapshot on every entity's cells (:func:`protect_incidence`), then applied
to whichever table a selection shows, so that no combination of selections undoes it. Counts are the same
under every standard population, so the cells are taken from one standard and the decision applies to all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import polars as pl

from oncoreg.codes.entities import entity_members
from oncoreg.errors import CodeError
from oncoreg.web.explorer import suppression

#: Key columns of the joint cell frame: entity, area ("" Norway, else county), time ("p<i>" or "y<year>").
KEYS = ("entity", "_area", "_time", "sex")
PERIOD_TABLES = ("incidence_period", "incidence_county_period")


def _one_standard(frame: pl.DataFrame) -> pl.DataFrame:
    if "standard" not in frame.columns or frame.height == 0:
        return frame
    return frame.filter(pl.col("standard") == frame["standard"].min())


def incidence_cells(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Every incidence count cell a researcher can open: :data:`KEYS`, ``cases`` and ``_period``, the index
    of the period a Norway cell belongs to (its own for a period cell, the period holding the year for a
    year cell; null for counties)."""
    parts: list[pl.DataFrame] = []
    period = _one_standard(tables["incidence_period"])
    parts.append(
        period.select(
            pl.col("entity").cast(pl.Int32),
            pl.lit("").alias("_area"),
            pl.format("p{}", pl.col("period_index")).alias("_time"),
            pl.col("sex").cast(pl.Int8),
            pl.col("cases").cast(pl.Int64),
            pl.col("period_index").cast(pl.Int32).alias("_period"),
        )
    )
    county = tables.get("incidence_county_period")
    if county is not None:
        parts.append(
            _one_standard(county).select(
                pl.col("entity").cast(pl.Int32),
                pl.col("county").cast(pl.String).alias("_area"),
                pl.format("p{}", pl.col("period_index")).alias("_time"),
                pl.col("sex").cast(pl.Int8),
                pl.col("cases").cast(pl.Int64),
                pl.lit(None, pl.Int32).alias("_period"),
            )
        )
    year = tables.get("incidence_year")
    if year is not None:
        spans = period.select(
            pl.col("period_index").cast(pl.Int32).alias("_period"),
            pl.col("period_start").cast(pl.Int32),
            pl.col("period_end").cast(pl.Int32),
        ).unique()
        years = _one_standard(year).select(
            pl.col("entity").cast(pl.Int32),
            pl.lit("").alias("_area"),
            pl.format("y{}", pl.col("year")).alias("_time"),
            pl.col("sex").cast(pl.Int8),
            pl.col("cases").cast(pl.Int64),
            pl.col("year").cast(pl.Int32).alias("_year"),
        )
        placed = (
            years.join(spans, how="cross")
            .filter(pl.col("_year").is_between(pl.col("period_start"), pl.col("period_end")))
            .unique(list(KEYS), keep="first", maintain_order=True)
            .select(*KEYS, "cases", "_period")
        )
        # years outside every period: sex relations only
        rest = years.join(placed.select(KEYS), on=list(KEYS), how="anti").select(
            *KEYS, "cases", pl.lit(None, pl.Int32).alias("_period")
        )
        parts.extend([placed, rest])
    return pl.concat(parts, how="vertical_relaxed").with_row_index("_row")


def _members(entity: int) -> frozenset[int]:
    try:
        return frozenset(entity_members(entity))
    except CodeError:
        return frozenset()


def entity_partitions(cells: pl.DataFrame) -> list[tuple[int, tuple[int, ...]]]:
    """(grouped entity, its parts) for every partition the counts satisfy exactly in every cell.

    Candidates per grouped entity: its detailed (level 30) members present in the snapshot, and the largest
    present entities strictly inside it when they are disjoint and cover it."""
    present = sorted(int(e) for e in cells["entity"].unique().to_list())
    members = {e: _members(e) for e in present}
    candidates: set[tuple[int, tuple[int, ...]]] = set()
    for total in present:
        inside = [e for e in present if e != total and members[e] and members[e] < members[total]]
        if not inside:
            continue
        detailed = tuple(e for e in inside if members[e] == frozenset({e}))
        if detailed:
            candidates.add((total, detailed))
        largest = [e for e in inside if not any(members[e] < members[o] for o in inside if o != e)]
        disjoint = all(not (members[a] & members[b]) for a, b in combinations(largest, 2))
        covered = frozenset().union(*(members[e] for e in largest))
        if disjoint and len(largest) > 1 and covered == members[total]:
            candidates.add((total, tuple(sorted(largest))))
    place = cells.select("_area", "_time", "sex").unique()
    found = []
    for total, parts in sorted(candidates):
        total_cells = cells.filter(pl.col("entity") == total).select("_area", "_time", "sex", "cases")
        sums = (
            cells.filter(pl.col("entity").is_in(parts))
            .group_by("_area", "_time", "sex")
            .agg(pl.col("cases").sum().alias("parts"))
        )
        both = (
            place.join(total_cells, on=["_area", "_time", "sex"], how="left")
            .join(sums, on=["_area", "_time", "sex"], how="left")
            .with_columns(pl.col("cases").fill_null(0), pl.col("parts").fill_null(0))
        )
        if both.height and (both["cases"] == both["parts"]).all():
            found.append((total, parts))
    return found


def _groups(frame: pl.DataFrame, keys: Sequence[str]) -> list[list[int]]:
    grouped = frame.group_by(list(keys), maintain_order=True).agg("_row")
    return [rows for rows in grouped["_row"].to_list() if len(rows) > 1]


def relations(cells: pl.DataFrame) -> list[list[int]]:
    """The additive relations among ``cells`` (row indices of each), of the four kinds of the module."""
    groups = _groups(cells, ("entity", "_area", "_time"))  # sex
    groups += _groups(cells.filter(pl.col("_time").str.starts_with("p")), ("entity", "_time", "sex"))  # area
    national = cells.filter((pl.col("_area") == "") & pl.col("_period").is_not_null())
    groups += _groups(national, ("entity", "sex", "_period"))  # a period and its years
    for total, parts in entity_partitions(cells):
        chosen = cells.filter(pl.col("entity").is_in([total, *parts]))
        groups += _groups(chosen, ("_area", "_time", "sex"))
    return groups


def protect_incidence(tables: Mapping[str, pl.DataFrame], *, threshold: int) -> pl.DataFrame:
    """The joint cells with :data:`~.suppression.PRIMARY`, :data:`~.suppression.SECONDARY` and
    ``suppressed`` decided over every relation of the snapshot."""
    cells = incidence_cells(tables)
    marked = suppression.mark_primary(cells.drop("_row"), threshold=threshold)
    marked = suppression.mark_secondary(marked, margins=(), groups=relations(cells))
    either = pl.col(suppression.PRIMARY) | pl.col(suppression.SECONDARY)
    return marked.with_columns(either.alias("suppressed"))


def apply(frame: pl.DataFrame, protected: pl.DataFrame, *, area: pl.Expr, time: pl.Expr) -> pl.DataFrame:
    """``frame`` (one incidence table, any standards) with the joint decision joined on and its counts and
    derived values blanked; ``area`` and ``time`` compute the frame's :data:`KEYS` values."""
    flags = protected.select(*KEYS, suppression.PRIMARY, suppression.SECONDARY)
    keyed = frame.with_columns(
        pl.col("entity").cast(pl.Int32).alias("_entity"),
        area.alias("_area"),
        time.alias("_time"),
        pl.col("sex").cast(pl.Int8).alias("_sex"),
    )
    joined = keyed.join(
        flags.rename({"entity": "_entity", "sex": "_sex"}),
        on=["_entity", "_area", "_time", "_sex"],
        how="left",
    ).with_columns(pl.col(suppression.PRIMARY, suppression.SECONDARY).fill_null(False))
    return suppression.blank(joined).drop("_entity", "_area", "_time", "_sex", suppression.PRIMARY)
