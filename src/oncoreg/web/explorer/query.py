"""The statistics explorer: a selection (measure, entity, sex, period, region, standard) over a snapshot's
standard tables, answered as rows for a table and CSV, and a Vega-Lite chart.

Researchers see aggregates only after small-count suppression (:mod:`.suppression`): a cell whose
count is above zero and below ``settings.small_count_threshold`` is blanked together with every value
derived from it (primary), and so is the smallest cell of every additive relation ("both sexes" = men +
women, Norway = the sum of the counties, a period = the sum of its years, a group of sites = the sum of
its sites) that would otherwise give a blanked cell away (secondary). Incidence counts are decided once
over every entity, period, year, sex and county of the snapshot (:mod:`.relations`), survival and
prevalence over the entity's whole table, before the selection is cut out; the page says how many cells
were suppressed and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.stats import vegalite
from oncoreg.web.explorer import relations, suppression

Measure = Literal["counts", "rates", "asr", "trends", "survival", "prevalence"]
MEASURES: dict[str, str] = {
    "counts": "New cases",
    "rates": "Crude incidence rate per 100 000",
    "asr": "Age-standardised incidence rate per 100 000",
    "trends": "ASR trend by year",
    "survival": "Net survival (Pohar Perme, age-standardised)",
    "prevalence": "Prevalence at 31 December of the last year",
}
SEXES: dict[int, str] = {0: "Both sexes", 1: "Men", 2: "Women"}
STANDARDS: dict[str, str] = {"world": "World (Segi 1960)", "europe2013": "Europe 2013", "nordic": "Nordic"}
DEFAULT_ENTITY = 980  # all sites (NORDCAN), no non-melanoma skin
NATIONAL = ""
ALL_PERIODS = ""

#: The count column(s) of a measure's rows; suppression keys on the first present, blanks the rest.
_COUNTS = suppression.COUNTS
_DERIVED = suppression.DERIVED

#: Columns shown (and written to CSV) per measure, with headings.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "counts": (("period", "Period"), ("county", "County"), ("sex", "Sex"), ("cases", "Cases")),
    "rates": (
        ("period", "Period"),
        ("county", "County"),
        ("sex", "Sex"),
        ("cases", "Cases"),
        ("person_years", "Person-years"),
        ("crude_rate", "Crude rate"),
        ("crude_lower", "95% CI low"),
        ("crude_upper", "95% CI high"),
    ),
    "asr": (
        ("period", "Period"),
        ("county", "County"),
        ("sex", "Sex"),
        ("cases", "Cases"),
        ("asr", "ASR"),
        ("asr_lower", "95% CI low"),
        ("asr_upper", "95% CI high"),
        ("standard", "Standard"),
    ),
    "trends": (
        ("year", "Year"),
        ("sex", "Sex"),
        ("cases", "Cases"),
        ("asr", "ASR"),
        ("asr_lower", "95% CI low"),
        ("asr_upper", "95% CI high"),
        ("standard", "Standard"),
    ),
    "survival": (
        ("period", "Period"),
        ("approach", "Approach"),
        ("sex", "Sex"),
        ("time", "Years"),
        ("n_patients", "Patients"),
        ("estimate", "Net survival"),
        ("lower", "95% CI low"),
        ("upper", "95% CI high"),
    ),
    "prevalence": (
        ("sex", "Sex"),
        ("year", "At end of"),
        ("duration", "Diagnosed within"),
        ("prevalent", "Persons"),
        ("per_100000", "Per 100 000"),
    ),
}


@dataclass(frozen=True)
class Selection:
    """What the user asked for (validated against the snapshot's tables by :func:`explore`)."""

    measure: Measure = "asr"
    entity: int = DEFAULT_ENTITY
    sex: int = 0
    period: str = ALL_PERIODS
    region: str = NATIONAL
    standard: str = "world"

    def query_string(self) -> str:
        from urllib.parse import urlencode

        return urlencode(
            {
                "measure": self.measure,
                "entity": self.entity,
                "sex": self.sex,
                "period": self.period,
                "region": self.region,
                "standard": self.standard,
            }
        )


@dataclass(frozen=True)
class Choices:
    """The values a selection may take in this snapshot."""

    entities: list[tuple[int, str]]
    periods: list[str]
    regions: list[str]
    survival: bool


@dataclass(frozen=True)
class Answer:
    """Rows (display columns only), the chart spec, and what was suppressed or not available."""

    selection: Selection
    title: str
    rows: pl.DataFrame
    columns: tuple[tuple[str, str], ...]
    spec: dict[str, Any] | None
    suppressed: int = 0
    threshold: int | None = None
    notes: list[str] = field(default_factory=list)
    secondary: int = 0


def choices(tables: Mapping[str, pl.DataFrame]) -> Choices:
    """Entities (with labels), periods and counties the snapshot's tables hold."""
    period = tables["incidence_period"]
    entities = period.select("entity", "label").unique().sort("entity")
    periods = period.select("period_index", "period").unique().sort("period_index")["period"].to_list()
    county = tables.get("incidence_county_period")
    regions = [] if county is None else sorted(str(c) for c in county["county"].unique().drop_nulls())
    return Choices(
        entities=[(int(e), str(label)) for e, label in entities.iter_rows()],
        periods=[str(p) for p in periods],
        regions=regions,
        survival="survival" in tables,
    )


def suppress_small_counts(frame: pl.DataFrame, *, threshold: int) -> tuple[pl.DataFrame, int]:
    """Blank counts in 1..threshold-1 and the values derived from them; returns the frame and how many rows.

    The frame gains a boolean ``suppressed`` column. Zero counts are shown (they disclose nobody)."""
    out = suppression.suppress(frame, threshold=threshold).drop(suppression.PRIMARY, suppression.SECONDARY)
    return out, int(out["suppressed"].sum())


def suppressed_tables(
    tables: Mapping[str, pl.DataFrame], *, selection: Selection, threshold: int
) -> dict[str, pl.DataFrame]:
    """The tables with the selected entity's (and standard's) rows suppressed, primary and secondary, over
    the whole table: every period, sex and county, so that no two selections can be combined to undo it."""
    out = dict(tables)
    chosen = pl.col("entity") == selection.entity
    if selection.measure in ("counts", "rates", "asr", "trends"):
        protected = _protected_incidence(tables, threshold=threshold)
        period = pl.format("p{}", pl.col("period_index"))
        out["incidence_period"] = relations.apply(
            tables["incidence_period"].filter(chosen), protected, area=pl.lit(""), time=period
        )
        county = tables.get("incidence_county_period")
        if county is not None:
            out["incidence_county_period"] = relations.apply(
                county.filter(chosen), protected, area=pl.col("county").cast(pl.String), time=period
            )
        if "incidence_year" in tables:
            out["incidence_year"] = relations.apply(
                tables["incidence_year"].filter(chosen),
                protected,
                area=pl.lit(""),
                time=pl.format("y{}", pl.col("year")),
            )
    elif selection.measure == "prevalence":
        frame = tables["prevalence"].filter(chosen)
        out["prevalence"] = suppression.suppress(
            frame, threshold=threshold, margins=(("year", "duration_years"),)
        )
    elif "survival" in tables:
        frame = tables["survival"].filter(chosen)
        margins = (tuple(k for k in ("period", "approach", "time") if k in frame.columns),)
        out["survival"] = suppression.suppress(frame, threshold=threshold, margins=margins)
    return out


_PROTECTED: dict[tuple[int, int], tuple[Mapping[str, pl.DataFrame], pl.DataFrame]] = {}


def _protected_incidence(tables: Mapping[str, pl.DataFrame], *, threshold: int) -> pl.DataFrame:
    """:func:`.relations.protect_incidence` once per tables object and threshold (the last few kept)."""
    key = (id(tables), threshold)
    hit = _PROTECTED.get(key)
    if hit is not None and hit[0] is tables:
        return hit[1]
    protected = relations.protect_incidence(tables, threshold=threshold)
    if len(_PROTECTED) >= 4:
        _PROTECTED.pop(next(iter(_PROTECTED)))
    _PROTECTED[key] = (tables, protected)
    return protected


def _invalid(field_name: str, value: object, text: str) -> ValidationFailed:
    return ValidationFailed([Problem(field_name, str(value), "explorer.selection", text)])


def _validate(selection: Selection, available: Choices) -> None:
    if selection.measure not in MEASURES:
        raise _invalid("measure", selection.measure, f"must be one of {', '.join(MEASURES)}")
    if selection.entity not in {e for e, _ in available.entities}:
        raise _invalid("entity", selection.entity, "no such entity in this snapshot's tables")
    if selection.sex not in SEXES:
        raise _invalid("sex", selection.sex, "must be 0 (both), 1 (men) or 2 (women)")
    if selection.period and selection.period not in available.periods:
        raise _invalid("period", selection.period, f"must be one of {', '.join(available.periods)}")
    if selection.region and selection.region not in available.regions:
        raise _invalid("region", selection.region, "no such county in this snapshot's tables")
    if selection.standard not in STANDARDS:
        raise _invalid("standard", selection.standard, f"must be one of {', '.join(STANDARDS)}")


def _sex_filter(frame: pl.DataFrame, sex: int) -> pl.DataFrame:
    chosen = frame.filter(pl.col("sex") == sex)
    if chosen.height == 0 and sex == 0:  # sex-specific entities have no "both sexes" rows
        chosen = frame.filter(pl.col("sex").is_in([1, 2]))
    return chosen


def _period_rows(tables: Mapping[str, pl.DataFrame], selection: Selection) -> pl.DataFrame:
    if selection.region:
        frame = tables["incidence_county_period"].filter(pl.col("county") == selection.region)
    else:
        frame = tables["incidence_period"].with_columns(pl.lit(None, dtype=pl.String).alias("county"))
    frame = frame.filter((pl.col("entity") == selection.entity) & (pl.col("standard") == selection.standard))
    if selection.period:
        frame = frame.filter(pl.col("period") == selection.period)
    return _sex_filter(frame, selection.sex).sort("period_index", "sex")


def _rows(tables: Mapping[str, pl.DataFrame], selection: Selection, notes: list[str]) -> pl.DataFrame:
    entity = pl.col("entity") == selection.entity
    if selection.measure in ("counts", "rates", "asr"):
        return _period_rows(tables, selection)
    if selection.region:
        notes.append("By county only for counts, rates and ASR; this measure is shown for Norway.")
    if selection.measure == "trends":
        frame = tables["incidence_year"].filter(entity & (pl.col("standard") == selection.standard))
        return _sex_filter(frame, selection.sex).sort("year", "sex")
    if selection.measure == "prevalence":
        frame = _sex_filter(tables["prevalence"].filter(entity), selection.sex)
        return frame.with_columns(
            pl.when(pl.col("duration_years").is_null())
            .then(pl.lit("complete"))
            .otherwise(pl.col("duration_years").cast(pl.String) + pl.lit(" years"))
            .alias("duration")
        ).sort("sex", pl.col("duration_years").fill_null(999))
    survival = tables.get("survival")
    if survival is None:
        notes.append("No survival in this snapshot's tables: the installation has no rate table.")
        return pl.DataFrame(schema={name: pl.String for name, _ in COLUMNS["survival"]})
    frame = _sex_filter(survival.filter(entity), selection.sex)
    if selection.period:
        frame = frame.filter(pl.col("period") == selection.period)
    return frame.sort("period_index", "sex", "time")


def _title(selection: Selection, label: str) -> str:
    where = f"county {selection.region}" if selection.region else "Norway"
    period = selection.period or "all periods"
    return f"{MEASURES[selection.measure]}: {label}, {SEXES[selection.sex].lower()}, {where}, {period}"


def _period_chart(rows: pl.DataFrame, selection: Selection, title: str) -> dict[str, Any]:
    value = {"counts": "cases", "rates": "crude_rate", "asr": "asr"}[selection.measure]
    lower, upper = {"rates": ("crude_lower", "crude_upper"), "asr": ("asr_lower", "asr_upper")}.get(
        selection.measure, (None, None)
    )
    data = rows.select(
        "period",
        pl.col("sex").replace_strict(SEXES, return_dtype=pl.String).alias("sex_name"),
        pl.col(value).alias("value"),
        *([pl.col(lower).alias("lower"), pl.col(upper).alias("upper")] if lower and upper else []),
    )
    x = {"field": "period", "type": "ordinal", "title": "Period", "sort": None}
    bar: dict[str, Any] = {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": x,
            "xOffset": {"field": "sex_name"},
            "y": {"field": "value", "type": "quantitative", "title": MEASURES[selection.measure]},
            "color": {"field": "sex_name", "type": "nominal", "title": "Sex"},
        },
    }
    layers = [bar]
    if lower and upper:
        layers.append(
            {
                "mark": {"type": "rule"},
                "encoding": {
                    "x": x,
                    "xOffset": {"field": "sex_name"},
                    "y": {"field": "lower", "type": "quantitative"},
                    "y2": {"field": "upper"},
                },
            }
        )
    return {
        "title": title,
        "width": "container",
        "height": 300,
        "data": {"values": data.to_dicts()},
        "layer": layers,
    }


