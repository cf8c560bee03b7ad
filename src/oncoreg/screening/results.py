"""Result registration: laboratory and screening-unit files → registered screening events.

Two inbound forms (docs/simulate-screening.md, screening.md §1):

- the CSV files the screening units and laboratories send (``messages/screening/<programme>/<year>/*.csv``:
  breast ``screening_results``, cervix ``laboratory_results``, colorectal ``fit_results`` and
  ``colonoscopy_reports``), keyed by the national identifier;
- FHIR colonoscopy-report bundles of Tarmscreeningprogrammet (HL7 Norway profile ``colonoscopyreport-*-krg``,
  XML), parsed with ``xml.etree``: patient identifier, performed date, caecum intubated, complication,
  polyps removed, ICD-10 conclusion codes.

Identifiers are mapped to ``person_id`` through the population frame; rows whose identifier is unknown are
returned apart (never dropped). ``first_screen`` and ``age`` are derived from the registered history.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.screening.episodes import SCREENING_EVENTS, conform_events

_FHIR = "{http://hl7.org/fhir}"
_FNR_SYSTEMS = ("urn:oid:2.16.578.1.12.4.1.4.1", "urn:oid:2.16.578.1.12.4.1.4.2")  # fnr, D-number
_EXT = "http://kreftregisteret.no/fhir/StructureDefinition/colonoscopyreport-"
_FILE_TYPES = {"fit_results": "fit_result", "colonoscopy_reports": "colonoscopy"}
_TEST_OF_TYPE = {"fit_result": "fit", "colonoscopy": "colonoscopy"}


@dataclass(frozen=True)
class Registered:
    """Registered events (:data:`SCREENING_EVENTS`) and the rows whose identifier is not in the population."""

    events: pl.DataFrame
    unmatched: pl.DataFrame  # message_id, identifier, file


def read_result_files(*, directory: Path) -> pl.DataFrame:
    """Every screening result CSV under ``directory`` (a data directory holding ``messages/screening``)
    as one frame with ``programme``, ``type`` and ``file``; values as given (strings cast later)."""
    root = directory / "messages" / "screening"
    frames: list[pl.DataFrame] = []
    for path in sorted(root.glob("*/*/*.csv")):
        programme = path.parts[-3]
        frame = pl.read_csv(path, infer_schema=False)
        if "type" not in frame.columns:
            frame = frame.with_columns(pl.lit(_FILE_TYPES.get(path.stem, path.stem)).alias("type"))
        frame = frame.with_columns(
            pl.lit(programme).alias("programme"), pl.lit(path.relative_to(directory).as_posix()).alias("file")
        )
        frames.append(frame)
    if not frames:
        raise FileNotFoundError(f"no screening result files under {root}")
    return pl.concat(frames, how="diagonal_relaxed")


def register_results(*, raw: pl.DataFrame, persons: pl.DataFrame) -> Registered:
    """Map identifiers to persons, type the columns, derive ``first_screen`` and ``age``.

    ``raw``: :func:`read_result_files` or :func:`parse_colonoscopy_bundle` rows (``message_id``,
    ``identifier`` and event columns as text); ``persons``: person_id, identifier, birth_date."""
    required = ("message_id", "identifier", "programme", "type", "date")
    problems = [
        Problem(field=name, value="", rule="result file", text="column missing")
        for name in required
        if name not in raw.columns
    ]
    if problems:
        raise ValidationFailed(problems)
    ids = persons.select("identifier", "person_id", "birth_date")
    joined = raw.join(ids, on="identifier", how="left")
    unmatched = joined.filter(pl.col("person_id").is_null()).select(
        "message_id", "identifier", *(["file"] if "file" in joined.columns else [])
    )
    matched = joined.filter(pl.col("person_id").is_not_null())
    text_bool = {"true": True, "false": False, "1": True, "0": False}
    casts: list[pl.Expr] = []
    for name, dtype in SCREENING_EVENTS.items():
        if name not in matched.columns or name in ("person_id",):
            continue
        column = pl.col(name)
        if dtype == pl.Boolean and matched.schema[name] == pl.String:
            casts.append(column.str.to_lowercase().replace_strict(text_bool, default=None).alias(name))
        elif dtype == pl.Date and matched.schema[name] == pl.String:
            casts.append(column.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias(name))
        else:
            casts.append(column.cast(dtype, strict=False).alias(name))
    matched = matched.with_columns(pl.col("message_id").alias("event_id")).with_columns(casts)
    if "test" not in matched.columns:
        matched = matched.with_columns(
            pl.col("type").replace_strict(_TEST_OF_TYPE, default=None).alias("test")
        )
    else:
        matched = matched.with_columns(
            pl.coalesce("test", pl.col("type").replace_strict(_TEST_OF_TYPE, default=None)).alias("test")
        )
    birth = pl.col("birth_date")
    before_birthday = (pl.col("date").dt.month() * 100 + pl.col("date").dt.day()) < (
        birth.dt.month() * 100 + birth.dt.day()
    )
    matched = matched.with_columns(
        (pl.col("date").dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32))
        .cast(pl.Int16)
        .alias("age")
    )
    events = with_first_screen(conform_events(matched))
    return Registered(events=events, unmatched=unmatched)


def with_first_screen(events: pl.DataFrame) -> pl.DataFrame:
    """``first_screen`` true on each person's earliest primary test of a programme (prevalent screen)."""
    primary = (
        ((pl.col("programme") == "breast") & (pl.col("type") == "screen"))
        | ((pl.col("programme") == "colorectal") & (pl.col("type") == "fit_result"))
        | (
            (pl.col("programme") == "cervix")
            & (pl.col("type") == "sample")
            & (pl.col("indication") == "screening")
        )
    )
    first = (
        events.filter(primary).group_by("person_id", "programme").agg(pl.col("date").min().alias("_first"))
    )
    return (
        events.join(first, on=["person_id", "programme"], how="left")
        .with_columns(
            pl.when(primary).then(pl.col("date") == pl.col("_first")).otherwise(None).alias("first_screen")
        )
        .drop("_first")
        .sort("person_id", "date")
    )


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    return found.get("value") if found is not None else None


