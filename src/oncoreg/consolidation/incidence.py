"""Incidence date of each tumour from the dates of its notifications (DESIGN §6).

Two variants (``IncidenceRule``):

* ``"encr"``: the ENCR 1997 hierarchy (reference/registration.md §3.2): take the chronologically first event;
  if an event of higher priority occurs within three months of it, the higher-priority event's date wins.
  Priorities: 1 histological/cytological confirmation (pathology sample date; not at autopsy), 2 hospital
  admission (patient-administrative episode), 4 other diagnosis date (clinical notification), 5 death
  (death certificate), 6 autopsy (pathology with basis sub-code 7.3).
* ``"norway"``: the earliest of the clinician's diagnosis date, the first histological verification (sampling
  date) and the date of death (reference/norway.md §0).

``incidence_date_basis`` names the event chosen: ``histology``, ``admission``, ``clinical_diagnosis``,
``death``, ``autopsy``.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from oncoreg.consolidation.features import notification_date

__all__ = ["IncidenceRule", "incidence_dates"]

IncidenceRule = Literal["encr", "norway"]


def _events(links: pl.DataFrame) -> pl.DataFrame:
    autopsy = pl.col("basis_subcode").fill_null("") == "7.3"
    pathology = pl.col("source_type") == "pathology"
    date = (
        pl.when(pathology)
        .then(pl.coalesce("sample_date", "event_date"))
        .when(pl.col("source_type") == "clinical")
        .then(pl.coalesce("diagnosis_date", "event_date"))
        .when(pl.col("source_type") == "death_certificate")
        .then(pl.coalesce("death_date", "event_date"))
        .otherwise(pl.col("event_date"))
    )
    date = pl.coalesce(date, notification_date())
    priority = (
        pl.when(pathology & autopsy)
        .then(6)
        .when(pathology)
        .then(1)
        .when(pl.col("source_type") == "patient_admin")
        .then(2)
        .when(pl.col("source_type") == "death_certificate")
        .then(5)
        .otherwise(4)
    )
    basis = pl.col("priority").replace_strict(
        {1: "histology", 2: "admission", 4: "clinical_diagnosis", 5: "death", 6: "autopsy"},
        return_dtype=pl.String,
    )
    return (
        links.select(
            "tumour_id", "notification_id", "source_type", date.alias("date"), priority.alias("priority")
        )
        .filter(pl.col("date").is_not_null())
        .with_columns(basis.alias("incidence_date_basis"))
    )


def incidence_dates(links: pl.DataFrame, *, rule: IncidenceRule = "encr") -> pl.DataFrame:
    """``tumour_id, incidence_date, incidence_date_basis, incidence_notification_id`` per tumour.

    ``links`` holds the tumour's notifications (``tumour_id`` plus the notification columns).
    """
    events = _events(links)
    if rule == "norway":
        events = events.filter(pl.col("source_type").is_in(["pathology", "clinical", "death_certificate"]))
        chosen = events.sort("tumour_id", "date", "priority", "notification_id")
    else:
        window = events.with_columns(pl.col("date").min().over("tumour_id").alias("_first")).filter(
            pl.col("date") <= pl.col("_first").dt.offset_by("3mo")
        )
        chosen = window.sort("tumour_id", "priority", "date", "notification_id")
    return chosen.unique("tumour_id", keep="first", maintain_order=True).select(
        "tumour_id",
        pl.col("date").alias("incidence_date"),
        "incidence_date_basis",
        pl.col("notification_id").alias("incidence_notification_id"),
    )
