"""Screening events → one row per screening episode (round) with the flags the indicators count.

Input: the screening-event table (:data:`SCREENING_EVENTS`; the simulator's EVENTS schema without its truth
columns, which is also what :mod:`oncoreg.screening.results` registers from the laboratories' files).
An *episode* is one round (breast, colorectal) or one primary sample with its follow-up (cervix), keyed by
``(person_id, programme, episode)``. Definitions (screening.md §2):

- ``invited``: an invitation letter in the episode; ``screened``: an adequate primary test (breast
  screen; colorectal FIT positive or negative; cervix sample with indication screening);
  ``inadequate``: only non-analysable FITs (§2.3 inadequate FOBT); ``returned``: a FIT returned at all;
  ``hpv_test``/``hpv_positive``: the primary test was an HPV test / was HPV positive.
- ``positive``: breast recall (incl. consensus recall), FIT positive, cervix primary sample with any
  recommendation other than routine; ``referred``: breast recall, colorectal referral to colonoscopy,
  cervix referral to colposcopy.
- ``worked_up``: a follow-up examination in the episode (assessment, colonoscopy, colposcopy,
  control sample, histology); ``referral_attended``: the referral examination itself (assessment,
  colposcopy, colonoscopy) took place; ``timely_workup``: within the programme's ``timely_workup_days``.
- ``cancer_found``: the work-up found the programme's target (``findings_cancer``); ``negative``: screened,
  no cancer found and (not positive or worked up) — the denominator of interval-cancer rates (§4).
- Lesion flags: breast ``dcis``, ``invasive``, ``benign``; cervix ``cin2plus``, ``cin3plus``;
  colorectal ``adenoma`` (any), ``advanced_adenoma``, ``advanced_neoplasia``.
- ``age``/``year``: at the screen when screened, else at the invitation (EU CRC ch. 4 convention, §2).
"""

from __future__ import annotations

import polars as pl

from oncoreg.screening.parameters import programme_parameters

#: Registered screening events (the simulator's EVENTS without ``tumour_id``).
SCREENING_EVENTS: dict[str, pl.DataType | type[pl.DataType]] = {
    "event_id": pl.String,
    "person_id": pl.Int64,
    "programme": pl.String,
    "episode": pl.Int32,
    "date": pl.Date,
    "type": pl.String,
    "test": pl.String,
    "indication": pl.String,
    "result": pl.String,
    "value": pl.Float64,
    "value_text": pl.String,
    "hpv_genotype": pl.String,
    "reflex_cytology": pl.String,
    "reader1_score": pl.Int8,
    "reader2_score": pl.Int8,
    "consensus": pl.Boolean,
    "recall": pl.Boolean,
    "first_screen": pl.Boolean,
    "rule_id": pl.String,
    "recommendation": pl.String,
    "due_date": pl.Date,
    "age": pl.Int16,
    "county": pl.String,
}

#: One row per screening episode.
EPISODES: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,
    "programme": pl.String,
    "episode": pl.Int32,
    "invitation_date": pl.Date,
    "screen_date": pl.Date,
    "workup_date": pl.Date,
    "workup_end_date": pl.Date,
    "age": pl.Int16,
    "year": pl.Int32,
    "county": pl.String,
    "test": pl.String,
    "screen_kind": pl.String,  # initial | subsequent | null (not screened)
    "invited": pl.Boolean,
    "reminded": pl.Boolean,
    "screened": pl.Boolean,
    "inadequate": pl.Boolean,
    "returned": pl.Boolean,
    "hpv_test": pl.Boolean,
    "hpv_positive": pl.Boolean,
    "first_screen": pl.Boolean,
    "positive": pl.Boolean,
    "referred": pl.Boolean,
    "worked_up": pl.Boolean,
    "referral_attended": pl.Boolean,
    "timely_workup": pl.Boolean,
    "cancer_found": pl.Boolean,
    "negative": pl.Boolean,
    "dcis": pl.Boolean,
    "invasive": pl.Boolean,
    "benign": pl.Boolean,
    "cin2plus": pl.Boolean,
    "cin3plus": pl.Boolean,
    "adenoma": pl.Boolean,
    "advanced_adenoma": pl.Boolean,
    "advanced_neoplasia": pl.Boolean,
}

_WORKUP_TYPES = ("assessment", "colonoscopy", "colposcopy", "histology")
_REFERRAL = {"breast": "assessment", "cervix": "colposcopy", "colorectal": "colonoscopy"}


