"""The notification frame: what every ingest parser produces and linkage and consolidation consume.

One row per accepted message item, with the coded fields as the source gave them (normalised to the code
systems' canonical forms) and the person identifiers as given. Its columns mirror the ``notification`` table
of the registry store (``oncoreg.registry.tables.Notification``) plus the message's own identifier and the
residence the source gave, so a frame can be written to the store in bulk and read back unchanged.

Codes: topography ``C34.1``; morphology a 4-digit string ``8140``; behaviour 0/1/2/3/6/9; basis the ENCR
code as an integer (sub-codes of the 2023 version in ``basis_subcode``);
laterality ``L``/``R``/``B``/``U``/``N``;
sex 1/2/9; summary stage ``localised``/``regional``/``distant``/``unknown``; ICD-10 ``C34.9``.
"""

from __future__ import annotations

import polars as pl

#: source_type values: the streams of reference/norway.md §2.
SOURCE_TYPES = (
    "pathology",
    "clinical",
    "death_certificate",
    "patient_admin",
    "radiotherapy",
    "systemic_therapy",
    "population_register",
    "screening",
)

NOTIFICATIONS: dict[str, pl.DataType | type[pl.DataType]] = {
    "notification_id": pl.Int64,  # assigned by ingest, stable for a given (message content hash, item)
    "message_id": pl.String,  # the identifier the message carries itself (HL7 MSH-10, FHIR Bundle id, CSV id)
    "message_hash": pl.String,  # sha256 of the stored message bytes
    "item": pl.Int32,  # position of the item within the message (0 for single-item messages)
    "source_type": pl.String,  # one of SOURCE_TYPES
    "institution": pl.String,  # reporting institution / sender
    "received_date": pl.Date,  # when the registry received the message
    "event_date": pl.Date,  # the date the notification is about (sample, diagnosis, death, episode...)
    "diagnosis_date": pl.Date,  # clinician's stated diagnosis date (clinical notifications)
    "sample_date": pl.Date,  # specimen date (pathology)
    "death_date": pl.Date,  # death certificates and population-register deaths
    "topography": pl.String,
    "morphology": pl.String,
    "behaviour": pl.Int8,
    "grade": pl.Int8,
    "laterality": pl.String,
    "basis": pl.Int8,
    "basis_subcode": pl.String,
    "summary_stage": pl.String,
    "tnm_t": pl.String,
    "tnm_n": pl.String,
    "tnm_m": pl.String,
    "icd10": pl.String,  # as given (death certificate cause, NPR diagnosis) or derived
    "free_text": pl.String,
    "given_identifier": pl.String,
    "given_first_name": pl.String,
    "given_last_name": pl.String,
    "given_birth_date": pl.Date,
    "given_sex": pl.Int8,
    "given_municipality": pl.String,
    "person_id": pl.Int64,  # null until linkage assigns it
    # added by ingest (kept last so existing column positions do not move):
    "end_date": pl.Date,  # end of a treatment or discharge of an episode
    "event_kind": pl.String,  # population-register event, NPR care type, SACT ATC group, "radiotherapy"
    "secondary_codes": pl.String,  # further ICD-10 codes, ';'-joined (contributing causes, NPR secondary)
    "detail": pl.String,  # source-specific extras as 'key=value' pairs joined by ';'
}


def empty_notifications() -> pl.DataFrame:
    """An empty notification frame."""
    return pl.DataFrame(schema=NOTIFICATIONS)


def conform_notifications(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast ``frame`` to the notification schema, adding absent optional columns as nulls."""
    columns = [
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in NOTIFICATIONS.items()
    ]
    return frame.select(columns)
