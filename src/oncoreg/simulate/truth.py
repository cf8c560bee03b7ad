"""Truth frames of one year (tumours, deaths, treatments) and the final tumour and net-survival tables.

True net survival (the Pohar Perme estimand) of a group of patients is the mean over them of
``exp(-H_i(t))``, ``H_i`` the cumulative excess hazard of :func:`oncoreg.simulate.cancers.excess_hazards`;
it is written for t = 1, 5 and 10 years by entity, sex and 5-year diagnosis period (malignant, non-DCO
tumours, ages 0–89 as in NORDCAN survival) to ``truth/net_survival.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.simulate.cancers import STAGES, CancerModel, cumulative_excess
from oncoreg.simulate.output import to_dates, write_parquet
from oncoreg.simulate.population import NO_DATE, PersonStore
from oncoreg.simulate.schema import DEATHS, TREATMENTS, TUMOURS, conform
from oncoreg.simulate.tables import read_csv

#: Other (non-cancer) underlying causes of death and their weights (UNVERIFIED typical Norwegian mix).
OTHER_CAUSES = (
    ("I21.9", 12),
    ("I64", 8),
    ("I50.9", 7),
    ("J44.9", 7),
    ("F03", 10),
    ("J18.9", 6),
    ("G30.9", 5),
    ("E14.9", 3),
    ("N18.9", 2),
    ("X59", 4),
    ("R99", 2),
    ("I25.1", 8),
    ("K74.6", 2),
)
TREATMENT_DELAYS = {"surgery": (20.0, 0.0), "radiotherapy": (45.0, 30.0), "systemic": (35.0, 120.0)}
#: Columns of the year's tumour frames beyond TUMOURS: the model's site group, excess hazards per year in
#: [0, 1), [1, 5), [5, 10) years after the clinical diagnosis, and the screening lead time (years).
MODEL_COLUMNS = ["site_group", "h1", "h2", "h3", "lead_years"]


def deaths_frame(
    *,
    rows: np.ndarray,
    days: np.ndarray,
    cause_tumour: np.ndarray,
    tumour_icd10: np.ndarray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """DEATHS rows: the cancer's ICD-10 when the death came from a tumour, else a drawn other cause."""
    codes = np.array([c for c, _ in OTHER_CAUSES])
    weights = np.array([w for _, w in OTHER_CAUSES], dtype=np.float64)
    other = codes[
        np.minimum(np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(rows.size)), codes.size - 1)
    ]
    cancer = cause_tumour >= 0
    cause = np.where(
        cancer, tumour_icd10[np.maximum(cause_tumour - 1, 0)] if tumour_icd10.size else other, other
    )
    frame = pl.DataFrame(
        {
            "person_id": rows.astype(np.int64) + 1,
            "death_date": to_dates(days.astype(np.int64)),
            "underlying_cause": cause,
            "cancer_death": cancer,
            "tumour_id": pl.Series(np.where(cancer, cause_tumour, 0).astype(np.int64)),
        }
    ).with_columns(pl.when(pl.col("cancer_death")).then(pl.col("tumour_id")).alias("tumour_id"))
    return conform(frame, DEATHS).sort("person_id")


def tumours_frame(
    *, new: dict[str, np.ndarray], store: PersonStore, municipality_codes: np.ndarray
) -> pl.DataFrame:
    """TUMOURS rows of the year's new tumours plus the model columns site_group and h1–h3."""
    muni = municipality_codes[store["muni"][new["row"]]]
    frame = pl.DataFrame(
        {
            "tumour_id": new["tumour_id"],
            "person_id": new["row"].astype(np.int64) + 1,
            "sex": new["sex"],
            "birth_date": to_dates(new["birth"]),
            "incidence_date": to_dates(new["incidence"]),
            "age": new["age"],
            "topography": new["topography"],
            "morphology": new["morphology"],
            "behaviour": new["behaviour"],
            "grade": new["grade"],
            "laterality": new["laterality"],
            "basis": new["basis"],
            "stage": np.array(STAGES)[new["stage"]],
            "icd10": new["icd10"],
            "entity": new["entity"],
            "county": pl.Series(muni).str.slice(0, 2),
            "municipality": muni,
            "dco": new["dco"],
            "screen_detected": np.zeros(new["row"].size, dtype=bool),
        }
    )
    extra = pl.DataFrame(
        {
            "site_group": new["group"].astype(np.int16),
            "h1": new["h1"],
            "h2": new["h2"],
            "h3": new["h3"],
            "lead_years": np.zeros(new["row"].size),
        }
    )
    return pl.concat([conform(frame, TUMOURS), extra], how="horizontal")


