"""A rate table with several rate columns (as the simulator writes it) uses the most exact one."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from oncoreg.stats.ratetable import rate_table_from_frame


def _two_column_table(rate_per_day: float, prob: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sex": [1, 1, 2, 2],
            "age": [0, 1, 0, 1],
            "year": [2000, 2000, 2000, 2000],
            "rate_per_day": [rate_per_day] * 4,
            "prob": [prob] * 4,
        }
    )


def test_rate_per_day_wins_over_prob() -> None:
    frame = _two_column_table(rate_per_day=1e-4, prob=0.5)  # deliberately inconsistent columns
    table = rate_table_from_frame(frame)
    assert float(np.max(table.hazard)) == pytest.approx(1e-4)


def test_columns_choose_prob() -> None:
    frame = _two_column_table(rate_per_day=1e-4, prob=0.5)
    table = rate_table_from_frame(frame, columns={"prob": "prob"})
    per_day = -math.log(0.5) / 365.241
    assert float(np.max(table.hazard)) == pytest.approx(per_day)
