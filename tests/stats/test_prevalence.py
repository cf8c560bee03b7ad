"""Prevalence by the counting method: a hand-worked case covering each NORDCAN rule."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.stats.prevalence import prevalence

DATA = Path(__file__).parents[1] / "data" / "stats" / "prevalence"


def load() -> tuple[pl.DataFrame, pl.DataFrame]:
    tumours = pl.read_csv(DATA / "tumours.csv", try_parse_dates=True)
    persons = pl.read_csv(DATA / "persons.csv", try_parse_dates=True, schema_overrides={"exit_date": pl.Date})
    return tumours, persons


def test_hand_worked_prevalence_at_end_of_2020() -> None:
    tumours, persons = load()
    got = prevalence(tumours=tumours, persons=persons, years=[2020])
    expected = pl.read_csv(DATA / "expected_2020.csv")
    key = ["entity", "sex", "age_group", "duration_years"]
    got_rows = got.select(*key, "prevalent").sort(key, nulls_last=True).to_dicts()
    want_rows = expected.select(*key, "prevalent").sort(key, nulls_last=True).to_dicts()
    assert got_rows == want_rows
    assert got["year"].unique().to_list() == [2020]


def test_emigrant_counts_until_exit_only() -> None:
    tumours, persons = load()
    got = prevalence(tumours=tumours, persons=persons, years=[2020, 2021], durations=[None])
    person4 = got.filter((pl.col("sex") == 2) & (pl.col("entity") == 90) & (pl.col("age_group") == 9))
    assert person4["year"].to_list() == [2020]  # emigrated 2021-06-30: gone at the end of 2021
    # person 6 (diagnosed 2021-01-01, born 1955) appears at the end of 2021
    assert got.filter((pl.col("year") == 2021) & (pl.col("age_group") == 14))["prevalent"].to_list() == [1]


def test_bad_input() -> None:
    tumours, persons = load()
    with pytest.raises(ValidationFailed, match="person_id '8'"):
        prevalence(tumours=tumours, persons=persons.filter(pl.col("person_id") != 8), years=[2020])
    with pytest.raises(ValidationFailed, match="missing column in persons"):
        prevalence(tumours=tumours, persons=persons.drop("exit_date"), years=[2020])