def _chart(rows: pl.DataFrame, selection: Selection, title: str, tables: Mapping[str, pl.DataFrame]) -> Any:
    if rows.height == 0:
        return None
    spec: dict[str, Any]
    if selection.measure in ("counts", "rates", "asr"):
        return _period_chart(rows, selection, title)
    if selection.measure == "trends":
        spec = vegalite.asr_trend_spec(rates=rows.filter(pl.col("asr").is_not_null()), title=title)
        for layer in spec["layer"]:  # years: the axis need not start at zero
            layer["encoding"]["x"] = {**layer["encoding"]["x"], "scale": {"zero": False}}
    elif selection.measure == "prevalence":
        data = rows.select(
            pl.col("sex").replace_strict(SEXES, return_dtype=pl.String).alias("sex_name"),
            "duration",
            "per_100000",
        )
        spec = {
            "title": title,
            "data": {"values": data.to_dicts()},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "duration", "type": "ordinal", "title": "Diagnosed within", "sort": None},
                "xOffset": {"field": "sex_name"},
                "y": {"field": "per_100000", "type": "quantitative", "title": "Per 100 000"},
                "color": {"field": "sex_name", "type": "nominal", "title": "Sex"},
            },
        }
    else:
        curves = tables.get("survival_curves")
        if curves is None:
            return None
        chosen = _sex_filter(curves.filter(pl.col("entity") == selection.entity), selection.sex)
        if selection.period:
            chosen = chosen.filter(pl.col("period") == selection.period)
        chosen = chosen.filter(pl.col("sex") == chosen["sex"].min()).filter(pl.col("estimate").is_not_nan())
        if chosen.height == 0:
            return None
        if chosen["time"].max() > 10:  # type: ignore[operator]  # months → years
            chosen = chosen.with_columns(pl.col("time") / 12)
        spec = vegalite.survival_spec(curves=chosen, title=title)
    spec.pop("$schema", None)
    spec["width"] = "container"
    return spec


