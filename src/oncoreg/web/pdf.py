"""A minimal PDF writer for printable text reports (no system libraries, works offline).

Lines of text in Helvetica (a PDF standard font, WinAnsi encoding, so Norwegian letters æøå work), A4
pages, a bold heading style and simple columns. Enough for the access report; the annual report uses
its own tooling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

A4 = (595.28, 841.89)  # points
MARGIN = 56.0
LEADING = 1.35


@dataclass(frozen=True)
class Line:
    """One line of text: ``cells`` start at the x offsets ``columns`` (points from the left margin)."""

    cells: tuple[str, ...]
    size: float = 10.0
    bold: bool = False
    columns: tuple[float, ...] = (0.0,)


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _fit(text: str, width: float, size: float) -> str:
    """Cut ``text`` to about ``width`` points (Helvetica averages about half the font size per character)."""
    limit = max(4, int(width / (size * 0.5)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _page_stream(lines: Sequence[Line], footer: str) -> bytes:
    width, height = A4
    y = height - MARGIN
    out = [b"BT"]
    for line in lines:
        y -= line.size * LEADING
        font = b"/F2" if line.bold else b"/F1"
        edges = [*line.columns[1:], width - 2 * MARGIN]
        for cell, x, right in zip(line.cells, line.columns, edges, strict=False):
            text = _fit(cell, right - x - 6, line.size)
            out.append(
                font
                + b" %.1f Tf 1 0 0 1 %.2f %.2f Tm (" % (line.size, MARGIN + x, y)
                + _escape(text)
                + b") Tj"
            )
    out.append(b"/F1 8 Tf 1 0 0 1 %.2f %.2f Tm (" % (MARGIN, MARGIN / 2) + _escape(footer) + b") Tj")
    out.append(b"ET")
    return b"\n".join(out)


def _paginate(lines: Sequence[Line]) -> list[list[Line]]:
    usable = A4[1] - 2 * MARGIN
    pages: list[list[Line]] = [[]]
    used = 0.0
    for line in lines:
        step = line.size * LEADING
        if used + step > usable and pages[-1]:
            pages.append([])
            used = 0.0
        pages[-1].append(line)
        used += step
    return pages


def render_pdf(lines: Sequence[Line], *, title: str) -> bytes:
    """A PDF document of ``lines`` on as many A4 pages as needed, page numbers in the footer."""
    pages = _paginate(lines)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + _escape(title) + b") /Producer (oncoreg) >>",
    ]
    kids = []
    for number, page in enumerate(pages, start=1):
        stream = _page_stream(page, f"{title} - page {number} of {len(pages)}")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] " % A4
            + b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>" % content_ref
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(pages)
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % index + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(body)
