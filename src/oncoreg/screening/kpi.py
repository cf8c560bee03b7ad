"""Programme indicators (EU-guideline KPIs, screening.md §2) from definitions held as data.

Each row of ``data/kpi_definitions.csv`` is one indicator: ``numerator`` and ``denominator`` are boolean
expressions over the columns of the unit frame (``episode``: :data:`~oncoreg.screening.episodes.EPISODES`
plus interval-cancer flags; ``person``: :func:`coverage_frame`), written as column names joined by ``&``
(and) or ``|`` (or), ``!`` negating one column. The value is

    value = scale · N(numerator ∧ denominator) / N(denominator)

or, when ``relative_to`` is ``background``, relative to the background (pre-screening) incidence IR:

    value = scale · N(numerator ∧ denominator) / Σ_{denominator rows} IR(programme, age group)

(EU breast detection rate "3 × IR", interval-cancer rate "N interval cancers / (N negative screens × IR)",
§2.1). ``acceptable`` and ``desirable`` are compared with ``better`` (higher or lower) into ``level``.
Strata: ``age_group`` (5 years), ``age_band`` (the report's bands, §5), ``county``, ``screen_kind``
(initial / subsequent), ``sex``, ``year``; a null stratum column means "all". Every run carries its
data-freeze time (§5: "the databases are moving").
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources

import polars as pl

from oncoreg.screening.errors import RuleSetError
from oncoreg.screening.interval import interval_flags
from oncoreg.screening.parameters import parameters_version, programme_parameters, report_age_bands

STRATA = ("age_group", "age_band", "county", "screen_kind", "sex", "year")
DEFAULT_STRATA: tuple[tuple[str, ...], ...] = (
    (),
    ("screen_kind",),
    ("age_band",),
    ("county",),
    ("county", "screen_kind"),
    ("sex",),
)

#: One row per indicator and stratum.
KPI_VALUES: dict[str, pl.DataType | type[pl.DataType]] = {
    "kpi_id": pl.String,
    "programme": pl.String,
    "name": pl.String,
    "stratified_by": pl.String,  # the stratum columns of this row joined by "," ("" = all)
    "age_group": pl.String,
    "age_band": pl.String,
    "county": pl.String,
    "screen_kind": pl.String,
    "sex": pl.Int8,
    "year": pl.Int32,
    "numerator": pl.Int64,
    "denominator": pl.Int64,
    "expected": pl.Float64,
    "value": pl.Float64,
    "unit": pl.String,
    "acceptable": pl.Float64,
    "desirable": pl.Float64,
    "level": pl.String,
    "source": pl.String,
}

_DEFINITION_COLUMNS = {
    "kpi_id": pl.String,
    "programme": pl.String,
    "name": pl.String,
    "unit_of_count": pl.String,
    "numerator": pl.String,
    "denominator": pl.String,
    "scale": pl.Float64,
    "unit": pl.String,
    "relative_to": pl.String,
    "acceptable": pl.Float64,
    "desirable": pl.Float64,
    "better": pl.String,
    "source": pl.String,
}


def kpi_definitions_text() -> str:
    """The packaged definition table as text (its SHA-256 is stored with every run)."""
    return resources.files("oncoreg.screening").joinpath("data/kpi_definitions.csv").read_text("utf-8")


def load_kpi_definitions(*, text: str | None = None) -> pl.DataFrame:
    """The indicator definitions (packaged, or from ``text`` in the same CSV layout), validated."""
    import io

    frame = pl.read_csv(io.StringIO(text if text is not None else kpi_definitions_text()), infer_schema=False)
    missing = [c for c in _DEFINITION_COLUMNS if c not in frame.columns]
    if missing:
        raise RuleSetError(f"kpi definitions lack columns {', '.join(missing)}")
    frame = frame.select([pl.col(c).cast(t) for c, t in _DEFINITION_COLUMNS.items()])
    bad = frame.filter(
        ~pl.col("unit_of_count").is_in(["episode", "person"])
        | ~pl.col("better").is_in(["higher", "lower"])
        | ~pl.col("relative_to").fill_null("").is_in(["", "background"])
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise RuleSetError(
            f"kpi {row['kpi_id']}: unit_of_count must be episode|person, better higher|lower, "
            "relative_to empty|background; "
            f"got {row['unit_of_count']}, {row['better']}, {row['relative_to']}",
            rule=str(row["kpi_id"]),
        )
    duplicated = frame.filter(pl.col("kpi_id").is_duplicated())["kpi_id"].unique().to_list()
    if duplicated:
        raise RuleSetError(f"kpi ids are not unique: {', '.join(duplicated)}")
    return frame


def condition(text: str, *, columns: Sequence[str]) -> pl.Expr:
    """A boolean expression from ``a&b|!c`` (``&`` binds tighter than ``|``) over known ``columns``."""
    alternatives: list[pl.Expr] = []
    for part in text.split("|"):
        terms: list[pl.Expr] = []
        for token in part.split("&"):
            name = token.strip().lstrip("!")
            if name not in columns:
                raise RuleSetError(f"kpi condition {text!r}: unknown column {name!r}")
            term = pl.col(name).fill_null(False)
            terms.append(~term if token.strip().startswith("!") else term)
        expression = terms[0]
        for term in terms[1:]:
            expression = expression & term
        alternatives.append(expression)
    result = alternatives[0]
    for alternative in alternatives[1:]:
        result = result | alternative
    return result


def _age_labels(programme: str) -> tuple[pl.Expr, pl.Expr]:
    age = pl.col("age").cast(pl.Int32)
    low = (age // 5) * 5
    group = low.cast(pl.String) + pl.lit("-") + (low + 4).cast(pl.String)
    bands = report_age_bands(programme=programme)
    band: pl.Expr = pl.lit(None, dtype=pl.String)
    for lo, hi in itertools.pairwise(bands):
        band = pl.when((age >= lo) & (age < hi)).then(pl.lit(f"{lo}-{hi - 1}")).otherwise(band)
    return group, band


def _prepare(frame: pl.DataFrame, programme: str, persons: pl.DataFrame | None) -> pl.DataFrame:
    group, band = _age_labels(programme)
    out = frame.filter(pl.col("programme") == programme).with_columns(
        group.alias("age_group"), band.alias("age_band")
    )
    if "screen_kind" in out.columns:
        out = out.with_columns(
            (pl.col("screen_kind") == "initial").fill_null(False).alias("initial"),
            (pl.col("screen_kind") == "subsequent").fill_null(False).alias("subsequent"),
        )
    if "sex" not in out.columns:
        if persons is not None:
            out = out.join(
                persons.select("person_id", pl.col("sex").cast(pl.Int8)), on="person_id", how="left"
            )
        else:
            out = out.with_columns(pl.lit(None, dtype=pl.Int8).alias("sex"))
    for name in STRATA:
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=KPI_VALUES[name]).alias(name))
    return out


def _with_background(frame: pl.DataFrame, background: pl.DataFrame | None, programme: str) -> pl.DataFrame:
    if background is None:
        return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("_ir"))
    rates = background.filter(pl.col("programme") == programme).select(
        "age_group", pl.col("rate").cast(pl.Float64).alias("_ir")
    )
    return frame.join(rates, on="age_group", how="left")


def _level(value: pl.Expr, definition: dict[str, object]) -> pl.Expr:
    acceptable, desirable = definition["acceptable"], definition["desirable"]
    if acceptable is None and desirable is None:
        return pl.lit("no standard")
    good = float(str(desirable if desirable is not None else acceptable))
    fair = float(str(acceptable if acceptable is not None else desirable))
    if definition["better"] == "higher":
        meets_good, meets_fair = value >= good, value >= fair
    else:
        meets_good, meets_fair = value <= good, value <= fair
    return (
        pl.when(value.is_null())
        .then(pl.lit("no data"))
        .when(meets_good)
        .then(pl.lit("desirable"))
        .when(meets_fair)
        .then(pl.lit("acceptable"))
        .otherwise(pl.lit("below acceptable"))
    )


def compute_kpis(
    *,
    episodes: pl.DataFrame,
    classification: pl.DataFrame | None = None,
    coverage: pl.DataFrame | None = None,
    persons: pl.DataFrame | None = None,
    background: pl.DataFrame | None = None,
    definitions: pl.DataFrame | None = None,
    strata: Sequence[Sequence[str]] = DEFAULT_STRATA,
    programmes: Sequence[str] | None = None,
) -> pl.DataFrame:
    """:data:`KPI_VALUES` rows for every definition and stratum set.

    ``episodes``: :func:`~oncoreg.screening.episodes.episodes`; ``classification``:
    :func:`~oncoreg.screening.interval.classify_cancers` (gives the interval-cancer flags); ``coverage``:
    :func:`coverage_frame` (for ``person`` indicators); ``persons`` (person_id, sex) for the sex stratum;
    ``background``: programme, age_group, rate per person-year (:func:`background_incidence`).
    Indicators whose unit frame is absent are left out.
    """
    table = definitions if definitions is not None else load_kpi_definitions()
    for stratum_set in strata:
        unknown = [name for name in stratum_set if name not in STRATA]
        if unknown:
            raise RuleSetError(f"unknown stratum {', '.join(unknown)}; expected {', '.join(STRATA)}")
    episode_frame = episodes
    flags = ("interval_0_11", "interval_12_23", "interval_any")
    if classification is not None:
        episode_frame = episode_frame.join(
            interval_flags(classification=classification),
            on=["person_id", "programme", "episode"],
            how="left",
        )
    for flag in flags:
        if flag not in episode_frame.columns:
            episode_frame = episode_frame.with_columns(pl.lit(None, dtype=pl.Boolean).alias(flag))
        episode_frame = episode_frame.with_columns(pl.col(flag).fill_null(False))
    units = {"episode": episode_frame, "person": coverage}
    rows: list[pl.DataFrame] = []
    prepared: dict[tuple[str, str], pl.DataFrame] = {}
    for definition in table.iter_rows(named=True):
        programme = str(definition["programme"])
        if programmes is not None and programme not in programmes:
            continue
        source = units[str(definition["unit_of_count"])]
        if source is None:
            continue
        key = (str(definition["unit_of_count"]), programme)
        if key not in prepared:
            prepared[key] = _with_background(_prepare(source, programme, persons), background, programme)
        frame = prepared[key]
        numerator = condition(str(definition["numerator"]), columns=frame.columns)
        denominator = condition(str(definition["denominator"]), columns=frame.columns)
        relative = definition["relative_to"] == "background"
        scale = float(definition["scale"])
        chosen = frame.filter(denominator).with_columns(numerator.alias("_num"))
        for stratum_set in strata:
            names = list(stratum_set)
            aggregations = [
                pl.col("_num").sum().cast(pl.Int64).alias("numerator"),
                pl.len().cast(pl.Int64).alias("denominator"),
                (pl.col("_ir").sum() if relative else pl.lit(None, dtype=pl.Float64)).alias("expected"),
            ]
            grouped = chosen.group_by(names).agg(aggregations) if names else chosen.select(aggregations)
            base = pl.col("expected") if relative else pl.col("denominator").cast(pl.Float64)
            value = pl.when(base > 0).then(scale * pl.col("numerator") / base)
            grouped = grouped.with_columns(value.alias("value"))
            grouped = grouped.with_columns(
                _level(pl.col("value"), definition).alias("level"),
                *[pl.lit(definition[c]).alias(c) for c in ("kpi_id", "programme", "name", "unit", "source")],
                pl.lit(",".join(names)).alias("stratified_by"),
                pl.lit(definition["acceptable"], dtype=pl.Float64).alias("acceptable"),
                pl.lit(definition["desirable"], dtype=pl.Float64).alias("desirable"),
                *[pl.lit(None, dtype=KPI_VALUES[c]).alias(c) for c in STRATA if c not in names],
            )
            rows.append(grouped.select([pl.col(c).cast(t) for c, t in KPI_VALUES.items()]))
    if not rows:
        return pl.DataFrame(schema=KPI_VALUES)
    return pl.concat(rows)


def coverage_frame(
    *, persons: pl.DataFrame, events: pl.DataFrame, at: date, programme: str = "cervix"
) -> pl.DataFrame:
    """One row per person in ``programme``'s target group on ``at`` with ``covered``: a primary or
    follow-up test in the look-back (cervix 3.5 years, §1.2/§5). ``target`` is true on every row."""
    parameters = programme_parameters(programme=programme)
    lookback = int(parameters.get("coverage_lookback_days", parameters["interval_days"]))
    day = pl.lit(at, dtype=pl.Date)
    age = (
        pl.lit(at.year)
        - pl.col("birth_date").dt.year()
        - (
            (pl.lit(at.month * 100 + at.day))
            < (pl.col("birth_date").dt.month() * 100 + pl.col("birth_date").dt.day())
        ).cast(pl.Int32)
    ).cast(pl.Int16)
    resident = pl.lit(True)
    if "entry_date" in persons.columns:
        resident = resident & (pl.col("entry_date") <= day)
    if "exit_date" in persons.columns:
        resident = resident & (pl.col("exit_date").is_null() | (pl.col("exit_date") > day))
    target = persons.with_columns(age.alias("age")).filter(
        resident
        & pl.col("sex").cast(pl.Int64).is_in(list(parameters["sexes"]))
        & (pl.col("age") >= int(parameters["entry_age"]))
        & (pl.col("age") < int(parameters["exit_age"]))
    )
    tests = (
        events.filter(
            (pl.col("programme") == programme)
            & pl.col("type").is_in(["sample", "screen", "fit_result"])
            & (pl.col("date") <= day)
            & (pl.col("date") > day.dt.offset_by(f"-{lookback}d"))
        )
        .select("person_id")
        .unique()
    )
    covered = tests.with_columns(pl.lit(True).alias("covered"))
    county = pl.col("county") if "county" in target.columns else pl.lit(None, dtype=pl.String)
    return target.join(covered, on="person_id", how="left").select(
        "person_id",
        pl.lit(programme).alias("programme"),
        "age",
        pl.lit(at.year, dtype=pl.Int32).alias("year"),
        county.alias("county"),
        pl.col("sex").cast(pl.Int8),
        pl.lit(True).alias("target"),
        pl.col("covered").fill_null(False),
    )


def background_incidence(
    *, tumours: pl.DataFrame, persons: pl.DataFrame, programme: str, start: date, end: date
) -> pl.DataFrame:
    """Age-specific (5-year groups) incidence per person-year of ``programme``'s target cancers among its
    eligible sex over [start, end): the background rate IR of §2.1 when the period is before screening
    (or the tumours are the incidence expected without screening). Columns programme, age_group, cases,
    person_years, rate."""
    parameters = programme_parameters(programme=programme)
    people = persons.filter(pl.col("sex").cast(pl.Int64).is_in(list(parameters["sexes"])))
    lo = pl.max_horizontal(pl.lit(start, dtype=pl.Date), pl.col("entry_date"))
    hi = pl.min_horizontal(
        pl.lit(end, dtype=pl.Date), pl.col("exit_date").fill_null(pl.lit(end, dtype=pl.Date))
    )
    span = people.select("birth_date", lo.alias("_lo"), hi.alias("_hi")).filter(pl.col("_lo") < pl.col("_hi"))
    years: list[pl.DataFrame] = []
    for low in range(0, 100, 5):
        a = pl.max_horizontal("_lo", pl.col("birth_date").dt.offset_by(f"{low}y"))
        b = pl.min_horizontal("_hi", pl.col("birth_date").dt.offset_by(f"{low + 5}y"))
        days = pl.when(b > a).then((b - a).dt.total_days()).otherwise(0)
        years.append(
            span.select((days.sum() / 365.25).alias("person_years")).with_columns(
                pl.lit(f"{low}-{low + 4}").alias("age_group")
            )
        )
    person_years = pl.concat(years)
    code = pl.col("icd10").str.replace(".", "", literal=True)
    target = pl.lit(False)
    for prefix in parameters["target_icd10"]:
        target = target | code.str.starts_with(prefix)
    cases = (
        tumours.filter(
            target
            & (pl.col("incidence_date") >= start)
            & (pl.col("incidence_date") < end)
            & pl.col("sex").cast(pl.Int64).is_in(list(parameters["sexes"]))
        )
        .with_columns(((pl.col("age").cast(pl.Int32) // 5) * 5).alias("_low"))
        .group_by(
            (pl.col("_low").cast(pl.String) + pl.lit("-") + (pl.col("_low") + 4).cast(pl.String)).alias(
                "age_group"
            )
        )
        .len("cases")
    )
    return (
        person_years.join(cases, on="age_group", how="left")
        .with_columns(pl.col("cases").fill_null(0).cast(pl.Int64), pl.lit(programme).alias("programme"))
        .with_columns(
            pl.when(pl.col("person_years") > 0).then(pl.col("cases") / pl.col("person_years")).alias("rate")
        )
        .select("programme", "age_group", "cases", "person_years", "rate")
    )


@dataclass(frozen=True)
class KpiRun:
    """A stored indicator run: the values and what they were computed from (§5: state the extract date)."""

    freeze_time: datetime  # the data-freeze (extract) time of the inputs
    computed_at: datetime
    definitions_sha256: str
    parameters_version: str
    values: pl.DataFrame  # KPI_VALUES


def kpi_run(
    *, freeze_time: datetime, computed_at: datetime, definitions_text: str | None = None, **inputs: object
) -> KpiRun:
    """:func:`compute_kpis` over ``inputs`` wrapped with its data-freeze time and the definitions' hash."""
    if freeze_time.tzinfo is None or computed_at.tzinfo is None:
        raise ValueError("freeze_time and computed_at must be timezone-aware")
    text = definitions_text if definitions_text is not None else kpi_definitions_text()
    values = compute_kpis(definitions=load_kpi_definitions(text=text), **inputs)  # type: ignore[arg-type]
    return KpiRun(
        freeze_time=freeze_time,
        computed_at=computed_at,
        definitions_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        parameters_version=parameters_version(),
        values=values,
    )


