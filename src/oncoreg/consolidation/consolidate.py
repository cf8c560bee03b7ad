"""Notifications -> tumours (DESIGN §6): the one entry point of the consolidation rules.

:func:`consolidate` is a pure function of the linked notifications of some persons, the persons and ``as_of``;
it re-derives every tumour of those persons, so a rebuild and any sequence of incremental runs give the same
tumours (:func:`consolidate_incremental` re-runs exactly the persons a batch touches). The orchestrator
persists the result through ``oncoreg.registry``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import cast

import polars as pl

from oncoreg.codes import convert_frame
from oncoreg.codes.basis import check_basis
from oncoreg.consolidation.best import best_fields
from oncoreg.consolidation.changes import TUMOUR_FIELDS, tumour_changes
from oncoreg.consolidation.conflicts import conflict_tasks
from oncoreg.consolidation.dco import cancer_cause, dco_candidates, with_certified_cancer
from oncoreg.consolidation.features import describes_tumour, recording_features
from oncoreg.consolidation.grouping import group_tumours
from oncoreg.consolidation.incidence import IncidenceRule, incidence_dates
from oncoreg.consolidation.matching import attach_by_icd10
from oncoreg.consolidation.review import empty_review_tasks, tumour_tasks
from oncoreg.ingest.schema import conform_notifications

__all__ = ["ConsolidationOptions", "ConsolidationResult", "consolidate", "consolidate_incremental"]


@dataclass(frozen=True)
class ConsolidationOptions:
    """Choices of a consolidation run (DESIGN §6)."""

    incidence_rule: IncidenceRule = "encr"
    dco_traceback_days: int = 180


@dataclass(frozen=True)
class ConsolidationResult:
    """Tumours, their links and provenance, review tasks and the changes against the existing tumours."""

    tumours: pl.DataFrame
    links: pl.DataFrame
    provenance: pl.DataFrame
    review_tasks: pl.DataFrame
    changes: pl.DataFrame


def _described(notes: pl.DataFrame) -> pl.DataFrame:
    rows = recording_features(notes.filter(describes_tumour()))
    rows = rows.join(group_tumours(rows), on="notification_id", how="left")
    code = (
        pl.when(pl.col("basis_subcode").fill_null("").str.contains(r"^\d\.\d$"))
        .then(pl.col("basis_subcode"))
        .otherwise(pl.col("basis").cast(pl.String))
    )
    rows = check_basis(
        rows.with_columns(code.alias("_basis_code")), basis="_basis_code", incidence_date="first_date"
    )
    return rows.with_columns(
        pl.when(pl.col("behaviour") == 6)
        .then(pl.lit(3, pl.Int8))
        .otherwise(pl.col("behaviour"))
        .alias("behaviour"),
        pl.col("morph").alias("morphology"),
    )


def _with_icd10(fields: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    with_sex = fields.join(persons.select("person_id", "sex"), on="person_id", how="left")
    converted = convert_frame(with_sex)
    return converted.rename({"status": "icd10_status", "message": "icd10_message"})


def _iarc_status(tumours: pl.DataFrame) -> pl.DataFrame:
    """IARC/IACR 2004 reporting status from ``mp_reporting.iarc_reporting`` when that module exists."""
    try:
        module = importlib.import_module("oncoreg.consolidation.mp_reporting")
    except ModuleNotFoundError:
        return tumours.with_columns(pl.lit(None, pl.String).alias("iarc_status"))
    report = cast(Callable[[pl.DataFrame], pl.DataFrame] | None, getattr(module, "iarc_reporting", None))
    if report is None or tumours.height == 0:
        return tumours.with_columns(pl.lit(None, pl.String).alias("iarc_status"))
    status = report(
        tumours.select(
            "person_id", "tumour_id", "incidence_date", "sequence", "topography", "morphology", "behaviour"
        )
    )
    return tumours.join(
        status.select(
            pl.col("tumour_id").cast(pl.Int64), pl.col("status").cast(pl.String).alias("iarc_status")
        ),
        on="tumour_id",
        how="left",
    )


def consolidate(
    *,
    notifications: pl.DataFrame,
    persons: pl.DataFrame,
    as_of: date,
    existing_tumours: pl.DataFrame | None = None,
    options: ConsolidationOptions | None = None,
) -> ConsolidationResult:
    """Every tumour of the persons in ``notifications`` (linked: ``person_id`` set; unlinked rows ignored).

    ``persons``: person_id, sex, birth_date, death_date. ``existing_tumours``: the stored tumours of these
    persons (for ``changes``). Rules: grouping (:mod:`.grouping`), best information (:mod:`.best`), incidence
    date (:mod:`.incidence`), ICD-10 (``oncoreg.codes.convert_frame``), ICD-10-only attachment
    (:mod:`.matching`), DCO (:mod:`.dco`), conflicts (:mod:`.conflicts`).
    """
    opts = options or ConsolidationOptions()
    notes = with_certified_cancer(
        conform_notifications(notifications).filter(pl.col("person_id").is_not_null())
    )
    notes = notes.unique("notification_id", keep="first").sort("notification_id")
    rows = _described(notes)
    fields, provenance = best_fields(rows)
    owners = rows.select("tumour_id", "person_id").unique("tumour_id")
    fields = _with_icd10(fields.join(owners, on="tumour_id", how="left"), persons)

    others = notes.filter(~describes_tumour() & pl.col("icd10").is_not_null())
    attached = attach_by_icd10(others, fields.select("tumour_id", "person_id", "icd10", "topography"), rows)
    unattached_deaths = others.filter(
        (pl.col("source_type") == "death_certificate")
        & ~pl.col("notification_id").is_in(attached["notification_id"].implode())
    )
    dco_tumours, traceback = dco_candidates(
        unattached_deaths, as_of=as_of, traceback_days=opts.dco_traceback_days
    )
    links = pl.concat(
        [
            rows.select("tumour_id", "notification_id"),
            attached.select("tumour_id", "notification_id"),
            dco_tumours.select("tumour_id", "notification_id"),
        ]
    ).sort("tumour_id", "notification_id")
    incidence = incidence_dates(links.join(notes, on="notification_id"), rule=opts.incidence_rule)

    dco_fields = _with_icd10(
        dco_tumours.select(
            "tumour_id",
            "person_id",
            "topography",
            "morphology",
            "behaviour",
            pl.lit(0, pl.Int8).alias("basis"),
        ),
        persons,
    ).with_columns(pl.lit(True).alias("dco"))
    dco_provenance = dco_tumours.select(
        "tumour_id",
        pl.lit("topography").alias("field"),
        "notification_id",
        pl.lit("DCO-MAP.v1").alias("rule"),
    )
    tumours = pl.concat([fields.with_columns(pl.lit(False).alias("dco")), dco_fields], how="diagonal_relaxed")
    tumours = tumours.join(incidence, on="tumour_id", how="left").with_columns(
        pl.struct("incidence_date", "tumour_id")
        .rank("ordinal")
        .over("person_id")
        .cast(pl.Int32)
        .alias("sequence")
    )
    tasks = (
        pl.concat(
            [
                conflict_tasks(rows=rows, tumours=tumours, notes=notes, persons=persons),
                tumour_tasks(
                    tumours.filter(pl.col("icd10_status") == "error"),
                    kind="icd10_error",
                    reason=pl.format("ICD-10 derivation failed: {}", "icd10_message"),
                    details=["topography", "morphology", "behaviour", "icd10_message"],
                ),
                traceback,
            ]
        )
        if tumours.height
        else pl.concat([empty_review_tasks(), traceback])
    )
    has_review = pl.col("tumour_id").is_in(
        tasks.filter(pl.col("subject_type") == "tumour")["subject_id"].implode()
    )
    tumours = _iarc_status(tumours).with_columns(
        pl.when(has_review)
        .then(pl.lit("provisional"))
        .otherwise(pl.lit("confirmed"))
        .alias("registration_status")
    )
    tumours = tumours.select(
        [
            pl.col(name).cast(dtype) if name in tumours.columns else pl.lit(None, dtype).alias(name)
            for name, dtype in TUMOUR_FIELDS.items()
        ]
    ).sort("tumour_id")
    incidence_provenance = incidence.select(
        "tumour_id",
        pl.lit("incidence_date").alias("field"),
        pl.col("incidence_notification_id").alias("notification_id"),
        pl.format("INC-{}.v1", pl.lit(opts.incidence_rule.upper())).alias("rule"),
    )
    provenance = pl.concat([provenance, dco_provenance, incidence_provenance]).sort("tumour_id", "field")
    persons_seen = notes.select("person_id").unique()
    return ConsolidationResult(
        tumours=tumours,
        links=links,
        provenance=provenance,
        review_tasks=tasks.sort("kind", "subject_type", "subject_id", "details"),
        changes=tumour_changes(new=tumours, existing=existing_tumours, persons=persons_seen),
    )


def touched_persons(*, new_notifications: pl.DataFrame, stored_notifications: pl.DataFrame) -> pl.Series:
    """Persons an incremental run must re-derive: those of the new notifications, plus every person with a
    cancer death certificate (their trace-back wait may have ended since the last run)."""
    new = new_notifications.filter(pl.col("person_id").is_not_null())["person_id"]
    waiting = with_certified_cancer(conform_notifications(stored_notifications)).filter(
        (pl.col("source_type") == "death_certificate") & cancer_cause() & pl.col("person_id").is_not_null()
    )["person_id"]
    return pl.concat([new, waiting]).unique().sort()


def consolidate_incremental(
    *,
    new_notifications: pl.DataFrame,
    stored_notifications: pl.DataFrame,
    persons: pl.DataFrame,
    existing_tumours: pl.DataFrame,
    as_of: date,
    options: ConsolidationOptions | None = None,
) -> ConsolidationResult:
    """Re-derive the tumours of the persons a batch touches (:func:`touched_persons`).

    The result covers exactly those persons: their tumours replace the stored ones (``changes`` says which
    were created, updated or retired). Equal to the same persons' part of a full rebuild by construction.
    """
    touched = touched_persons(new_notifications=new_notifications, stored_notifications=stored_notifications)
    pool = pl.concat(
        [conform_notifications(stored_notifications), conform_notifications(new_notifications)]
    ).filter(pl.col("person_id").is_in(touched.implode()))
    return consolidate(
        notifications=pool,
        persons=persons,
        as_of=as_of,
        existing_tumours=existing_tumours.filter(pl.col("person_id").is_in(touched.implode())),
        options=options,
    )
