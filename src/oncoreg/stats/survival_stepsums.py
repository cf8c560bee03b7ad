"""Fine-step sums of exp(Λ*) for Pohar Perme and Ederer II, computed in one pass over the patients.

relsurv's ``netfastpinter2`` needs, at the start T_g of every fine step g of the follow-up grid, the sums
over patients still followed of 1/S*_i(T_g) = exp(Λ*_i(T_g)) and of λ*_i(T_g) exp(Λ*_i(T_g)), the same at
the step's end, the summed rate Σ λ*_i(T_g), and every patient's Λ*_i at the end of follow-up. Each
patient's hazard is constant between the steps where age or calendar time crosses a rate-table cut (the
rate is read at the start of each step, relsurv ``pystep2``), so on such a run of steps ``[g0, g1)`` the
summand is A exp(κ (T_g − T_{g0})) with A = exp(Λ*_i(T_{g0})). Runs are cut at the block boundaries of
:mod:`oncoreg.stats.survival_expsum` and added to its difference arrays of Taylor coefficients

    A e^{κ (T_b − T_{g0})} κ^m / m!,  m = 0 … M + 1,

one patient at a time: the runs are generated on the fly (integer step indices found by binary search with the
exact rule "first step with base + T_g ≥ cut", as :func:`oncoreg.stats.ratetable.hazard_runs` in step mode)
and never stored, so the work is O(patients × runs per patient × M) with no sort. The loop is compiled with
numba when it is installed; otherwise the same sums come from the vectorised NumPy path
(:func:`~oncoreg.stats.ratetable.hazard_runs` + :func:`~oncoreg.stats.survival_expsum.run_exponential_sums`),
which agrees to rounding (tested). Reference: Pohar Perme M, Stare J, Estève J. Biometrics 2012;68:113-20;
relsurv 2.3 ``netfastpinter2.c`` as described in ``reference/statistics.md`` §3.1a.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from oncoreg.stats.ratetable import Calendar, RateTable, hazard_runs
from oncoreg.stats.survival_expsum import ExponentialSums, block_layout, horner_sums, run_exponential_sums

FloatArray = NDArray[Any]
IntArray = NDArray[Any]
Engine = Literal["auto", "numba", "numpy"]

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
BLOCK_DAYS = 256.0
"""Block width of the compiled kernel; the Taylor order adapts to each run's rate (``TAYLOR_TOLERANCE``)."""
TAYLOR_TOLERANCE = 1e-17


@dataclass(frozen=True)
class StepSums:
    """Per-step sums over the patients followed at the step (see the module docstring)."""

    sums: ExponentialSums
    rate_sum: FloatArray
    cumulative_end: FloatArray


