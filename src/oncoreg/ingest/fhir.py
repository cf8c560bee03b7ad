"""Clinical notifications: FHIR R4 Bundles answering oncoreg's questionnaire (docs/formats.md §Clinical).

One Bundle per message (one NDJSON line). Structural checks are done here on the parsed JSON (no
``fhir.resources`` models in the hot path; the tests check that what passes here validates there):
valid JSON, ``resourceType`` Bundle with a ``type``, ``identifier.value``, a ``Patient`` and a
``QuestionnaireResponse`` with a valid ``status``. The answers map onto the notification by ``linkId``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from oncoreg.ingest.fields import LATERALITIES, STAGES, Fields, detail
from oncoreg.ingest.model import ParseOutcome

BUNDLE_TYPES = (
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
)
RESPONSE_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
IDENTIFIER_SYSTEMS = {
    "urn:oid:2.16.578.1.12.4.1.4.1": "fnr",
    "urn:oid:2.16.578.1.12.4.1.4.2": "dnr",
}
HNR_SYSTEM = "http://oncoreg.org/fhir/NamingSystem/hnr/"
#: The Bundle's own identifier in text that is not valid JSON (a line cut short): recovered for the
#: quarantine record, so the sender can be asked for that message again.
_BUNDLE_ID = re.compile(
    rb'^\{"resourceType":\s*"Bundle",\s*"identifier":\s*\{[^{}]*?"value":\s*"([^"\\]{1,100})"'
)


def _answer(item: dict[str, Any]) -> str | None:
    """The first answer of an item as text (valueCoding.code, valueDate, valueString, ...)."""
    answers = item.get("answer") or []
    if not answers or not isinstance(answers[0], dict):
        return None
    answer = answers[0]
    if isinstance(answer.get("valueCoding"), dict):
        code = answer["valueCoding"].get("code")
        return None if code is None else str(code)
    for key in ("valueDate", "valueString", "valueInteger", "valueDateTime"):
        if key in answer and answer[key] is not None:
            return str(answer[key])
    return None


def _resources(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            found.setdefault(str(resource.get("resourceType")), resource)
    return found


def _patient_identifier(patient: dict[str, Any]) -> tuple[str | None, str | None]:
    for identifier in patient.get("identifier") or []:
        system = str(identifier.get("system", ""))
        kind = IDENTIFIER_SYSTEMS.get(system) or ("hnr" if system.startswith(HNR_SYSTEM) else None)
        if identifier.get("value"):
            return str(identifier["value"]), kind
    return None, None


def parse(content: bytes, *, fields: Fields, outcome: ParseOutcome) -> None:
    """Parse one Bundle into ``outcome`` (problems go to ``fields``)."""
    try:
        bundle = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fields.problem(
            "content", content[:60].decode("utf-8", "replace"), "json.valid", f"not valid JSON: {exc}"
        )
        found = _BUNDLE_ID.match(content.lstrip())
        if found is not None:
            outcome.salvaged_id = found.group(1).decode("utf-8", "replace")
        return
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        fields.problem("resourceType", str(kind), "fhir.bundle", "the message must be a FHIR Bundle")
        return
    identifier = bundle.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    outcome.external_id = fields.required("Bundle.identifier.value", None if value is None else str(value))
    bundle_type = bundle.get("type")
    if bundle_type is None:
        fields.problem("Bundle.type", "", "required", "Bundle.type is required but missing")
    elif bundle_type not in BUNDLE_TYPES:
        fields.problem(
            "Bundle.type", str(bundle_type), "fhir.bundle.type", "Bundle.type is not a FHIR bundle type"
        )
    sent = fields.date("Bundle.timestamp", bundle.get("timestamp"))
    outcome.sent_date = sent
    resources = _resources(bundle)
    patient, response = resources.get("Patient"), resources.get("QuestionnaireResponse")
    if patient is None:
        fields.problem("Patient", "", "fhir.patient.required", "the Bundle has no Patient")
    if response is None:
        fields.problem(
            "QuestionnaireResponse", "", "fhir.response.required", "the Bundle has no QuestionnaireResponse"
        )
    if patient is None or response is None:
        return
    status = response.get("status")
    if status is None:
        fields.problem(
            "QuestionnaireResponse.status", "", "required", "QuestionnaireResponse.status is required"
        )
    elif status not in RESPONSE_STATUSES:
        fields.problem(
            "QuestionnaireResponse.status", str(status), "fhir.response.status", "not a FHIR status"
        )
    answers = {
        str(item.get("linkId")): _answer(item)
        for item in response.get("item") or []
        if isinstance(item, dict)
    }
    organisation = resources.get("Organization") or {}
    org_ids = organisation.get("identifier") or [{}]
    sender = answers.get("rapporterende_sykehus") or org_ids[0].get("value")
    outcome.sender = fields.text(None if sender is None else str(sender))
    given_id, id_type = _patient_identifier(patient)
    identifier_value, _ = fields.identifier(given_id, id_type)
    names = patient.get("name") or [{}]
    given = names[0].get("given") or [None]
    diagnosis_date = fields.date("diagnosedato", answers.get("diagnosedato"), required=True)
    morphology, behaviour = fields.morphology(answers.get("morfologi"))
    tnm_t, tnm_n, tnm_m = fields.tnm(answers.get("tnm"))
    row: dict[str, Any] = {
        "source_type": "clinical",
        "institution": outcome.sender,
        "received_date": sent,
        "event_date": diagnosis_date,
        "diagnosis_date": diagnosis_date,
        "topography": fields.topography(answers.get("topografi"), required=True),
        "morphology": morphology,
        "behaviour": behaviour,
        "grade": fields.integer("grade", answers.get("differensieringsgrad"), (1, 2, 3, 4, 5, 6, 7, 8, 9)),
        "laterality": fields.choice("laterality", answers.get("lateralitet"), LATERALITIES),
        "summary_stage": fields.choice("stage", answers.get("stadium"), STAGES),
        "tnm_t": tnm_t,
        "tnm_n": tnm_n,
        "tnm_m": tnm_m,
        "basis": fields.integer("basis", answers.get("diagnosegrunnlag"), (0, 1, 2, 4, 5, 6, 7, 8, 9)),
        "given_identifier": identifier_value,
        "given_first_name": fields.text(given[0]),
        "given_last_name": fields.text(names[0].get("family")),
        "given_birth_date": fields.date("Patient.birthDate", patient.get("birthDate")),
        "given_sex": fields.sex("Patient.gender", patient.get("gender")),
        "detail": detail(identifier_type=id_type, status=status),
    }
    outcome.notifications.append(row)
