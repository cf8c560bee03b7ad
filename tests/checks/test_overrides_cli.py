"""Overrides (query/rare -> ok with reviewer; invalid refused) and the ``checks run`` CLI end to end."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from oncoreg.checks import apply_overrides, run_checks, summarise
from oncoreg.cli import checks as checks_cli
from oncoreg.errors import OncoregError, ValidationFailed

CASES = Path(__file__).parents[1] / "data" / "checks" / "cases.csv"
ON = date(2025, 1, 1)


def _rows(*ids: str) -> pl.DataFrame:
    cases = pl.read_csv(CASES, infer_schema=False).filter(pl.col("id").is_in(list(ids)))
    return cases.drop("expect_rule", "expect_result", "expect_line", "source", "death_date")


def test_override_turns_rare_into_ok_with_reviewer() -> None:
    findings = run_checks(_rows("E5", "base"), on=ON)
    overrides = pl.DataFrame(
        {
            "id": ["E5"],
            "rule_id": ["age-histology"],
            "reviewer": ["kari"],
            "reason": ["confirmed adult Wilms"],
        }
    )
    applied = apply_overrides(findings, overrides)
    row = applied.filter((pl.col("id") == "E5") & (pl.col("rule_id") == "age-histology")).row(0, named=True)
    assert (row["result"], row["overridden_result"], row["reviewer"]) == ("ok", "rare", "kari")
    assert "overridden by kari: confirmed adult Wilms" in row["message"]
    assert summarise(applied).filter(pl.col("id") == "E5").row(0) == ("E5", "ok", "")
    assert applied.height == findings.height


def test_override_of_other_rule_version_does_not_apply() -> None:
    findings = run_checks(_rows("E5"), on=ON)
    overrides = pl.DataFrame(
        {
            "id": ["E5"],
            "rule_id": ["age-histology"],
            "rule_version": ["0"],
            "reviewer": ["kari"],
            "reason": ["x"],
        }
    )
    applied = apply_overrides(findings, overrides)
    assert applied.filter(pl.col("rule_id") == "age-histology")["result"].item() == "rare"


def test_invalid_cannot_be_overridden() -> None:
    findings = run_checks(_rows("E1"), on=ON)
    overrides = pl.DataFrame(
        {"id": ["E1"], "rule_id": ["grade-histology"], "reviewer": ["kari"], "reason": ["x"]}
    )
    with pytest.raises(ValidationFailed, match=r"row E1, rule_id 'grade-histology'.*\[override-invalid\]"):
        apply_overrides(findings, overrides)


def _app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(checks_cli.app, name="checks")
    return root


def test_cli_run_end_to_end(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    _rows("E1", "E5", "base").write_csv(source)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(_app(), ["checks", "run", str(source), "-o", str(out), "--on", "2025-01-01"])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out, infer_schema=False)
    assert table.columns == ["id", "result", "findings"]
    assert table.rows() == [
        ("base", "ok", ""),
        ("E1", "invalid", "grade-histology=invalid"),
        ("E5", "rare", "age-histology=rare"),
    ]


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda f: f.drop("grade"), r"grade '': required column 'grade' is missing"),
        (
            lambda f: f.with_columns(pl.lit("2010-13-01").alias("incidence_date")),
            r"row E1, incidence_date '2010-13-01'",
        ),
        (lambda f: f.with_columns(pl.lit("fifty").alias("age")), r"row E1, age 'fifty'"),
    ],
)
def test_cli_bad_input_is_one_line_error(tmp_path: Path, edit: object, pattern: str) -> None:
    source = tmp_path / "in.csv"
    edit(_rows("E1")).write_csv(source)  # type: ignore[operator]
    result = CliRunner().invoke(_app(), ["checks", "run", str(source)])
    assert result.exit_code != 0
    assert isinstance(result.exception, OncoregError)
    assert len(str(result.exception).splitlines()) == 1
    assert pytest.importorskip("re").search(pattern, str(result.exception))


def test_cli_unreadable_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["checks", "run", str(tmp_path / "missing.csv")])
    assert isinstance(result.exception, ValidationFailed)
    assert "file" in str(result.exception)
    assert "readable-csv" in str(result.exception)
