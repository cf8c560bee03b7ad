"""``oncoreg screening next-action``: JSON out; a bad history is one line, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from oncoreg.cli.screening import app
from oncoreg.screening import HistoryInvalid

HISTORY = {
    "person": {"birth_date": "1980-06-15", "sex": "female", "resident": True, "reserved": False},
    "as_of": "2024-06-01",
    "events": [
        {
            "date": "2024-03-01",
            "type": "hpv",
            "result": "positive",
            "genotypes": ["16"],
            "lab_genotyping": "standard",
        },
        {"date": "2024-03-01", "type": "cytology", "result": "normal"},
    ],
}


def test_next_action_prints_json(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text(json.dumps(HISTORY))
    result = CliRunner().invoke(app, ["next-action", "--programme", "cervix", str(path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out == {
        "action": "repeat_test",
        "due_date": "2025-03-01",
        "failsafe_date": "2025-09-01",
        "rule": "CX-HPV-1618-NORMAL",
        "explanation": "HPV 16 positive with normal cytology at 2024-03-01: control (HPV and cytology) "
        "in 12 months (rule CX-HPV-1618-NORMAL)",
    }


def test_bad_history_raises_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text(
        json.dumps({**HISTORY, "events": [{"date": "2024-01-01", "type": "mammogram", "reader1": 9}]})
    )
    result = CliRunner().invoke(app, ["next-action", "--programme", "breast", str(path)])
    assert isinstance(result.exception, HistoryInvalid)
    assert str(result.exception).startswith("events[0].reader1 '9'")


def test_unknown_programme_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text(json.dumps(HISTORY))
    result = CliRunner().invoke(app, ["next-action", "--programme", "lung", str(path)])
    assert result.exit_code == 2
