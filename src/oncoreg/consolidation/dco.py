"""Death certificates with a cancer cause and no matching tumour: trace-back, then DCO (DESIGN §6).

A certificate whose underlying cause is a malignant neoplasm (ICD-10 C00-C97) and which attached to no tumour
of its person first raises a ``dco_traceback`` review task (the registry asks the certifying doctor and the
hospitals for notifications). Once ``as_of - received_date >= dco_traceback_days`` and still nothing matched,
it becomes a DCO tumour (ENCR basis 0; incidence date = date of death, ENCR hierarchy step 5). Topography,
morphology and behaviour come from the reverse ICD-10 -> ICD-O-3 table (``data/icd10_to_icdo3_dco.csv``):
8000/3 at the cause's site for solid cancers, the matching haematological morphology for C81-C96. One DCO
tumour per person and cause group; its id is the certificate's notification id.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from oncoreg.consolidation.review import tumour_tasks
from oncoreg.consolidation.rules import dco_map

__all__ = ["cancer_cause", "dco_candidates", "with_certified_cancer"]


def cancer_cause() -> pl.Expr:
    """True for an ICD-10 code of a malignant neoplasm (C00-C97)."""
    return pl.col("icd10").fill_null("").str.contains(r"^C\d")


def with_certified_cancer(notes: pl.DataFrame) -> pl.DataFrame:
    """Death certificates whose underlying cause is not a cancer but whose contributing causes
    (``secondary_codes``, ``;``-joined) name one take the first such code as their ``icd10``: a cancer
    mentioned anywhere on the certificate is traced back (and may become a DCO tumour)."""
    if "secondary_codes" not in notes.columns:
        return notes
    contributing = (
        pl.col("secondary_codes")
        .fill_null("")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.contains(r"^C\d")))
        .list.first()
    )
    return notes.with_columns(
        pl.when((pl.col("source_type") == "death_certificate") & ~cancer_cause())
        .then(pl.coalesce(contributing, pl.col("icd10")))
        .otherwise(pl.col("icd10"))
        .alias("icd10")
    )


def _map_cause(frame: pl.DataFrame) -> pl.DataFrame:
    table = dco_map()
    exact = table.rename({"icd10": "_cause"})
    by_site = (
        table.with_columns(pl.col("icd10").str.slice(0, 3).alias("_cause3"))
        .unique("_cause3", keep="first", maintain_order=True)
        .select(
            "_cause3",
            pl.col("topography").alias("_t3"),
            pl.col("morphology").alias("_m3"),
            pl.col("behaviour").alias("_b3"),
        )
    )
    return (
        frame.with_columns(
            pl.col("icd10").str.strip_chars().alias("_cause"),
            pl.col("icd10").str.slice(0, 3).alias("_cause3"),
        )
        .join(exact, on="_cause", how="left", maintain_order="left")
        .join(by_site, on="_cause3", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("topography", "_t3").alias("topography"),
            pl.coalesce("morphology", "_m3").alias("morphology"),
            pl.coalesce("behaviour", "_b3").alias("behaviour"),
        )
        .drop("_cause", "_cause3", "_t3", "_m3", "_b3")
    )


def dco_candidates(
    certificates: pl.DataFrame, *, as_of: date, traceback_days: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(dco_tumours, traceback_tasks)`` from unattached cancer death certificates.

    ``dco_tumours``: tumour_id, person_id, notification_id, incidence_date, topography, morphology,
    behaviour, icd10. ``traceback_tasks``: review tasks on the person (subject ``person``).
    """
    certs = (
        certificates.filter(cancer_cause())
        .with_columns(pl.col("icd10").str.slice(0, 3).alias("_cause3"))
        .sort("person_id", "_cause3", "received_date", "notification_id")
        .unique(["person_id", "_cause3"], keep="first", maintain_order=True)
    )
    waited = (pl.lit(as_of) - pl.col("received_date")).dt.total_days() >= traceback_days
    due = certs.filter(waited)
    waiting = certs.filter(~waited)
    tumours = _map_cause(
        due.select(
            pl.col("notification_id").alias("tumour_id"),
            "person_id",
            "notification_id",
            pl.coalesce("death_date", "event_date").alias("incidence_date"),
            "icd10",
        )
    )
    tasks = tumour_tasks(
        waiting.with_columns(
            pl.col("notification_id").alias("tumour_id"), pl.lit(traceback_days).alias("traceback_days")
        ),
        kind="dco_traceback",
        reason=pl.format("death certificate with cause {} and no other notification: trace back", "icd10"),
        details=["notification_id", "icd10", "received_date", "traceback_days"],
    ).with_columns(pl.lit("person").alias("subject_type"), waiting["person_id"].alias("subject_id"))
    return tumours, tasks
