"""What the three programmes share: the people as arrays, the tumours a programme can find, random draws,
and the classification of each target tumour by screening history (screening.md §4).

Natural-history model (all programmes): a tumour with clinical incidence date *c* is screen-detectable
from *c − S* on, where the sojourn time *S* ~ Gamma(shape *k*, mean *m*) is drawn once per tumour (*k* = 1
is the exponential; a larger *k* leaves fewer fast-growing tumours, which surface as interval cancers).
A test taken at *t* with *c − S ≤ t* and the confirming examination before *c* finds it with the test's
sensitivity (breast: rising with the elapsed share of the sojourn, :func:`sensitivity_at`);
the tumour's incidence date then moves to the confirming examination (assessment, histology,
colonoscopy). Otherwise the tumour surfaces clinically at *c*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.simulate.screening.timeline import (
    DAYS_PER_YEAR,
    NO_DATE,
    Days,
    county_codes,
    to_date_series,
    to_days,
)

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

#: Truth per target tumour of a programme (``ScreeningResult.truth``).
TRUTH: dict[str, pl.DataType | type[pl.DataType]] = {
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "programme": pl.String,  # breast | cervix | colorectal | null (not a programme's target site)
    # screen_detected | interval | after_missed_round | never_screened | not_target | post_colonoscopy
    "classification": pl.String,
    "detail": pl.String,  # e.g. "abnormal_not_followed_up", "follow_up_negative"
    "clinical_date": pl.Date,  # the date the tumour would have surfaced without screening
    "incidence_date": pl.Date,  # after screening (earlier when screen-detected)
    "preclinical_start": pl.Date,  # start of the screen-detectable phase (c − S)
    "last_screen_date": pl.Date,  # last primary screening test before incidence
    "days_since_screen": pl.Int32,
}


@dataclass(frozen=True)
class People:
    """The PERSONS frame as aligned arrays (dates as day numbers; exit :data:`NO_DATE` when none)."""

    person_id: Ints
    birth: Days
    sex: Ints
    county: npt.NDArray[np.str_]
    entry: Days
    exit: Days

    @classmethod
    def from_persons(cls, persons: pl.DataFrame) -> People:
        """Sorted by ``person_id`` so draws do not depend on the input order."""
        frame = persons.sort("person_id")
        return cls(
            person_id=frame["person_id"].cast(pl.Int64).to_numpy().astype(np.int64),
            birth=to_days(frame["birth_date"]),
            sex=frame["sex"].cast(pl.Int64).fill_null(9).to_numpy().astype(np.int64),
            county=county_codes(frame["county"]),
            entry=to_days(frame["entry_date"]),
            exit=to_days(frame["exit_date"]),
        )

    def subset(self, mask: Bools) -> People:
        """The people where ``mask`` holds."""
        return People(
            person_id=self.person_id[mask],
            birth=self.birth[mask],
            sex=self.sex[mask],
            county=self.county[mask],
            entry=self.entry[mask],
            exit=self.exit[mask],
        )

    def __len__(self) -> int:
        return int(self.person_id.size)


@dataclass(frozen=True)
class TargetTumours:
    """The first target tumour of each person of a :class:`People`, aligned (``tumour_id`` −1: none)."""

    tumour_id: Ints
    clinical: Days
    preclinical_start: Days
    behaviour: Ints
    all_targets: pl.DataFrame  # every target tumour (tumour_id, person_id, clinical_date, preclinical_start)


def target_tumours(
    *,
    people: People,
    tumours: pl.DataFrame,
    target: pl.Expr,
    sojourn_mean_years: float,
    sojourn_shape: float,
    rng: np.random.Generator,
) -> TargetTumours:
    """Tumours matching ``target`` in these people; sojourn S ~ Gamma(shape k, scale mean/k) per tumour
    (ordered by id), so E[S] = mean and CV = 1/√k."""
    chosen = (
        tumours.filter(target & pl.col("person_id").is_in(pl.Series(people.person_id).implode()))
        .select("tumour_id", "person_id", "incidence_date", "behaviour")
        .sort("tumour_id")
    )
    scale = sojourn_mean_years * DAYS_PER_YEAR / sojourn_shape
    sojourn = np.rint(rng.gamma(sojourn_shape, scale, chosen.height)).astype(np.int64)
    clinical = to_days(chosen["incidence_date"])
    chosen = chosen.with_columns(
        pl.Series("clinical_day", clinical), pl.Series("preclinical_day", clinical - sojourn)
    )
    first = chosen.sort(["person_id", "clinical_day", "tumour_id"]).unique("person_id", keep="first")
    position = np.searchsorted(people.person_id, first["person_id"].to_numpy())
    n = len(people)
    tumour_id = np.full(n, -1, dtype=np.int64)
    clinical_at = np.full(n, NO_DATE, dtype=np.int64)
    preclinical_at = np.full(n, NO_DATE, dtype=np.int64)
    behaviour = np.full(n, -1, dtype=np.int64)
    tumour_id[position] = first["tumour_id"].to_numpy()
    clinical_at[position] = first["clinical_day"].to_numpy()
    preclinical_at[position] = first["preclinical_day"].to_numpy()
    behaviour[position] = first["behaviour"].cast(pl.Int64).to_numpy()
    return TargetTumours(tumour_id, clinical_at, preclinical_at, behaviour, chosen)


def sensitivity_at(
    *, day: Days, preclinical_start: Days, clinical: Days, at_onset: float, at_surfacing: float
) -> Floats:
    """P(a test on ``day`` sees a preclinical tumour), rising linearly with the elapsed share of the
    sojourn, f = (day − (c − S)) / S: ``at_onset + (at_surfacing − at_onset)·f`` (f clipped to [0, 1]).

    A tumour is smaller, so harder to see, early in its preclinical phase (Michaelson et al., Cancer
    2003, size-dependent mammographic sensitivity); equal values give the constant-sensitivity model.
    """
    span = np.maximum(clinical - preclinical_start, 1).astype(np.float64)
    elapsed = np.clip((day - preclinical_start) / span, 0.0, 1.0)
    probability: Floats = at_onset + (at_surfacing - at_onset) * elapsed
    return probability


def propensity(*, rng: np.random.Generator, mean: Floats, concentration: float) -> Floats:
    """Per-person participation propensity ~ Beta(m·κ, (1 − m)·κ), so E = m and rounds are correlated."""
    m = np.clip(mean, 1e-6, 1 - 1e-6)
    return rng.beta(m * concentration, (1 - m) * concentration)


def categorical(*, rng: np.random.Generator, probabilities: Sequence[float], n: int) -> Ints:
    """``n`` draws of category indices with the given (normalised) probabilities."""
    p = np.asarray(probabilities, dtype=np.float64)
    cumulative = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), p.size - 1).astype(np.int64)


def group_first(groups: Ints) -> Bools:
    """True at the first row of each run of equal values in an array sorted by group."""
    first = np.ones(groups.size, dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    return first


def classify(
    *,
    programme: str,
    targets: pl.DataFrame,
    screens: pl.DataFrame,
    eligible: pl.DataFrame,
    colonoscopies: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Classification of target tumours by screening history (screening.md §4), as :data:`TRUTH` rows.

    ``targets``: tumour_id, person_id, clinical_date, incidence_date, preclinical_start, detected.
    ``screens``: person_id, date, negative (screen and any follow-up negative), followed_up, window_days.
    ``eligible``: person_id, date (first invitation or first day in the target group).
    Rules, in order: detected → screen_detected; a colonoscopy before incidence → post_colonoscopy; last
    screen before incidence negative and within its window → interval; last screen positive and not
    followed up → after_missed_round (abnormal_not_followed_up); any screen before → after_missed_round;
    eligible before incidence → never_screened; otherwise not_target.
    """
    base = targets.sort("incidence_date")
    last = base.join_asof(
        screens.sort("date").rename({"date": "last_screen_date"}),
        left_on="incidence_date",
        right_on="last_screen_date",
        by="person_id",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    first_eligible = eligible.group_by("person_id").agg(pl.col("date").min().alias("eligible_date"))
    last = last.join(first_eligible, on="person_id", how="left")
    if colonoscopies is not None and colonoscopies.height:
        first_colonoscopy = colonoscopies.group_by("person_id").agg(pl.col("date").min().alias("colonoscopy"))
        last = last.join(first_colonoscopy, on="person_id", how="left")
    else:
        last = last.with_columns(pl.lit(None, dtype=pl.Date).alias("colonoscopy"))
    since = (pl.col("incidence_date") - pl.col("last_screen_date")).dt.total_days()
    screened = pl.col("last_screen_date").is_not_null()
    classification = (
        pl.when(pl.col("detected"))
        .then(pl.lit("screen_detected"))
        .when(pl.col("colonoscopy") < pl.col("incidence_date"))
        .then(pl.lit("post_colonoscopy"))
        .when(screened & pl.col("negative") & (since <= pl.col("window_days")))
        .then(pl.lit("interval"))
        .when(screened)
        .then(pl.lit("after_missed_round"))
        .when(pl.col("eligible_date") < pl.col("incidence_date"))
        .then(pl.lit("never_screened"))
        .otherwise(pl.lit("not_target"))
    )
    detail = (
        pl.when(pl.col("detected"))
        .then(None)
        .when(screened & ~pl.col("negative") & ~pl.col("followed_up"))
        .then(pl.lit("abnormal_not_followed_up"))
        .when(screened & pl.col("negative") & (since > pl.col("window_days")))
        .then(pl.lit("screen_overdue"))
        .otherwise(None)
    )
    out = last.with_columns(
        pl.lit(programme).alias("programme"),
        classification.alias("classification"),
        detail.alias("detail"),
        since.cast(pl.Int32).alias("days_since_screen"),
    )
    return out.select([pl.col(c).cast(t) for c, t in TRUTH.items()]).sort("tumour_id")


@dataclass(frozen=True)
class ProgrammeOutput:
    """What one programme's simulation returns to :func:`simulate_screening`."""

    events: pl.DataFrame  # EVENTS rows
    truth: pl.DataFrame  # TRUTH rows for the programme's target tumours
    detected: pl.DataFrame  # tumour_id, incidence_date (the confirming examination), programme


def detections_frame(*, programme: str, tumour_id: Ints, incidence: Days) -> pl.DataFrame:
    """The screen-detected tumours with their new incidence dates."""
    return pl.DataFrame(
        {
            "tumour_id": pl.Series(tumour_id, dtype=pl.Int64),
            "incidence_date": to_date_series("incidence_date", incidence),
            "programme": pl.Series([programme] * int(tumour_id.size), dtype=pl.String),
        }
    )


def targets_frame(*, targets: TargetTumours, detected: pl.DataFrame) -> pl.DataFrame:
    """Every target tumour with clinical and final incidence dates and the detected flag."""
    found = detected.select("tumour_id", pl.col("incidence_date").alias("found_date"))
    return (
        targets.all_targets.join(found, on="tumour_id", how="left")
        .with_columns(
            pl.col("clinical_day").cast(pl.Date).alias("clinical_date"),
            pl.col("preclinical_day").cast(pl.Date).alias("preclinical_start"),
            pl.col("found_date").is_not_null().alias("detected"),
        )
        .with_columns(pl.coalesce("found_date", "clinical_date").alias("incidence_date"))
        .select("tumour_id", "person_id", "clinical_date", "incidence_date", "preclinical_start", "detected")
    )
