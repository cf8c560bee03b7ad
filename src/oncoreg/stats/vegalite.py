"""The standard figures as Vega-Lite v5 specs (plain dicts, JSON-serialisable) for the web app.

Same charts and inputs as :mod:`oncoreg.stats.figures`; the data are inlined as ``data.values`` (a list of
records with the columns the encodings name), so a spec renders without further requests.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from oncoreg.stats.figures import SEX_COLOURS, SEX_NAMES, age_group_labels

__all__ = [
    "SCHEMA",
    "age_specific_spec",
    "asr_trend_spec",
    "population_pyramid_spec",
    "survival_spec",
    "top_sites_spec",
]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
Spec = dict[str, Any]
_SEX_SCALE = {
    "domain": [SEX_NAMES[s] for s in (0, 1, 2)],
    "range": [SEX_COLOURS[s] for s in (0, 1, 2)],
}


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()


def _with_sex_name(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("sex").replace_strict(SEX_NAMES, default="Unknown", return_dtype=pl.String).alias("sex_name")
    )


def _base(title: str, frame: pl.DataFrame) -> Spec:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": 480,
        "height": 300,
        "data": {"values": _records(frame)},
    }


def age_specific_spec(*, rates: pl.DataFrame, title: str = "") -> Spec:
    """Age-specific rates per 100 000 (``sex, age_group, rate``), one line per sex, log-type y axis."""
    labels = age_group_labels()
    frame = _with_sex_name(rates.select("sex", "age_group", "rate")).with_columns(
        pl.col("age_group").map_elements(lambda g: labels[int(g) - 1], return_dtype=pl.String).alias("age")
    )
    return _base(title, frame) | {
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "age", "type": "ordinal", "sort": labels, "title": "Age group (years)"},
            "y": {
                "field": "rate",
                "type": "quantitative",
                "scale": {"type": "symlog"},
                "title": "Rate per 100 000",
            },
            "color": {"field": "sex_name", "type": "nominal", "scale": _SEX_SCALE, "title": "Sex"},
        },
    }


def asr_trend_spec(*, rates: pl.DataFrame, title: str = "") -> Spec:
    """ASR by year per sex with CI rules (``sex, year, asr, asr_lower, asr_upper``)."""
    frame = _with_sex_name(rates.select("sex", "year", "asr", "asr_lower", "asr_upper"))
    colour = {"field": "sex_name", "type": "nominal", "scale": _SEX_SCALE, "title": "Sex"}
    x = {"field": "year", "type": "quantitative", "axis": {"format": "d"}, "title": "Year of diagnosis"}
    return _base(title, frame) | {
        "layer": [
            {
                "mark": "rule",
                "encoding": {
                    "x": x,
                    "y": {"field": "asr_lower", "type": "quantitative"},
                    "y2": {"field": "asr_upper"},
                    "color": colour,
                },
            },
            {
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "asr",
                        "type": "quantitative",
                        "title": "Age-standardised rate per 100 000",
                    },
                    "color": colour,
                },
            },
        ],
    }


def survival_spec(*, curves: pl.DataFrame, by: str = "period", title: str = "") -> Spec:
    """Net survival (%) by years since diagnosis with a band, one curve per ``by`` value."""
    frame = curves.select(
        pl.col(by).cast(pl.String).alias(by),
        "time",
        (pl.col("estimate") * 100).alias("survival"),
        (pl.col("lower") * 100).alias("lower"),
        (pl.col("upper") * 100).alias("upper"),
    )
    x = {"field": "time", "type": "quantitative", "title": "Years since diagnosis"}
    colour = {"field": by, "type": "nominal", "title": by.capitalize()}
    return _base(title, frame) | {
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.15, "interpolate": "step-after"},
                "encoding": {
                    "x": x,
                    "y": {"field": "lower", "type": "quantitative"},
                    "y2": {"field": "upper"},
                    "color": colour,
                },
            },
            {
                "mark": {"type": "line", "interpolate": "step-after"},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "survival",
                        "type": "quantitative",
                        "scale": {"domain": [0, 100]},
                        "title": "Net survival (%)",
                    },
                    "color": colour,
                },
            },
        ],
    }


def population_pyramid_spec(*, population: pl.DataFrame, title: str = "", value: str = "population") -> Spec:
    """Population pyramid (``sex, age_group, <value>``): men as negative bars, women positive."""
    labels = age_group_labels()
    frame = _with_sex_name(
        population.group_by("sex", "age_group")
        .agg(pl.col(value).sum())
        .filter(pl.col("sex").is_in([1, 2]))
        .sort("sex", "age_group")
    ).with_columns(
        pl.when(pl.col("sex") == 1).then(-pl.col(value)).otherwise(pl.col(value)).alias("signed"),
        pl.col("age_group").map_elements(lambda g: labels[int(g) - 1], return_dtype=pl.String).alias("age"),
    )
    return _base(title, frame) | {
        "mark": "bar",
        "encoding": {
            "y": {"field": "age", "type": "ordinal", "sort": labels[::-1], "title": "Age group"},
            "x": {"field": "signed", "type": "quantitative", "title": value.replace("_", " ")},
            "color": {"field": "sex_name", "type": "nominal", "scale": _SEX_SCALE, "title": "Sex"},
            "tooltip": [{"field": "age"}, {"field": "sex_name"}, {"field": value, "type": "quantitative"}],
        },
    }


def top_sites_spec(*, incidence: pl.DataFrame, value: str = "cases", n: int = 10, title: str = "") -> Spec:
    """The ``n`` entities with the highest ``value`` per sex, horizontal bars faceted by sex."""
    frame = _with_sex_name(
        incidence.filter(pl.col("sex").is_in([1, 2]))
        .sort([value, "label"], descending=[True, False])
        .group_by("sex", maintain_order=True)
        .head(n)
        .select("sex", "label", value)
    )
    return {
        "$schema": SCHEMA,
        "title": title,
        "data": {"values": _records(frame)},
        "facet": {"column": {"field": "sex_name", "type": "nominal", "title": None}},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": 240,
            "height": 260,
            "mark": "bar",
            "encoding": {
                "y": {"field": "label", "type": "nominal", "sort": "-x", "title": None},
                "x": {"field": value, "type": "quantitative", "title": value.replace("_", " ")},
                "color": {"field": "sex_name", "type": "nominal", "scale": _SEX_SCALE, "legend": None},
            },
        },
    }
