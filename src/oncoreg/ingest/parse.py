"""``parse_message``: one stored message → notification rows or quarantine problems, by format."""

from __future__ import annotations

from oncoreg.ingest import csv_feeds, fhir, hl7v2
from oncoreg.ingest.fields import Fields
from oncoreg.ingest.model import FORMATS, SOURCES, IngestError, ParseOutcome

PARSERS = {"hl7v2": hl7v2.parse, "fhir": fhir.parse}


def parse_message(*, source: str, format: str, content: bytes) -> ParseOutcome:
    """Parse one message of ``source`` in ``format`` (``hl7v2``, ``fhir`` or ``csv``).

    Never raises for a bad message: every problem found is in ``outcome.problems`` (field, value, rule,
    text), and a message with problems carries no notifications. Raises :class:`IngestError` only for a
    source or format oncoreg does not know.
    """
    if format not in FORMATS:
        raise IngestError(f"format {format!r} is not one of {', '.join(FORMATS)}")
    if source not in SOURCES:
        raise IngestError(f"source {source!r} is not one of {', '.join(SOURCES)}")
    fields = Fields()
    outcome = ParseOutcome()
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        fields.problem("content", content[:60].decode("utf-8", "replace"), "utf8", f"not UTF-8: {exc}")
        outcome.problems = fields.problems
        return outcome
    try:
        if format == "csv":
            csv_feeds.parse(content, source=source, fields=fields, outcome=outcome)
        else:
            PARSERS[format](content, fields=fields, outcome=outcome)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # structure so broken that a parser stepped on it (e.g. a JSON list where an object belongs)
        fields.problem("content", content[:60].decode("utf-8", "replace"), f"{format}.structure", str(exc))
    for row in outcome.notifications:
        fields.lengths(row)
    if outcome.external_id is not None and len(outcome.external_id) > 100:
        fields.problem(
            "message_id", outcome.external_id, "length", "message id is longer than 100 characters"
        )
        outcome.external_id = None
    if not outcome.notifications and not fields.problems:
        fields.problem("content", "", "notification.none", "the message holds no notification")
    outcome.problems = fields.problems
    if outcome.problems:
        outcome.notifications = []
    return outcome
