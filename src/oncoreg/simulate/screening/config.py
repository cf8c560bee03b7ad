"""Parameters of the screening-history simulator and the rule tables it reads.

Numbers live in ``data/parameters.toml`` (each with its source and a [V]/[P]/[U] flag, see
``docs/simulate-screening.md``); the date-effective tables (breast and colorectal roll-out by county,
cervical test rules) in ``data/*.csv``. :meth:`ScreeningConfig.default` reads the packaged file; a
caller may pass a modified copy (``config.model_copy(update=...)``) to :func:`simulate_screening`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from importlib import resources
from io import BytesIO

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oncoreg.errors import ConfigError, Problem, ValidationFailed

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Probability = float


class BreastParameters(BaseModel):
    """BreastScreen Norway (screening.md §1.1)."""

    model_config = _FROZEN
    age_min: int = Field(description="Youngest age invited.")
    age_max: int = Field(description="Oldest age invited (invited while younger than age_max + 1).")
    interval_years: float = Field(gt=0, description="Years between invitations.")
    letter_days_before: int = Field(ge=0, description="Days between the letter and the appointment.")
    attendance_concentration: float = Field(gt=0, description="Beta concentration of attendance propensity.")
    fp_recall_first: Probability = Field(ge=0, le=1, description="False-positive recall, first screen.")
    fp_recall_subsequent: Probability = Field(ge=0, le=1, description="False-positive recall, later screens.")
    sojourn_mean_years: float = Field(gt=0, description="Mean preclinical sojourn time.")
    sojourn_shape: float = Field(gt=0, description="Gamma shape of the sojourn time (1: exponential).")
    sensitivity: Probability = Field(
        ge=0, le=1, description="P(screen sees a preclinical cancer) just before it would surface clinically."
    )
    sensitivity_at_onset: Probability = Field(
        ge=0, le=1, description="P(screen sees it) at the start of the preclinical phase (linear in between)."
    )
    subsequent_sensitivity_ratio: float = Field(
        gt=0, le=1, description="Sensitivity at a subsequent screen relative to a first (prevalent) screen."
    )
    assessment_delay_min_days: int = Field(ge=1)
    assessment_delay_max_days: int = Field(ge=1)
    discordant_share_detected: Probability = Field(ge=0, le=1)
    discordant_share_false_positive: Probability = Field(ge=0, le=1)
    discordant_dismissed: Probability = Field(ge=0, le=1)
    concordant_dismissed: Probability = Field(ge=0, le=1)
    scores_detected: tuple[float, float, float, float]
    scores_false_positive: tuple[float, float, float, float]
    benign_biopsy_share: Probability = Field(ge=0, le=1)
    stage_shift_probability: Probability = Field(ge=0, le=1)
    interval_months: int = Field(gt=0, description="Interval-cancer window after a negative screen.")


class CervixParameters(BaseModel):
    """CervicalScreen Norway (screening.md §1.2)."""

    model_config = _FROZEN
    age_min: int
    age_max: int
    programme_start: dt.date
    never_share: Probability = Field(ge=0, le=1)
    regular_share: Probability = Field(ge=0, le=1)
    regular_gap_factor: tuple[float, float]
    irregular_extra_mean_years: float = Field(gt=0)
    cytology_results: dict[str, float]
    hpv_positive_by_age: dict[str, float]
    hpv1618_share: Probability = Field(ge=0, le=1)
    reflex_cytology: dict[str, float]
    reflex_hpv_positive: Probability = Field(ge=0, le=1)
    control_persistent: Probability = Field(ge=0, le=1)
    followup_attendance: Probability = Field(ge=0, le=1)
    colposcopy_delay_days: tuple[int, int]
    histology_background: dict[str, float]
    sojourn_mean_years: float = Field(gt=0, description="Mean preclinical sojourn time.")
    sojourn_shape: float = Field(gt=0, description="Gamma shape of the sojourn time (1: exponential).")
    sensitivity_cytology: Probability = Field(ge=0, le=1)
    sensitivity_hpv: Probability = Field(ge=0, le=1)
    window_years_cytology: float = Field(gt=0)
    window_years_hpv: float = Field(gt=0)


class ColorectalParameters(BaseModel):
    """ColorectalScreen Norway (screening.md §1.3)."""

    model_config = _FROZEN
    first_cohort: int
    age_invited: int
    age_max: int
    max_rounds: int = Field(ge=1)
    interval_years: float = Field(gt=0)
    kit_days_after_letter: int = Field(ge=0)
    reminder_days_after_kit: int = Field(ge=0)
    participation_women: Probability = Field(ge=0, le=1)
    participation_men: Probability = Field(ge=0, le=1)
    participation_concentration: float = Field(gt=0)
    cutoff_ug_per_g: float = Field(gt=0)
    lower_limit_ug_per_g: float = Field(gt=0)
    upper_limit_ug_per_g: float = Field(gt=0)
    background_positive_women: Probability = Field(ge=0, le=1)
    background_positive_men: Probability = Field(ge=0, le=1)
    not_analysable: Probability = Field(ge=0, le=1)
    colonoscopy_attendance: Probability = Field(ge=0, le=1)
    colonoscopy_delay_days: tuple[int, int]
    findings_background: dict[str, float]
    sojourn_mean_years: float = Field(gt=0, description="Mean preclinical sojourn time.")
    sojourn_shape: float = Field(gt=0, description="Gamma shape of the sojourn time (1: exponential).")
    fit_sensitivity: Probability = Field(ge=0, le=1)
    colonoscopy_sensitivity: Probability = Field(ge=0, le=1)
    interval_months: int = Field(gt=0)


class ScreeningConfig(BaseModel):
    """All parameters of the screening stage (one frozen, validated object)."""

    model_config = _FROZEN
    version: str
    breast: BreastParameters
    cervix: CervixParameters
    colorectal: ColorectalParameters

    @classmethod
    def default(cls) -> ScreeningConfig:
        """The packaged parameters (``data/parameters.toml``)."""
        return _default_config()


def _read_data(name: str) -> bytes:
    return resources.files("oncoreg.simulate.screening").joinpath("data", name).read_bytes()


@lru_cache(maxsize=1)
def _default_config() -> ScreeningConfig:
    raw = tomllib.loads(_read_data("parameters.toml").decode("utf-8"))
    try:
        return ScreeningConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"screening parameters.toml: {where}: {first['msg']}") from exc


def _read_table(name: str, dates: list[str]) -> pl.DataFrame:
    frame = pl.read_csv(BytesIO(_read_data(name)), schema_overrides={"county_code": pl.String})
    problems = [
        Problem(field=column, value="", rule=name, text="column missing")
        for column in dates
        if column not in frame.columns
    ]
    if problems:
        raise ValidationFailed(problems)
    return frame.with_columns(pl.col(c).str.to_date("%Y-%m-%d") for c in dates)


@lru_cache(maxsize=1)
def breast_rollout() -> pl.DataFrame:
    """Counties and the date BreastScreen Norway started there, with attendance (``breast_rollout.csv``)."""
    return _read_table("breast_rollout.csv", ["programme_start"])


@lru_cache(maxsize=1)
def colorectal_rollout() -> pl.DataFrame:
    """Counties and the date ColorectalScreen Norway started there (``colorectal_rollout.csv``)."""
    return _read_table("colorectal_rollout.csv", ["programme_start"])


@lru_cache(maxsize=1)
def cervix_rules() -> pl.DataFrame:
    """Date-, county-, age- and cohort-effective primary-test rules (``cervix_rules.csv``, §1.2)."""
    frame = pl.read_csv(BytesIO(_read_data("cervix_rules.csv")), schema_overrides={"county_codes": pl.String})
    frame = frame.with_columns(pl.col("valid_from", "valid_to").str.to_date("%Y-%m-%d"))
    bad = frame.filter(~pl.col("test").is_in(["cytology", "hpv"]))
    if bad.height:
        raise ValidationFailed(
            [
                Problem(
                    field="test",
                    value=str(r["test"]),
                    rule="cervix_rules.csv",
                    text="not cytology|hpv",
                    row=str(r["rule_id"]),
                )
                for r in bad.iter_rows(named=True)
            ]
        )
    return frame.sort("priority")


@lru_cache(maxsize=1)
def published_figures() -> pl.DataFrame:
    """Published programme figures to compare with (``published.csv``; sources cite screening.md): the
    value, its unit, the calendar years it describes (``year_from``–``year_to``) and the years of programme
    history a run needs before them (``history_years``)."""
    years = {"year_from": pl.Int32, "year_to": pl.Int32, "history_years": pl.Int32}
    return pl.read_csv(
        BytesIO(_read_data("published.csv")), schema_overrides={"published": pl.Float64, **years}
    )