def step_sums(
    table: RateTable,
    *,
    sex_index: IntArray,
    age_days: FloatArray,
    date_days: FloatArray,
    calendar: Calendar,
    step_starts: FloatArray,
    step_stops: FloatArray,
    person_steps: IntArray,
    engine: Engine = "auto",
) -> StepSums:
    """Σ exp(Λ*_i), Σ λ*_i exp(Λ*_i) at the start and end of every step, Σ λ*_i, and Λ*_i(end) per patient.

    ``step_starts`` is sorted with ``step_starts[0] == 0``; step g ends at ``step_stops[g]`` (= the next
    start, up to rounding); run lengths use the next start and the last stop (relsurv); patient i is followed
    during steps ``0 ≤ g < person_steps[i]``. ``engine="auto"`` uses numba when installed.
    """
    use_numba = engine == "numba" or (engine == "auto" and HAVE_NUMBA)
    if not use_numba:
        return _numpy_step_sums(
            table,
            sex_index=sex_index,
            age_days=age_days,
            date_days=date_days,
            calendar=calendar,
            step_starts=step_starts,
            step_stops=step_stops,
            person_steps=person_steps,
        )
    grid_end = np.append(step_starts, step_stops[-1]).astype(np.float64)
    shifted = step_stops
    max_rate = float(np.max(table.hazard)) if table.hazard.size else 0.0
    layout = block_layout(eval_times=step_starts, shifted_times=shifted, max_rate=max_rate, width=BLOCK_DAYS)
    span = float(max(np.max(np.abs(layout.u)), np.max(np.abs(layout.u_shifted))))
    n_grid = len(step_starts)
    coefficients = np.zeros((n_grid + 1, layout.terms + 2), dtype=np.float64)
    rate_diff = np.zeros(n_grid + 1, dtype=np.float64)
    cumulative_end = np.zeros(len(age_days), dtype=np.float64)
    _kernel()(
        np.ascontiguousarray(table.hazard, dtype=np.float64),
        table.age_cuts(),
        table.year_cuts(calendar),
        np.ascontiguousarray(sex_index, dtype=np.int64),
        np.ascontiguousarray(age_days, dtype=np.float64),
        np.ascontiguousarray(date_days, dtype=np.float64),
        np.ascontiguousarray(person_steps, dtype=np.int64),
        grid_end,
        layout.rank,
        layout.block_first,
        layout.block_stop,
        span,
        np.searchsorted(step_starts, np.arange(np.floor(grid_end[-1]) + 2)).astype(np.int64),
        coefficients,
        rate_diff,
        cumulative_end,
    )
    running = np.cumsum(coefficients[:n_grid], axis=0)
    columns = [running[:, m] for m in range(layout.terms + 2)]
    return StepSums(
        sums=horner_sums(columns, layout=layout),
        rate_sum=np.cumsum(rate_diff)[:n_grid],
        cumulative_end=cumulative_end,
    )


def _numpy_step_sums(
    table: RateTable,
    *,
    sex_index: IntArray,
    age_days: FloatArray,
    date_days: FloatArray,
    calendar: Calendar,
    step_starts: FloatArray,
    step_stops: FloatArray,
    person_steps: IntArray,
) -> StepSums:
    runs = hazard_runs(
        table,
        sex_index=sex_index,
        age_days=age_days,
        date_days=date_days,
        follow_up_days=np.zeros(len(age_days)),
        calendar=calendar,
        step_starts=step_starts,
        step_end=float(step_stops[-1]),
        person_steps=person_steps,
    )
    first, stop = runs.start.astype(np.int64), runs.stop.astype(np.int64)
    n_grid = len(step_starts)
    rate_sum = np.cumsum(
        np.bincount(np.concatenate([first, stop]), np.concatenate([runs.hazard, -runs.hazard]), n_grid + 1)
    )[:n_grid]
    sums = run_exponential_sums(
        eval_times=step_starts,
        first=first,
        stop=stop,
        origin=step_starts[np.minimum(first, n_grid - 1)],
        amplitude=np.exp(runs.cumulative),
        rate=runs.hazard,
        shifted_times=step_stops,
    )
    return StepSums(sums=sums, rate_sum=rate_sum, cumulative_end=runs.cumulative_at_end())


def _next_change_py(
    cuts: FloatArray,
    index: int,
    base: float,
    limit: float,
    steps: FloatArray,
    day_first: IntArray,
    n_steps: int,
) -> int:
    """Step at which cut ``index`` takes effect for a patient at ``base`` (``n_steps`` if never).

    ``day_first[d]`` is the first step starting at or after day d, so the search is a table look-up and a
    short scan to the exact rule of the lookup: the first step g with base + T_g ≥ cut.
    """
    if index >= len(cuts):
        return n_steps
    target = cuts[index]
    if not target < base + limit:
        return n_steps
    day = min(max(int(np.floor(target - base)), 0), len(day_first) - 1)
    g = int(day_first[day])
    while g > 0 and base + steps[g - 1] >= target:
        g -= 1
    while g < len(steps) and base + steps[g] < target:
        g += 1
    return min(g, n_steps)