def treatments_frame(
    *,
    new: dict[str, np.ndarray],
    model: CancerModel,
    exit_day: npt.NDArray[np.int64],
    municipality_codes: np.ndarray,
    store: PersonStore,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """TREATMENTS rows: each kind with the group's probability (halved for distant disease), dated after
    incidence (gamma-distributed delay), before death; hospital by county of residence."""
    hospitals = read_csv("hospitals.csv")
    county = pl.Series(municipality_codes[store["muni"][new["row"]]]).str.slice(0, 2)
    hospital = county.replace_strict(dict(hospitals.select("county", "hospital").iter_rows()), default="OUS")
    eligible = ~new["dco"]
    parts = []
    for kind, (delay, duration) in TREATMENT_DELAYS.items():
        p = model.groups[f"p_{kind}"].to_numpy()[new["group"]] * np.where(new["stage"] == 2, 0.5, 1.0)
        start = new["incidence"] + np.round(rng.gamma(2.0, delay / 2.0, size=p.size)).astype(np.int64)
        end = start + np.round(rng.gamma(2.0, duration / 2.0, size=p.size) if duration else 0).astype(
            np.int64
        )
        given = eligible & (rng.random(p.size) < p) & (start < exit_day)
        index = np.flatnonzero(given)
        parts.append(
            pl.DataFrame(
                {
                    "tumour_id": new["tumour_id"][index],
                    "person_id": new["row"][index].astype(np.int64) + 1,
                    "kind": np.full(index.size, kind),
                    "start_date": to_dates(start[index]),
                    "end_date": to_dates(np.minimum(end[index], exit_day[index] - 1)),
                    "hospital": hospital.gather(index),
                }
            )
        )
    frame = pl.concat(parts).sort(["tumour_id", "start_date", "kind"])
    first_id = int(new["tumour_id"][0]) * 4 if new["tumour_id"].size else 0
    frame = frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first_id).alias("treatment_id"))
    return conform(frame, TREATMENTS)


