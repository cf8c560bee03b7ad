"""Small-count suppression for researchers: primary (small counts) and secondary (complementary) cells.

*Primary*: a count in ``1 .. threshold-1`` is blanked. *Secondary*: a table's margins are additive
relations, e.g. "both sexes" = men + women in every (county, period), and Norway = the sum of the counties
in every (period, sex). A relation with exactly one blanked cell gives that cell away (total minus the
shown parts), so the smallest shown cell of such a relation is blanked too, and this repeats until every
relation has none or at least two blanked cells (Cox 1980, "Suppression methodology and statistical
disclosure control", JASA 75:377; the "hypercube-free" heuristic of most registries' table tools).

The suppression is computed on the whole table of an entity (all periods, sexes and counties) before a
selection is cut out of it, so two selections can never be combined to undo it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

#: Count columns (the first present is the cell's count) and the values derived from them (blanked too).
COUNTS = ("cases", "prevalent", "n_patients")
DERIVED = (
    "person_years",
    "crude_rate",
    "crude_lower",
    "crude_upper",
    "asr",
    "asr_lower",
    "asr_upper",
    "per_100000",
    "estimate",
    "lower",
    "upper",
)
PRIMARY = "suppressed_primary"
SECONDARY = "suppressed_secondary"


def count_column(frame: pl.DataFrame) -> str | None:
    """The frame's count column, or None."""
    return next((c for c in COUNTS if c in frame.columns), None)


def mark_primary(frame: pl.DataFrame, *, threshold: int) -> pl.DataFrame:
    """Add :data:`PRIMARY`: the count is in ``1 .. threshold-1`` (zero discloses nobody)."""
    count = count_column(frame)
    if count is None or threshold <= 1:
        return frame.with_columns(pl.lit(False).alias(PRIMARY))
    small = ((pl.col(count) > 0) & (pl.col(count) < threshold)).fill_null(False)
    return frame.with_columns(small.alias(PRIMARY))


def mark_secondary(
    frame: pl.DataFrame, *, margins: Sequence[Sequence[str]], groups: Sequence[Sequence[int]] = ()
) -> pl.DataFrame:
    """Add :data:`SECONDARY`: complementary cells so that no relation has exactly one blanked cell.

    ``margins``: per additive relation, the key columns its cells share (e.g. ``("county", "period")`` for
    "both sexes = men + women": the cells of one county and period form one relation). ``groups``: further
    relations given directly as the row numbers of their cells (e.g. a period and its years). The frame needs
    :data:`PRIMARY` and a count column. The complement chosen is the smallest shown count of the relation
    (a non-zero one before a zero; ties by row order)."""
    count = count_column(frame)
    if count is None or frame.height == 0:
        return frame.with_columns(pl.lit(False).alias(SECONDARY))
    counts = frame[count].fill_null(0).to_list()
    hidden = frame[PRIMARY].to_list()
    secondary = [False] * frame.height
    indexed = frame.with_row_index("_row")
    groups_by_margin = [
        [rows for rows in indexed.group_by(list(keys), maintain_order=True).agg("_row")["_row"].to_list()]
        for keys in margins
        if all(k in frame.columns for k in keys)
    ]
    every = [*groups_by_margin, [list(rows) for rows in groups]]
    changed = True
    while changed:
        changed = False
        for relation in (rows for margin in every for rows in margin):
            if len(relation) < 2 or sum(hidden[r] for r in relation) != 1:
                continue
            shown = [r for r in relation if not hidden[r]]
            pick = min(shown, key=lambda r: (counts[r] == 0, counts[r], r))
            hidden[pick] = secondary[pick] = True
            changed = True
    return frame.with_columns(pl.Series(SECONDARY, secondary, dtype=pl.Boolean))


def blank(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``suppressed`` (primary or secondary) and blank the counts and derived values of those rows."""
    out = frame.with_columns((pl.col(PRIMARY) | pl.col(SECONDARY)).alias("suppressed"))
    blanked = [c for c in (*COUNTS, *DERIVED) if c in out.columns]
    return out.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in blanked]
    )


def suppress(frame: pl.DataFrame, *, threshold: int, margins: Sequence[Sequence[str]] = ()) -> pl.DataFrame:
    """Primary and secondary suppression of one table; adds ``suppressed``, :data:`PRIMARY` and
    :data:`SECONDARY`."""
    return blank(mark_secondary(mark_primary(frame, threshold=threshold), margins=margins))
