"""The simulator run with the screening stage: screen-detected tumours in the truth and in the messages."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from oncoreg.simulate.run import simulate


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("screened")
    simulate(out_dir=out, scale=0.01, seed=2, start_year=2020, end_year=2023)
    return out


def test_screen_detected_tumours_are_dated_by_the_finding_examination(run: Path) -> None:
    tumours = pl.read_parquet(run / "truth" / "tumours.parquet")
    found = tumours.filter(pl.col("screen_detected"))
    assert found.height > 0
    assert (found["basis"] == 7).all()
    assert not found["dco"].any()
    events = pl.read_parquet(run / "truth" / "screening_events.parquet").filter(
        pl.col("tumour_id").is_not_null()
    )
    joined = found.join(events.select("tumour_id", "date"), on="tumour_id", how="left")
    assert joined["date"].null_count() == 0
    assert (joined["incidence_date"] == joined["date"]).all()
    assert joined["incidence_date"].dt.year().is_between(2020, 2023).all()


def test_messages_of_screen_detected_tumours_carry_the_screening_date(run: Path) -> None:
    tumours = pl.read_parquet(run / "truth" / "tumours.parquet").filter(pl.col("screen_detected"))
    messages = pl.read_parquet(run / "truth" / "messages.parquet")
    assert messages["source"].str.starts_with("screening_").any()
    pathology = messages.filter(pl.col("source") == "pathology").join(
        tumours.select("tumour_id", "incidence_date"), on="tumour_id"
    )
    assert pathology.height > 0
    # every report is written to the directory of the (new) incidence year and sent on or after it
    year = pathology["file"].str.extract(r"pathology/(\d{4})/").cast(pl.Int32)
    assert (year == pathology["incidence_date"].dt.year()).all()
    assert (pathology["sent_date"] >= pathology["incidence_date"]).all()


def test_treatments_follow_the_earlier_diagnosis(run: Path) -> None:
    tumours = pl.read_parquet(run / "truth" / "tumours.parquet")
    treatments = pl.read_parquet(run / "truth" / "treatments.parquet").join(
        tumours.select("tumour_id", "incidence_date"), on="tumour_id"
    )
    assert (treatments["start_date"] >= treatments["incidence_date"]).all()


def test_no_screening_writes_no_screening_truth(tmp_path: Path) -> None:
    simulate(
        out_dir=tmp_path,
        scale=0.002,
        seed=1,
        start_year=2022,
        end_year=2023,
        write_messages=False,
        screening=False,
    )
    truth = tmp_path / "truth"
    assert not (truth / "screening_events.parquet").exists()
    assert not pl.read_parquet(truth / "tumours.parquet")["screen_detected"].any()
    assert not (tmp_path / ".simulate-stage").exists()