def apply_screening(*, tumours: pl.DataFrame, screened: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Take the screening stage's incidence date, age, basis, stage and ``screen_detected`` into the tumours.

    A screen-detected tumour is diagnosed ``lead`` days before its clinical date; its death (drawn from
    the clinical date) is unchanged, so its true net survival from the new date is ``exp(-H(t - lead))``
    (``lead_years``). It is no longer death-certificate-only (the screen gave a histology). Returns the
    tumours and ``(tumour_id, shift_days)`` of the screen-detected ones (shift ≤ 0) for their treatments.
    """
    found = screened.filter(pl.col("screen_detected")).select(
        "tumour_id",
        pl.col("incidence_date").alias("_incidence"),
        pl.col("age").alias("_age"),
        pl.col("basis").alias("_basis"),
        pl.col("stage").alias("_stage"),
    )
    joined = tumours.join(found, on="tumour_id", how="left", maintain_order="left")
    hit = pl.col("_incidence").is_not_null()
    shift = (pl.col("_incidence") - pl.col("incidence_date")).dt.total_days()
    updated = joined.with_columns(
        pl.when(hit).then(-shift / 365.25).otherwise(pl.col("lead_years")).alias("lead_years"),
        pl.coalesce("_incidence", "incidence_date").alias("incidence_date"),
        pl.coalesce("_age", "age").alias("age"),
        pl.coalesce("_basis", "basis").alias("basis"),
        pl.coalesce("_stage", "stage").alias("stage"),
        (hit | pl.col("screen_detected")).alias("screen_detected"),
        (pl.col("dco") & ~hit).alias("dco"),
    )
    shifts = joined.filter(hit).select("tumour_id", shift.cast(pl.Int32).alias("shift_days"))
    return updated.select(tumours.columns), shifts


def shift_treatments(*, treatments: pl.DataFrame, shifts: pl.DataFrame) -> pl.DataFrame:
    """Move the treatments of screen-detected tumours by their tumour's ``shift_days``."""
    moved = treatments.join(shifts, on="tumour_id", how="left", maintain_order="left").with_columns(
        pl.col("shift_days").fill_null(0)
    )
    days = pl.duration(days=pl.col("shift_days"))
    return moved.with_columns(
        (pl.col("start_date") + days).alias("start_date"), (pl.col("end_date") + days).alias("end_date")
    ).select(treatments.columns)


def finish_truth(
    *, tumour_frames: list[pl.DataFrame], store: PersonStore, model: CancerModel, truth: Path, end_day: int
) -> int:
    """Write ``tumours.parquet`` (with vital status and exit date) and ``net_survival.parquet``; row count."""
    tumours = pl.concat(tumour_frames) if tumour_frames else pl.DataFrame(schema=TUMOURS)
    rows = tumours["person_id"].to_numpy() - 1
    exit_day = store["exit"][rows].astype(np.int64)
    reason = store["exit_reason"][rows]
    vital = np.array(["alive", "dead", "emigrated"])[reason]
    follow_up_end = np.where(exit_day == NO_DATE, end_day, exit_day)
    tumours = tumours.with_columns(
        pl.Series("vital_status", vital), to_dates(follow_up_end).alias("exit_date")
    )
    h = {c: tumours[c].to_numpy() for c in ("h1", "h2", "h3")}
    lead = tumours["lead_years"].to_numpy()
    tumours = tumours.with_columns(
        pl.Series("net_survival_5y", np.exp(-cumulative_excess(**h, t=5.0 - lead)))
    )
    write_parquet(tumours.drop(MODEL_COLUMNS), truth / "tumours.parquet")
    write_parquet(net_survival(tumours=tumours, model=model), truth / "net_survival.parquet")
    return tumours.height


def net_survival(*, tumours: pl.DataFrame, model: CancerModel) -> pl.DataFrame:
    """True net survival at 1, 5, 10 years by entity (and all sites, entity 0), sex and 5-year period."""
    included = tumours.filter((pl.col("behaviour") == 3) & ~pl.col("dco") & (pl.col("age") < 90))
    h = {c: included[c].to_numpy() for c in ("h1", "h2", "h3")}
    lead = included["lead_years"].to_numpy()
    frame = included.select(
        "entity",
        "sex",
        (pl.col("incidence_date").dt.year() // 5 * 5).alias("period_start"),
        *[pl.Series(f"s{t}", np.exp(-cumulative_excess(**h, t=t - lead))) for t in (1, 5, 10)],
    )
    keys = ["entity", "sex", "period_start"]
    by_entity = _group_means(frame, keys)
    all_sites = _group_means(frame.with_columns(pl.lit(0, dtype=frame["entity"].dtype).alias("entity")), keys)
    combined = pl.concat([by_entity, all_sites])
    long = combined.unpivot(
        index=["entity", "sex", "period_start", "n"], variable_name="t", value_name="net_survival"
    )
    return long.select(
        pl.col("entity").cast(pl.Int32),
        pl.col("sex").cast(pl.Int8),
        pl.col("period_start").cast(pl.Int16),
        (pl.col("period_start") + 4).cast(pl.Int16).alias("period_end"),
        pl.col("t").str.slice(1).cast(pl.Int8).alias("years"),
        pl.col("n").cast(pl.Int64),
        pl.col("net_survival").cast(pl.Float64),
    ).sort("entity", "sex", "period_start", "years")


def _group_means(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Row count and mean of ``s1``, ``s5``, ``s10`` per group of ``keys``, summed in row order.

    (A multi-threaded ``group_by().mean()`` may add in another order from run to run, changing the last
    bit of a mean and so the bytes of the file; ``np.bincount`` adds in row order.)
    """
    groups = frame.select(keys).unique(maintain_order=True).sort(keys).with_row_index("_group")
    index = (
        frame.select(keys)
        .join(groups, on=keys, how="left", nulls_equal=True, maintain_order="left")["_group"]
        .to_numpy()
    )
    n = np.bincount(index, minlength=groups.height)
    means = {
        f"s{t}": np.bincount(index, weights=frame[f"s{t}"].to_numpy(), minlength=groups.height) / n
        for t in (1, 5, 10)
    }
    return groups.drop("_group").with_columns(
        pl.Series("n", n, dtype=pl.UInt32), *(pl.Series(name, mean) for name, mean in means.items())
    )
