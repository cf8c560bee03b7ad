"""The screening stage: run the three programmes over the people and their tumours, apply what the
screens found to the tumours, and collect the events and the per-tumour truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.simulate.schema import PERSONS, TUMOURS, conform
from oncoreg.simulate.screening.breast import simulate_breast
from oncoreg.simulate.screening.cervix import simulate_cervix
from oncoreg.simulate.screening.colorectal import simulate_colorectal
from oncoreg.simulate.screening.config import ScreeningConfig
from oncoreg.simulate.screening.detection import TRUTH, People
from oncoreg.simulate.screening.events import EVENTS

_STAGE_EARLIER = {"distant": "regional", "regional": "localised"}
_HISTOLOGY_OF_PRIMARY = 7  # ENCR basis of diagnosis


@dataclass(frozen=True)
class ScreeningResult:
    """Output of :func:`simulate_screening`."""

    tumours: pl.DataFrame  # TUMOURS rows; screen-detected ones earlier, with screen_detected set
    events: pl.DataFrame  # EVENTS rows of all programmes
    truth: pl.DataFrame  # TRUTH rows, one per tumour
    start_year: int
    end_year: int
    config: ScreeningConfig


def _check_inputs(persons: pl.DataFrame, tumours: pl.DataFrame, start_year: int, end_year: int) -> None:
    problems = [
        Problem(field=name, value="", rule=f"{table} schema", text="column missing")
        for table, frame, schema in (("PERSONS", persons, PERSONS), ("TUMOURS", tumours, TUMOURS))
        for name in schema
        if name not in frame.columns and name != "screen_detected"
    ]
    if start_year > end_year:
        problems.append(
            Problem(
                field="start_year", value=str(start_year), rule="period", text=f"after end_year {end_year}"
            )
        )
    if problems:
        raise ValidationFailed(problems)


def simulate_screening(
    *,
    persons: pl.DataFrame,
    tumours: pl.DataFrame,
    start_year: int,
    end_year: int,
    rng: np.random.Generator,
    config: ScreeningConfig | None = None,
) -> ScreeningResult:
    """Screening histories for ``start_year``–``end_year`` consistent with the people and their tumours.

    Each programme gets its own child generator (``rng.spawn(3)``), so the result is deterministic for a
    given ``rng`` state. A screen-detected tumour's incidence date becomes the date of the confirming
    examination, its basis of diagnosis 7 (histology of the primary), its age is recomputed and its
    stage moves one step earlier (distant → regional → localised) with probability
    ``breast.stage_shift_probability`` [U]; ``screen_detected`` is true for exactly these tumours.
    """
    _check_inputs(persons, tumours, start_year, end_year)
    config = config or ScreeningConfig.default()
    if "screen_detected" not in tumours.columns:
        tumours = tumours.with_columns(pl.lit(False).alias("screen_detected"))
    people = People.from_persons(persons)
    breast_rng, cervix_rng, colorectal_rng, stage_rng = rng.spawn(4)
    period = {"people": people, "tumours": tumours, "start_year": start_year, "end_year": end_year}
    outputs = [
        simulate_breast(**period, params=config.breast, rng=breast_rng),  # type: ignore[arg-type]
        simulate_cervix(**period, params=config.cervix, rng=cervix_rng),  # type: ignore[arg-type]
        simulate_colorectal(**period, params=config.colorectal, rng=colorectal_rng),  # type: ignore[arg-type]
    ]
    detected = pl.concat([o.detected for o in outputs]).sort("tumour_id")
    shift = stage_rng.random(detected.height) < config.breast.stage_shift_probability
    detected = detected.with_columns(pl.Series("_shift", shift))
    updated = (
        tumours.join(detected.rename({"incidence_date": "_found"}), on="tumour_id", how="left")
        .with_columns(
            pl.coalesce("_found", "incidence_date").alias("incidence_date"),
            (pl.col("_found").is_not_null() | pl.col("screen_detected").fill_null(False)).alias(
                "screen_detected"
            ),
            pl.when(pl.col("_found").is_not_null())
            .then(_HISTOLOGY_OF_PRIMARY)
            .otherwise(pl.col("basis"))
            .cast(pl.Int8)
            .alias("basis"),
            pl.when(pl.col("_shift").fill_null(False))
            .then(pl.col("stage").replace(_STAGE_EARLIER))
            .otherwise(pl.col("stage"))
            .alias("stage"),
        )
        .with_columns(_age_expr().alias("age"))
    )
    updated = conform(updated, TUMOURS)
    programme_truth = pl.concat([o.truth for o in outputs])
    others = updated.join(programme_truth.select("tumour_id"), on="tumour_id", how="anti").select(
        "tumour_id",
        "person_id",
        pl.lit(None, dtype=pl.String).alias("programme"),
        pl.lit("not_target").alias("classification"),
        pl.lit(None, dtype=pl.String).alias("detail"),
        pl.col("incidence_date").alias("clinical_date"),
        "incidence_date",
        pl.lit(None, dtype=pl.Date).alias("preclinical_start"),
        pl.lit(None, dtype=pl.Date).alias("last_screen_date"),
        pl.lit(None, dtype=pl.Int32).alias("days_since_screen"),
    )
    truth = conform(pl.concat([programme_truth, conform(others, TRUTH)]), TRUTH).sort("tumour_id")
    events = conform(pl.concat([o.events for o in outputs]), EVENTS)
    return ScreeningResult(
        tumours=updated, events=events, truth=truth, start_year=start_year, end_year=end_year, config=config
    )


def _age_expr() -> pl.Expr:
    """Completed years between birth_date and incidence_date."""
    birth, incidence = pl.col("birth_date"), pl.col("incidence_date")
    before = (incidence.dt.month() < birth.dt.month()) | (
        (incidence.dt.month() == birth.dt.month()) & (incidence.dt.day() < birth.dt.day())
    )
    return (incidence.dt.year() - birth.dt.year() - before.cast(pl.Int32)).cast(pl.Int16)
