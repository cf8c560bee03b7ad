"""Figures render, PNG/SVG bytes are deterministic, Vega-Lite specs carry the right values and encodings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from oncoreg.stats.figures import (
    age_specific_figure,
    asr_trend_figure,
    population_pyramid_figure,
    save_figure,
    survival_figure,
    top_sites_figure,
)
from oncoreg.stats.vegalite import (
    age_specific_spec,
    asr_trend_spec,
    population_pyramid_spec,
    survival_spec,
    top_sites_spec,
)

AGE = pl.DataFrame(
    {
        "sex": [1] * 18 + [2] * 18,
        "age_group": list(range(1, 19)) * 2,
        "rate": [float(2**g) for g in range(18)] * 2,
    }
)
YEARS = np.arange(2000, 2020)
TREND = pl.DataFrame(
    {
        "sex": np.repeat([1, 2], 20),
        "year": np.tile(YEARS, 2),
        "asr": np.r_[100 * 1.02 ** (YEARS - 2000), 80 * np.minimum(1.03 ** (YEARS - 2000), 1.03**10)],
    }
).with_columns(asr_se=pl.col("asr") * 0.02, asr_lower=pl.col("asr") * 0.96, asr_upper=pl.col("asr") * 1.04)
CURVES = pl.DataFrame(
    {
        "period": ["2015-2019"] * 60 + ["2020-2024"] * 60,
        "time": np.tile(np.arange(1, 61) / 12, 2),
        "estimate": np.r_[np.exp(-0.05 * np.arange(1, 61) / 12), np.exp(-0.04 * np.arange(1, 61) / 12)],
    }
).with_columns(lower=pl.col("estimate") * 0.95, upper=pl.col("estimate") * 1.02)
POP = pl.DataFrame(
    {
        "sex": np.repeat([1, 2], 18),
        "age_group": np.tile(np.arange(1, 19), 2),
        "population": np.arange(36) * 1000 + 500,
    }
)
TOP = pl.DataFrame(
    {
        "label": ["Lung", "Colon", "Prostate", "Breast", "Lung", "Colon"],
        "sex": [1, 1, 1, 2, 2, 2],
        "cases": [30, 20, 50, 60, 25, 22],
    }
)


BUILDERS = {
    "age": lambda: age_specific_figure(rates=AGE, title="Colon"),
    "trend": lambda: asr_trend_figure(rates=TREND, title="Colon", with_joinpoint=True),
    "survival": lambda: survival_figure(curves=CURVES, title="Colon"),
    "pyramid": lambda: population_pyramid_figure(population=POP),
    "top": lambda: top_sites_figure(incidence=TOP, n=2),
}


@pytest.mark.parametrize(("name", "fmt"), [*((n, "png") for n in BUILDERS), ("survival", "svg")])
def test_figures_render_deterministically(tmp_path: Path, name: str, fmt: str) -> None:
    first = save_figure(BUILDERS[name](), tmp_path / f"{name}_1.{fmt}")
    second = save_figure(BUILDERS[name](), tmp_path / f"{name}_2.{fmt}")
    data = first.read_bytes()
    assert len(data) > 1000
    assert data == second.read_bytes()
    if fmt == "png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert b"<svg" in data
        assert b"<dc:date>" not in data


def test_save_figure_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        save_figure(age_specific_figure(rates=AGE), tmp_path / "x.gif")


def test_vegalite_specs_have_values_and_encodings() -> None:
    spec = age_specific_spec(rates=AGE, title="Colon")
    assert spec["$schema"].endswith("vega-lite/v5.json")
    values = spec["data"]["values"]
    assert len(values) == 36
    assert {"sex_name": "Men", "age": "85+", "rate": 2.0**17}.items() <= values[17].items()
    assert spec["encoding"]["x"]["field"] == "age"
    assert spec["encoding"]["y"]["field"] == "rate"
    assert spec["encoding"]["color"]["field"] == "sex_name"

    trend = asr_trend_spec(rates=TREND)
    assert [
        layer["mark"] if isinstance(layer["mark"], str) else layer["mark"]["type"] for layer in trend["layer"]
    ] == [
        "rule",
        "line",
    ]
    assert trend["layer"][0]["encoding"]["y2"]["field"] == "asr_upper"
    assert trend["data"]["values"][0]["asr"] == pytest.approx(100.0)

    surv = survival_spec(curves=CURVES)
    assert surv["data"]["values"][0]["survival"] == pytest.approx(100 * np.exp(-0.05 / 12))
    assert surv["layer"][1]["encoding"]["color"]["field"] == "period"

    pyramid = population_pyramid_spec(population=POP)
    men = [v for v in pyramid["data"]["values"] if v["sex"] == 1]
    assert men[0]["signed"] == -500
    assert men[0]["age"] == "0-4"

    top = top_sites_spec(incidence=TOP, n=2)
    got = {(v["sex_name"], v["label"]) for v in top["data"]["values"]}
    assert got == {("Men", "Prostate"), ("Men", "Lung"), ("Women", "Breast"), ("Women", "Lung")}
    assert top["spec"]["encoding"]["x"]["field"] == "cases"
    json.dumps([spec, trend, surv, pyramid, top])  # JSON-serialisable
