"""Quarantined messages: show one with its reasons, correct it and re-ingest it.

The verbatim content of a message may identify a person, so it is shown only for a stated purpose (the
page asks first, like the person view). A quarantined message is linked to no person, so the read cannot
be written to the person access log; it is recorded in the quarantine entry's history when the message is
corrected (who, when, why) and the request log names the route and the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from oncoreg.errors import NotFound, Problem, ValidationFailed
from oncoreg.ingest import IngestReport, correct_quarantined
from oncoreg.registry import Registry
from oncoreg.web.workbench.queue import QuarantineEntry, clean_reason, quarantine_entries

MAX_CONTENT = 1_000_000  # bytes; a message is a line, a segment batch or a bundle


@dataclass(frozen=True)
class QuarantinedMessage:
    """A quarantine entry with the message's verbatim content (as text)."""

    entry: QuarantineEntry
    content: str


def entry(registry: Registry, *, message_id: int) -> QuarantineEntry:
    """The quarantine entry of a message (any status)."""
    for found in quarantine_entries(registry, status="all"):
        if found.message_id == message_id:
            return found
    raise NotFound(f"message {message_id} is not in quarantine")


def show(registry: Registry, *, user: str, purpose: str, message_id: int) -> QuarantinedMessage:
    """The entry and its content for ``purpose`` (the caller has checked the purpose is stated)."""
    found = entry(registry, message_id=message_id)
    with registry.session(user=user, purpose=purpose, channel="web") as reg:
        content = reg.message_content(message_id)
    return QuarantinedMessage(found, content.decode("utf-8", errors="replace"))


def fix(registry: Registry, *, user: str, message_id: int, corrected: str, reason: str) -> IngestReport:
    """Store the corrected content as a new message, mark the entry fixed with the reason, ingest it.

    Line ends typed in a browser (CRLF) are turned back into the message's own: CR for HL7 segments,
    LF for CSV and NDJSON."""
    text = clean_reason(reason)
    found = entry(registry, message_id=message_id)
    body = corrected.replace("\r\n", "\n")
    if found.format in ("hl7", "hl7v2"):
        body = body.replace("\n", "\r")
    data = body.encode("utf-8")
    if not data.strip():
        raise ValidationFailed([Problem("content", "", "content.required", "the corrected message is empty")])
    if len(data) > MAX_CONTENT:
        raise ValidationFailed(
            [Problem("content", "", "content.length", "the corrected message is too long")]
        )
    return correct_quarantined(
        registry=registry, message_id=message_id, corrected_content=data, user=user, reason=text
    )