def report_table(
    *, values: pl.DataFrame, kpi_ids: Sequence[str], rows: str, columns: str | None = None
) -> pl.DataFrame:
    """An annual-report layout (§5): one row per value of ``rows`` (e.g. county) and a national "All" row,
    one column per indicator (and per value of ``columns``, e.g. initial/subsequent screen), cells the value.

    Needs the runs stratified by ``rows`` (and by ``rows,columns`` and ``columns`` when given)."""
    chosen = values.filter(pl.col("kpi_id").is_in(list(kpi_ids)))
    by_row = chosen.filter(pl.col("stratified_by") == ",".join([rows] + ([columns] if columns else [])))
    total = chosen.filter(pl.col("stratified_by") == (columns or ""))
    combined = pl.concat(
        [
            by_row.with_columns(pl.col(rows).cast(pl.String)),
            total.with_columns(pl.lit("All").alias(rows)),
        ]
    ).filter(pl.col(rows).is_not_null())
    header = pl.col("kpi_id")
    if columns:
        combined = combined.filter(pl.col(columns).is_not_null())
        header = header + pl.lit(" ") + pl.col(columns).cast(pl.String)
    wide = combined.with_columns(header.alias("_column")).pivot(
        on="_column", index=rows, values="value", aggregate_function="first"
    )
    return wide.sort(pl.col(rows) == "All", rows)
