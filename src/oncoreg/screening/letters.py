"""Letters to the people in the programmes: Jinja2 templates in Norwegian (bokmål) → HTML, and → PDF.

Kinds (screening.md §1): ``invitation`` (breast: a reserved time and place; colorectal: the kit follows in
about two weeks), ``reminder`` (breast "nytt tilbud", book within four months; colorectal kit not
returned; cervix reminder 26–69), ``information_letter`` (cervix at 25), ``followup`` (a recommended
repeat test or work-up not registered, sent six months after it was due, §1.2 letters) and ``referral``
(positive FIT → colonoscopy, breast recall → further assessment). Templates: ``templates/<kind>.html.j2``.

Channel (§1.3: helsenorge.no / Digipost for people who consented to digital post, else paper to the
population-register address): ``digital`` when the person's ``digital_mailbox`` is true (HTML plus the
metadata a digital-post provider needs), else ``paper`` (PDF for the print shop). The PDF is written by a
small PDF 1.4 writer with the standard Helvetica font (no embedding, WinAnsi encoding for æ, ø, å): pure
Python, offline, and the text stays searchable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from html.parser import HTMLParser
from typing import Any

import jinja2

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.pdf import text_pdf

LETTER_KINDS = ("invitation", "reminder", "information_letter", "followup", "referral")
PROGRAMME_NAMES = {
    "breast": "Mammografiprogrammet",
    "cervix": "Livmorhalsprogrammet",
    "colorectal": "Tarmscreeningprogrammet",
}
_TITLES = {
    ("breast", "invitation"): "Invitasjon til mammografi",
    ("breast", "reminder"): "Nytt tilbud om mammografi",
    ("breast", "referral"): "Innkalling til etterundersøkelse",
    ("cervix", "information_letter"): "Informasjon om Livmorhalsprogrammet",
    ("cervix", "reminder"): "Påminnelse om celleprøve",
    ("cervix", "followup"): "Påminnelse om oppfølging etter celleprøve",
    ("colorectal", "invitation"): "Invitasjon til tarmscreening",
    ("colorectal", "reminder"): "Påminnelse om prøvesett",
    ("colorectal", "referral"): "Henvisning til koloskopi",
}
#: What the follow-up or referral asks for, by the recommended action (engine and lab recommendations).
_ACTIONS = {
    "assessment": "etterundersøkelse ved brystdiagnostisk senter",
    "colonoscopy": "koloskopi",
    "colposcopy": "kolposkopi med biopsi",
    "control": "ny celleprøve (kontrollprøve)",
    "repeat_test": "ny celleprøve (kontrollprøve)",
    "histology": "vevsprøve (biopsi)",
    "treatment": "behandling hos gynekolog",
}
_REFERRAL_ACTION = {"breast": "assessment", "cervix": "colposcopy", "colorectal": "colonoscopy"}
MONTHS = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)


@dataclass(frozen=True)
class Letter:
    """A rendered letter: the HTML, its plain text, the channel and the metadata sent with it."""

    person_id: int
    programme: str
    kind: str
    channel: str  # digital | paper
    template: str
    html: str
    text: str
    metadata: dict[str, Any]

    @property
    def content_sha256(self) -> str:
        """SHA-256 of the HTML (stored with the letter, ``screening_letter.content_sha256``)."""
        return hashlib.sha256(self.html.encode("utf-8")).hexdigest()


def norwegian_date(day: date) -> str:
    """``3. mars 2025``."""
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("oncoreg.screening", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def letter_channel(*, person: Mapping[str, Any]) -> str:
    """``digital`` when the person has a digital mailbox (helsenorge.no / Digipost), else ``paper``."""
    return "digital" if bool(person.get("digital_mailbox")) else "paper"


def _check(person: Mapping[str, Any], letter: Mapping[str, Any]) -> None:
    problems = [
        Problem(field=name, value="", rule="letter", text="missing")
        for name in ("person_id", "first_name", "last_name")
        if not person.get(name) and person.get(name) != 0
    ]
    programme, kind = letter.get("programme"), letter.get("letter")
    if programme not in PROGRAMME_NAMES:
        problems.append(Problem(field="programme", value=str(programme), rule="letter", text="unknown"))
    if kind not in LETTER_KINDS:
        problems.append(Problem(field="letter", value=str(kind), rule="letter", text="unknown kind"))
    elif (programme, kind) not in _TITLES:
        problems.append(
            Problem(
                field="letter", value=str(kind), rule="letter", text=f"not sent in the {programme} programme"
            )
        )
    if not isinstance(letter.get("due_date"), date):
        problems.append(
            Problem(field="due_date", value=str(letter.get("due_date")), rule="letter", text="not a date")
        )
    if problems:
        raise ValidationFailed(problems)


def render_letter(*, person: Mapping[str, Any], letter: Mapping[str, Any], letter_date: date) -> Letter:
    """Render one letter.

    ``person``: person_id, first_name, last_name, optionally address and digital_mailbox; ``letter``: a
    :data:`~oncoreg.screening.invitations.BATCH` row (programme, letter, round, due_date; optionally unit)
    or an :data:`~oncoreg.screening.followup.OVERDUE` row with ``letter`` = followup/referral and its
    ``recommendation``."""
    _check(person, letter)
    programme, kind = str(letter["programme"]), str(letter["letter"])
    action = str(letter.get("recommendation") or _REFERRAL_ACTION[programme])
    template = f"{kind}.html.j2"
    context = {
        "person": dict(person),
        "letter": dict(letter),
        "programme": programme,
        "programme_name": PROGRAMME_NAMES[programme],
        "title": _TITLES[(programme, kind)],
        "letter_date": norwegian_date(letter_date),
        "due_date": norwegian_date(letter["due_date"]),
        "screen_date": norwegian_date(letter["screen_date"]) if letter.get("screen_date") else "",
        "action_text": _ACTIONS.get(action, action),
    }
    html = _environment().get_template(template).render(**context)
    text = html_text(html)
    channel = letter_channel(person=person)
    metadata = {
        "person_id": int(person["person_id"]),
        "programme": programme,
        "kind": kind,
        "title": context["title"],
        "channel": channel,
        "letter_date": letter_date.isoformat(),
        "due_date": letter["due_date"].isoformat(),
        "sender": f"Kreftregisteret – {PROGRAMME_NAMES[programme]}",
        "content_type": "text/html" if channel == "digital" else "application/pdf",
        "sensitive": True,  # health information: level-4 authentication at the digital mailbox
    }
    return Letter(
        person_id=int(person["person_id"]),
        programme=programme,
        kind=kind,
        channel=channel,
        template=template,
        html=html,
        text=text,
        metadata=metadata,
    )


class _TextParser(HTMLParser):
    _BLOCKS = frozenset({"p", "h1", "h2", "h3", "div", "li", "title", "br"})

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = [""]
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "script"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script"):
            self._skip -= 1
        elif tag in self._BLOCKS:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.lines[-1] += data


def html_text(html: str) -> str:
    """The visible text of ``html``: one line per block element, paragraphs separated by a blank line."""
    parser = _TextParser()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in parser.lines]
    paragraphs: list[str] = []
    for line in lines:
        if line or (paragraphs and paragraphs[-1]):
            paragraphs.append(line)
    return "\n".join(paragraphs).strip() + "\n"


def letter_pdf(*, letter: Letter) -> bytes:
    """The paper letter as PDF bytes (:func:`text_pdf` of the letter's text)."""
    return text_pdf(text=letter.text, title=str(letter.metadata["title"]))


def write_letters(*, batch: Any, persons: Any, letter_date: date, out_dir: Any) -> int:
    """Render every row of ``batch`` (BATCH or OVERDUE rows with ``letter``) for the persons in ``persons``
    (person_id, first_name, last_name, optionally address, digital_mailbox) into ``out_dir``: digital
    letters as ``<programme>-<kind>-<person_id>.html`` plus ``.json`` metadata, paper letters as ``.pdf``.
    Returns the number of letters written. (The edge of the module: it writes files.)"""
    import json
    from pathlib import Path

    wanted = [
        c
        for c in ("person_id", "first_name", "last_name", "address", "digital_mailbox")
        if c in persons.columns
    ]
    rows = batch.join(persons.select(wanted), on="person_id", how="left")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for row in rows.iter_rows(named=True):
        person = {name: row.get(name) for name in wanted}
        letter = render_letter(person=person, letter=row, letter_date=letter_date)
        stem = out / f"{letter.programme}-{letter.kind}-{letter.person_id}"
        if letter.channel == "digital":
            stem.with_suffix(".html").write_text(letter.html, encoding="utf-8")
            stem.with_suffix(".json").write_text(
                json.dumps(letter.metadata, ensure_ascii=False), encoding="utf-8"
            )
        else:
            stem.with_suffix(".pdf").write_bytes(letter_pdf(letter=letter))
        count += 1
    return count
