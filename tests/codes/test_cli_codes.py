"""``oncoreg codes icd10|lookup|search`` end to end."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oncoreg.cli import app
from oncoreg.errors import ValidationFailed

DATA = Path(__file__).parents[1] / "data" / "codes"
ONCOREG = Path(sys.executable).parent / "oncoreg"
runner = CliRunner()


def _expected() -> list[tuple[str, str, str]]:
    with (DATA / "codes_icd10_expected.csv").open(encoding="utf-8") as handle:
        return [(r["id"], r["icd10"], r["status"]) for r in csv.DictReader(handle)]


def test_good_file_to_stdout() -> None:
    result = runner.invoke(app, ["codes", "icd10", str(DATA / "codes_icd10_input.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "icd10", "status", "message"]
    assert [(r["id"], r["icd10"], r["status"]) for r in rows] == _expected()
    assert "female-only" in rows[2]["message"]


def test_good_file_to_output(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["codes", "icd10", str(DATA / "codes_icd10_input.csv"), "-o", str(out)])
    assert result.exit_code == 0
    with out.open(encoding="utf-8") as handle:
        assert [(r["id"], r["icd10"], r["status"]) for r in csv.DictReader(handle)] == _expected()


def test_missing_column_aborts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,topography,morphology,behaviour\n1,C34.1,8140,3\n", encoding="utf-8")
    result = runner.invoke(app, ["codes", "icd10", str(bad)])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationFailed)
    assert "sex" in str(result.exception)


def test_malformed_code_aborts_naming_row_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,sex,topography,morphology,behaviour\n7,1,C34.1,8140,3\n8,2,X34.1,8140,3\n", encoding="utf-8"
    )
    result = subprocess.run(
        [str(ONCOREG), "codes", "icd10", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "Traceback" not in result.stderr
    assert "row 8" in lines[0]
    assert "topography" in lines[0]
    assert "X34.1" in lines[0]


def test_keep_going_marks_malformed_rows(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,sex,topography,morphology,behaviour\n7,1,C34.1,8140,3\n8,2,X34.1,8140,3\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["codes", "icd10", str(bad), "--keep-going"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["icd10"], r["status"]) for r in rows] == [("C34.1", "ok"), ("", "error")]


def test_unreadable_file_is_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ONCOREG), "codes", "icd10", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cannot read CSV" in result.stderr


@pytest.mark.parametrize(
    ("code", "needle"), [("C34.1", "Upper lobe, lung"), ("8140/3", "Adenocarcinoma, NOS")]
)
def test_lookup(code: str, needle: str) -> None:
    result = runner.invoke(app, ["codes", "lookup", code])
    assert result.exit_code == 0
    assert needle in result.stdout


def test_search() -> None:
    result = runner.invoke(app, ["codes", "search", "klatskin", "--kind", "morphology"])
    assert result.exit_code == 0
    assert "8162/3" in result.stdout
    result = runner.invoke(app, ["codes", "search", "lingula"])
    assert "C34.1" in result.stdout
