"""Letters (screening.md §1.1 letters, §1.2 letters, §1.3 invitation channels): the right person, date,
programme and action; HTML for the digital channel, PDF for paper."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.screening.letters import html_text, letter_pdf, render_letter, text_pdf, write_letters

KARI = {"person_id": 7, "first_name": "Kari", "last_name": "Nordmann", "digital_mailbox": False}
OLA = {"person_id": 8, "first_name": "Ola", "last_name": "Østby", "digital_mailbox": True}


def test_cervix_information_letter_at_25_names_person_date_and_programme() -> None:
    # §1.2 letters: an information letter at age 25 to every woman resident in Norway
    letter = render_letter(
        person=KARI,
        letter={
            "programme": "cervix",
            "letter": "information_letter",
            "round": 1,
            "due_date": date(2025, 3, 3),
        },
        letter_date=date(2025, 3, 1),
    )
    assert "Kari Nordmann" in letter.text
    assert "Livmorhalsprogrammet" in letter.text
    assert "3. mars 2025" in letter.text
    assert "1. mars 2025" in letter.text
    assert "25-årsdagen" in letter.text
    assert letter.channel == "paper"
    assert letter.metadata["content_type"] == "application/pdf"
    pdf = letter_pdf(letter=letter)
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"(Kari Nordmann)" in pdf
    assert "Gratulerer med 25-årsdagen!".encode("cp1252") in pdf  # WinAnsi: å is one byte, text searchable


def test_breast_reminder_and_colorectal_invitation_actions() -> None:
    # §1.1: "nytt tilbud", book within four months; §1.3: the kit follows about two weeks after the letter
    reminder = render_letter(
        person=KARI,
        letter={"programme": "breast", "letter": "reminder", "round": 3, "due_date": date(2024, 5, 2)},
        letter_date=date(2024, 5, 2),
    )
    assert "Nytt tilbud om mammografi" in reminder.text
    assert "innen fire måneder" in reminder.text
    invitation = render_letter(
        person=OLA,
        letter={"programme": "colorectal", "letter": "invitation", "round": 1, "due_date": date(2024, 3, 1)},
        letter_date=date(2024, 2, 15),
    )
    assert "Ola Østby" in invitation.html
    assert "Tarmscreeningprogrammet" in invitation.text
    assert "om omtrent to uker" in invitation.text
    assert "runde 1" in invitation.text
    assert invitation.channel == "digital"
    assert invitation.metadata["content_type"] == "text/html"
    assert invitation.metadata["person_id"] == 8
    assert invitation.metadata["due_date"] == "2024-03-01"
    assert len(invitation.content_sha256) == 64


def test_followup_and_referral_letters_state_the_action() -> None:
    # §1.2 letters: follow-up six months after the recommended repeat test; §1.3: referral to colonoscopy
    followup = render_letter(
        person=KARI,
        letter={
            "programme": "cervix",
            "letter": "followup",
            "recommendation": "colposcopy",
            "screen_date": date(2023, 1, 10),
            "due_date": date(2023, 2, 10),
        },
        letter_date=date(2023, 8, 10),
    )
    assert "kolposkopi med biopsi" in followup.text
    assert "10. januar 2023" in followup.text
    referral = render_letter(
        person=OLA,
        letter={"programme": "colorectal", "letter": "referral", "due_date": date(2024, 4, 1)},
        letter_date=date(2024, 3, 4),
    )
    assert "henvist til koloskopi" in referral.text


def test_bad_letters_are_refused_with_every_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        render_letter(
            person={"person_id": 1},
            letter={"programme": "colorectal", "letter": "information_letter", "due_date": "soon"},
            letter_date=date(2024, 1, 1),
        )
    fields = [problem.field for problem in caught.value.problems]
    assert fields == ["first_name", "last_name", "letter", "due_date"]


def test_pdf_pages_and_html_text() -> None:
    pdf = text_pdf(text="\n".join(f"linje {i}" for i in range(130)), title="Test")
    assert pdf.count(b"/Type /Page ") == 3
    assert b"(linje 129)" in pdf
    assert html_text("<p>a <b>b</b></p><p>c</p>") == "a b\n\nc\n"


def test_write_letters_by_channel(tmp_path: Path) -> None:
    batch = pl.DataFrame(
        {
            "person_id": [7, 8],
            "programme": ["breast", "colorectal"],
            "letter": ["invitation", "invitation"],
            "round": [1, 2],
            "due_date": [date(2024, 9, 2), date(2024, 9, 2)],
        }
    )
    written = write_letters(
        batch=batch, persons=pl.DataFrame([KARI, OLA]), letter_date=date(2024, 9, 2), out_dir=tmp_path
    )
    assert written == 2
    assert (tmp_path / "breast-invitation-7.pdf").read_bytes().startswith(b"%PDF")
    assert "Ola Østby" in (tmp_path / "colorectal-invitation-8.html").read_text("utf-8")
    assert (tmp_path / "colorectal-invitation-8.json").exists()
