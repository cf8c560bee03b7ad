"""Every rule family against hand-worked cases (tests/data/checks/cases.csv; see its README)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from oncoreg.checks import RESULT_LEVELS, rule_catalogue, run_checks, summarise

CASES = Path(__file__).parents[1] / "data" / "checks" / "cases.csv"
ON = date(2025, 1, 1)


def _cases() -> pl.DataFrame:
    return pl.read_csv(CASES, infer_schema=False)


@pytest.fixture(scope="module")
def findings() -> pl.DataFrame:
    return run_checks(_cases().drop("expect_rule", "expect_result", "expect_line", "source"), on=ON)


@pytest.mark.parametrize("case", list(_cases().iter_rows(named=True)), ids=lambda c: c["id"])
def test_case(case: dict[str, str], findings: pl.DataFrame) -> None:
    hit = findings.filter((pl.col("id") == case["id"]) & (pl.col("rule_id") == case["expect_rule"]))
    if case["expect_result"] == "absent":
        assert hit.height == 0
        return
    assert hit.height == 1
    assert hit["result"].item() == case["expect_result"]
    if case["expect_result"] != "ok":
        message = hit["message"].item()
        assert f"[{case['expect_rule']}]" in message
        if case["expect_line"]:
            assert f"line {case['expect_line']}" in message
    else:
        assert hit["message"].item() is None


def test_base_case_is_clean(findings: pl.DataFrame) -> None:
    summary = summarise(findings.filter(pl.col("id") == "base"))
    assert summary.row(0) == ("base", "ok", "")


def test_message_names_field_value_and_rule(findings: pl.DataFrame) -> None:
    message = findings.filter((pl.col("id") == "E1") & (pl.col("rule_id") == "grade-histology"))[
        "message"
    ].item()
    assert message.startswith("morphology 8331/3 needs grade 1, got 3")


def test_every_rule_is_exercised(findings: pl.DataFrame) -> None:
    fired = set(findings.filter(pl.col("result") != "ok")["rule_id"].to_list())
    assert fired == set(rule_catalogue()["rule_id"].to_list()) - {"date-birth-future"}


def test_catalogue_is_complete() -> None:
    catalogue = rule_catalogue()
    assert catalogue["rule_id"].is_unique().all()
    assert set(catalogue["result"].to_list()) <= set(RESULT_LEVELS)
    assert (
        catalogue.select(pl.col("message").str.contains(r"\[" + pl.col("rule_id") + r"\]")).to_series().all()
    )


def test_rule_validity_dates_choose_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import oncoreg.checks.engine as engine

    base = rule_catalogue()
    grade = base.filter(pl.col("rule_id") == "grade-histology")
    versioned = pl.concat(
        [
            base.filter(pl.col("rule_id") != "grade-histology"),
            grade.with_columns(pl.lit(date(2015, 12, 31)).alias("valid_to")),
            grade.with_columns(pl.lit("2").alias("version"), pl.lit(date(2016, 1, 1)).alias("valid_from")),
        ]
    )
    monkeypatch.setattr(engine, "rule_catalogue", lambda: versioned)
    rows = _cases().filter(pl.col("id") == "E1").drop("expect_rule", "expect_result", "expect_line", "source")
    later = rows.with_columns(pl.lit("E1-2020").alias("id"), pl.lit("2020-06-15").alias("incidence_date"))
    late_age = later.with_columns(pl.lit("60").alias("age"))
    found = engine.run_checks(pl.concat([rows, late_age]), on=ON).filter(
        pl.col("rule_id") == "grade-histology"
    )
    assert found.select("id", "rule_version").rows() == [("E1", "1"), ("E1-2020", "2")]
