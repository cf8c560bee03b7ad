"""The tables of a snapshot: names, Polars schemas and what every column means.

A snapshot is a directory of Parquet files plus ``manifest.json`` (``docs/snapshot.md``). Statistics read
only these tables (DESIGN §7). No table carries a national identifier, a name or free text: persons are
known by the registry's surrogate ``person_id`` only.

Codes follow DESIGN §5: sex 1 male / 2 female / 9 unknown; topography ``C50.9``; morphology the four ICD-O-3
histology digits as an integer (``8500``, as in the simulator's truth); behaviour, grade and basis of
diagnosis as the ENCR/ICD-O-3 integers; counties and municipalities as the 2024 codes.
"""

from __future__ import annotations

import polars as pl

Schema = dict[str, pl.DataType | type[pl.DataType]]

#: One row per tumour in the registry at the as-of time.
TUMOURS: Schema = {
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "sequence": pl.Int16,  # the tumour's number among the person's tumours
    "sex": pl.Int8,  # of the person
    "birth_date": pl.Date,  # of the person
    "age": pl.Int16,  # completed years at incidence; null when the birth date is unknown
    "incidence_date": pl.Date,
    "incidence_year": pl.Int16,
    "incidence_date_basis": pl.String,
    "topography": pl.String,  # ICD-O-3 "C50.9"
    "morphology": pl.Int16,  # ICD-O-3 histology, 4 digits
    "behaviour": pl.Int8,
    "grade": pl.Int8,
    "laterality": pl.String,  # L | R | B | U | N
    "basis": pl.Int8,  # ENCR basis of diagnosis (0 DCO ... 7 histology of the primary, 9 unknown)
    "basis_subcode": pl.String,
    "icd10": pl.String,  # as stored, else derived from topography/morphology/behaviour/sex (IARCcrgTools)
    "entity": pl.Int32,  # NORDCAN entity, detailed level 30 (oncoreg.codes.entities)
    "summary_stage": pl.String,
    "tnm_t": pl.String,
    "tnm_n": pl.String,
    "tnm_m": pl.String,
    "dco": pl.Boolean,  # known from the death certificate only
    "iarc_status": pl.String,  # IARC/IACR 2004 reporting: primary | duplicate | insitu | not_reportable
    "registration_status": pl.String,  # provisional | confirmed
    "county": pl.String,  # residence at the incidence date (null when unknown)
    "municipality": pl.String,
    "registration_date": pl.Date,  # received date of the first message of the tumour's notifications
    "n_notifications": pl.Int32,  # notifications linked to the tumour
    "version": pl.Int32,  # the tumour record's version at the as-of time
}

#: One row per person known to the registry at the as-of time (no identifier, no names).
PERSONS: Schema = {
    "person_id": pl.Int64,
    "sex": pl.Int8,
    "birth_date": pl.Date,
    "vital_status": pl.String,  # alive | dead | emigrated | unknown
    "death_date": pl.Date,
    "emigration_date": pl.Date,
    "county": pl.String,  # last known residence at the as-of time
    "municipality": pl.String,
}

#: One row per notification and tumour it is linked to (tumour_id null when linked to none).
NOTIFICATIONS: Schema = {
    "message_id": pl.String,  # the identifier the message carries (HL7 MSH-10, FHIR Bundle.identifier)
    "notification_id": pl.Int64,
    "person_id": pl.Int64,
    "tumour_id": pl.Int64,
    "source": pl.String,  # the notification's source type: pathology | clinical | death_certificate | ...
    "received_date": pl.Date,  # when the registry received the message
}

#: One row per death (cause-of-death register).
DEATHS: Schema = {
    "person_id": pl.Int64,
    "death_date": pl.Date,
    "death_year": pl.Int16,
    "underlying_cause": pl.String,  # ICD-10
    "entity": pl.Int32,  # NORDCAN entity (level 30) of the underlying cause, null for non-cancer causes
    "sex": pl.Int8,
    "age": pl.Int16,  # completed years at death
    "county": pl.String,  # last known residence at death
    "municipality": pl.String,
}

#: One row per treatment (surgery, radiotherapy, systemic therapy).
TREATMENTS: Schema = {
    "treatment_id": pl.Int64,
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "kind": pl.String,  # surgery | radiotherapy | systemic
    "start_date": pl.Date,
    "end_date": pl.Date,
    "institution": pl.String,
}

#: One row per residence period (population register moves).
RESIDENCE: Schema = {
    "person_id": pl.Int64,
    "municipality": pl.String,
    "county": pl.String,
    "valid_from": pl.Date,
    "valid_to": pl.Date,  # exclusive; null while current (or ending after the as-of time)
}

#: One row per quarantined message (the message's own identifier, never its content).
QUARANTINE: Schema = {
    "message_id": pl.String,
    "source": pl.String,
    "received_date": pl.Date,
    "status": pl.String,  # open | fixed | rejected
    "reasons": pl.String,  # the reason codes, ";"-joined
}

#: Every table of a snapshot, by name (the file is ``<name>.parquet``); quality is in checks.quality.
TABLES: dict[str, Schema] = {
    "tumours": TUMOURS,
    "persons": PERSONS,
    "notifications": NOTIFICATIONS,
    "deaths": DEATHS,
    "treatments": TREATMENTS,
    "residence": RESIDENCE,
    "quarantine": QUARANTINE,
}


def conform(frame: pl.DataFrame, schema: Schema) -> pl.DataFrame:
    """Select and cast ``frame`` to ``schema`` (column order included); absent columns become null."""
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )
