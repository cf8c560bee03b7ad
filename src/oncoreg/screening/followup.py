"""Overdue follow-up (failsafe) lists: positive screens whose recommended next step has not happened.

For every screening episode whose primary test was positive and whose work-up has not been registered:
the step is due at the result's ``due_date`` when the laboratory gave one (cervix: the recommendation's
date, §1.2), else at screen date + the programme's ``timely_workup_days`` (breast 35 days [U]; colorectal
4 weeks [V]). It is overdue after ``grace_days``; a follow-up letter is due six months after the
recommended time (cervix follow-up letters, §1.2 letters [V]; the same grace is used for the others [U]).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from oncoreg.screening.episodes import SCREENING_EVENTS
from oncoreg.screening.parameters import OPS_PROGRAMMES, programme_parameters

#: One row per overdue episode.
OVERDUE: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,
    "programme": pl.String,
    "episode": pl.Int32,
    "screen_date": pl.Date,
    "recommendation": pl.String,
    "due_date": pl.Date,
    "days_overdue": pl.Int32,
    "letter_due_date": pl.Date,
}

_USED: tuple[str, ...] = ("person_id", "programme", "episode", "date", "type", "indication", "result")
_USED = (*_USED, "recall", "recommendation", "due_date")


def overdue_followups(
    *, events: pl.DataFrame | pl.LazyFrame, as_of: date, grace_days: int = 183
) -> pl.DataFrame:
    """:data:`OVERDUE` rows on ``as_of`` (positive episodes without any later test or examination).

    Lazy and single-pass: only the columns used are read, the positive primary tests are filtered before
    anything is joined, and the latest examination per person and programme is a plain ``max`` grouped on
    one integer key (``person_id · 4 + programme code``)."""
    frame = events.lazy()
    names = frame.collect_schema().names()
    frame = frame.select(
        [
            (pl.col(name) if name in names else pl.lit(None)).cast(SCREENING_EVENTS[name]).alias(name)
            for name in _USED
        ]
    ).filter((pl.col("date") <= as_of) & pl.col("programme").is_in(OPS_PROGRAMMES))
    codes = {name: code for code, name in enumerate(OPS_PROGRAMMES)}
    key = (pl.col("person_id") * 4 + pl.col("programme").replace_strict(codes, return_dtype=pl.Int64)).alias(
        "_key"
    )
    primary = pl.col("type").is_in(["screen", "fit_result"]) | (
        (pl.col("type") == "sample") & (pl.col("indication") == "screening")
    )
    positive = (
        pl.col("recall").fill_null(False)
        | (pl.col("result") == "positive")
        | ((pl.col("type") == "sample") & ~pl.col("recommendation").fill_null("routine").is_in(["routine"]))
    )
    timely = pl.lit(None, dtype=pl.Int32)
    for programme in OPS_PROGRAMMES:
        days = int(programme_parameters(programme=programme)["timely_workup_days"])
        timely = pl.when(pl.col("programme") == programme).then(pl.lit(days)).otherwise(timely)
    index = frame.filter(primary & positive).select(
        key,
        "person_id",
        "programme",
        "episode",
        pl.col("date").alias("screen_date"),
        "recommendation",
        pl.coalesce("due_date", pl.col("date") + pl.duration(days=timely)).alias("due_date"),
    )
    examinations = ["assessment", "colonoscopy", "colposcopy", "histology", "sample"]
    latest = (
        frame.filter(pl.col("type").is_in(examinations))
        .select(key, pl.col("date").alias("_later"))
        .group_by("_key")
        .agg(pl.col("_later").max())
    )
    out = index.join(latest, on="_key", how="left").filter(
        pl.col("_later").is_null() | (pl.col("_later") <= pl.col("screen_date"))
    )
    day = pl.lit(as_of, dtype=pl.Date)
    out = out.with_columns((day - pl.col("due_date")).dt.total_days().alias("days_overdue")).filter(
        pl.col("days_overdue") > grace_days
    )
    out = out.with_columns(pl.col("due_date").dt.offset_by("6mo").alias("letter_due_date"))
    return (
        out.select([pl.col(c).cast(t) for c, t in OVERDUE.items()])
        .sort("days_overdue", "person_id", "programme", "episode", descending=[True, False, False, False])
        .collect()
    )
