"""A minimal PDF writer for printable text (no system libraries, works offline).

Text in Helvetica (a PDF standard font, WinAnsi encoding, so Norwegian letters æøå work) on A4 pages.
:func:`render_pdf` lays out lines with a bold heading style, simple columns and page numbers (the citizen's
access report); :func:`text_pdf` wraps plain text (screening letters). Both share the escaping and the
document assembly (objects, cross-reference table, trailer).
"""

from __future__ import annotations

import textwrap
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
    """``text`` in WinAnsi (cp1252) with the PDF string delimiters escaped (without the parentheses)."""
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
    return _assemble(objects, info_ref=5)


def text_pdf(*, text: str, title: str = "", width_chars: int = 90, lines_per_page: int = 60) -> bytes:
    """A PDF 1.4 document (A4, Helvetica 10 pt) showing ``text``, wrapped at ``width_chars``.

    One uncompressed content stream per page, the standard Helvetica font, no footer."""
    wrapped: list[str] = []
    for line in text.splitlines():
        wrapped.extend(textwrap.wrap(line, width_chars) or [""])
    pages = [wrapped[i : i + lines_per_page] for i in range(0, max(len(wrapped), 1), lines_per_page)]
    objects: list[bytes] = [b"", b""]  # 1 catalog, 2 pages (filled in below)
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    font_ref = 3
    page_refs: list[int] = []
    for lines in pages:
        ops = [b"BT", b"/F1 10 Tf", b"13 TL", b"56 790 Td"]
        for line in lines:
            ops.append(b"(" + _escape(line) + b") '")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (font_ref, content_ref)
        )
        page_refs.append(len(objects))
    objects.append(b"<< /Title (" + _escape(title) + b") /Producer (oncoreg) >>")
    info_ref = len(objects)
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = b" ".join(b"%d 0 R" % ref for ref in page_refs)
    objects[1] = b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_refs)
    return _assemble(objects, info_ref=info_ref)


def _assemble(objects: Sequence[bytes], *, info_ref: int) -> bytes:
    """The document: header, numbered objects (1-based, object 1 the catalog), xref table and trailer."""
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % index + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        info_ref,
        xref,
    )
    return bytes(body)