def explore(
    *, tables: Mapping[str, pl.DataFrame], selection: Selection, small_count_threshold: int | None = None
) -> Answer:
    """Answer ``selection`` from the standard tables; with a threshold, small counts are suppressed."""
    available = choices(tables)
    _validate(selection, available)
    notes: list[str] = []
    suppressed = secondary = 0
    if small_count_threshold is None:
        rows = _rows(tables, selection, notes)
    else:
        protected = suppressed_tables(tables, selection=selection, threshold=small_count_threshold)
        rows = _rows(protected, selection, notes)
        if "suppressed" not in rows.columns:
            rows = rows.with_columns(pl.lit(False).alias("suppressed"))
        suppressed = int(rows["suppressed"].sum())
        if suppression.SECONDARY in rows.columns:
            secondary = int(rows[suppression.SECONDARY].sum())
        if secondary:
            notes.append(
                f"{secondary} of the {suppressed} suppressed cells here are not small themselves: they are "
                "suppressed as well (secondary suppression) so that no small count can be worked out as a "
                "difference from the totals (both sexes = men + women, Norway = the sum of the counties, a "
                "period = the sum of its years, a group of sites = the sum of its sites)."
            )
    label = dict(available.entities)[selection.entity]
    title = _title(selection, label)
    columns = tuple((c, h) for c, h in COLUMNS[selection.measure] if c in rows.columns)
    if selection.measure in ("counts", "rates", "asr") and not selection.region:
        columns = tuple((c, h) for c, h in columns if c != "county")
    spec = _chart(rows, selection, title, tables)
    shown = rows.select([c for c, _ in columns])
    return Answer(
        selection=selection,
        title=title,
        rows=shown,
        columns=columns,
        spec=spec,
        suppressed=suppressed,
        threshold=small_count_threshold,
        notes=notes,
        secondary=secondary,
    )


