"""Interval cancers: classify each registry cancer of a programme's target site by screening history (§4).

For every tumour whose ICD-10 code starts with one of the programme's ``target_icd10`` prefixes (and whose
person has an eligible sex), in this order:

1. ``screen_detected``: the latest *positive* screen at or before the incidence date lies within
   ``detection_link_days`` of it, counted from the end of that episode's work-up (breast: a cancer within
   6 months after a false-positive assessment counts as screen-detected [U]; cervix: within 12 months of an
   abnormal screen or referral [P]).
2. ``post_colonoscopy`` (colorectal): a colonoscopy before the incidence date (a screening colonoscopy
   ends FIT rounds, §1.3, so later cancers are post-colonoscopy CRC, §4).
3. ``interval``: the last primary screen before the incidence date was negative (no positive, or a
   negative work-up) and lies within the programme's window: the screening interval, 2 years for breast
   and colorectal [V]; 3.5 years after cytology and 5.5 years after HPV for cervix [P]. ``detail`` gives the
   band ``0-11`` / ``12-23`` / ``24+`` months.
4. ``after_missed_round``: screened before, but outside the window (``screen_overdue``) or a positive
   screen without work-up (``abnormal_not_followed_up``).
5. ``never_screened``: in the target group before the incidence date (first invitation, or for the
   reminder-based cervix programme the first day aged 25–69 and resident after the start), never tested.
6. ``not_target``: none of the above.

Pure function over frames; vectorised with as-of joins.
"""

from __future__ import annotations

import polars as pl

from oncoreg.screening.episodes import conform_events, episodes
from oncoreg.screening.parameters import OPS_PROGRAMMES, programme_parameters

#: One row per target tumour.
CLASSIFICATION: dict[str, pl.DataType | type[pl.DataType]] = {
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "programme": pl.String,
    "classification": pl.String,
    "detail": pl.String,
    "incidence_date": pl.Date,
    "last_screen_date": pl.Date,
    "last_screen_episode": pl.Int32,
    "days_since_screen": pl.Int32,
    "screen_kind": pl.String,
}


def _targets(tumours: pl.DataFrame, programme: str) -> pl.DataFrame:
    parameters = programme_parameters(programme=programme)
    code = pl.col("icd10").str.replace(".", "", literal=True)
    chosen = tumours.filter(code.str.starts_with(parameters["target_icd10"][0]))
    for prefix in parameters["target_icd10"][1:]:
        chosen = chosen.vstack(tumours.filter(code.str.starts_with(prefix)))
    if "sex" in chosen.columns:
        chosen = chosen.filter(pl.col("sex").cast(pl.Int64).is_in(list(parameters["sexes"])))
    return chosen.select("tumour_id", "person_id", "incidence_date").unique("tumour_id")


def _eligible_dates(*, programme: str, events: pl.DataFrame, persons: pl.DataFrame | None) -> pl.DataFrame:
    """person_id, eligible_date: first day the person was in the programme's target group."""
    parameters = programme_parameters(programme=programme)
    invited = (
        events.filter((pl.col("programme") == programme) & (pl.col("type") == "invitation"))
        .group_by("person_id")
        .agg(pl.col("date").min().alias("eligible_date"))
    )
    if parameters["eligibility"] != "age" or persons is None:
        return invited
    entry_age, exit_age = int(parameters["entry_age"]), int(parameters["exit_age"])
    people = persons.filter(pl.col("sex").cast(pl.Int64).is_in(list(parameters["sexes"])))
    start = pl.lit(parameters["start"], dtype=pl.Date)
    entry = pl.col("entry_date") if "entry_date" in people.columns else start
    lo = pl.max_horizontal(pl.col("birth_date").dt.offset_by(f"{entry_age}y"), entry, start)
    hi = pl.col("birth_date").dt.offset_by(f"{exit_age}y")
    if "exit_date" in people.columns:
        hi = pl.min_horizontal(hi, pl.col("exit_date").fill_null(pl.date(9999, 12, 31)))
    by_age = people.select("person_id", lo.alias("eligible_date"), hi.alias("_until")).filter(
        pl.col("eligible_date") < pl.col("_until")
    )
    return (
        pl.concat([invited, by_age.select("person_id", "eligible_date")])
        .group_by("person_id")
        .agg(pl.col("eligible_date").min())
    )


def _window_days(programme: str) -> pl.Expr:
    parameters = programme_parameters(programme=programme)
    if programme == "cervix":
        hpv = pl.col("test").is_in(["hpv", "hpv_cytology"])
        return (
            pl.when(hpv)
            .then(pl.lit(int(parameters["window_days_hpv"])))
            .otherwise(pl.lit(int(parameters["window_days_cytology"])))
        )
    return pl.lit(int(parameters["interval_days"]))