def parse_colonoscopy_bundle(*, xml_text: str) -> pl.DataFrame:
    """One colonoscopy row (``message_id``, ``identifier``, ``programme``, ``type``, ``date``, ``result``,
    ``caecum_intubated``, ``complication``, ``icd10``) from a Tarmscreening colonoscopy-report bundle."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise ValidationFailed([Problem(field="bundle", value="", rule="XML", text=str(error))]) from error
    if root.tag != f"{_FHIR}Bundle":
        raise ValidationFailed([Problem(field="bundle", value=root.tag, rule="FHIR", text="not a Bundle")])
    report_id = _text(root, f"{_FHIR}identifier/{_FHIR}value")
    patient = root.find(f".//{_FHIR}Patient")
    identifier = None
    if patient is not None:
        for ident in patient.findall(f"{_FHIR}identifier"):
            if _text(ident, f"{_FHIR}system") in _FNR_SYSTEMS:
                identifier = _text(ident, f"{_FHIR}value")
    procedure = root.find(f".//{_FHIR}Procedure")
    performed = _text(procedure, f"{_FHIR}performedDateTime")
    extensions = {
        ext.get("url", "").removeprefix(_EXT): ext
        for ext in (procedure.findall(f"{_FHIR}extension") if procedure is not None else [])
    }
    caecum = extensions.get("caecumintubated-extension")
    polyps = extensions.get("polypsremoved")
    icd10 = [
        coding.find(f"{_FHIR}code").get("value", "")  # type: ignore[union-attr]
        for coding in root.iter(f"{_FHIR}coding")
        if _text(coding, f"{_FHIR}system") == "http://hl7.org/fhir/sid/icd-10"
        and coding.find(f"{_FHIR}code") is not None
    ]
    problems = [
        Problem(field=field, value="", rule="colonoscopy report", text="missing")
        for field, value in (
            ("Bundle.identifier", report_id),
            ("Patient.identifier", identifier),
            ("Procedure.performedDateTime", performed),
        )
        if not value
    ]
    if problems:
        raise ValidationFailed(problems)
    cancer = any(code.replace(".", "")[:3] in ("C18", "C19", "C20") for code in icd10)
    polyps_removed = _text(polyps, f".//{_FHIR}code") == "Y"
    result = "cancer" if cancer else ("adenoma" if polyps_removed else "normal")
    return pl.DataFrame(
        {
            "message_id": [report_id],
            "identifier": [identifier],
            "programme": ["colorectal"],
            "type": ["colonoscopy"],
            "test": ["colonoscopy"],
            "indication": ["follow_up"],
            "date": [date.fromisoformat(str(performed)[:10])],
            "result": [result],
            "caecum_intubated": [_text(caecum, f"{_FHIR}valueBoolean") == "true"],
            "complication": ["complicationconsequence-extension" in extensions],
            "icd10": [";".join(icd10)],
        }
    )
