"""Standard figures of a statistics release, drawn with matplotlib (Agg, no GUI, no downloaded fonts).

Every function takes a table of the standard tables (:mod:`oncoreg.stats.standard_tables`) or a population
table and returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes PNG or SVG with fixed
metadata so the same input gives the same bytes. The same charts as Vega-Lite specs: :mod:`.vegalite`.

* :func:`age_specific_figure`: age-specific incidence rates by five-year age group (log scale), per sex;
* :func:`asr_trend_figure`: age-standardised rates by year per sex, optionally with joinpoint segments
  (:func:`oncoreg.stats.joinpoint.joinpoint`, BIC selection, weights from the ASR standard errors);
* :func:`survival_figure`: net survival curves with confidence bands, one per period (or sex);
* :func:`population_pyramid_figure`: population by age group, men to the left, women to the right;
* :func:`top_sites_figure`: the ``n`` entities with the most cases (or highest ASR) per sex, horizontal bars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from oncoreg.stats.joinpoint import joinpoint

__all__ = [
    "SEX_COLOURS",
    "SEX_NAMES",
    "age_group_labels",
    "age_specific_figure",
    "asr_trend_figure",
    "population_pyramid_figure",
    "save_figure",
    "survival_figure",
    "top_sites_figure",
]

SEX_NAMES: dict[int, str] = {0: "Both sexes", 1: "Men", 2: "Women"}
SEX_COLOURS: dict[int, str] = {0: "#4d4d4d", 1: "#1f77b4", 2: "#d62728"}
_SIZE = (7.0, 4.5)


def age_group_labels(groups: int = 18) -> list[str]:
    """``["0-4", "5-9", ..., "85+"]`` for five-year groups 1..``groups`` (the last open)."""
    return [f"{5 * i}-{5 * i + 4}" for i in range(groups - 1)] + [f"{5 * (groups - 1)}+"]


def _figure() -> Figure:
    return Figure(figsize=_SIZE, dpi=100, layout="constrained")


def age_specific_figure(*, rates: pl.DataFrame, title: str = "", log_scale: bool = True) -> Figure:
    """Age-specific rates per 100 000 by age group, one line per sex.

    ``rates``: ``sex, age_group`` (1-18), ``rate`` (one entity and period, e.g. a filter of
    ``incidence_age_specific``).
    """
    fig = _figure()
    ax = fig.add_subplot()
    labels = age_group_labels()
    for sex in sorted(rates["sex"].unique().to_list()):
        part = rates.filter(pl.col("sex") == sex).sort("age_group")
        ax.plot(
            part["age_group"].to_numpy(),
            part["rate"].to_numpy(),
            marker="o",
            color=SEX_COLOURS.get(sex, "black"),
            label=SEX_NAMES.get(sex, str(sex)),
        )
    if log_scale:
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xticks(range(1, 19), labels, rotation=60)
    ax.set_xlabel("Age group (years)")
    ax.set_ylabel("Rate per 100 000")
    ax.set_title(title)
    ax.legend(frameon=False)
    return fig


def asr_trend_figure(
    *, rates: pl.DataFrame, title: str = "", with_joinpoint: bool = False, max_joinpoints: int = 2
) -> Figure:
    """Age-standardised rate by year per sex (points with CI bars), optionally with joinpoint segments.

    ``rates``: ``sex, year, asr, asr_lower, asr_upper`` and ``asr_se`` for joinpoint (one entity and standard,
    e.g. a filter of ``incidence_year``). Joinpoint fits ln ASR with weights ASR²/SE², BIC selection.
    """
    fig = _figure()
    ax = fig.add_subplot()
    for sex in sorted(rates["sex"].unique().to_list()):
        part = rates.filter(pl.col("sex") == sex).sort("year")
        x = part["year"].to_numpy().astype(np.float64)
        y = part["asr"].to_numpy()
        colour = SEX_COLOURS.get(sex, "black")
        err = np.vstack([y - part["asr_lower"].to_numpy(), part["asr_upper"].to_numpy() - y])
        ax.errorbar(
            x, y, yerr=err, fmt="o", ms=3, color=colour, alpha=0.8, label=SEX_NAMES.get(sex, str(sex))
        )
        ok = y > 0
        if with_joinpoint and ok.sum() >= 7:
            fit = joinpoint(
                x=x[ok],
                y=y[ok],
                se=part["asr_se"].to_numpy()[ok],
                max_joinpoints=max_joinpoints,
                selection="bic",
            )
            ax.plot(fit.x, fit.fitted, color=colour, linewidth=2)
            for point in fit.joinpoints:
                ax.axvline(point, color=colour, linestyle=":", linewidth=1)
    ax.set_xlabel("Year of diagnosis")
    ax.set_ylabel("Age-standardised rate per 100 000")
    ax.set_title(title)
    ax.legend(frameon=False)
    return fig


def survival_figure(*, curves: pl.DataFrame, by: str = "period", title: str = "") -> Figure:
    """Net survival (per cent) by years since diagnosis with confidence bands, one curve per value of ``by``.

    ``curves``: ``time, estimate, lower, upper`` and ``by`` (e.g. a filter of ``survival_curves`` for one
    entity and sex).
    """
    fig = _figure()
    ax = fig.add_subplot()
    values = sorted(curves[by].unique().to_list())
    cmap = matplotlib.colormaps["viridis"]
    for i, value in enumerate(values):
        part = curves.filter(pl.col(by) == value).sort("time")
        t = np.r_[0.0, part["time"].to_numpy()]
        colour = SEX_COLOURS.get(value, "black") if by == "sex" else cmap(i / max(len(values) - 1, 1))
        est = np.r_[100.0, 100 * part["estimate"].to_numpy()]
        lo = np.r_[100.0, 100 * part["lower"].to_numpy()]
        hi = np.r_[100.0, 100 * part["upper"].to_numpy()]
        label = SEX_NAMES.get(value, str(value)) if by == "sex" else str(value)
        ax.step(t, est, where="post", color=colour, label=label)
        ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
    ax.set_xlabel("Years since diagnosis")
    ax.set_ylabel("Net survival (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small")
    return fig


def population_pyramid_figure(
    *, population: pl.DataFrame, title: str = "", value: str = "population"
) -> Figure:
    """Population pyramid: ``sex`` (1, 2), ``age_group`` (1-18) and ``value``; men left, women right."""
    fig = _figure()
    ax = fig.add_subplot()
    table = population.group_by("sex", "age_group").agg(pl.col(value).sum())
    groups = np.arange(1, 19)
    for sex, sign in ((1, -1.0), (2, 1.0)):
        part = table.filter(pl.col("sex") == sex)
        lookup = dict(zip(part["age_group"].to_list(), part[value].to_list(), strict=True))
        counts = np.array([float(lookup.get(int(g), 0.0)) for g in groups])
        ax.barh(groups, sign * counts, color=SEX_COLOURS[sex], label=SEX_NAMES[sex], height=0.9)
    ax.set_yticks(groups, age_group_labels())
    limit = float(np.max(np.abs(ax.get_xlim())))
    ax.set_xlim(-limit, limit)
    ticks = np.linspace(-limit, limit, 5)
    ax.set_xticks(ticks, [f"{abs(v):,.0f}" for v in ticks])
    ax.set_xlabel(value.replace("_", " ").capitalize())
    ax.set_title(title)
    ax.legend(frameon=False)
    return fig


def top_sites_figure(
    *, incidence: pl.DataFrame, value: str = "cases", n: int = 10, title: str = ""
) -> Figure:
    """The ``n`` level-30/20 entities with the highest ``value`` per sex (men left panel, women right).

    ``incidence``: ``label, sex, <value>`` for one period and standard (e.g. a filter of
    ``incidence_period``); "all sites" totals (970-990) and groups above level 20 should be filtered out.
    """
    fig = Figure(figsize=(9.0, 4.5), dpi=100, layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, sex in zip(axes, (1, 2), strict=True):
        part = incidence.filter(pl.col("sex") == sex).sort([value, "label"], descending=[True, False]).head(n)
        ax.barh(np.arange(part.height)[::-1], part[value].to_numpy(), color=SEX_COLOURS[sex])
        ax.set_yticks(np.arange(part.height)[::-1], part["label"].to_list(), fontsize="small")
        ax.set_title(SEX_NAMES[sex])
        ax.set_xlabel(value.replace("_", " "))
    fig.suptitle(title)
    return fig


def save_figure(fig: Figure, path: str | Path, *, fmt: Literal["png", "svg"] | None = None) -> Path:
    """Write ``fig`` as PNG or SVG (from the suffix unless ``fmt``) with no timestamps or software versions:
    the same figure gives the same bytes."""
    target = Path(path)
    kind = fmt or target.suffix.lstrip(".").lower()
    if kind == "png":
        fig.savefig(target, format="png", metadata={"Software": None})
    elif kind == "svg":
        with matplotlib.rc_context({"svg.hashsalt": "oncoreg", "svg.fonttype": "path"}):
            fig.savefig(target, format="svg", metadata={"Date": None, "Creator": None})
    else:
        raise ValueError(f"unsupported figure format {kind!r}: use png or svg")
    return target
