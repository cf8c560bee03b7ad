"""Joinpoint: exact APC of a pure exponential trend, recovery of a simulated joinpoint, AAPC rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.stats.joinpoint import aapc, joinpoint, recommended_max_joinpoints, segments


def piecewise(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.arange(1990, 2020.0)
    log_rate = np.where(x < 2005, 0.02 * (x - 1990), 0.3 - 0.01 * (x - 2005))
    counts = np.random.default_rng(seed).poisson(2000 * np.exp(log_rate)).astype(float)
    return x, counts / 1e6 * 1e5, counts


def test_pure_exponential_trend_has_exact_apc() -> None:
    x = np.arange(2000, 2021.0)
    y = 50 * 1.03 ** (x - 2000)
    fit = joinpoint(x=x, y=y, selection="permutation", n_permutations=99, max_joinpoints=2)
    assert fit.joinpoints == ()
    seg = segments(fit=fit)
    assert seg["apc"][0] == pytest.approx(3.0, abs=1e-10)
    whole = aapc(fit=fit)
    assert whole["aapc"] == pytest.approx(3.0, abs=1e-10)


@pytest.mark.parametrize("selection", ["bic", "permutation"])
def test_recovers_simulated_joinpoint(selection: str) -> None:
    x, y, counts = piecewise()
    fit = joinpoint(
        x=x,
        y=y,
        counts=counts,
        selection=selection,
        max_joinpoints=3,
        n_permutations=199,
        seed=7,  # type: ignore[arg-type]
    )
    assert fit.joinpoints == (2005.0,)
    seg = segments(fit=fit)
    true_apc = [100 * (np.exp(0.02) - 1), 100 * (np.exp(-0.01) - 1)]
    assert (seg["apc_lower"].to_numpy() < true_apc).all()
    assert (seg["apc_upper"].to_numpy() > true_apc).all()


def test_aapc_equals_apc_without_joinpoints_and_within_a_segment() -> None:
    x, y, counts = piecewise(seed=3)
    flat = joinpoint(x=x[:15], y=y[:15], counts=counts[:15], selection="bic", max_joinpoints=0)
    seg = segments(fit=flat)
    whole = aapc(fit=flat)
    assert whole["aapc"] == pytest.approx(seg["apc"][0], rel=1e-12)
    assert whole["lower"] == pytest.approx(seg["apc_lower"][0], rel=1e-12)
    fit = joinpoint(x=x, y=y, counts=counts, selection="bic", max_joinpoints=2)
    seg = segments(fit=fit)
    inside = aapc(fit=fit, start=2007, end=2015)
    assert inside["aapc"] == pytest.approx(seg["apc"][1], rel=1e-12)
    assert inside["upper"] == pytest.approx(seg["apc_upper"][1], rel=1e-12)


def test_aapc_is_length_weighted_mean_of_slopes() -> None:
    x, y, counts = piecewise()
    fit = joinpoint(x=x, y=y, counts=counts, selection="bic", max_joinpoints=1)
    slopes = segments(fit=fit)["slope"].to_numpy()
    expected = 100 * np.expm1((15 * slopes[0] + 14 * slopes[1]) / 29)  # 1990-2005 and 2005-2019
    assert aapc(fit=fit)["aapc"] == pytest.approx(expected, rel=1e-12)


def test_joinpoint_respects_end_and_between_constraints() -> None:
    x, y, counts = piecewise()
    fit = joinpoint(x=x, y=y, counts=counts, selection="bic", max_joinpoints=3, min_end=3, min_between=3)
    idx = np.searchsorted(x, fit.joinpoints)
    assert all(i >= 3 and len(x) - 1 - i >= 3 for i in idx)
    assert all(b - a - 1 >= 3 for a, b in itertools.pairwise(idx))


def test_recommended_maximum_and_bad_input() -> None:
    assert [recommended_max_joinpoints(n) for n in (6, 7, 12, 17, 22, 27, 40)] == [0, 1, 2, 3, 4, 5, 5]
    with pytest.raises(ValidationFailed, match=r"row 2, y '0\.0'"):
        joinpoint(x=[1, 2, 3], y=[1.0, 0.0, 2.0])
