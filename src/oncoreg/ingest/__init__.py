"""Ingest: inbound messages stored verbatim, parsed into notifications or quarantined with reasons.

``ingest_directory(registry=..., directory=..., user=...)`` ingests a directory laid out as in
docs/formats.md and returns an :class:`IngestReport`; ``parse_message`` parses one message;
``notifications_frame`` reads the notifications back for linkage; ``correct_quarantined`` stores a
corrected version of a quarantined message and ingests it. See docs/ingest.md.
"""

from __future__ import annotations

from oncoreg.ingest.model import IngestError, IngestReport, ParseOutcome, SourceCounts
from oncoreg.ingest.parse import parse_message
from oncoreg.ingest.run import (
    correct_quarantined,
    ingest_directory,
    ingest_file,
    notifications_frame,
    quarantine_frame,
    run_report,
)

__all__ = [
    "IngestError",
    "IngestReport",
    "ParseOutcome",
    "SourceCounts",
    "correct_quarantined",
    "ingest_directory",
    "ingest_file",
    "notifications_frame",
    "parse_message",
    "quarantine_frame",
    "run_report",
]
