"""Pydantic models in and out of the registry service: a schema family per entity.

``*Create`` is what a caller gives to add a record, ``*Update`` the fields to change (only the fields set
are applied), ``*Public`` what the service returns and what history stores as ``before``/``after``.
Codes are checked for form here (``C50.9``, ``8500``); whether a code exists is the ``codes`` area's job.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Sex = Literal[1, 2, 9]
VitalStatus = Literal["alive", "dead", "emigrated", "unknown"]
Channel = Literal["cli", "web", "api", "batch"]
IdentifierKind = Literal["fnr", "dnr", "hnr", "none"]
Topography = Field(pattern=r"^C\d\d\.\d$")
Morphology = Field(pattern=r"^\d{4}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonFields(_Model):
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    sex: Sex = 9
    vital_status: VitalStatus = "alive"
    death_date: date | None = None
    emigration_date: date | None = None
    reserved_screening_results: bool = False
    reserved_risk_factors: bool = False


class PersonCreate(PersonFields):
    """A new person; ``identifier`` is validated (fnr, D- or H-number) and its type stored."""

    identifier: str | None = None


class PersonUpdate(_Model):
    """Fields of a person to change; fields left unset keep their value."""

    identifier: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    vital_status: VitalStatus | None = None
    death_date: date | None = None
    emigration_date: date | None = None
    reserved_screening_results: bool | None = None
    reserved_risk_factors: bool | None = None


class PersonPublic(PersonFields):
    """A person as stored, with the identifier's type and the version for optimistic concurrency."""

    person_id: int
    identifier: str | None
    identifier_type: IdentifierKind
    identifier_scheme: Literal["pre2032", "pid2032"] | None
    version: int


class TumourFields(_Model):
    incidence_date: date
    incidence_date_basis: str | None = None
    topography: str = Topography
    morphology: str = Morphology
    behaviour: Literal[0, 1, 2, 3, 6, 9]
    grade: int | None = Field(None, ge=1, le=9)
    laterality: Literal["L", "R", "B", "U", "N"] | None = None
    basis: int = Field(ge=0, le=9)
    basis_subcode: str | None = None
    icd10: str | None = None
    summary_stage: str | None = None
    tnm_t: str | None = None
    tnm_n: str | None = None
    tnm_m: str | None = None
    dco: bool = False
    iarc_status: Literal["primary", "duplicate", "insitu", "not_reportable"] | None = None
    registration_status: Literal["provisional", "confirmed"] = "provisional"
    sequence: int = Field(1, ge=1)


class TumourCreate(TumourFields):
    """A new tumour of a person."""

    person_id: int


class TumourUpdate(_Model):
    """Fields of a tumour to change; fields left unset keep their value."""

    incidence_date: date | None = None
    incidence_date_basis: str | None = None
    topography: str | None = Field(None, pattern=r"^C\d\d\.\d$")
    morphology: str | None = Field(None, pattern=r"^\d{4}$")
    behaviour: Literal[0, 1, 2, 3, 6, 9] | None = None
    grade: int | None = Field(None, ge=1, le=9)
    laterality: Literal["L", "R", "B", "U", "N"] | None = None
    basis: int | None = Field(None, ge=0, le=9)
    basis_subcode: str | None = None
    icd10: str | None = None
    summary_stage: str | None = None
    tnm_t: str | None = None
    tnm_n: str | None = None
    tnm_m: str | None = None
    dco: bool | None = None
    iarc_status: Literal["primary", "duplicate", "insitu", "not_reportable"] | None = None
    registration_status: Literal["provisional", "confirmed"] | None = None
    sequence: int | None = Field(None, ge=1)


class TumourPublic(TumourFields):
    """A tumour as stored."""

    tumour_id: int
    person_id: int
    version: int


class NotificationCreate(_Model):
    """One notification as the source gave it."""

    # the streams of oncoreg.ingest.schema.SOURCE_TYPES (reference/norway.md §2)
    source_type: Literal[
        "pathology",
        "clinical",
        "death_certificate",
        "patient_admin",
        "radiotherapy",
        "systemic_therapy",
        "population_register",
        "screening",
    ]
    message_id: int | None = None
    item: int = 0
    person_id: int | None = None
    institution: str | None = None
    diagnosis_date: date | None = None
    sample_date: date | None = None
    report_date: date | None = None
    topography: str | None = None
    morphology: str | None = None
    behaviour: int | None = None
    grade: int | None = None
    laterality: str | None = None
    basis: int | None = None
    summary_stage: str | None = None
    tnm_t: str | None = None
    tnm_n: str | None = None
    tnm_m: str | None = None
    icd10: str | None = None
    free_text: str | None = None
    given_identifier: str | None = None
    given_first_name: str | None = None
    given_last_name: str | None = None
    given_birth_date: date | None = None
    given_sex: int | None = None


class NotificationPublic(NotificationCreate):
    """A notification as stored."""

    notification_id: int
    version: int


class MessageCreate(_Model):
    """An inbound message, verbatim."""

    source: str
    format: str
    content: bytes
    sender: str | None = None
    stored_path: str | None = None


class MessagePublic(_Model):
    """A stored message (without its content)."""

    message_id: int
    source: str
    format: str
    sender: str | None
    received_at: datetime
    content_hash: str
    stored_path: str | None
    status: str
    external_id: str | None = None  # migration 0004: the identifier the message carries


class HistoryEntry(_Model):
    """One row of history: who changed what, when and why, with the states before and after."""

    history_id: int
    entity: str
    entity_id: int
    related_id: int | None
    action: Literal["insert", "update", "delete"]
    changed_at: datetime
    changed_by: str
    reason: str
    before: dict[str, object] | None
    after: dict[str, object] | None


class AccessRecord(_Model):
    """One read of a person's identifiable data."""

    access_id: int
    accessed_at: datetime
    user_name: str
    person_id: int
    purpose: str
    channel: Channel


class ReviewTaskCreate(_Model):
    """Something the rules could not settle."""

    kind: str
    subject_type: Literal["person", "tumour", "notification", "message"]
    subject_id: int
    reason: str
    details: dict[str, Any] | None = None  # migration 0004: candidates, conflicting values, notifications


class ReviewTaskPublic(ReviewTaskCreate):
    """A review task as stored."""

    task_id: int
    state: Literal["open", "assigned", "resolved", "dismissed"]
    assignee: str | None
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None
    version: int
