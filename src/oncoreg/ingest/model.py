"""What ingest passes around: raw messages, the outcome of parsing one, and the report of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from oncoreg.errors import OncoregError, Problem

#: Every format ingest reads: HL7 v2 pathology, FHIR Bundles (NDJSON) and the CSV feeds.
FORMATS = ("hl7v2", "fhir", "csv")
#: Sources of docs/formats.md plus the documented generic CSV (docs/ingest.md).
SOURCES = (
    "pathology",
    "clinical",
    "clinical_csv",
    "death_certificate",
    "patient_admin",
    "radiotherapy",
    "systemic_therapy",
    "population_register",
    "generic",
)


class IngestError(OncoregError):
    """Ingest cannot go on (unknown source or format, a file that cannot be read, a bad correction)."""


@dataclass(frozen=True)
class RawMessage:
    """One message cut out of a file: its verbatim bytes, where it came from and its sha256."""

    source: str
    format: str
    content: bytes
    content_hash: str
    stored_path: str | None = None


@dataclass
class ParseOutcome:
    """What one message became: notification rows (NOTIFICATIONS columns) or problems (quarantine).

    ``external_id`` is the identifier the message carries (MSH-10, ``Bundle.identifier.value``, CSV
    ``message_id``) when it could be read, ``sender`` the sending institution, ``sent_date`` the send date.
    """

    external_id: str | None = None
    #: the identifier found in a message that could not be parsed (e.g. a FHIR line cut short); kept in
    #: ``message.external_id`` for the quarantine record, never taken as a parsed identifier
    salvaged_id: str | None = None
    sender: str | None = None
    sent_date: date | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """A message is accepted when it has no problem and at least one notification."""
        return not self.problems and bool(self.notifications)


def reason(problem: Problem) -> dict[str, str]:
    """A quarantine reason as stored: ``{field, value, rule, text}``."""
    return {"field": problem.field, "value": problem.value, "rule": problem.rule, "text": problem.text}


class SourceCounts(BaseModel):
    """Counts of one source in one run: ``received = accepted + quarantined + duplicates``."""

    model_config = ConfigDict(frozen=True)

    received: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    notifications: int = 0


class IngestReport(BaseModel):
    """The report of one ingest run, as stored in ``ingest_run``."""

    model_config = ConfigDict(frozen=True)

    run_id: int
    user: str
    directory: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    received: int
    accepted: int
    quarantined: int
    duplicates: int
    notifications: int
    per_source: dict[str, SourceCounts]
    skipped_files: list[str] = []

    @property
    def reconciles(self) -> bool:
        """Whether ``received == accepted + quarantined + duplicates``."""
        return self.received == self.accepted + self.quarantined + self.duplicates
