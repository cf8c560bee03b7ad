"""Data-quality indicators on a hand-worked table (tests/data/snapshot/README.md)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from oncoreg.checks.quality import QUALITY, quality_indicators
from oncoreg.errors import ValidationFailed

DATA = Path(__file__).parent.parent / "data" / "snapshot"
TYPES = {"county": pl.String, "period": pl.String, "entity": pl.Int32, "sex": pl.Int8}


def _tumours() -> pl.DataFrame:
    return pl.read_csv(DATA / "quality_tumours.csv", schema_overrides=TYPES, try_parse_dates=True)


def _deaths() -> pl.DataFrame:
    return pl.read_csv(DATA / "quality_deaths.csv", schema_overrides=TYPES, try_parse_dates=True)


def test_indicators_match_the_hand_worked_table() -> None:
    expected = pl.read_csv(DATA / "quality_expected.csv", schema_overrides=QUALITY)
    got = quality_indicators(tumours=_tumours(), deaths=_deaths().lazy())
    assert_frame_equal(got, expected)


def test_lazy_and_eager_inputs_agree_and_deaths_are_optional() -> None:
    eager = quality_indicators(tumours=_tumours())
    lazy = quality_indicators(tumours=_tumours().lazy())
    assert_frame_equal(eager, lazy)
    assert eager["deaths"].null_count() == eager.height == 2
    assert eager["mi_ratio"].null_count() == 2


def test_coarser_classification_and_five_year_periods() -> None:
    got = quality_indicators(tumours=_tumours(), deaths=_deaths(), by=("sex", "period"), period_length=5)
    rows = got.select("sex", "period", "cases", "deaths", "psu_pct").rows()
    assert rows == [(1, "2021-2025", 2, 1, 100.0), (2, "2016-2020", 4, 3, 0.0)]
    assert got["entity"].null_count() == got["county"].null_count() == 2


def test_all_tumours_when_not_restricted_to_reportable_cases() -> None:
    got = quality_indicators(tumours=_tumours(), by=("entity",), reportable_only=False)
    breast = got.filter(pl.col("entity") == 180).row(0, named=True)
    assert breast["cases"] == 6
    assert breast["mv_pct"] == pytest.approx(100 * 4 / 6)


def test_unknown_grouping_and_missing_columns_are_named() -> None:
    with pytest.raises(ValidationFailed, match="hospital"):
        quality_indicators(tumours=_tumours(), by=("hospital",))
    with pytest.raises(ValidationFailed, match="basis"):
        quality_indicators(tumours=_tumours().drop("basis"))
