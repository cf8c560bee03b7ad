"""The CSV feeds (docs/formats.md §CSV) and the generic CSV (docs/ingest.md), one row per message.

A stored CSV message is the file's header line and the row, joined by a newline, so that every message
is self-describing. Required: the common columns and the source's columns (extra columns are kept in
``detail``), a ``message_id``, valid ISO dates; each source maps its columns onto the notification.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import polars as pl

from oncoreg.ingest.fields import LATERALITIES, STAGES, Fields, detail
from oncoreg.ingest.model import ParseOutcome
from oncoreg.ingest.schema import NOTIFICATIONS, SOURCE_TYPES

COMMON = (
    "message_id",
    "sent_date",
    "identifier",
    "identifier_type",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
)
COLUMNS = {
    "clinical_csv": (
        "hospital",
        "diagnosis_date",
        "topography",
        "morphology",
        "grade",
        "laterality",
        "stage",
        "tnm",
        "basis",
    ),
    "death_certificate": ("certificate_id", "death_date", "underlying_cause", "contributing_causes"),
    "patient_admin": (
        "episode_id",
        "hospital",
        "admission_date",
        "discharge_date",
        "care_type",
        "main_diagnosis",
        "secondary_diagnoses",
    ),
    "radiotherapy": (
        "record_id",
        "hospital",
        "diagnosis",
        "start_date",
        "end_date",
        "total_dose_gy",
        "fractions",
    ),
    "systemic_therapy": ("record_id", "hospital", "diagnosis", "start_date", "end_date", "atc_group"),
    "population_register": (
        "event",
        "event_date",
        "municipality",
        "previous_municipality",
        "previous_last_name",
    ),
}
OPTIONAL = {"patient_admin": ("procedure_codes",)}
POPULATION_EVENTS = ("birth", "immigration", "death", "emigration", "move", "name_change")
CARE_TYPES = ("inpatient", "outpatient")
ATC_GROUPS = ("L01", "L02")
#: The generic CSV: ``message_id`` and ``source_type`` required, any other NOTIFICATIONS column optional.
GENERIC_REQUIRED = ("message_id", "source_type")
GENERIC_SKIP = ("notification_id", "message_id", "message_hash", "item", "person_id")

Row = dict[str, str]
#: Characters that make ``csv.reader`` do more than split on commas and the one line break.
_CSV_SPECIAL = ('"', "\r", "\x00")


def read_row(content: bytes) -> tuple[list[str], list[str]]:
    """The header and the one row of a stored CSV message."""
    text = content.decode("utf-8")
    header, newline, row = text.partition("\n")
    if newline and header and row and "\n" not in row and not any(char in text for char in _CSV_SPECIAL):
        # No quotes, carriage returns or NULs and one line break: plain splitting reads what
        # ``csv.reader`` reads, several times faster (most feed rows look like this).
        return header.split(","), row.split(",")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) != 2:
        raise ValueError(f"a CSV message holds a header and one row, found {len(rows)} rows")
    return rows[0], rows[1]


def _identity(fields: Fields, row: Row) -> dict[str, Any]:
    identifier, id_type = fields.identifier(row.get("identifier"), row.get("identifier_type"))
    return {
        "given_identifier": identifier,
        "given_first_name": fields.text(row.get("first_name")),
        "given_last_name": fields.text(row.get("last_name")),
        "given_birth_date": fields.date("birth_date", row.get("birth_date")),
        "given_sex": fields.sex("sex", row.get("sex")),
        "_identifier_type": id_type,
    }


def _clinical(fields: Fields, row: Row) -> dict[str, Any]:
    diagnosis_date = fields.date("diagnosis_date", row.get("diagnosis_date"), required=True)
    morphology, behaviour = fields.morphology(row.get("morphology"))
    tnm_t, tnm_n, tnm_m = fields.tnm(row.get("tnm"))
    return {
        "source_type": "clinical",
        "institution": fields.text(row.get("hospital")),
        "event_date": diagnosis_date,
        "diagnosis_date": diagnosis_date,
        "topography": fields.topography(row.get("topography"), required=True),
        "morphology": morphology,
        "behaviour": behaviour,
        "grade": fields.integer("grade", row.get("grade"), (1, 2, 3, 4, 5, 6, 7, 8, 9)),
        "laterality": fields.choice("laterality", row.get("laterality"), LATERALITIES),
        "summary_stage": fields.choice("stage", row.get("stage"), STAGES),
        "tnm_t": tnm_t,
        "tnm_n": tnm_n,
        "tnm_m": tnm_m,
        "basis": fields.integer("basis", row.get("basis"), (0, 1, 2, 4, 5, 6, 7, 8, 9)),
    }


def _death(fields: Fields, row: Row) -> dict[str, Any]:
    death_date = fields.date("death_date", row.get("death_date"), required=True)
    return {
        "source_type": "death_certificate",
        "event_date": death_date,
        "death_date": death_date,
        "icd10": fields.icd10("underlying_cause", row.get("underlying_cause")),
        "secondary_codes": fields.icd10_list("contributing_causes", row.get("contributing_causes")),
        "basis": 0,
        "detail": detail(certificate_id=row.get("certificate_id")),
    }


def _patient_admin(fields: Fields, row: Row) -> dict[str, Any]:
    return {
        "source_type": "patient_admin",
        "institution": fields.text(row.get("hospital")),
        "event_date": fields.date("admission_date", row.get("admission_date"), required=True),
        "end_date": fields.date("discharge_date", row.get("discharge_date")),
        "event_kind": fields.choice("care_type", row.get("care_type"), CARE_TYPES),
        "icd10": fields.icd10("main_diagnosis", fields.required("main_diagnosis", row.get("main_diagnosis"))),
        "secondary_codes": fields.icd10_list("secondary_diagnoses", row.get("secondary_diagnoses")),
        "detail": detail(episode_id=row.get("episode_id"), procedure_codes=row.get("procedure_codes")),
    }


def _therapy(fields: Fields, row: Row, *, source: str) -> dict[str, Any]:
    radiotherapy = source == "radiotherapy"
    extras: dict[str, object] = {"record_id": row.get("record_id")}
    if radiotherapy:
        extras["total_dose_gy"] = fields.number("total_dose_gy", row.get("total_dose_gy"))
        extras["fractions"] = fields.integer("fractions", row.get("fractions"))
    return {
        "source_type": source,
        "institution": fields.text(row.get("hospital")),
        "event_date": fields.date("start_date", row.get("start_date"), required=True),
        "end_date": fields.date("end_date", row.get("end_date")),
        "event_kind": "radiotherapy"
        if radiotherapy
        else fields.choice("atc_group", row.get("atc_group"), ATC_GROUPS),
        "icd10": fields.icd10("diagnosis", row.get("diagnosis")),
        "detail": detail(**extras),
    }


def _population(fields: Fields, row: Row) -> dict[str, Any]:
    event = fields.choice("event", fields.required("event", row.get("event")), POPULATION_EVENTS)
    event_date = fields.date("event_date", row.get("event_date"), required=True)
    return {
        "source_type": "population_register",
        "event_kind": event,
        "event_date": event_date,
        "death_date": event_date if event == "death" else None,
        "given_municipality": fields.text(row.get("municipality")),
        "detail": detail(
            previous_municipality=row.get("previous_municipality"),
            previous_last_name=row.get("previous_last_name"),
        ),
    }


MAPPERS: dict[str, Callable[[Fields, Row], dict[str, Any]]] = {
    "clinical_csv": _clinical,
    "death_certificate": _death,
    "patient_admin": _patient_admin,
    "radiotherapy": lambda fields, row: _therapy(fields, row, source="radiotherapy"),
    "systemic_therapy": lambda fields, row: _therapy(fields, row, source="systemic_therapy"),
    "population_register": _population,
}


def _generic(fields: Fields, row: Row) -> dict[str, Any]:
    """The generic CSV: NOTIFICATIONS columns as given, checked like the feeds' own."""
    source_type = fields.choice("source_type", row.get("source_type"), SOURCE_TYPES)
    morphology_text, behaviour_text = row.get("morphology") or "", (row.get("behaviour") or "").strip()
    if morphology_text.strip() and "/" not in morphology_text and behaviour_text:
        morphology_text = f"{morphology_text.strip()}/{behaviour_text}"
    morphology, behaviour = fields.morphology(morphology_text)
    out: dict[str, Any] = {
        "source_type": source_type,
        "topography": fields.topography(row.get("topography")),
        "morphology": morphology,
        "behaviour": behaviour,
        "grade": fields.integer("grade", row.get("grade"), (1, 2, 3, 4, 5, 6, 7, 8, 9)),
        "laterality": fields.choice("laterality", row.get("laterality"), LATERALITIES),
        "basis": fields.integer("basis", row.get("basis"), (0, 1, 2, 4, 5, 6, 7, 8, 9)),
        "summary_stage": fields.choice("summary_stage", row.get("summary_stage"), STAGES),
        "icd10": fields.icd10("icd10", row.get("icd10")),
        "secondary_codes": fields.icd10_list("secondary_codes", row.get("secondary_codes")),
        "given_sex": fields.sex("given_sex", row.get("given_sex")),
    }
    identifier, _ = fields.identifier(row.get("given_identifier"), None)
    out["given_identifier"] = identifier
    for name, dtype in NOTIFICATIONS.items():
        if name in out or name in GENERIC_SKIP or name not in row:
            continue
        if dtype == pl.Date:
            out[name] = fields.date(name, row[name])
        elif dtype in (pl.Int8, pl.Int32, pl.Int64):
            out[name] = fields.integer(name, row[name])
        else:
            out[name] = fields.text(row[name])
    if out.get("event_date") is None:
        fields.problem("event_date", row.get("event_date"), "required", "event_date is required but missing")
    return out


