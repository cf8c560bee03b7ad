"""Cut inbound files into messages: HL7 batch → each MSH..; NDJSON → each line; CSV → header + each row.

The source comes from the directory layout of docs/formats.md (``messages/<source>/<year>/<file>``; a
folder named ``generic`` holds generic CSV), the format from the file extension. Nothing in a file is
dropped: HL7 text outside any message (other than the batch envelope FHS/BHS/BTS/FTS) becomes a message
of its own and is quarantined.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from oncoreg.ingest.model import SOURCES, IngestError, RawMessage

EXTENSIONS = {".hl7": "hl7v2", ".ndjson": "fhir", ".csv": "csv"}
ENVELOPE = (b"FHS|", b"BHS|", b"BTS|", b"FTS|")
_SEGMENT = re.compile(rb"\r\n|\r|\n")


def sha256(content: bytes) -> str:
    """The hex sha256 of a message's bytes (its content hash)."""
    return hashlib.sha256(content).hexdigest()


#: Folder of the screening programmes' result files (formats.md): the screening module reads them
#: (``oncoreg screening ...``); registration ingest lists them as skipped, never as generic CSV.
SCREENING_FOLDER = "screening"


def classify(path: Path) -> tuple[str, str] | None:
    """(source, format) of a file from its folder names and extension; None if it is not a message file."""
    message_format = EXTENSIONS.get(path.suffix.lower())
    if message_format is None:
        return None
    for part in reversed(path.parent.parts):
        if part in SOURCES:
            return part, message_format
    if path.parts and path.parts[0] == "truth":  # a simulator's ground truth, never a feed
        return None
    if SCREENING_FOLDER in path.parent.parts:  # screening results: read by ``oncoreg screening``
        return None
    return ("generic", "csv") if message_format == "csv" else None


def split_hl7(data: bytes) -> Iterator[bytes]:
    """Each message of an HL7 batch: its segments joined by CR, ending with CR."""
    current: list[bytes] = []
    stray: list[bytes] = []
    for segment in _SEGMENT.split(data):
        if not segment.strip():
            continue
        if segment.startswith(b"MSH|"):
            if current:
                yield b"\r".join(current) + b"\r"
            current = [segment]
        elif segment.startswith(ENVELOPE):
            if current:
                yield b"\r".join(current) + b"\r"
                current = []
        elif current:
            current.append(segment)
        else:
            stray.append(segment)
    if current:
        yield b"\r".join(current) + b"\r"
    if stray:
        yield b"\r".join(stray) + b"\r"


def split_ndjson(data: bytes) -> Iterator[bytes]:
    """Each non-empty line."""
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.strip():
            yield line


def split_csv(data: bytes) -> Iterator[bytes]:
    """Header + each row (a row may span lines inside quotes), joined by a newline."""
    rows: list[bytes] = []
    pending: list[bytes] = []
    quotes = 0
    for line in data.removeprefix(b"\xef\xbb\xbf").split(b"\n"):
        pending.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            row = b"\n".join(pending).rstrip(b"\r")
            if row.strip():
                rows.append(row)
            pending, quotes = [], 0
    if pending and b"\n".join(pending).strip():
        rows.append(b"\n".join(pending))  # an unclosed quote: kept, and quarantined by the parser
    for row in rows[1:]:
        yield rows[0] + b"\n" + row


def split_file(
    path: Path, *, source: str, message_format: str, root: Path | None = None
) -> Iterator[RawMessage]:
    """The messages of one file, each with its content hash and the file's path (relative to ``root``)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc}") from exc
    if message_format == "hl7v2":
        parts = split_hl7(data)
    elif message_format == "fhir":
        parts = split_ndjson(data)
    elif message_format == "csv":
        parts = split_csv(data)
    else:
        raise IngestError(f"format {message_format!r} is not one of hl7v2, fhir, csv")
    stored = str(path.relative_to(root)) if root is not None else str(path)
    for content in parts:
        yield RawMessage(source, message_format, content, sha256(content), stored)