def conform_events(events: pl.DataFrame) -> pl.DataFrame:
    """``events`` with every :data:`SCREENING_EVENTS` column (missing ones null), cast to its type."""
    return events.select(
        [
            (pl.col(name) if name in events.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in SCREENING_EVENTS.items()
        ]
    )


def _primary() -> pl.Expr:
    programme, kind = pl.col("programme"), pl.col("type")
    return (
        ((programme == "breast") & (kind == "screen"))
        | (
            (programme == "colorectal")
            & (kind == "fit_result")
            & pl.col("result").is_in(["positive", "negative"])
        )
        | ((programme == "cervix") & (kind == "sample") & (pl.col("indication") == "screening"))
    )


def _positive() -> pl.Expr:
    programme = pl.col("programme")
    return (
        ((programme == "breast") & (pl.col("recall").fill_null(False) | (pl.col("result") == "recall")))
        | ((programme == "colorectal") & (pl.col("result") == "positive"))
        | ((programme == "cervix") & (pl.col("recommendation").fill_null("routine") != "routine"))
    )


def _workup() -> pl.Expr:
    return pl.col("type").is_in(list(_WORKUP_TYPES)) | (
        (pl.col("type") == "sample") & (pl.col("indication") == "follow_up")
    )


def _cancer_results() -> pl.Expr:
    expression = pl.lit(False)
    for programme in ("breast", "cervix", "colorectal"):
        findings = programme_parameters(programme=programme)["findings_cancer"]
        expression = expression | (
            (pl.col("programme") == programme) & _workup() & pl.col("result").is_in(list(findings))
        )
    return expression


def _timely_days() -> pl.Expr:
    expression: pl.Expr = pl.lit(None, dtype=pl.Int64)
    for programme in ("breast", "cervix", "colorectal"):
        days = int(programme_parameters(programme=programme)["timely_workup_days"])
        expression = pl.when(pl.col("programme") == programme).then(pl.lit(days)).otherwise(expression)
    return expression


def episodes(*, events: pl.DataFrame) -> pl.DataFrame:
    """One :data:`EPISODES` row per ``(person_id, programme, episode)`` of ``events`` (vectorised)."""
    frame = conform_events(events).with_columns(
        _primary().alias("_primary"),
        _positive().alias("_positive"),
        _workup().alias("_workup"),
        _cancer_results().alias("_cancer"),
    )
    primary = pl.col("_primary")
    workup = pl.col("_workup")
    result = pl.col("result")
    referral = pl.col("recommendation").is_in(["assessment", "colposcopy", "colonoscopy"]) | (
        (pl.col("programme") == "breast") & pl.col("_positive")
    )
    cervix = pl.col("programme") == "cervix"
    keys = ["person_id", "programme", "episode"]
    grouped = frame.group_by(keys).agg(
        pl.col("date").filter(pl.col("type") == "invitation").min().alias("invitation_date"),
        pl.col("date").filter(primary).min().alias("screen_date"),
        pl.col("date").filter(workup).min().alias("workup_date"),
        pl.col("date").filter(workup).max().alias("workup_end_date"),
        pl.col("age").filter(primary).first().alias("_age_screen"),
        pl.col("age").filter(pl.col("type") == "invitation").first().alias("_age_invitation"),
        pl.col("age").first().alias("_age_any"),
        pl.col("county").filter(primary).first().alias("_county_screen"),
        pl.col("county").drop_nulls().first().alias("_county_any"),
        pl.col("test").filter(primary).first().alias("test"),
        (pl.col("type") == "invitation").any().alias("invited"),
        (pl.col("type") == "reminder").any().alias("reminded"),
        primary.any().alias("screened"),
        ((pl.col("type") == "fit_result") & (result == "not_analysable")).any().alias("_not_analysable"),
        pl.col("first_screen").filter(primary).first().fill_null(False).alias("first_screen"),
        (primary & pl.col("_positive")).any().alias("positive"),
        (primary & referral).any().alias("referred"),
        workup.any().alias("worked_up"),
        pl.col("type")
        .eq(pl.col("programme").replace_strict(_REFERRAL, default=""))
        .any()
        .alias("referral_attended"),
        (primary & pl.col("test").is_in(["hpv", "hpv_cytology"])).any().alias("hpv_test"),
        (primary & (result == "hpv_positive")).any().alias("hpv_positive"),
        pl.col("_cancer").any().alias("cancer_found"),
        (workup & (result == "dcis")).any().alias("dcis"),
        (workup & (result == "invasive")).any().alias("invasive"),
        (workup & (result == "benign")).any().alias("benign"),
        (cervix & workup & result.is_in(["cin2", "cin3", "cancer"])).any().alias("cin2plus"),
        (cervix & workup & result.is_in(["cin3", "cancer"])).any().alias("cin3plus"),
        (workup & result.is_in(["adenoma", "advanced_adenoma"])).any().alias("adenoma"),
        (workup & (result == "advanced_adenoma")).any().alias("advanced_adenoma"),
        ((pl.col("type") == "colonoscopy") & result.is_in(["advanced_adenoma", "cancer"]))
        .any()
        .alias("advanced_neoplasia"),
        _timely_days().first().alias("_timely_days"),
    )
    screened = pl.col("screened")
    anchor = pl.coalesce("screen_date", "invitation_date", "workup_date")
    out = grouped.with_columns(
        pl.coalesce(
            pl.when(screened).then(pl.col("_age_screen")), pl.col("_age_invitation"), pl.col("_age_any")
        ).alias("age"),
        anchor.dt.year().alias("year"),
        pl.coalesce("_county_screen", "_county_any").alias("county"),
        pl.when(screened)
        .then(pl.when(pl.col("first_screen")).then(pl.lit("initial")).otherwise(pl.lit("subsequent")))
        .alias("screen_kind"),
        (pl.col("_not_analysable") & ~screened).alias("inadequate"),
        (pl.col("_not_analysable") | screened).alias("returned"),
        (
            pl.col("worked_up")
            & ((pl.col("workup_date") - pl.col("screen_date")).dt.total_days() <= pl.col("_timely_days"))
        )
        .fill_null(False)
        .alias("timely_workup"),
        (screened & ~pl.col("cancer_found") & (~pl.col("positive") | pl.col("worked_up"))).alias("negative"),
    )
    return out.select([pl.col(name).cast(dtype) for name, dtype in EPISODES.items()]).sort(keys)
