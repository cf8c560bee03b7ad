"""The life-table sums of every patient, added into cells in one compiled pass (no per-stratum loop).

For the life-table Pohar Perme / Ederer II estimators on breaks b_0 < … < b_K (days), patient i contributes
to interval k = (b_k, b_{k+1}] (if ``entry_i ≤ b_k < y_i``, y_i the end of follow-up) the nine quantities of
:data:`QUANTITIES`:

* ``n`` at risk at b_k, ``d`` death in the interval, ``c`` censored in it, ``xd`` expected deaths
  d*_ik = ∫_{b_k}^{min(y_i, b_{k+1})} λ*_i (exact: the rate table's cells are walked, every birthday and
  1 January crossed inside the interval starts a new constant piece);
* the same weighted by w_ik = 1/S*_i(b_k) = exp(Λ*_i(b_k)) (stnet): ``nw``, ``cw``, ``dw``, ``xdw``, and
  ``dw2`` = w_ik² for a death (the Pohar Perme variance).

:func:`cell_interval_sums` walks each patient once along the breaks and adds these into ``out[cell, q, k]``;
the work is O(patients × intervals) with no temporary patients × intervals arrays. It is compiled with numba
when installed (cached on disk); otherwise the interpreted function is far too slow for registry sizes and
callers use the vectorised NumPy path in :mod:`oncoreg.stats.standard_survival` instead. Reference:
Coviello E, Seppä K, Dickman PW, Pokhrel A. Stata J 2015;15:173-85 (stnet).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from oncoreg.stats.ratetable import RateTable

FloatArray = NDArray[Any]
IntArray = NDArray[Any]
QUANTITIES = ("n", "d", "c", "xd", "nw", "cw", "dw", "xdw", "dw2")
HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _walk_kernel(
    time_days: FloatArray,
    dead: NDArray[np.bool_],
    age_days: FloatArray,
    date_days: FloatArray,
    sex_index: IntArray,
    entry_days: FloatArray,
    cell: IntArray,
    hazard: FloatArray,
    age_cuts: FloatArray,
    year_cuts: FloatArray,
    breaks: FloatArray,
    out: FloatArray,
) -> None:
    """Add every patient's interval contributions to ``out[cell, quantity, interval]``."""
    n_int = len(breaks) - 1
    n_age, n_year = len(age_cuts), len(year_cuts)
    for i in range(len(time_days)):
        y = time_days[i]
        base_age, base_date, sex, c = age_days[i], date_days[i], sex_index[i], cell[i]
        # rate-table cell at the first break and the follow-up time of the next age / year cut
        a = int(np.searchsorted(age_cuts, base_age + breaks[0], side="right")) - 1
        yr = int(np.searchsorted(year_cuts, base_date + breaks[0], side="right")) - 1
        next_age = age_cuts[a + 1] - base_age if a + 1 < n_age else np.inf
        next_year = year_cuts[yr + 1] - base_date if yr + 1 < n_year else np.inf
        cumulative = 0.0
        for k in range(n_int):
            lo = breaks[k]
            if not lo < y:
                break
            hi = min(y, breaks[k + 1])
            dstar = 0.0
            pos = lo
            while pos < hi:
                stop = min(next_age, next_year, hi)
                rate = hazard[sex, min(max(a, 0), n_age - 1), min(max(yr, 0), n_year - 1)]
                dstar += rate * (stop - pos)
                pos = stop
                if stop == next_age:
                    a += 1
                    next_age = age_cuts[a + 1] - base_age if a + 1 < n_age else np.inf
                if stop == next_year:
                    yr += 1
                    next_year = year_cuts[yr + 1] - base_date if yr + 1 < n_year else np.inf
            weight = np.exp(cumulative)
            cumulative += dstar
            if lo < entry_days[i]:
                continue
            out[c, 0, k] += 1.0
            out[c, 3, k] += dstar
            out[c, 4, k] += weight
            out[c, 7, k] += weight * dstar
            if y <= breaks[k + 1]:
                if dead[i]:
                    out[c, 1, k] += 1.0
                    out[c, 6, k] += weight
                    out[c, 8, k] += weight * weight
                else:
                    out[c, 2, k] += 1.0
                    out[c, 5, k] += weight


_COMPILED: list[Callable[..., None]] = []


def _kernel() -> Callable[..., None]:
    """The numba-compiled walk (compiled on first use, cached on disk)."""
    if not _COMPILED:
        numba = importlib.import_module("numba")
        _COMPILED.append(cast(Callable[..., None], numba.njit(cache=True, nogil=True)(_walk_kernel)))
    return _COMPILED[0]


def cell_interval_sums(
    *,
    time_days: FloatArray,
    dead: NDArray[np.bool_],
    age_days: FloatArray,
    date_days: FloatArray,
    sex_index: IntArray,
    entry_days: FloatArray,
    cell: IntArray,
    n_cells: int,
    rate_table: RateTable,
    breaks_days: FloatArray,
    compiled: bool = True,
) -> FloatArray:
    """Per cell and interval the sums :data:`QUANTITIES` (array ``n_cells × 9 × K``) in one pass.

    ``entry_days``: left truncation (0 for the cohort approach): a patient counts in interval k only if
    ``entry ≤ b_k < time``; the weights 1/S*(b_k) run from diagnosis. ``compiled=False`` runs the same
    function interpreted (for tests on a handful of patients).
    """
    breaks = np.ascontiguousarray(breaks_days, dtype=np.float64)
    out = np.zeros((n_cells, len(QUANTITIES), len(breaks) - 1), dtype=np.float64)
    if len(time_days) == 0:
        return out
    walk = _kernel() if compiled else _walk_kernel
    walk(
        np.ascontiguousarray(time_days, dtype=np.float64),
        np.ascontiguousarray(dead, dtype=np.bool_),
        np.ascontiguousarray(age_days, dtype=np.float64),
        np.ascontiguousarray(date_days, dtype=np.float64),
        np.ascontiguousarray(sex_index, dtype=np.int64),
        np.ascontiguousarray(entry_days, dtype=np.float64),
        np.ascontiguousarray(cell, dtype=np.int64),
        np.ascontiguousarray(rate_table.hazard, dtype=np.float64),
        rate_table.age_cuts(),
        rate_table.year_cuts("date"),
        breaks,
        out,
    )
    return out
