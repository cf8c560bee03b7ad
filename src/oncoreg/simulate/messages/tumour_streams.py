"""The messages a tumour causes: pathology reports, clinical notifications and NPR episodes.

Each builder returns one row per message with the envelope columns ``source, person_id, tumour_id,
event_date, sent_date, sender`` and the content
columns its renderer needs. DCO tumours (``dco`` true) never appear here: the registry learns of them
only from the death certificate (``event_streams.death_certificate_rows``).

Which tumour gets what (reference/norway.md §2.2): a pathology report when the basis of diagnosis is
cytology or histology (5, 6, 7), a second one (resection) for a share of basis-7 tumours; a clinical
notification for most tumours and always when the basis is clinical (1, 2, 4); one to four NPR episodes
for most tumours plus one per surgery.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from oncoreg.simulate.messages import delays, routing
from oncoreg.simulate.messages.config import MessageConfig

ENVELOPE = ["source", "person_id", "tumour_id", "event_date", "sent_date", "sender"]
TUMOUR_FIELDS = ["topography", "morphology", "behaviour", "grade", "laterality", "stage", "basis", "icd10"]
METASTASIS_CODES = ("C77.9", "C78.0", "C78.7", "C79.3", "C79.5")  # ICD-10 secondary sites, NPR side diagnoses


def _reportable(tumours: pl.DataFrame) -> pl.DataFrame:
    return tumours.filter(~pl.col("dco").fill_null(False)).sort("tumour_id")


def pathology_rows(*, tumours: pl.DataFrame, rng: np.random.Generator, config: MessageConfig) -> pl.DataFrame:
    """HL7 pathology reports: one per cytology/histology tumour, a resection report for some basis-7 ones.

    specimen date = incidence date (first report), incidence + U{14..75} days (resection);
    sent = specimen + pathology delay.
    """
    verified = _reportable(tumours).filter(pl.col("basis").is_in([5, 6, 7]))
    n = verified.height
    second = (verified["basis"] == 7).to_numpy() & (rng.random(n) < config.pathology_second_report_rate)
    first = verified.with_columns(
        pl.col("incidence_date").alias("event_date"),
        pl.when(pl.col("basis") == 5)
        .then(pl.lit("CYTOLOGI"))
        .otherwise(pl.lit("BIOPSI"))
        .alias("specimen_kind"),
        pl.lit(1, dtype=pl.Int8).alias("report_number"),
    )
    resection = verified.filter(pl.Series(second)).with_columns(
        delays.after(
            "incidence_date", delays.uniform_days(n=int(second.sum()), low=14, high=75, rng=rng)
        ).alias("event_date"),
        pl.lit("RESEKSJON").alias("specimen_kind"),
        pl.lit(2, dtype=pl.Int8).alias("report_number"),
    )
    rows = pl.concat([first, resection]).sort("tumour_id", "report_number")
    m = rows.height
    return rows.with_columns(
        pl.lit("pathology").alias("source"),
        routing.pick_labs(counties=rows.select(routing.county_code("county"))["county"], rng=rng).alias(
            "sender"
        ),
        routing.pick_hospitals(counties=rows.select(routing.county_code("county"))["county"], rng=rng).alias(
            "requester"
        ),
        delays.after("event_date", delays.uniform_days(n=m, low=0, high=2, rng=rng)).alias("received_date"),
        delays.after("event_date", delays.gamma_days(n=m, offset=2, shape=2.0, scale=4.0, rng=rng)).alias(
            "sent_date"
        ),
    ).select([*ENVELOPE, *TUMOUR_FIELDS, "specimen_kind", "report_number", "requester", "received_date"])


def _tnm(stage: pl.Series, rng: np.random.Generator) -> pl.Series:
    """A clinical TNM string consistent with the summary stage (an assumption, not a staging rule)."""
    n = stage.len()
    regional = (stage == "regional").to_numpy()
    distant = (stage == "distant").to_numpy()
    t = rng.integers(1, 3, size=n) + regional * rng.integers(0, 2, size=n)
    n_cat = np.where(regional, rng.integers(1, 3, size=n), np.where(distant, rng.integers(0, 3, size=n), 0))
    frame = pl.DataFrame({"stage": stage, "t": t, "n": n_cat, "m": distant.astype(np.int64)})
    return frame.select(
        pl.when(pl.col("stage").is_in(["localised", "regional", "distant"]))
        .then(pl.format("cT{}N{}M{}", "t", "n", "m"))
        .otherwise(pl.lit("cTXNXMX"))
        .alias("tnm")
    )["tnm"]


def clinical_rows(*, tumours: pl.DataFrame, rng: np.random.Generator, config: MessageConfig) -> pl.DataFrame:
    """Clinical notifications (FHIR, or CSV for the hospitals of ``clinical_csv_share``).

    sent = incidence date + clinical delay; the content is the tumour as the clinician knows it
    (code conflicts are injected later by :func:`oncoreg.simulate.messages.inject.code_conflicts`).
    """
    tumour_rows = _reportable(tumours)
    n = tumour_rows.height
    chosen = tumour_rows["basis"].is_in([1, 2, 4]).to_numpy() | (rng.random(n) < config.clinical_report_rate)
    rows = tumour_rows.filter(pl.Series(chosen))
    m = rows.height
    hospitals = routing.pick_hospitals(counties=rows.select(routing.county_code("county"))["county"], rng=rng)
    csv = routing.sends_clinical_csv(hospitals=hospitals, share=config.clinical_csv_share)
    return rows.with_columns(
        pl.when(pl.lit(csv)).then(pl.lit("clinical_csv")).otherwise(pl.lit("clinical")).alias("source"),
        pl.col("incidence_date").alias("event_date"),
        hospitals.alias("sender"),
        _tnm(rows["stage"].fill_null("unknown"), rng).alias("tnm"),
        delays.after(
            "incidence_date", delays.gamma_days(n=m, offset=7, shape=2.0, scale=25.0, rng=rng)
        ).alias("sent_date"),
    ).select([*ENVELOPE, *TUMOUR_FIELDS, "tnm"])


def patient_admin_rows(
    *, tumours: pl.DataFrame, treatments: pl.DataFrame, rng: np.random.Generator, config: MessageConfig
) -> pl.DataFrame:
    """NPR episodes: ``1 + min(Poisson(0.8), 3)`` per covered tumour, plus one per surgery.

    First admission = incidence + U{-10..20} days, later ones Gamma(2, 20) days apart; half are
    outpatient (discharge = admission), the rest stay ``1 + Geometric(0.25)`` days. Surgery episodes
    span the treatment dates. Sent in the monthly NPR extract after the discharge month.
    """
    covered = _reportable(tumours)
    covered = covered.filter(pl.Series(rng.random(covered.height) < config.patient_admin_rate))
    counts = 1 + np.minimum(rng.poisson(0.8, size=covered.height), 3)
    index = np.repeat(np.arange(covered.height), counts)
    ordinal = np.arange(index.size) - np.repeat(np.cumsum(counts) - counts, counts)
    gaps = np.where(
        ordinal == 0, rng.integers(-10, 21, size=index.size), np.rint(rng.gamma(2.0, 20.0, index.size))
    )
    cumulative = np.cumsum(gaps)
    run_start = np.repeat(np.cumsum(counts) - counts, counts)
    run_offsets = cumulative - (cumulative[run_start] - gaps[run_start]) if index.size else cumulative
    stay = np.where(rng.random(index.size) < 0.5, 0, 1 + rng.geometric(0.25, size=index.size))
    episodes = covered[index].with_columns(
        delays.after("incidence_date", pl.Series(run_offsets.astype(np.int32))).alias("admission_date"),
        pl.lit(False).alias("surgery"),
        pl.Series(stay.astype(np.int32)).alias("stay"),
        pl.lit(None, dtype=pl.String).alias("sender"),
    )
    surgery = (
        treatments.filter(pl.col("kind") == "surgery")
        .join(covered, on=["tumour_id", "person_id"], how="inner", maintain_order="left")
        .sort("treatment_id")
    )
    surgery = surgery.with_columns(
        pl.col("start_date").alias("admission_date"),
        pl.lit(True).alias("surgery"),
        ((pl.col("end_date") - pl.col("start_date")).dt.total_days().fill_null(0).clip(0, None) + 1)
        .cast(pl.Int32)
        .alias("stay"),
        pl.col("hospital").alias("sender"),
    )
    columns = [*covered.columns, "admission_date", "surgery", "stay", "sender"]
    rows = pl.concat([episodes.select(columns), surgery.select(columns)]).sort("tumour_id", "admission_date")
    m = rows.height
    hospitals = routing.pick_hospitals(counties=rows.select(routing.county_code("county"))["county"], rng=rng)
    distant = (rows["stage"] == "distant").fill_null(False).to_numpy()
    side = np.where(
        distant & (rng.random(m) < 0.6),
        np.array(METASTASIS_CODES)[rng.integers(0, len(METASTASIS_CODES), m)],
        "",
    )
    return (
        rows.with_columns(
            pl.lit("patient_admin").alias("source"),
            pl.col("sender").fill_null(hospitals),
            pl.col("admission_date").alias("event_date"),
            delays.after("admission_date", "stay").alias("discharge_date"),
            pl.when(pl.col("stay") == 0)
            .then(pl.lit("outpatient"))
            .otherwise(pl.lit("inpatient"))
            .alias("care_type"),
            pl.Series(side, dtype=pl.String).alias("secondary_diagnoses"),
        )
        .with_columns(
            (
                delays.month_end("discharge_date")
                + pl.duration(days=pl.lit(delays.uniform_days(n=m, low=10, high=40, rng=rng)))
            ).alias("sent_date"),
        )
        .select(
            [
                *ENVELOPE,
                "icd10",
                "admission_date",
                "discharge_date",
                "care_type",
                "surgery",
                "secondary_diagnoses",
            ]
        )
    )