def to_csv(answer: Answer) -> str:
    """The answer's rows as CSV (headings = column names), with sexes as codes."""
    return answer.rows.write_csv(float_precision=4)


def display_rows(answer: Answer) -> list[list[str]]:
    """The rows as text for the HTML table (numbers rounded, suppressed cells marked)."""
    out = []
    for row in answer.rows.iter_rows(named=True):
        cells = []
        for name, _ in answer.columns:
            value = row[name]
            if value is None:
                cells.append("·" if name in (*_COUNTS, *_DERIVED) and answer.suppressed else "")
            elif name == "sex":
                cells.append(SEXES.get(int(value), str(value)))
            elif isinstance(value, float):
                cells.append(_number(name, value, answer.selection.measure))
            else:
                cells.append(str(value))
        out.append(cells)
    return out


def quality_columns() -> Sequence[tuple[str, str]]:
    """Headings of the data-quality table."""
    return (
        ("label", "Entity"),
        ("cases", "Cases"),
        ("mv_pct", "MV %"),
        ("dco_pct", "DCO %"),
        ("psu_pct", "PSU %"),
        ("age_unknown_pct", "Age unknown %"),
        ("mi_ratio", "M:I"),
        ("timeliness_median_days", "Median days to registration"),
    )


def _number(name: str, value: float, measure: str) -> str:
    if value != value:  # NaN: not estimable
        return ""
    if measure == "survival" and name in ("estimate", "lower", "upper"):
        return f"{value:.3f}"
    return f"{value:,.1f}"
