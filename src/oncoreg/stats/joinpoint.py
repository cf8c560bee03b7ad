"""Joinpoint regression of rates over time (NCI Joinpoint's grid search, permutation test, BIC/BIC3/WBIC).

Model (Kim, Fay, Feuer, Midthune, Stat Med 2000;19:335-351; ``reference/statistics.md`` §5), for ``k``
joinpoints ``tau_1 < ... < tau_k`` placed on observed ``x`` values::

    ln y_i = b0 + b1 x_i + sum_j d_j (x_i - tau_j)^+ + e_i,    fitted by weighted least squares

with weights ``w_i = y_i^2 / se_i^2`` when standard errors are given (delta method, Joinpoint's "standard
error" option), ``w_i = count_i`` for Poisson counts (``Var ln y ~ 1/count``), else 1. Grid search over all
admissible joinpoint sets: at least ``min_end`` observations between a joinpoint and either end and
``min_between`` between two joinpoints, not counting the joinpoints (Joinpoint's defaults 2 and 2).

Model selection:

* ``"permutation"``: the sequential permutation test: start with ``ka = 0``, ``kb = K``; test H0 ``k = ka``
  against H1 ``k = kb`` with the statistic ``(SSE_ka - SSE_kb) / SSE_kb`` whose null distribution comes from
  permuting the weighted residuals of the ``ka`` fit; reject at ``alpha / (K - ka)`` -> ``ka += 1``, else
  ``kb -= 1``; stop when equal (Joinpoint >= 3.0);
* ``"bic"``: minimise ``BIC(k) = ln(SSE_k / n) + (2k + 2) ln(n) / n`` (``2k + 2`` parameters: intercept,
  slope, ``k`` slope changes and ``k`` joinpoints; Joinpoint's "Notation" page);
* ``"bic3"``: minimise ``BIC3(k) = ln(SSE_k / n) + (3k + 2) ln(n) / n`` (Joinpoint's harsher BIC3, Kim & Kim
  2016);
* ``"wbic"``: minimise the weighted BIC of Joinpoint >= 4.7 (Kim, Chen, Midthune et al., J Appl Stat
  2023;50(9):1992-2013; Joinpoint's "Weighted BIC (WBIC)" help page)
  ``WBIC(k) = ln(SSE_k / n) + ((2 + R2max) k + 2) ln(n) / n = (1 - R2max) BIC(k) + R2max BIC3(k)``, where
  ``R2max = max_i R2_i`` over the ``k`` joinpoints of the best ``k``-joinpoint fit and ``R2_i`` is the partial
  R2 of the hinge ``z_i = (x - tau_i)^+`` given ``1, x`` on the (weighted) data of the two segments that meet
  at ``tau_i``, ``tau_{i-1} <= x <= tau_{i+1}`` (``tau_0``, ``tau_{k+1}`` the first and last x)::

      R2_i = {y'(I - H0) z_i}^2 / ({y'(I - H0) y} {z_i'(I - H0) z_i}),   H0 the projection on (1, x);

  the weight is 0 for ``k = 0``, so all three criteria agree there.

The criteria floor ``SSE_k`` at ``1e-12`` of the weighted total sum of squares (rounding level), so exact fits
tie and the penalty decides; ``sse_by_k`` keeps the unfloored values.

Per segment ``APC = 100 (exp(b) - 1)`` with the slope ``b`` and a t interval on ``n - 2k - 2`` degrees of
freedom (joinpoints taken as fixed). Over ``[start, end]``:
``AAPC = 100 (exp(sum_i l_i b_i / sum_i l_i) - 1)``,
``l_i`` the length of segment ``i`` inside the interval; its interval uses ``t`` when it lies in one segment,
else the normal quantile (Joinpoint's AAPC rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, pairwise
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats as sps

from oncoreg.errors import Problem, ValidationFailed

FloatArray = npt.NDArray[np.float64]
Selection = Literal["permutation", "bic", "bic3", "wbic"]
SELECTIONS = ("permutation", "bic", "bic3", "wbic")
SSE_FLOOR = 1e-12  # relative to the weighted total sum of squares


@dataclass(frozen=True)
class JoinpointFit:
    """The selected joinpoint model."""

    x: FloatArray
    log_y: FloatArray
    weights: FloatArray
    joinpoints: tuple[float, ...]
    coefficients: FloatArray  # b0, b1, d_1..d_k
    covariance: FloatArray
    sse: float
    df: int
    fitted: FloatArray  # on the rate scale
    selection: str
    sse_by_k: dict[int, float] = field(default_factory=dict)
    bic_by_k: dict[int, float] = field(default_factory=dict)
    bic3_by_k: dict[int, float] = field(default_factory=dict)
    wbic_by_k: dict[int, float] = field(default_factory=dict)
    wbic_weight_by_k: dict[int, float] = field(default_factory=dict)  # R2max of the best k-joinpoint fit
    tests: tuple[tuple[int, int, float, float], ...] = ()  # (ka, kb, p-value, level)


def recommended_max_joinpoints(n: int) -> int:
    """Joinpoint's recommended maximum number of joinpoints for ``n`` data points."""
    return int(np.clip((n - 2) // 5, 0, 5)) if n >= 7 else 0


def _candidate_sets(n: int, k: int, min_end: int, min_between: int) -> npt.NDArray[np.int64]:
    """All admissible joinpoint index sets of size ``k`` (rows), as indices into the sorted x."""
    if k == 0:
        return np.zeros((1, 0), dtype=np.int64)
    allowed = range(min_end, n - 1 - min_end + 1)
    sets = [c for c in combinations(allowed, k) if all(b - a > min_between for a, b in pairwise(c))]
    return np.asarray(sets, dtype=np.int64).reshape(-1, k)


def _designs(x: FloatArray, idx: npt.NDArray[np.int64]) -> FloatArray:
    """Stacked design matrices (m, n, 2 + k) for joinpoint index sets ``idx`` (m, k)."""
    m, k = idx.shape
    base = np.broadcast_to(np.column_stack([np.ones_like(x), x]), (m, x.size, 2))
    if k == 0:
        return np.array(base)
    taus = x[idx]  # (m, k)
    hinges = np.maximum(x[None, :, None] - taus[:, None, :], 0.0)
    return np.concatenate([base, hinges], axis=2)


def _best_sse(q: FloatArray, y_w: FloatArray, chunk: int = 64) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """For every column of ``y_w`` (n, P): min over candidate bases ``q`` (m, n, p) of the residual SS."""
    total = np.einsum("np,np->p", y_w, y_w)
    best = np.full(y_w.shape[1], np.inf)
    arg = np.zeros(y_w.shape[1], dtype=np.int64)
    for start in range(0, q.shape[0], chunk):
        proj = np.einsum("mnp,nP->mpP", q[start : start + chunk], y_w)
        sse = total[None, :] - np.einsum("mpP,mpP->mP", proj, proj)
        i = np.argmin(sse, axis=0)
        val = sse[i, np.arange(sse.shape[1])]
        better = val < best
        best = np.where(better, val, best)
        arg = np.where(better, i + start, arg)
    return np.maximum(best, 0.0), arg


def wbic_weight(
    *, x: FloatArray, log_y: FloatArray, weights: FloatArray, joinpoint_index: npt.NDArray[np.int64]
) -> float:
    """WBIC's weight ``R2max``: the largest partial R2 of a hinge given ``1, x`` on its two segments.

    For joinpoint ``i`` (at ``x[joinpoint_index[i]]``) the data are those with
    ``tau_{i-1} <= x <= tau_{i+1}`` (``tau_0 = x[0]``, ``tau_{k+1} = x[-1]``), scaled by ``sqrt(weights)``;
    ``R2_i = (r_y . r_z)^2 / (|r_y|^2 |r_z|^2)`` with ``r_y``, ``r_z`` the residuals of ``y`` and
    ``z_i = (x - tau_i)^+`` after projection on ``(1, x)``, i.e. ``(SSE_line - SSE_bent) / SSE_line`` of the
    local fit. 0 without joinpoints, and 0 for a joinpoint whose two segments lie on one line to rounding.
    """
    if joinpoint_index.size == 0:
        return 0.0
    sqrt_w = np.sqrt(weights)
    bounds = np.concatenate([[0], joinpoint_index, [x.size - 1]])
    r2 = []
    for i, at in enumerate(joinpoint_index):
        part = slice(int(bounds[i]), int(bounds[i + 2]) + 1)
        sw = sqrt_w[part]
        y_local = sw * log_y[part]
        q = np.linalg.qr(np.column_stack([sw, sw * x[part]]))[0]
        z_local = sw * np.maximum(x[part] - x[at], 0.0)
        r_y = y_local - q @ (q.T @ y_local)
        r_z = z_local - q @ (q.T @ z_local)
        ss_y, ss_z = float(r_y @ r_y), float(r_z @ r_z)
        if ss_y <= SSE_FLOOR * float(y_local @ y_local) or ss_z == 0.0:
            r2.append(0.0)
        else:
            r2.append(min(float(r_y @ r_z) ** 2 / (ss_y * ss_z), 1.0))
    return max(r2)


def information_criteria(
    *, sse_by_k: dict[int, float], weight_by_k: dict[int, float], n: int, total: float
) -> dict[str, dict[int, float]]:
    """BIC, BIC3 and WBIC per number of joinpoints ``k`` (see the module docstring for the formulas)."""
    floor = SSE_FLOOR * max(total, np.finfo(np.float64).tiny)
    per_param = float(np.log(n) / n)
    fit = {k: float(np.log(max(s, floor) / n)) for k, s in sse_by_k.items()}
    return {
        "bic": {k: fit[k] + (2 * k + 2) * per_param for k in fit},
        "bic3": {k: fit[k] + (3 * k + 2) * per_param for k in fit},
        "wbic": {k: fit[k] + ((2 + weight_by_k[k]) * k + 2) * per_param for k in fit},
    }


def joinpoint(
    *,
    x: FloatArray | list[float],
    y: FloatArray | list[float],
    se: FloatArray | list[float] | None = None,
    counts: FloatArray | list[float] | None = None,
    max_joinpoints: int | None = None,
    min_end: int = 2,
    min_between: int = 2,
    selection: Selection = "permutation",
    n_permutations: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
) -> JoinpointFit:
    """Fit a log-linear joinpoint model to rates ``y`` at times ``x`` and select the number of joinpoints."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    problems = []
    if xa.shape != ya.shape or xa.ndim != 1:
        problems.append(Problem("y", str(ya.shape), "joinpoint.shape", f"must match x {xa.shape}"))
    elif np.any(np.diff(xa) <= 0):
        problems.append(Problem("x", str(xa.tolist()[:5]), "joinpoint.x", "must be strictly increasing"))
    bad = np.flatnonzero(~(ya > 0)) if xa.shape == ya.shape else np.array([], dtype=np.int64)
    problems += [
        Problem("y", str(ya[i]), "joinpoint.positive", "rates must be > 0 (log scale)", str(i + 1))
        for i in bad[:5]
    ]
    if selection not in SELECTIONS:
        problems.append(Problem("selection", str(selection), "joinpoint.selection", " or ".join(SELECTIONS)))
    if problems:
        raise ValidationFailed(problems)
    log_y = np.log(ya)
    if se is not None:
        w = ya**2 / np.asarray(se, dtype=np.float64) ** 2
    elif counts is not None:
        w = np.asarray(counts, dtype=np.float64)
    else:
        w = np.ones_like(ya)
    n = xa.size
    k_max = recommended_max_joinpoints(n) if max_joinpoints is None else max_joinpoints
    sqrt_w = np.sqrt(w)
    y_w = (sqrt_w * log_y)[:, None]
    cands: dict[int, npt.NDArray[np.int64]] = {}
    bases: dict[int, FloatArray] = {}
    for k in range(k_max + 1):
        idx = _candidate_sets(n, k, min_end, min_between)
        if idx.shape[0] == 0:
            break
        cands[k] = idx
        bases[k] = np.linalg.qr(_designs(xa, idx) * sqrt_w[None, :, None])[0]
    sse_by_k: dict[int, float] = {}
    best_idx: dict[int, npt.NDArray[np.int64]] = {}
    for k, q in bases.items():
        sse, arg = _best_sse(q, y_w)
        sse_by_k[k] = float(sse[0])
        best_idx[k] = cands[k][arg[0]]
    weight_by_k = {
        k: wbic_weight(x=xa, log_y=log_y, weights=w, joinpoint_index=idx) for k, idx in best_idx.items()
    }
    criteria = information_criteria(
        sse_by_k=sse_by_k, weight_by_k=weight_by_k, n=n, total=float(y_w[:, 0] @ y_w[:, 0])
    )
    tests: list[tuple[int, int, float, float]] = []
    if selection in criteria:
        by_k = criteria[selection]
        k_sel = min(by_k, key=lambda k: (by_k[k], k))
    else:
        rng = np.random.default_rng(seed)
        ka, kb = 0, max(bases)
        k_top = kb
        while ka < kb:
            design = _designs(xa, best_idx[ka][None, :])[0]
            beta = np.linalg.lstsq(design * sqrt_w[:, None], y_w[:, 0], rcond=None)[0]
            null_fit = design @ beta
            resid = sqrt_w * (log_y - null_fit)
            perms = np.argsort(rng.random((n_permutations, n)), axis=1)
            y_perm = (sqrt_w * null_fit)[:, None] + resid[perms].T
            sse_a, _ = _best_sse(bases[ka], y_perm)
            sse_b, _ = _best_sse(bases[kb], y_perm)
            stat = (sse_by_k[ka] - sse_by_k[kb]) / max(sse_by_k[kb], 1e-300)
            stat_perm = (sse_a - sse_b) / np.maximum(sse_b, 1e-300)
            p_value = (1 + np.sum(stat_perm >= stat * (1 - 1e-12))) / (n_permutations + 1)
            level = alpha / (k_top - ka)
            tests.append((ka, kb, float(p_value), level))
            if p_value < level:
                ka += 1
            else:
                kb -= 1
        k_sel = ka
    design = _designs(xa, best_idx[k_sel][None, :])[0]
    xw = design * sqrt_w[:, None]
    beta = np.linalg.lstsq(xw, y_w[:, 0], rcond=None)[0]
    resid = y_w[:, 0] - xw @ beta
    sse_sel = float(resid @ resid)
    df = n - 2 * k_sel - 2
    sigma2 = sse_sel / df if df > 0 else np.nan
    cov = sigma2 * np.linalg.inv(xw.T @ xw)
    return JoinpointFit(
        x=xa,
        log_y=log_y,
        weights=w,
        joinpoints=tuple(float(t) for t in xa[best_idx[k_sel]]),
        coefficients=beta,
        covariance=cov,
        sse=sse_sel,
        df=df,
        fitted=np.exp(design @ beta),
        selection=selection,
        sse_by_k=sse_by_k,
        bic_by_k=criteria["bic"],
        bic3_by_k=criteria["bic3"],
        wbic_by_k=criteria["wbic"],
        wbic_weight_by_k=weight_by_k,
        tests=tuple(tests),
    )


def _slope_contrasts(k: int) -> FloatArray:
    """Rows c_s with segment slope b_s = c_s . beta (b1 plus the hinge terms before segment s)."""
    rows = np.zeros((k + 1, k + 2))
    rows[:, 1] = 1.0
    for s in range(1, k + 1):
        rows[s, 2 : 2 + s] = 1.0
    return rows


def segments(*, fit: JoinpointFit, level: float = 0.95) -> pl.DataFrame:
    """APC per segment with its t interval: ``start, end, slope, apc, apc_lower, apc_upper``."""
    k = len(fit.joinpoints)
    c = _slope_contrasts(k)
    slope = c @ fit.coefficients
    se = np.sqrt(np.einsum("ij,jk,ik->i", c, fit.covariance, c))
    t = float(sps.t.ppf(1 - (1 - level) / 2, fit.df)) if fit.df > 0 else np.nan
    bounds = [float(fit.x[0]), *fit.joinpoints, float(fit.x[-1])]
    return pl.DataFrame(
        {
            "start": bounds[:-1],
            "end": bounds[1:],
            "slope": slope,
            "apc": 100 * np.expm1(slope),
            "apc_lower": 100 * np.expm1(slope - t * se),
            "apc_upper": 100 * np.expm1(slope + t * se),
        }
    )


def aapc(
    *, fit: JoinpointFit, start: float | None = None, end: float | None = None, level: float = 0.95
) -> dict[str, float]:
    """Average annual percent change over ``[start, end]`` (default: the whole range) with its interval."""
    lo = float(fit.x[0]) if start is None else start
    hi = float(fit.x[-1]) if end is None else end
    if not fit.x[0] <= lo < hi <= fit.x[-1]:
        raise ValidationFailed([Problem("end", f"{lo}-{hi}", "joinpoint.aapc", "interval must lie within x")])
    k = len(fit.joinpoints)
    bounds = np.array([fit.x[0], *fit.joinpoints, fit.x[-1]])
    lengths = np.clip(np.minimum(bounds[1:], hi) - np.maximum(bounds[:-1], lo), 0.0, None)
    share = lengths / lengths.sum()
    c = share @ _slope_contrasts(k)
    b = float(c @ fit.coefficients)
    se = float(np.sqrt(c @ fit.covariance @ c))
    one_segment = np.count_nonzero(lengths) == 1
    q = (
        float(sps.t.ppf(1 - (1 - level) / 2, fit.df))
        if one_segment
        else float(sps.norm.ppf(1 - (1 - level) / 2))
    )
    return {
        "start": lo,
        "end": hi,
        "aapc": 100 * float(np.expm1(b)),
        "lower": 100 * float(np.expm1(b - q * se)),
        "upper": 100 * float(np.expm1(b + q * se)),
    }
