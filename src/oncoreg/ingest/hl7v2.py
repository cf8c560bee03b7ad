"""Pathology reports: HL7 v2.5 ORU^R01 (docs/formats.md §Pathology), one message at a time.

Plain string splitting (segments on CR, fields on ``|``, components on ``^``), no object model: the
required structure is checked here. Required: MSH with MSH-7 (send time), MSH-9 (``ORU^R01``) and
MSH-10 (message id), PID, OBR with OBR-7 (specimen date) and at least one OBX. Basis of diagnosis is
derived from the service: cytology (``CYT``) 5, histology (``HIST``) 7, or 6 when the conclusion says
the specimen is a metastasis (``metastase``).
"""

from __future__ import annotations

import re
from typing import Any

from oncoreg.ingest.fields import Fields, detail
from oncoreg.ingest.model import ParseOutcome

_SEGMENTS = re.compile(r"\r\n|\r|\n")
_ESCAPES = (("\\F\\", "|"), ("\\S\\", "^"), ("\\R\\", "~"), ("\\T\\", "&"), ("\\E\\", "\\"))
LATERALITY = ("L", "R", "B", "U", "N")


def unescape(text: str) -> str:
    """HL7 text with ``\\F\\ \\S\\ \\R\\ \\T\\ \\E\\`` replaced by the characters they stand for."""
    if "\\" not in text:
        return text
    out = text
    for code, char in _ESCAPES:
        out = out.replace(code, char)
    return out


def _field(segment: list[str], index: int) -> str:
    return segment[index] if index < len(segment) else ""


def _component(value: str, index: int) -> str:
    parts = value.split("^")
    return parts[index] if index < len(parts) else ""


def parse(content: bytes, *, fields: Fields, outcome: ParseOutcome) -> None:
    """Parse one HL7 message into ``outcome`` (problems go to ``fields``)."""
    text = content.decode("utf-8")
    segments = [line.split("|") for line in _SEGMENTS.split(text) if line]
    by_name: dict[str, list[list[str]]] = {}
    for segment in segments:
        by_name.setdefault(segment[0], []).append(segment)
    if not segments or segments[0][0] != "MSH":
        first = segments[0][0] if segments else ""
        fields.problem("MSH", first, "hl7.msh.first", "an HL7 message must start with an MSH segment")
        return
    # MSH-1 is the field separator itself, so MSH-n is at list index n - 1.
    msh = segments[0]
    outcome.external_id = fields.required("MSH-10", _field(msh, 9))
    outcome.sender = fields.text(_field(msh, 3))
    outcome.sent_date = fields.date("MSH-7", _field(msh, 6), required=True, compact=True)
    message_type = _field(msh, 8)
    if fields.required("MSH-9", message_type) is not None and not message_type.startswith("ORU^R01"):
        fields.problem("MSH-9", message_type, "hl7.msh9.oru_r01", "message type must be ORU^R01")
    for name in ("PID", "OBR", "OBX"):
        if name not in by_name:
            fields.problem(
                name, "", f"hl7.{name.lower()}.required", f"segment {name} is required but missing"
            )
    if "PID" not in by_name or "OBR" not in by_name:
        return
    pid, obr = by_name["PID"][0], by_name["OBR"][0]
    pid3 = _field(pid, 3).split("~")[0]
    identifier, id_type = fields.identifier(_component(pid3, 0), _component(pid3, 4) or None)
    sample_date = fields.date("OBR-7", _field(obr, 7), required=True, compact=True)
    observations: dict[str, str] = {}
    for obx in by_name.get("OBX", []):
        observations.setdefault(_component(_field(obx, 3), 0), _field(obx, 5))
    topography = fields.topography(_component(observations.get("TOPOGRAFI", ""), 0), required=True)
    morphology, behaviour = fields.morphology(_component(observations.get("MORFOLOGI", ""), 0), required=True)
    grade = fields.integer("grade", _component(observations.get("GRAD", ""), 0), (1, 2, 3, 4, 5, 6, 7, 8, 9))
    laterality = fields.choice("laterality", _component(observations.get("LATERALITET", ""), 0), LATERALITY)
    conclusion = unescape(observations.get("KONKLUSJON", "")) or None
    service = _component(_field(obr, 4), 0)
    basis = 5 if service == "CYT" else 6 if conclusion and "metastase" in conclusion.lower() else 7
    orc = by_name.get("ORC", [[]])[0]
    requester = _component(_field(orc, 21), 9) if orc else ""
    name = _field(pid, 5)
    row: dict[str, Any] = {
        "source_type": "pathology",
        "institution": outcome.sender,
        "received_date": outcome.sent_date,
        "event_date": sample_date,
        "sample_date": sample_date,
        "topography": topography,
        "morphology": morphology,
        "behaviour": behaviour,
        "grade": grade,
        "laterality": laterality,
        "basis": basis,
        "free_text": conclusion,
        "given_identifier": identifier,
        "given_first_name": fields.text(unescape(_component(name, 1))),
        "given_last_name": fields.text(unescape(_component(name, 0))),
        "given_birth_date": fields.date("PID-7", _field(pid, 7), compact=True),
        "given_sex": fields.sex("PID-8", _field(pid, 8)),
        "detail": detail(
            identifier_type=id_type,
            service=service,
            specimen=_component(observations.get("PREPARAT", ""), 0),
            requester=requester,
            accession=_field(obr, 3),
        ),
    }
    outcome.notifications.append(row)
