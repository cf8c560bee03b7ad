"""Population rate tables (expected mortality) and the expected hazard along a follow-up path.

A rate table holds the population hazard by sex, attained age in completed years and calendar period. A row
for age ``a`` applies from exact age ``a`` until the next age present; a row for year ``y`` applies from
1 January of ``y`` until the next year present (``relsurv``/``survival`` ``ratetable`` convention; ages or
years beyond the table use its last row, before it its first). Rates may be given as

* ``rate_per_day``: the hazard per day, as relsurv's ``slopop`` stores it;
* ``rate_per_year``: the hazard per year; per day = per year / 365.241;
* ``prob``: the 1-year survival probability ``p`` (strs ``popmort``); hazard per year = -ln p, per day
  = -ln p / 365.241 (relsurv's ``transrate``).

Time is kept in days with 365.241 days a year, as relsurv does (age cut points ``a × 365.241`` days,
``rmap = list(age = age * 365.241)``). Calendar time is either a date (days since 1970-01-01, year cut points
on 1 January: ``calendar="date"``) or a decimal year (day ``(year - 1970) × 365.241``, year cut points on the
same clock: ``calendar="decimal-year"``, the popEpi/strs convention where one year of follow-up is one year of
calendar time).

Along a follow-up path age and calendar time advance together with time since diagnosis, so a person's
hazard is a step function of follow-up time that changes at birthdays and at the year cut points.
:func:`hazard_runs` lists these steps ("runs") for every person at once, vectorised, in continuous time
(exact cut crossings, relsurv's ``netwei``/``pystep``) or on a grid of fine steps where the rate is read at
the start of each step (relsurv's ``netfastpinter2``/``pystep2``). Reference: Pohar Perme M, Stare J,
Estève J. Biometrics 2012;68:113-20; relsurv 2.2/2.3 C sources as described in
``reference/statistics.md`` §3.1a.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from oncoreg.errors import OncoregError, Problem, ValidationFailed

DAYS_PER_YEAR = 365.241
"""Days in a year as relsurv uses them (age cut points of ``slopop``, ``rmap`` age conversion)."""

RATE_COLUMNS = ("rate_per_day", "rate_per_year", "prob")
Calendar = Literal["date", "decimal-year"]

FloatArray = NDArray[Any]
IntArray = NDArray[Any]


class RateTableError(OncoregError):
    """A rate table or a lookup in it is unusable (unknown sex label, wrong shape)."""


@dataclass(frozen=True)
class RateTable:
    """Hazards per day on a complete sex × age × year grid.

    ``hazard[s, a, y]`` is the hazard per day for sex ``sexes[s]`` from exact age ``ages[a]`` (years) and from
    1 January of ``years[y]``; ``ages`` and ``years`` are strictly increasing.
    """

    sexes: tuple[str, ...]
    ages: IntArray
    years: IntArray
    hazard: FloatArray
    source: str = ""

    def age_cuts(self) -> FloatArray:
        """Age cut points in days: ``ages × 365.241``."""
        return self.ages.astype(np.float64) * DAYS_PER_YEAR

    def year_cuts(self, calendar: Calendar) -> FloatArray:
        """Year cut points in days on the given calendar clock (see the module docstring)."""
        if calendar == "date":
            first_days = (self.years - 1970).astype("datetime64[Y]").astype("datetime64[D]")
            return first_days.astype(np.int64).astype(np.float64)
        return (self.years - 1970).astype(np.float64) * DAYS_PER_YEAR

    def sex_index(self, values: pl.Series) -> IntArray:
        """Position of each sex label in ``sexes``; an unknown label raises naming the first offender."""
        labels = values.cast(pl.String)
        bad = labels.filter(
            ~pl.Series(np.isin(labels.fill_null("").to_numpy(), self.sexes)) | labels.is_null()
        )
        if len(bad):
            raise RateTableError(
                f"sex {bad[0]!r} is not in the rate table (its sexes are {', '.join(self.sexes)}); "
                "map it with sex labels"
            )
        lookup = {label: i for i, label in enumerate(self.sexes)}
        return np.asarray(labels.replace_strict(lookup, return_dtype=pl.Int64).to_numpy(), dtype=np.int64)

    def hazard_at(
        self, *, sex_index: IntArray, age_days: FloatArray, date_days: FloatArray, calendar: Calendar
    ) -> FloatArray:
        """Hazard per day at the given attained ages and calendar days (vectorised cell lookup)."""
        age_cell = _cell(self.age_cuts(), age_days)
        year_cell = _cell(self.year_cuts(calendar), date_days)
        return np.asarray(self.hazard[sex_index, age_cell, year_cell], dtype=np.float64)


def _cell(cuts: FloatArray, values: FloatArray) -> IntArray:
    """Index of the largest cut point not above each value, clipped to the table (relsurv ``pystep2``)."""
    index = np.searchsorted(cuts, values, side="right") - 1
    return np.clip(index, 0, len(cuts) - 1).astype(np.int64)


def rate_table_from_frame(
    frame: pl.DataFrame, *, columns: Mapping[str, str] | None = None, source: str = ""
) -> RateTable:
    """Build a :class:`RateTable` from long rows ``sex, age, year`` and one of ``rate_per_day``,
    ``rate_per_year``, ``prob``.

    When a table carries several rate columns (the simulator writes ``rate_per_day`` and ``prob``), the first
    of ``rate_per_day``, ``rate_per_year``, ``prob`` is used, unless ``columns`` names the one to use.
    ``columns`` maps the canonical names to the frame's own (``{"prob": "surv_prob"}``). Every problem found
    (missing column, non-numeric or negative rate, probability outside (0, 1], duplicate or missing grid
    cell) is collected into one :class:`~oncoreg.errors.ValidationFailed`.
    """
    rename = {v: k for k, v in (columns or {}).items() if v in frame.columns and v != k}
    frame = frame.rename(rename)
    rate_present = [c for c in RATE_COLUMNS if c in frame.columns]
    chosen = [c for c in RATE_COLUMNS if c in (columns or {})]
    if len(rate_present) > 1:
        keep = chosen[0] if chosen and chosen[0] in rate_present else rate_present[0]
        frame = frame.drop([c for c in rate_present if c != keep])
        rate_present = [keep]
    problems: list[Problem] = []
    for name in ("sex", "age", "year"):
        if name not in frame.columns:
            problems.append(Problem(name, "", "ratetable.columns", "column missing from the rate table"))
    if len(rate_present) != 1:
        problems.append(
            Problem(
                "rate",
                ",".join(rate_present),
                "ratetable.columns",
                "need exactly one of rate_per_day, rate_per_year, prob",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    rate_name = rate_present[0]
    work = frame.select(
        pl.col("sex").cast(pl.String),
        pl.col("age").cast(pl.Int64, strict=False).alias("age"),
        pl.col("year").cast(pl.Int64, strict=False).alias("year"),
        pl.col(rate_name).cast(pl.Float64, strict=False).alias("rate"),
        pl.col(rate_name).cast(pl.String).alias("raw"),
    ).with_row_index("row", offset=2)
    for name, rule in (("age", "integer completed years"), ("year", "integer calendar year")):
        bad = work.filter(pl.col(name).is_null())
        if len(bad):
            raw = frame[name][int(bad["row"][0]) - 2]
            problems.append(
                Problem(name, str(raw), "ratetable.value", f"not an {rule}", row=str(bad["row"][0]))
            )
    bad_rate = work.filter(
        pl.col("rate").is_null()
        | pl.col("rate").is_nan()
        | (pl.col("rate") < 0)
        | ((pl.col("rate") <= 0) | (pl.col("rate") > 1) if rate_name == "prob" else pl.lit(False))
    )
    if len(bad_rate):
        rule = "a probability in (0, 1]" if rate_name == "prob" else "a number >= 0"
        problems.extend(
            Problem(rate_name, str(r["raw"]), "ratetable.value", f"must be {rule}", row=str(r["row"]))
            for r in bad_rate.head(20).iter_rows(named=True)
        )
    if problems:
        raise ValidationFailed(problems)
    dup = work.filter(pl.struct("sex", "age", "year").is_duplicated())
    if len(dup):
        r = dup.row(0, named=True)
        raise ValidationFailed(
            [
                Problem(
                    "sex,age,year",
                    f"{r['sex']},{r['age']},{r['year']}",
                    "ratetable.grid",
                    "cell given more than once",
                    row=str(r["row"]),
                )
            ]
        )
    sexes = tuple(sorted(work["sex"].unique().to_list()))
    ages = np.sort(work["age"].unique().to_numpy()).astype(np.int64)
    years = np.sort(work["year"].unique().to_numpy()).astype(np.int64)
    expected = len(sexes) * len(ages) * len(years)
    if len(work) != expected:
        raise ValidationFailed(
            [
                Problem(
                    "sex,age,year",
                    f"{len(work)} rows",
                    "ratetable.grid",
                    f"the grid is incomplete: {len(sexes)} sexes × {len(ages)} ages × {len(years)} years "
                    f"need {expected} rows",
                )
            ]
        )
    ordered = work.sort("sex", "age", "year")
    rate = ordered["rate"].to_numpy().reshape(len(sexes), len(ages), len(years))
    if rate_name == "rate_per_year":
        rate = rate / DAYS_PER_YEAR
    elif rate_name == "prob":
        rate = -np.log(rate) / DAYS_PER_YEAR
    return RateTable(sexes=sexes, ages=ages, years=years, hazard=np.ascontiguousarray(rate), source=source)


def read_rate_table(path: str | Path, *, columns: Mapping[str, str] | None = None) -> RateTable:
    """Read a rate table CSV (see :func:`rate_table_from_frame`)."""
    try:
        frame = pl.read_csv(path, infer_schema_length=0)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise RateTableError(f"cannot read rate table {path}: {exc}".splitlines()[0]) from exc
    return rate_table_from_frame(frame, columns=columns, source=str(path))


@dataclass(frozen=True)
class HazardRuns:
    """Each person's expected hazard as runs of constant rate, sorted by person then start.

    In continuous mode ``start``/``stop`` are times since diagnosis in days; in step mode they are indices
    into the step grid (a run covers steps ``start ≤ g < stop``); ``duration`` is its length in days.
    ``cumulative`` is the expected cumulative
    hazard Λ at the start of the run; ``first[i]:first[i+1]`` are person ``i``'s runs.
    """

    person: IntArray
    start: FloatArray
    stop: FloatArray
    hazard: FloatArray
    duration: FloatArray
    cumulative: FloatArray
    first: IntArray

    def cumulative_at_end(self) -> FloatArray:
        """Λ at the end of each person's last run (the end of follow-up)."""
        last = self.first[1:] - 1
        return np.asarray(self.cumulative[last] + self.hazard[last] * self.duration[last])