def classify_programme(
    *,
    programme: str,
    tumours: pl.DataFrame,
    episode_frame: pl.DataFrame,
    events: pl.DataFrame,
    persons: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:data:`CLASSIFICATION` rows for ``programme``'s target tumours (see the module docstring)."""
    parameters = programme_parameters(programme=programme)
    targets = _targets(tumours, programme).sort("incidence_date")
    screens = (
        episode_frame.filter((pl.col("programme") == programme) & pl.col("screened"))
        .select(
            "person_id",
            "episode",
            "screen_date",
            "screen_kind",
            "test",
            "positive",
            "worked_up",
            "negative",
            pl.coalesce("workup_end_date", "screen_date").alias("_episode_end"),
        )
        .sort("screen_date")
    )
    positives = screens.filter(pl.col("positive")).select(
        "person_id", pl.col("screen_date").alias("_positive_date"), "_episode_end"
    )
    frame = targets.join_asof(
        positives,
        left_on="incidence_date",
        right_on="_positive_date",
        by="person_id",
        strategy="backward",
        check_sortedness=False,
    )
    last = screens.rename({"screen_date": "last_screen_date", "episode": "last_screen_episode"}).drop(
        "_episode_end"
    )
    frame = frame.join_asof(
        last,
        left_on="incidence_date",
        right_on="last_screen_date",
        by="person_id",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    frame = frame.join(
        _eligible_dates(programme=programme, events=events, persons=persons), on="person_id", how="left"
    )
    colonoscopy = (
        events.filter((pl.col("programme") == programme) & (pl.col("type") == "colonoscopy"))
        .group_by("person_id")
        .agg(pl.col("date").min().alias("_colonoscopy"))
    )
    frame = frame.join(colonoscopy, on="person_id", how="left")
    since = (pl.col("incidence_date") - pl.col("last_screen_date")).dt.total_days()
    link = int(parameters["detection_link_days"])
    detected = (pl.col("incidence_date") - pl.col("_episode_end")).dt.total_days() <= link
    screened = pl.col("last_screen_date").is_not_null()
    in_window = since <= _window_days(programme)
    classification = (
        pl.when(detected.fill_null(False))
        .then(pl.lit("screen_detected"))
        .when((pl.col("_colonoscopy") < pl.col("incidence_date")).fill_null(False))
        .then(pl.lit("post_colonoscopy"))
        .when(screened & pl.col("negative") & in_window)
        .then(pl.lit("interval"))
        .when(screened)
        .then(pl.lit("after_missed_round"))
        .when((pl.col("eligible_date") < pl.col("incidence_date")).fill_null(False))
        .then(pl.lit("never_screened"))
        .otherwise(pl.lit("not_target"))
    )
    band = (
        pl.when(since < 365)
        .then(pl.lit("0-11"))
        .when(since < 730)
        .then(pl.lit("12-23"))
        .otherwise(pl.lit("24+"))
    )
    detail = (
        pl.when(pl.col("classification") == "interval")
        .then(band)
        .when((pl.col("classification") == "after_missed_round") & pl.col("positive") & ~pl.col("worked_up"))
        .then(pl.lit("abnormal_not_followed_up"))
        .when(pl.col("classification") == "after_missed_round")
        .then(pl.lit("screen_overdue"))
    )
    out = frame.with_columns(classification.alias("classification"), since.alias("days_since_screen"))
    out = out.with_columns(detail.alias("detail"), pl.lit(programme).alias("programme"))
    return out.select([pl.col(c).cast(t) for c, t in CLASSIFICATION.items()]).sort("tumour_id")


def classify_cancers(
    *,
    tumours: pl.DataFrame,
    events: pl.DataFrame,
    persons: pl.DataFrame | None = None,
    programmes: tuple[str, ...] = OPS_PROGRAMMES,
) -> pl.DataFrame:
    """Every target tumour of ``programmes`` classified (§4); ``tumours`` needs tumour_id, person_id,
    incidence_date, icd10 (and sex to restrict by sex); ``persons`` (person_id, sex, birth_date,
    entry_date, exit_date) gives age-based eligibility for cervix."""
    registered = conform_events(events)
    episode_frame = episodes(events=registered)
    frames = [
        classify_programme(
            programme=programme,
            tumours=tumours,
            episode_frame=episode_frame,
            events=registered,
            persons=persons,
        )
        for programme in programmes
    ]
    return pl.concat(frames).sort("tumour_id", "programme")


def interval_flags(*, classification: pl.DataFrame) -> pl.DataFrame:
    """Per screen episode (person_id, programme, episode): interval cancers 0–11 and 12–23 months after it."""
    interval = classification.filter(pl.col("classification") == "interval")
    return interval.group_by("person_id", "programme", pl.col("last_screen_episode").alias("episode")).agg(
        (pl.col("detail") == "0-11").any().alias("interval_0_11"),
        (pl.col("detail") == "12-23").any().alias("interval_12_23"),
        pl.lit(True).alias("interval_any"),
    )


def compare_with_truth(*, classification: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Cross-table (programme, ours, truth, n) of our classification against a reference classification."""
    joined = classification.join(
        truth.select("tumour_id", pl.col("classification").alias("truth")), on="tumour_id", how="inner"
    )
    return (
        joined.group_by("programme", "classification", "truth").len("n").sort("programme", "classification")
    )
