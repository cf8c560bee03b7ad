"""Sums of exponentials over runs, evaluated on a sorted time grid without a persons × times matrix.

Relative-survival estimators need, at every grid time t_k, sums over persons of ``S*_i(t_k)`` or its inverse,
where each person's expected cumulative hazard Λ*_i is piecewise linear (see
:func:`oncoreg.stats.ratetable.hazard_runs`). On a run ``r`` of constant rate κ_r starting at time o_r with
amplitude A_r (e.g. ``exp(±Λ*)`` at o_r) the summand is ``A_r exp(κ_r (t - o_r))``. The grid is cut into
blocks of width at most ``block_width`` days; every run is cut into pieces at block boundaries and, around the
block's first time T_b, expanded as

    A_r e^{κ_r (T_b - o_r)} Σ_{m=0}^{M} (κ_r u)^m / m!,   u = t - T_b,

so the per-block polynomial coefficients are sums over the pieces active at t_k: difference arrays plus a
cumulative sum (O(pieces × M + K × M)). M is chosen so the truncation error is below 1e-17 relative.
The rate-weighted sum Σ κ_r A_r e^{κ_r(t - o_r)} is the u-derivative of the same polynomial.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[Any]
IntArray = NDArray[Any]

_TOLERANCE = 1e-17


@dataclass(frozen=True)
class ExponentialSums:
    """Σ A e^{κ(t-o)} (``plain``) and Σ κ A e^{κ(t-o)} (``weighted``) at the grid and at the shifted grid."""

    plain: FloatArray
    weighted: FloatArray
    plain_shifted: FloatArray
    weighted_shifted: FloatArray


@dataclass(frozen=True)
class BlockLayout:
    """The grid cut into blocks: block of each index (``rank``), block bounds, offsets u and Taylor order."""

    rank: IntArray
    block_first: IntArray
    block_stop: IntArray
    u: FloatArray
    u_shifted: FloatArray
    terms: int


def block_layout(
    *, eval_times: FloatArray, shifted_times: FloatArray, max_rate: float, width: float
) -> BlockLayout:
    """Blocks of ``width`` days over the sorted ``eval_times``; M from ``max_rate`` × the widest offset."""
    n_eval = len(eval_times)
    block = np.floor((eval_times - eval_times[0]) / width).astype(np.int64)
    new_block = np.ones(n_eval, dtype=bool)
    new_block[1:] = block[1:] != block[:-1]
    rank = np.cumsum(new_block) - 1
    block_first = np.flatnonzero(new_block)
    block_stop = np.append(block_first[1:], n_eval)
    u = eval_times - eval_times[block_first[rank]]
    u_shifted = shifted_times - eval_times[block_first[rank]]
    span = float(max(np.max(np.abs(u)), np.max(np.abs(u_shifted)))) if n_eval else 0.0
    return BlockLayout(
        rank=rank.astype(np.int64),
        block_first=block_first.astype(np.int64),
        block_stop=block_stop.astype(np.int64),
        u=u,
        u_shifted=u_shifted,
        terms=_terms(max_rate * span),
    )


def horner_sums(coefficients: list[FloatArray], *, layout: BlockLayout) -> ExponentialSums:
    """Evaluate the per-index Taylor coefficients c_0 … c_{M+1} (already summed over active runs)."""
    terms = layout.terms
    derivative = [(m + 1) * c for m, c in enumerate(coefficients[1 : terms + 2])]
    return ExponentialSums(
        plain=_horner(coefficients[: terms + 1], layout.u),
        weighted=_horner(derivative, layout.u),
        plain_shifted=_horner(coefficients[: terms + 1], layout.u_shifted),
        weighted_shifted=_horner(derivative, layout.u_shifted),
    )


def run_exponential_sums(
    *,
    eval_times: FloatArray,
    first: IntArray,
    stop: IntArray,
    origin: FloatArray,
    amplitude: FloatArray,
    rate: FloatArray,
    shifted_times: FloatArray | None = None,
    block_width: float = 256.0,
) -> ExponentialSums:
    """Evaluate Σ_{r: first_r ≤ k < stop_r} A_r exp(κ_r (t_k - o_r)) for every grid index k.

    ``eval_times`` is sorted; ``shifted_times[k]`` (default ``eval_times``) is a second evaluation time per
    index that uses the same active runs (e.g. the end of a fine step whose start is ``eval_times[k]``).
    """
    n_eval = len(eval_times)
    shifted = eval_times if shifted_times is None else shifted_times
    max_rate = float(np.max(np.abs(rate))) if len(rate) else 0.0
    width = block_width if max_rate == 0.0 else min(block_width, 1.0 / max_rate)
    layout = block_layout(eval_times=eval_times, shifted_times=shifted, max_rate=max_rate, width=width)
    rank, block_first, block_stop = layout.rank, layout.block_first, layout.block_stop
    valid = stop > first
    run_first, run_stop = first[valid], stop[valid]
    pieces = rank[run_stop - 1] - rank[run_first] + 1
    piece_run = np.repeat(np.flatnonzero(valid), pieces)
    offsets = np.cumsum(pieces) - pieces
    within = np.arange(int(pieces.sum()), dtype=np.int64) - np.repeat(offsets, pieces)
    piece_block = rank[first[piece_run]] + within
    lo = np.maximum(first[piece_run], block_first[piece_block])
    hi = np.minimum(stop[piece_run], block_stop[piece_block])
    kappa = rate[piece_run]
    coefficient = amplitude[piece_run] * np.exp(
        kappa * (eval_times[block_first[piece_block]] - origin[piece_run])
    )
    index = np.concatenate([lo, hi])
    coefficients: list[FloatArray] = []
    for m in range(layout.terms + 2):
        if m > 0:
            coefficient = coefficient * kappa / m
        weights = np.concatenate([coefficient, -coefficient])
        coefficients.append(np.cumsum(np.bincount(index, weights=weights, minlength=n_eval + 1))[:n_eval])
    return horner_sums(coefficients, layout=layout)


def _terms(x: float) -> int:
    """Smallest M with x^(M+1)/(M+1)! below the tolerance (x = max |κ u|), at most 60."""
    m = 1
    while x ** (m + 1) / math.factorial(m + 1) > _TOLERANCE and m < 60:
        m += 1
    return m


def _horner(coefficients: list[FloatArray], u: FloatArray) -> FloatArray:
    value = np.zeros_like(u)
    for c in reversed(coefficients):
        value = value * u + c
    return value
