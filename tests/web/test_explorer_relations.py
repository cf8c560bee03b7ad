"""Suppression across the explorer's tables: a period is the sum of its years, colorectal is colon + rectum.

The tables are built here from hand-made tumour counts, and the test writes down every additive relation
between the cells itself (sex, county, period/years, entity), independently of
:mod:`oncoreg.web.explorer.relations`. Whatever a researcher can open (counts by period and county, trends
by year, for every entity and sex) must leave no suppressed count determined by the shown ones, by any
combination of the relations (linear algebra)."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from oncoreg.web.explorer import explore
from oncoreg.web.explorer.query import Selection
from oncoreg.web.explorer.relations import entity_partitions, incidence_cells
from oncoreg.web.explorer.suppression import PRIMARY, mark_primary, mark_secondary

THRESHOLD = 5
COLON, RECTUM, COLORECTAL = 90, 100, 520
COUNTIES = ("03", "11")
YEARS = tuple(range(2015, 2025))
PERIODS = {0: (2015, 2019), 1: (2020, 2024)}
LABELS = {COLON: "Colon", RECTUM: "Rectum", COLORECTAL: "Colorectal"}

Key = tuple[int, str, str, int]  # entity, area ("" Norway), time ("p0" / "y2015"), sex


def _tumours() -> pl.DataFrame:
    """Counts of the detailed entities by county, year and sex: mostly large, some small."""
    rng = np.random.default_rng(7)
    rows = []
    for entity, county, year, sex in itertools.product((COLON, RECTUM), COUNTIES, YEARS, (1, 2)):
        cases = int(rng.integers(0, 4)) if (entity == RECTUM and county == "11") else int(rng.integers(6, 40))
        rows.append({"entity": entity, "county": county, "year": year, "sex": sex, "cases": cases})
    detailed = pl.DataFrame(rows)
    grouped = detailed.with_columns(pl.lit(COLORECTAL, pl.Int64).alias("entity"))
    both = (
        pl.concat([detailed, grouped]).group_by("entity", "county", "year", "sex").agg(pl.col("cases").sum())
    )
    all_sexes = (
        both.group_by("entity", "county", "year")
        .agg(pl.col("cases").sum())
        .with_columns(pl.lit(0, pl.Int64).alias("sex"))
    )
    return pl.concat([both, all_sexes.select(both.columns)])


def _period_of(year: pl.Expr) -> pl.Expr:
    return pl.when(year <= PERIODS[0][1]).then(0).otherwise(1)


def _tables() -> dict[str, pl.DataFrame]:
    tumours = _tumours()

    def finish(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.col("entity").replace_strict(LABELS, return_dtype=pl.String).alias("label"),
            pl.lit("world").alias("standard"),
            pl.lit(1000.0).alias("person_years"),
            pl.lit(1.0).alias("crude_rate"),
            pl.lit(1.0).alias("asr"),
            pl.lit(0.9).alias("asr_lower"),
            pl.lit(1.1).alias("asr_upper"),
        )

    by_period = tumours.with_columns(_period_of(pl.col("year")).alias("period_index"))
    spans = pl.DataFrame(
        {
            "period_index": list(PERIODS),
            "period": [f"{a}-{b}" for a, b in PERIODS.values()],
            "period_start": [a for a, _ in PERIODS.values()],
            "period_end": [b for _, b in PERIODS.values()],
        }
    )
    county = by_period.group_by("entity", "county", "period_index", "sex").agg(pl.col("cases").sum())
    national = county.group_by("entity", "period_index", "sex").agg(pl.col("cases").sum())
    years = tumours.group_by("entity", "year", "sex").agg(pl.col("cases").sum())
    return {
        "incidence_period": finish(national.join(spans, on="period_index")),
        "incidence_county_period": finish(county.join(spans, on="period_index")),
        "incidence_year": finish(years),
    }


def _cells() -> dict[Key, int]:
    tables = _tables()
    cells: dict[Key, int] = {}
    for row in tables["incidence_period"].iter_rows(named=True):
        cells[(row["entity"], "", f"p{row['period_index']}", row["sex"])] = row["cases"]
    for row in tables["incidence_county_period"].iter_rows(named=True):
        cells[(row["entity"], row["county"], f"p{row['period_index']}", row["sex"])] = row["cases"]
    for row in tables["incidence_year"].iter_rows(named=True):
        cells[(row["entity"], "", f"y{row['year']}", row["sex"])] = row["cases"]
    return cells


def _equations(cells: dict[Key, int]) -> list[tuple[Key, list[Key]]]:
    """Every relation as (total, parts), written down from how the tables were built."""
    out: list[tuple[Key, list[Key]]] = []
    entities = (COLON, RECTUM, COLORECTAL)
    times = [f"p{p}" for p in PERIODS] + [f"y{y}" for y in YEARS]
    for entity, time in itertools.product(entities, times):
        areas = ("", *COUNTIES) if time.startswith("p") else ("",)
        for area in areas:
            out.append(((entity, area, time, 0), [(entity, area, time, 1), (entity, area, time, 2)]))
    for entity, period, sex in itertools.product(entities, PERIODS, (0, 1, 2)):
        out.append(((entity, "", f"p{period}", sex), [(entity, c, f"p{period}", sex) for c in COUNTIES]))
        first, last = PERIODS[period]
        years = [(entity, "", f"y{y}", sex) for y in range(first, last + 1)]
        out.append(((entity, "", f"p{period}", sex), years))
    for key in cells:
        if key[0] == COLORECTAL:
            out.append((key, [(COLON, *key[1:]), (RECTUM, *key[1:])]))
    for total, parts in out:  # the relations hold
        assert cells[total] == sum(cells[p] for p in parts)
    return out


def _recoverable(cells: dict[Key, int], hidden: set[Key]) -> list[Key]:
    unknown = sorted(hidden)
    column = {key: i for i, key in enumerate(unknown)}
    rows = []
    for total, parts in _equations(cells):
        coefficients = np.zeros(len(unknown))
        for key, sign in ((total, 1.0), *((p, -1.0) for p in parts)):
            if key in column:
                coefficients[column[key]] += sign
        if coefficients.any():
            rows.append(coefficients)
    if not rows:
        return list(unknown)
    system = np.array(rows)
    rank = np.linalg.matrix_rank(system)
    found = []
    for key in unknown:
        unit = np.zeros(len(unknown))
        unit[column[key]] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.append(key)
    return found


def _shown_by_explorer() -> dict[Key, int | None]:
    tables = _tables()
    shown: dict[Key, int | None] = {}
    for entity, sex in itertools.product((COLON, RECTUM, COLORECTAL), (0, 1, 2)):
        for region in ("", *COUNTIES):
            answer = explore(
                tables=tables,
                selection=Selection(measure="counts", entity=entity, sex=sex, region=region),
                small_count_threshold=THRESHOLD,
            )
            for row in answer.rows.iter_rows(named=True):
                period = 0 if row["period"] == "2015-2019" else 1
                shown[(entity, region, f"p{period}", sex)] = row["cases"]
        answer = explore(
            tables=tables,
            selection=Selection(measure="trends", entity=entity, sex=sex),
            small_count_threshold=THRESHOLD,
        )
        for row in answer.rows.iter_rows(named=True):
            shown[(entity, "", f"y{row['year']}", sex)] = row["cases"]
    return shown


def test_the_partition_colorectal_is_found_from_the_counts() -> None:
    assert entity_partitions(incidence_cells(_tables())) == [(COLORECTAL, (COLON, RECTUM))]


def test_a_partition_the_counts_do_not_satisfy_is_not_used() -> None:
    tables = _tables()
    tables["incidence_period"] = tables["incidence_period"].with_columns(
        pl.when((pl.col("entity") == COLORECTAL) & (pl.col("sex") == 1))
        .then(pl.col("cases") + 1)
        .otherwise(pl.col("cases"))
        .alias("cases")
    )
    assert entity_partitions(incidence_cells(tables)) == []


def test_older_margins_alone_leak_through_years_and_sites() -> None:
    """Sex and county margins only (as before): a period total minus its years, or colorectal minus colon,
    gives a suppressed count away. This is what the joint suppression prevents."""
    cells = _cells()
    frame = incidence_cells(_tables())
    marked = mark_primary(frame.drop("_row"), threshold=THRESHOLD)
    old = mark_secondary(
        marked, margins=(("entity", "_area", "_time"), ("entity", "_time", "sex")), groups=()
    )
    hidden = {
        (e, a, t, s)
        for e, a, t, s, p, q in old.select(
            "entity", "_area", "_time", "sex", PRIMARY, "suppressed_secondary"
        ).iter_rows()
        if p or q
    }
    assert hidden
    assert _recoverable(cells, hidden)


def test_no_combination_of_researcher_selections_gives_a_suppressed_count_away() -> None:
    cells = _cells()
    shown = _shown_by_explorer()
    assert set(shown) == set(cells)  # every cell can be opened
    hidden = {key for key, value in shown.items() if value is None}
    small = {key for key, value in cells.items() if 0 < value < THRESHOLD}
    assert small <= hidden  # every small count is suppressed
    assert len(hidden) > len(small)  # with complements
    assert _recoverable(cells, hidden) == []
    for key, value in shown.items():  # what is shown is the true count
        assert value is None or value == cells[key]
