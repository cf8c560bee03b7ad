"""Invitation scheduling per programme, vectorised, with a global pause/resume and backlog catch-up.

Due dates (screening.md §1; parameters in ``data/kpi_programmes.toml``):

- **breast** (§1.1): first invitation by birth cohort — women are taken in birth-month order within the
  year they turn ``entry_age`` (1 January of that year + birth month − 1), per county (area) [P: the
  per-county cohort tables are not modelled, the order is]; later rounds ``interval_days`` after the last
  invitation (biennial) [V].
- **colorectal** (§1.3): the year a person turns 55, in birth-month order (1 <birth month> <year>) [V];
  then every 2 years; at most ``rounds_max`` (5) rounds [V]; not after a colonoscopy (exit) [V].
- **cervix** (§1.2): the information letter at 25 (the 25th birthday) [V]; a reminder to women 26–69
  when the last test is older than its interval (cytology 3 years, HPV 5 years) [V], first due at the 26th
  birthday for never-tested women; a new reminder a year after the last one if still no test [V].

:func:`invitation_batch` returns the letters due on ``as_of``. A global pause (§1.2: reminders paused in
March 2020, restarted 6 May 2020 with an 82 000 backlog [V]) sends nothing while paused; on resume the
backlog (everything that fell due during the pause) is spread over the following days at
``catch_up_per_day`` letters a day, oldest due first (:func:`catch_up`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from oncoreg.screening.parameters import OPS_PROGRAMMES, programme_parameters

#: One row per letter due.
BATCH: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,
    "programme": pl.String,
    "letter": pl.String,  # invitation | information_letter | reminder
    "round": pl.Int32,
    "due_date": pl.Date,
    "county": pl.String,
}


@dataclass(frozen=True)
class Pause:
    """A global pause of outbound letters: from ``paused_from`` until ``resumed_on`` (exclusive; None: still
    paused), with ``catch_up_per_day`` backlog letters a day after resuming."""

    paused_from: date
    resumed_on: date | None = None
    catch_up_per_day: int = 10_000


#: Tests whose kind :func:`letter_history` reports as ``last_test_kind`` (code = index + 1; 0 = other).
_TEST_KINDS = ("mammography", "imaging", "biopsy", "cytology", "hpv", "hpv_cytology", "colposcopy", "fit")
_KIND_BITS = 16


def letter_history(*, events: pl.DataFrame | pl.LazyFrame, as_of: date | None = None) -> pl.DataFrame:
    """Per person and programme: letters and tests so far (person_id, programme, rounds,
    last_invitation, last_reminder, information_letter, last_test, last_test_kind, exited).

    Events after ``as_of`` (when given) are ignored. One pass: each row becomes a few integer columns (a
    date or null per kind of event; the last test as ``day · 16 + kind code``, so its maximum carries the
    kind of the latest test) grouped on one integer key ``person_id · 4 + programme code``, which keeps
    every aggregation a plain ``max``/``sum`` (Polars' fast path) instead of per-group filtered lists."""
    codes = {name: code for code, name in enumerate(OPS_PROGRAMMES)}
    kind, day = pl.col("type"), pl.col("date").cast(pl.Int32)
    tests = kind.is_in(["screen", "sample", "fit_result"])
    test_code = pl.col("test").replace_strict(
        {name: code + 1 for code, name in enumerate(_TEST_KINDS)}, default=0, return_dtype=pl.Int64
    )
    frame = events.lazy()
    if as_of is not None:
        frame = frame.filter(pl.col("date") <= as_of)
    grouped = (
        frame.filter(pl.col("programme").is_in(OPS_PROGRAMMES))
        .select(
            (
                pl.col("person_id").cast(pl.Int64) * 4
                + pl.col("programme").replace_strict(codes, return_dtype=pl.Int64)
            ).alias("_key"),
            (kind == "invitation").cast(pl.Int32).alias("rounds"),
            pl.when(kind == "invitation").then(day).alias("last_invitation"),
            pl.when(kind == "reminder").then(day).alias("last_reminder"),
            (kind == "information_letter").alias("information_letter"),
            pl.when(tests).then(day.cast(pl.Int64) * _KIND_BITS + test_code).alias("_last_test"),
            (kind == "colonoscopy").alias("exited"),
        )
        .group_by("_key")
        .agg(
            pl.col("rounds").sum(),
            pl.col("last_invitation", "last_reminder", "_last_test").max(),
            pl.col("information_letter", "exited").max(),
        )
    )
    names = pl.Series(["", *_TEST_KINDS])
    return (
        grouped.select(
            (pl.col("_key") // 4).alias("person_id"),
            (pl.col("_key") % 4)
            .replace_strict(dict(enumerate(OPS_PROGRAMMES)), return_dtype=pl.String)
            .alias("programme"),
            pl.col("rounds").cast(pl.Int32),
            pl.col("last_invitation").cast(pl.Date),
            pl.col("last_reminder").cast(pl.Date),
            pl.col("information_letter"),
            (pl.col("_last_test") // _KIND_BITS).cast(pl.Int32).cast(pl.Date).alias("last_test"),
            (pl.col("_last_test") % _KIND_BITS)
            .replace_strict(dict(enumerate(names)), return_dtype=pl.String)
            .replace("", None)
            .alias("last_test_kind"),
            pl.col("exited"),
        )
    ).collect()


def _birthday(age: int) -> pl.Expr:
    return pl.col("birth_date").dt.offset_by(f"{age}y")


def _cohort_start(age: int) -> pl.Expr:
    """1 <birth month> of the year the person turns ``age`` (birth-month order within the cohort)."""
    return pl.date(pl.col("birth_date").dt.year() + age, pl.col("birth_date").dt.month(), 1)


def due_letters(*, target: pl.DataFrame, history: pl.DataFrame, programme: str) -> pl.DataFrame:
    """Next letter and its due date for everyone in the target group (:data:`BATCH` columns).

    ``target``: :func:`~oncoreg.screening.population.target_population` rows (in_target only are used);
    ``history``: :func:`letter_history`."""
    parameters = programme_parameters(programme=programme)
    interval = f"{int(parameters['interval_days'])}d"
    start = pl.lit(parameters["start"], dtype=pl.Date)
    frame = target.filter(pl.col("in_target")).join(
        history.filter(pl.col("programme") == programme).drop("programme"), on="person_id", how="left"
    )
    rounds = pl.col("rounds").fill_null(0)
    if programme in ("breast", "colorectal"):
        first = pl.max_horizontal(_cohort_start(int(parameters["entry_age"])), start)
        due = (
            pl.when(pl.col("last_invitation").is_null())
            .then(first)
            .otherwise(pl.col("last_invitation").dt.offset_by(interval))
        )
        frame = frame.filter((rounds < int(parameters["rounds_max"])) & ~pl.col("exited").fill_null(False))
        out = frame.with_columns(
            due.alias("due_date"), pl.lit("invitation").alias("letter"), (rounds + 1).alias("round")
        )
    else:
        info_age = int(parameters["information_letter_age"])
        lo, hi = (int(a) for a in parameters["reminder_ages"])
        hpv = pl.col("last_test_kind").is_in(["hpv", "hpv_cytology"])
        test_due = pl.col("last_test").dt.offset_by(interval).alias("_x")
        test_due = pl.when(hpv).then(test_due).otherwise(pl.col("last_test").dt.offset_by("1095d"))
        reminder_due = pl.when(pl.col("last_test").is_null()).then(_birthday(lo)).otherwise(test_due)
        # a new reminder a year after the last one, if no test came since (§1.2 letters)
        repeat = pl.col("last_reminder").dt.offset_by("1y")
        reminded_since = pl.col("last_reminder").is_not_null() & (
            pl.col("last_test").is_null() | (pl.col("last_reminder") > pl.col("last_test"))
        )
        reminder_due = (
            pl.when(reminded_since).then(pl.max_horizontal(reminder_due, repeat)).otherwise(reminder_due)
        )
        needs_info = (~pl.col("information_letter").fill_null(False)) & (pl.col("age") == info_age)
        out = frame.with_columns(
            pl.when(needs_info).then(_birthday(info_age)).otherwise(reminder_due).alias("due_date"),
            pl.when(needs_info)
            .then(pl.lit("information_letter"))
            .otherwise(pl.lit("reminder"))
            .alias("letter"),
            (rounds + 1).alias("round"),
        ).filter((pl.col("letter") == "information_letter") | ((pl.col("age") >= lo) & (pl.col("age") <= hi)))
    return out.with_columns(pl.lit(programme).alias("programme")).select(
        [pl.col(c).cast(t) for c, t in BATCH.items()]
    )


def catch_up(*, backlog: pl.DataFrame, start: date, per_day: int) -> pl.DataFrame:
    """``backlog`` with a ``send_date``: oldest due first, ``per_day`` letters a day from ``start``."""
    if per_day < 1:
        raise ValueError(f"catch_up_per_day must be at least 1, got {per_day}")
    ordered = backlog.sort("due_date", "person_id")
    day_offset = (pl.int_range(0, pl.len()) // per_day).cast(pl.Int64)
    return ordered.with_columns(
        (pl.lit(start, dtype=pl.Date) + pl.duration(days=day_offset)).alias("send_date")
    )


def invitation_batch(
    *, due: pl.DataFrame, as_of: date, pause: Pause | None = None, max_backlog_days: int = 365
) -> pl.DataFrame:
    """The letters to send on ``as_of`` (:data:`BATCH` + ``send_date`` and ``backlog``).

    Without a pause: everything due in (as_of − ``max_backlog_days``, as_of]. During a pause: nothing.
    After resuming: the normal batch plus the share of the pause backlog that :func:`catch_up` puts on
    ``as_of`` or earlier (not yet sent, because every earlier batch is assumed sent)."""
    window_start = pl.lit(as_of, dtype=pl.Date).dt.offset_by(f"-{max_backlog_days}d")
    candidates = due.filter((pl.col("due_date") <= as_of) & (pl.col("due_date") > window_start))
    if pause is None or as_of < pause.paused_from:
        return candidates.with_columns(pl.lit(as_of).alias("send_date"), pl.lit(False).alias("backlog"))
    if pause.resumed_on is None or as_of < pause.resumed_on:
        return candidates.head(0).with_columns(
            pl.lit(as_of).alias("send_date"), pl.lit(False).alias("backlog")
        )
    in_pause = (pl.col("due_date") >= pause.paused_from) & (pl.col("due_date") < pause.resumed_on)
    backlog = catch_up(
        backlog=candidates.filter(in_pause), start=pause.resumed_on, per_day=pause.catch_up_per_day
    ).filter(pl.col("send_date") == as_of)
    regular = candidates.filter(~in_pause & (pl.col("due_date") >= pause.resumed_on))
    regular = regular.with_columns(pl.lit(as_of).alias("send_date"))
    return pl.concat(
        [
            regular.with_columns(pl.lit(False).alias("backlog")),
            backlog.with_columns(pl.lit(True).alias("backlog")),
        ]
    )
