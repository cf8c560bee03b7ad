"""Joinpoint: exact APC of an exponential trend, a simulated joinpoint, AAPC rules, BIC/BIC3/WBIC."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.stats.joinpoint import (
    Selection,
    aapc,
    joinpoint,
    recommended_max_joinpoints,
    segments,
    wbic_weight,
)

DATA = Path(__file__).parents[1] / "data" / "stats" / "joinpoint"
CRITERIA: tuple[Selection, ...] = ("bic", "bic3", "wbic")


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


@pytest.mark.parametrize("selection", ["bic", "bic3", "wbic", "permutation"])
def test_recovers_simulated_joinpoint(selection: Selection) -> None:
    x, y, counts = piecewise()
    fit = joinpoint(
        x=x,
        y=y,
        counts=counts,
        selection=selection,
        max_joinpoints=3,
        n_permutations=199,
        seed=7,
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


YEARS = np.arange(1990, 2020.0)
NOISE_FREE = {
    0: 0.02 * (YEARS - 1990),
    1: np.where(YEARS < 2005, 0.02 * (YEARS - 1990), 0.3 - 0.01 * (YEARS - 2005)),
    2: 0.03 * (YEARS - 1990) - 0.05 * np.maximum(YEARS - 2000, 0) + 0.06 * np.maximum(YEARS - 2010, 0),
}
TRUE_JOINPOINTS = {0: (), 1: (2005.0,), 2: (2000.0, 2010.0)}


@pytest.mark.parametrize("selection", CRITERIA)
@pytest.mark.parametrize("k_true", sorted(NOISE_FREE))
def test_criteria_pick_the_true_number_on_noise_free_piecewise_data(
    selection: Selection, k_true: int
) -> None:
    fit = joinpoint(x=YEARS, y=50 * np.exp(NOISE_FREE[k_true]), selection=selection, max_joinpoints=3)
    assert fit.joinpoints == TRUE_JOINPOINTS[k_true]


def test_criteria_pick_no_joinpoint_on_noise_around_a_line() -> None:
    chosen: dict[str, list[int]] = {c: [] for c in CRITERIA}
    for seed in range(10):
        noise = np.random.default_rng(seed).normal(0.0, 0.03, YEARS.size)
        y = 50 * np.exp(0.02 * (YEARS - 1990) + noise)
        for c in CRITERIA:
            chosen[c].append(len(joinpoint(x=YEARS, y=y, selection=c, max_joinpoints=3).joinpoints))
    assert all(chosen[c][0] == 0 for c in CRITERIA)  # seed 0: every criterion picks the line
    assert sum(k == 0 for k in chosen["bic3"]) >= 9
    assert sum(k == 0 for k in chosen["wbic"]) >= 9
    assert sum(k == 0 for k in chosen["bic"]) >= 8  # the lighter penalty overfits more often
    # a harsher penalty never selects more joinpoints than BIC on the same data
    assert all(b3 <= b for b3, b in zip(chosen["bic3"], chosen["bic"], strict=True))


def test_wbic_lies_between_bic_and_bic3() -> None:
    x, y, counts = piecewise()
    fit = joinpoint(x=x, y=y, counts=counts, selection="wbic", max_joinpoints=3)
    assert fit.wbic_weight_by_k[0] == 0.0
    assert fit.wbic_by_k[0] == fit.bic_by_k[0] == fit.bic3_by_k[0]
    for k in range(1, 4):
        w = fit.wbic_weight_by_k[k]
        assert 0.0 < w < 1.0
        assert fit.bic_by_k[k] < fit.wbic_by_k[k] < fit.bic3_by_k[k]
        assert fit.wbic_by_k[k] == pytest.approx((1 - w) * fit.bic_by_k[k] + w * fit.bic3_by_k[k], abs=1e-12)
        pen = np.log(len(x)) / len(x)
        assert fit.bic3_by_k[k] - fit.bic_by_k[k] == pytest.approx(k * pen, abs=1e-12)


def test_wbic_hand_worked_case() -> None:
    case = json.loads((DATA / "wbic_hand_case.json").read_text())
    expected = case["expected"]
    settings = case["settings"]
    for selection in CRITERIA:
        fit = joinpoint(x=case["x"], y=np.exp(case["log_y"]), selection=selection, **settings)
        assert list(fit.joinpoints) == expected["joinpoints"]
        for k in (0, 1):
            key = str(k)
            assert fit.sse_by_k[k] == pytest.approx(expected["sse"][key], rel=1e-9, abs=1e-12)
            assert fit.bic_by_k[k] == pytest.approx(expected["bic"][key], rel=1e-9)
            assert fit.bic3_by_k[k] == pytest.approx(expected["bic3"][key], rel=1e-9)
            assert fit.wbic_weight_by_k[k] == pytest.approx(expected["wbic_weight"][key], rel=1e-9, abs=1e-15)
            assert fit.wbic_by_k[k] == pytest.approx(expected["wbic"][key], rel=1e-9)


def weighted_sse(design: np.ndarray, log_y: np.ndarray, sqrt_w: np.ndarray) -> float:
    beta = np.linalg.lstsq(design * sqrt_w[:, None], sqrt_w * log_y, rcond=None)[0]
    return float(np.sum((sqrt_w * (log_y - design @ beta)) ** 2))


def test_wbic_weight_uses_the_two_segments_around_each_joinpoint() -> None:
    """R2max = max over joinpoints of (SSE_line - SSE_bent) / SSE_line on tau_{i-1} <= x <= tau_{i+1}."""
    x, y, counts = piecewise(seed=5)
    log_y = np.log(y)
    idx = np.array([8, 15, 22])  # joinpoints at 1998, 2005, 2012
    sqrt_w = np.sqrt(counts)
    bounds = [0, *idx, len(x) - 1]
    by_refit = []
    for i, at in enumerate(idx):
        part = slice(bounds[i], bounds[i + 2] + 1)
        line = np.column_stack([np.ones_like(x[part]), x[part]])
        bent = np.column_stack([line, np.maximum(x[part] - x[at], 0.0)])
        sse = [weighted_sse(d, log_y[part], sqrt_w[part]) for d in (line, bent)]
        by_refit.append((sse[0] - sse[1]) / sse[0])
    weight = wbic_weight(x=x, log_y=log_y, weights=counts, joinpoint_index=idx)
    assert weight == pytest.approx(max(by_refit), rel=1e-10)
    assert wbic_weight(x=x, log_y=log_y, weights=counts, joinpoint_index=np.array([], dtype=np.int64)) == 0.0


def test_unknown_selection_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="selection 'aic'"):
        joinpoint(x=YEARS, y=np.exp(NOISE_FREE[0]), selection="aic")  # type: ignore[arg-type]