def _crossings(offset: FloatArray, cuts: FloatArray, upper: FloatArray) -> tuple[IntArray, IntArray]:
    """(person, cut index) for every cut ``c`` with ``offset < c < offset + upper``."""
    lo = np.searchsorted(cuts, offset, side="right")
    hi = np.searchsorted(cuts, offset + upper, side="left")
    count = np.maximum(hi - lo, 0)
    person = np.repeat(np.arange(len(offset), dtype=np.int64), count)
    starts = np.cumsum(count) - count
    within = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(starts, count)
    return person, (np.repeat(lo, count) + within).astype(np.int64)


def hazard_runs(
    table: RateTable,
    *,
    sex_index: IntArray,
    age_days: FloatArray,
    date_days: FloatArray,
    follow_up_days: FloatArray,
    calendar: Calendar = "date",
    step_starts: FloatArray | None = None,
    step_end: float | None = None,
    person_steps: IntArray | None = None,
) -> HazardRuns:
    """Runs of constant expected hazard for every person over ``[0, follow_up_days)``.

    Continuous mode (default): the hazard changes exactly where age or calendar time crosses a cut point.
    Step mode (``step_starts`` sorted with ``step_starts[0] == 0``, ``step_end`` the end of the last step,
    ``person_steps[i]`` the number of steps person ``i`` is followed): the hazard of step ``g`` is read at its
    start, so a cut at time ``τ`` takes effect at the first step starting at or after ``τ``; run bounds are
    step indices and ``cumulative`` is Λ at the start of the run, Σ (step length × hazard) over earlier steps.
    """
    n = len(age_days)
    age_cuts = table.age_cuts()
    year_cuts = table.year_cuts(calendar)
    steps_mode = step_starts is not None
    horizon: FloatArray
    if step_starts is not None:
        assert person_steps is not None
        assert step_end is not None
        horizon = np.append(step_starts, step_end)[person_steps]
    else:
        horizon = np.asarray(follow_up_days, dtype=np.float64)
    change_person: list[IntArray] = []
    change_pos: list[FloatArray] = []
    change_kind: list[IntArray] = []
    change_cut: list[IntArray] = []
    for kind_code, cuts, offset in ((0, age_cuts, age_days), (1, year_cuts, date_days)):
        person, cut = _crossings(offset, cuts, horizon)
        if steps_mode:
            assert step_starts is not None
            assert person_steps is not None
            target = cuts[cut]
            base = offset[person]
            g = np.searchsorted(step_starts, target - base, side="left")
            # exact rule of the lookup: the first step g with base + T_g >= cut
            gm1 = np.maximum(g - 1, 0)
            g = np.where((g > 0) & (base + step_starts[gm1] >= target), gm1, g)
            g_safe = np.minimum(g, len(step_starts) - 1)
            g = np.where((g < len(step_starts)) & (base + step_starts[g_safe] < target), g + 1, g)
            keep = g < person_steps[person]
            person, cut, pos = person[keep], cut[keep], g[keep].astype(np.float64)
        else:
            pos = cuts[cut] - offset[person]
        change_person.append(person)
        change_pos.append(pos)
        change_kind.append(np.full(len(person), kind_code, dtype=np.int64))
        change_cut.append(cut)
    age0 = np.searchsorted(age_cuts, age_days, side="right") - 1
    year0 = np.searchsorted(year_cuts, date_days, side="right") - 1
    person = np.concatenate([np.arange(n, dtype=np.int64), *change_person])
    pos = np.concatenate([np.zeros(n), *change_pos])
    kind = np.concatenate([np.full(n, -1, dtype=np.int64), *change_kind])
    cut = np.concatenate([np.zeros(n, dtype=np.int64), *change_cut])
    order = np.lexsort((pos, person))
    person, pos, kind, cut = person[order], pos[order], kind[order], cut[order]
    rows = np.arange(len(person))
    age_cell = _forward_fill(np.where(kind == -1, age0[person], cut), (kind == -1) | (kind == 0), rows)
    year_cell = _forward_fill(np.where(kind == -1, year0[person], cut), (kind == -1) | (kind == 1), rows)
    first = np.searchsorted(person, np.arange(n + 1))
    is_last = np.zeros(len(person), dtype=bool)
    is_last[first[1:] - 1] = True
    stop = np.empty_like(pos)
    stop[:-1] = pos[1:]
    end = person_steps.astype(np.float64) if steps_mode and person_steps is not None else horizon
    stop[is_last] = end[person[is_last]]
    hazard = table.hazard[
        sex_index[person],
        np.clip(age_cell, 0, len(age_cuts) - 1),
        np.clip(year_cell, 0, len(year_cuts) - 1),
    ]
    if step_starts is not None:
        grid_end_arr = np.append(step_starts, float(step_end or 0.0))
        duration = grid_end_arr[stop.astype(np.int64)] - grid_end_arr[pos.astype(np.int64)]
    else:
        duration = stop - pos
    increment = hazard * duration
    total = np.cumsum(increment)
    before = total - increment
    cumulative = before - before[first[:-1]][person]
    return HazardRuns(
        person=person,
        start=pos,
        stop=stop,
        hazard=np.asarray(hazard, dtype=np.float64),
        duration=np.asarray(duration, dtype=np.float64),
        cumulative=cumulative,
        first=first.astype(np.int64),
    )


def _forward_fill(values: IntArray, is_set: NDArray[np.bool_], rows: IntArray) -> IntArray:
    """Carry the last set value forward (the first row of every person is always set)."""
    last_set = np.maximum.accumulate(np.where(is_set, rows, 0))
    return np.asarray(values[last_set], dtype=np.int64)


def expected_cumulative_hazard(
    table: RateTable,
    *,
    sex_index: IntArray,
    age_days: FloatArray,
    date_days: FloatArray,
    follow_up_days: FloatArray,
    calendar: Calendar = "date",
) -> FloatArray:
    """Each person's expected cumulative hazard Λ*_i(t) = ∫_0^t λ*(age_i + s, date_i + s) ds (closed form)."""
    runs = hazard_runs(
        table,
        sex_index=sex_index,
        age_days=age_days,
        date_days=date_days,
        follow_up_days=follow_up_days,
        calendar=calendar,
    )
    return runs.cumulative_at_end()
