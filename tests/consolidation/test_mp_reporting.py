"""IARC/IACR 2004 reporting status: §5.2 sample cases and each DESIGN §6 decision (tests/data/checks)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from oncoreg.cli import mp as mp_cli
from oncoreg.consolidation.mp_reporting import MP_INPUT_COLUMNS, iarc_reporting
from oncoreg.errors import ValidationFailed

CASES = Path(__file__).parents[1] / "data" / "checks" / "mp_cases.csv"


def _cases() -> pl.DataFrame:
    return pl.read_csv(CASES, infer_schema=False)


@pytest.fixture(scope="module")
def reported() -> pl.DataFrame:
    return iarc_reporting(_cases().select(MP_INPUT_COLUMNS))


@pytest.mark.parametrize("case", list(_cases().iter_rows(named=True)), ids=lambda c: c["tumour_id"])
def test_case(case: dict[str, str], reported: pl.DataFrame) -> None:
    row = reported.filter(pl.col("tumour_id") == case["tumour_id"]).row(0, named=True)
    assert row["status"] == case["expect_status"]
    assert row["primary_tumour_id"] == case["expect_primary"]
    assert row["morphology"] == case["expect_morphology"]


def test_output_keeps_input_order(reported: pl.DataFrame) -> None:
    assert reported["tumour_id"].to_list() == _cases()["tumour_id"].to_list()
    assert reported.columns == ["tumour_id", "status", "primary_tumour_id", "morphology"]


def test_result_does_not_depend_on_row_order(reported: pl.DataFrame) -> None:
    shuffled = _cases().select(MP_INPUT_COLUMNS).sample(fraction=1.0, shuffle=True, seed=7)
    again = iarc_reporting(shuffled).sort("tumour_id")
    assert again.equals(reported.sort("tumour_id"))


def test_date_column_of_dates() -> None:
    frame = _cases().filter(pl.col("person_id") == "n17").select(MP_INPUT_COLUMNS)
    typed = frame.with_columns(pl.col("incidence_date").str.to_date())
    assert iarc_reporting(typed).equals(iarc_reporting(frame))
    assert typed.schema["incidence_date"] == pl.Date
    assert date(2005, 1, 1) in typed["incidence_date"].to_list()


def test_bad_input_names_row_and_field() -> None:
    frame = (
        _cases().select(MP_INPUT_COLUMNS).head(2).with_columns(pl.lit("2001-02-30").alias("incidence_date"))
    )
    with pytest.raises(ValidationFailed, match=r"^row M1a, incidence_date '2001-02-30'.*\(and 1 more\)$"):
        iarc_reporting(frame)
    with pytest.raises(ValidationFailed, match="required column 'sequence' is missing"):
        iarc_reporting(_cases().select(MP_INPUT_COLUMNS).drop("sequence"))


def test_cli_report(tmp_path: Path) -> None:
    root = typer.Typer()
    root.add_typer(mp_cli.app, name="mp")
    source = tmp_path / "in.csv"
    _cases().filter(pl.col("person_id").is_in(["M1", "M3"])).select(MP_INPUT_COLUMNS).write_csv(source)
    result = CliRunner().invoke(root, ["mp", "report", str(source)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "tumour_id,status,primary_tumour_id,morphology",
        "M1a,primary,M1a,8671/3",
        "M1b,duplicate,M1a,8671/3",
        "M3a,duplicate,M3b,8050/3",
        "M3b,primary,M3b,8100/3",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,tumour_id\n1,2\n")
    failed = CliRunner().invoke(root, ["mp", "report", str(bad)])
    assert isinstance(failed.exception, ValidationFailed)
    assert "required column 'incidence_date' is missing" in str(failed.exception)
