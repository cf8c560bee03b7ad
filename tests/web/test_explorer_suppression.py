"""Secondary suppression in the explorer: no suppressed cell can be worked out from the shown cells along the
margins (both sexes = men + women; Norway = the sum of the counties), neither by one difference nor by any
combination of the margins' equations."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from oncoreg.web.explorer import explore
from oncoreg.web.explorer.query import Selection
from oncoreg.web.explorer.suppression import PRIMARY, SECONDARY, suppress

THRESHOLD = 5
MARGINS = (("_area", "period_index"), ("period_index", "sex"))
# (county, period) -> (men, women); Norway and "both sexes" are the sums
MEN_WOMEN = {
    ("03", 0): (40, 3),
    ("11", 0): (25, 30),
    ("46", 0): (12, 18),
    ("03", 1): (2, 50),
    ("11", 1): (20, 1),
    ("46", 1): (33, 27),
}


def _counties() -> pl.DataFrame:
    rows = []
    for (county, period), (men, women) in MEN_WOMEN.items():
        for sex, cases in ((1, men), (2, women), (0, men + women)):
            rows.append({"county": county, "period_index": period, "sex": sex, "cases": cases})
    return pl.DataFrame(rows)


def _national(counties: pl.DataFrame) -> pl.DataFrame:
    return counties.group_by("period_index", "sex").agg(pl.col("cases").sum()).sort("period_index", "sex")


def _cells() -> pl.DataFrame:
    counties = _counties()
    return pl.concat(
        [
            _national(counties).with_columns(pl.lit("").alias("_area")),
            counties.rename({"county": "_area"}),
        ],
        how="diagonal",
    ).select("_area", "period_index", "sex", "cases")


def _relations(frame: pl.DataFrame) -> list[tuple[int, list[int]]]:
    """Every additive relation as (total row, part rows)."""
    index = {
        (a, p, s): i for i, (a, p, s) in enumerate(frame.select("_area", "period_index", "sex").iter_rows())
    }
    areas = sorted({a for a, _, _ in index if a})
    relations = []
    for area, period in {(a, p) for a, p, _ in index}:
        relations.append((index[(area, period, 0)], [index[(area, period, 1)], index[(area, period, 2)]]))
    for period, sex in {(p, s) for _, p, s in index}:
        relations.append((index[("", period, sex)], [index[(a, period, sex)] for a in areas]))
    return relations


def _recoverable(frame: pl.DataFrame, hidden: list[bool]) -> list[int]:
    """Hidden rows whose value the shown cells and the margins' equations determine (linear algebra: the
    cell's unit vector lies in the row space of the equations restricted to the hidden cells)."""
    unknown = [i for i, h in enumerate(hidden) if h]
    if not unknown:
        return []
    column = {row: k for k, row in enumerate(unknown)}
    equations = []
    for total, parts in _relations(frame):
        coefficients = np.zeros(len(unknown))
        for row, sign in ((total, 1.0), *((p, -1.0) for p in parts)):
            if hidden[row]:
                coefficients[column[row]] += sign
        if coefficients.any():
            equations.append(coefficients)
    if not equations:
        return []
    system = np.array(equations)
    rank = np.linalg.matrix_rank(system)
    found = []
    for row in unknown:
        unit = np.zeros(len(unknown))
        unit[column[row]] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.append(row)
    return found


def test_hand_built_table_leaks_without_secondary_suppression() -> None:
    cells = _cells()
    primary_only = suppress(cells, threshold=THRESHOLD)
    assert primary_only[PRIMARY].sum() == 3  # 3 women in Oslo, 2 men in Oslo, 1 woman in Viken
    assert _recoverable(cells, primary_only["suppressed"].to_list())  # both sexes minus men gives women away


def test_no_suppressed_cell_can_be_recovered_along_the_margins() -> None:
    cells = _cells()
    out = suppress(cells, threshold=THRESHOLD, margins=MARGINS)
    hidden = out["suppressed"].to_list()
    assert out[SECONDARY].sum() > 0
    assert out.filter(pl.col("suppressed"))["cases"].null_count() == sum(hidden)  # blanked in the output
    # no relation has exactly one hidden cell: no single difference of shown cells gives one away
    for total, parts in _relations(cells):
        assert sum(hidden[r] for r in (total, *parts)) != 1
    # nor does any combination of the equations
    assert _recoverable(cells, hidden) == []
    # the primary cells stay suppressed, and every shown count is unchanged
    assert all(hidden[i] for i, p in enumerate(out[PRIMARY].to_list()) if p)
    for before, after, gone in zip(cells["cases"], out["cases"], hidden, strict=True):
        assert gone or before == after


def test_secondary_choice_is_the_smallest_shown_cell() -> None:
    # men 2 (primary), women 30, both 32: the complement of the sex relation is women (30 < 32)
    frame = pl.DataFrame(
        {"_area": ["x"] * 3, "period_index": [0] * 3, "sex": [0, 1, 2], "cases": [32, 2, 30]}
    )
    out = suppress(frame, threshold=THRESHOLD, margins=(("_area", "period_index"),))
    assert out[SECONDARY].to_list() == [False, False, True]


def _tables() -> dict[str, pl.DataFrame]:
    counties = _counties()
    extra = {
        "entity": 180,
        "label": "Breast",
        "standard": "world",
        "person_years": 1000.0,
        "crude_rate": 1.0,
        "asr": 1.0,
    }
    period_name = {0: "2015-2019", 1: "2020-2024"}

    def finish(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            *(pl.lit(v).alias(k) for k, v in extra.items()),
            pl.col("period_index").replace_strict(period_name, return_dtype=pl.String).alias("period"),
        )

    return {"incidence_period": finish(_national(counties)), "incidence_county_period": finish(counties)}


def test_researcher_selections_cannot_be_combined() -> None:
    """Every selection a researcher can make of the entity (sex, county, period) shows the cells of one
    suppressed whole table: together they never give a suppressed count away."""
    tables = _tables()
    shown: dict[tuple[str, int, int], int | None] = {}
    total_suppressed = 0
    for sex, region in itertools.product((0, 1, 2), ("", "03", "11", "46")):
        answer = explore(
            tables=tables,
            selection=Selection(measure="counts", entity=180, sex=sex, region=region),
            small_count_threshold=THRESHOLD,
        )
        total_suppressed += answer.suppressed
        for row in answer.rows.iter_rows(named=True):
            shown[(region, row["period"] == "2020-2024", sex)] = row["cases"]
    cells = _cells()
    keys = [(a, p, s) for a, p, s in cells.select("_area", "period_index", "sex").iter_rows()]
    hidden = [shown[key] is None for key in keys]
    assert sum(hidden) == total_suppressed > 3
    assert _recoverable(cells, hidden) == []


def test_page_says_why_cells_are_suppressed() -> None:
    answers = [
        explore(
            tables=_tables(),
            selection=Selection(measure="counts", entity=180, sex=sex, region=region),
            small_count_threshold=THRESHOLD,
        )
        for sex, region in itertools.product((0, 1, 2), ("", "03", "11", "46"))
    ]
    with_secondary = [a for a in answers if a.secondary]
    assert with_secondary
    for answer in with_secondary:
        assert answer.secondary <= answer.suppressed
        assert any("secondary suppression" in note for note in answer.notes)
    assert all(not a.notes for a in answers if not a.secondary)