def _step_kernel(
    hazard: FloatArray,
    age_cuts: FloatArray,
    year_cuts: FloatArray,
    sex_index: IntArray,
    age_days: FloatArray,
    date_days: FloatArray,
    person_steps: IntArray,
    grid_end: FloatArray,
    rank: IntArray,
    block_first: IntArray,
    block_stop: IntArray,
    span: float,
    day_first: IntArray,
    coefficients: FloatArray,
    rate_diff: FloatArray,
    cumulative_end: FloatArray,
) -> None:
    """Add every patient's runs to the coefficient and rate difference arrays (see the module docstring)."""
    n_terms = coefficients.shape[1]
    inverse = np.zeros(n_terms)
    for m in range(1, n_terms):
        inverse[m] = 1.0 / m
    steps = grid_end[:-1]
    n_age, n_year = len(age_cuts), len(year_cuts)
    for i in range(len(age_days)):
        n_steps = person_steps[i]
        lam = 0.0
        amplitude = 1.0
        if n_steps <= 0:
            cumulative_end[i] = lam
            continue
        limit = grid_end[n_steps]
        base_age, base_year = age_days[i], date_days[i]
        a = int(np.searchsorted(age_cuts, base_age, side="right")) - 1
        y = int(np.searchsorted(year_cuts, base_year, side="right")) - 1
        next_a = _next_change(age_cuts, a + 1, base_age, limit, steps, day_first, n_steps)
        next_y = _next_change(year_cuts, y + 1, base_year, limit, steps, day_first, n_steps)
        g0 = 0
        while g0 < n_steps:
            g1 = min(next_a, next_y, n_steps)
            kappa = hazard[sex_index[i], min(max(a, 0), n_age - 1), min(max(y, 0), n_year - 1)]
            if g1 > g0:
                lo = g0
                b = rank[g0]
                x = kappa * span
                c = amplitude * np.exp(kappa * (steps[block_first[b]] - steps[g0]))
                while lo < g1:
                    hi = min(g1, block_stop[b])
                    # Taylor coefficients c κ^m / m! of A exp(κ (T_b + u − T_{g0})) at the block start T_b
                    coefficients[lo, 0] += c
                    coefficients[hi, 0] -= c
                    term = 1.0
                    for m in range(1, n_terms):
                        c = c * kappa * inverse[m]
                        coefficients[lo, m] += c
                        coefficients[hi, m] -= c
                        term = term * x * inverse[m]
                        if term < TAYLOR_TOLERANCE and m >= 2:
                            break
                    c = amplitude * np.exp(kappa * (grid_end[hi] - steps[g0])) if hi < g1 else 0.0
                    lo = hi
                    b += 1
                rate_diff[g0] += kappa
                rate_diff[g1] -= kappa
                lam += kappa * (grid_end[g1] - grid_end[g0])
                amplitude = np.exp(lam)
            g0 = g1
            while next_a == g1 and g1 < n_steps:
                a += 1
                next_a = _next_change(age_cuts, a + 1, base_age, limit, steps, day_first, n_steps)
            while next_y == g1 and g1 < n_steps:
                y += 1
                next_y = _next_change(year_cuts, y + 1, base_year, limit, steps, day_first, n_steps)
        cumulative_end[i] = lam


_next_change = _next_change_py
_COMPILED: list[Callable[..., None]] = []


def _kernel() -> Callable[..., None]:
    """The numba-compiled kernel (compiled on first use, cached on disk)."""
    if not _COMPILED:
        numba = importlib.import_module("numba")
        # the kernel calls _next_change: make that name the compiled helper before compiling the kernel
        globals()["_next_change"] = numba.njit(cache=True)(_next_change_py)
        _COMPILED.append(cast(Callable[..., None], numba.njit(cache=True)(_step_kernel)))
    return _COMPILED[0]