@lru_cache(maxsize=256)
def _layout(source: str, header: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Of a source's header (feeds repeat a few): the required columns it lacks, and its extra columns
    (kept in ``detail``; none for the generic CSV)."""
    if source == "generic":
        return tuple(name for name in GENERIC_REQUIRED if name not in header), ()
    missing = tuple(name for name in (*COMMON, *COLUMNS[source]) if name not in header)
    known = {*COMMON, *COLUMNS[source], *OPTIONAL.get(source, ())}
    return missing, tuple(name for name in header if name not in known)


def parse(content: bytes, *, source: str, fields: Fields, outcome: ParseOutcome) -> None:
    """Parse one CSV message (header + row) of ``source`` into ``outcome``."""
    header, values = read_row(content)
    if len(values) != len(header):
        fields.problem(
            "row", ",".join(values)[:200], "csv.columns", f"{len(values)} fields for {len(header)} columns"
        )
        row = dict(zip(header, values, strict=False))
    else:
        row = dict(zip(header, values, strict=True))
    generic = source == "generic"
    missing, extra_names = _layout(source, tuple(header))
    for name in missing:
        fields.problem(name, "", "csv.header", f"column {name} is missing from the header")
    outcome.external_id = fields.required("message_id", row.get("message_id"))
    if generic:
        outcome.sent_date = fields.date("received_date", row.get("received_date"))
        body = _generic(fields, row)
    else:
        outcome.sent_date = fields.date("sent_date", row.get("sent_date"), required=True)
        body = {**_identity(fields, row), "received_date": outcome.sent_date, **MAPPERS[source](fields, row)}
        extra = {name: row[name] for name in extra_names}
        id_type = body.pop("_identifier_type")
        parts = [body.get("detail"), detail(identifier_type=id_type), detail(**extra)]
        body["detail"] = ";".join(part for part in parts if part) or None
    outcome.sender = body.get("institution")
    outcome.notifications.append(body)
