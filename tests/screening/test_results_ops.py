"""Result registration from the simulator's files and the Tarmscreening FHIR bundles (screening.md §1.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.screening.results import parse_colonoscopy_bundle, read_result_files, register_results
from oncoreg.simulate.screening import simulate_screening, write_screening_files
from oncoreg.simulate.screening.synthetic import synthetic_population

BUNDLES = Path("/work/shared/refdata/examples/hl7norway-tarmkreftscreening")


def test_simulator_files_register_every_result(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    persons, tumours = synthetic_population(n_persons=8_000, start_year=2016, end_year=2024, rng=rng)
    result = simulate_screening(persons=persons, tumours=tumours, start_year=2016, end_year=2024, rng=rng)
    write_screening_files(out_dir=tmp_path, result=result, persons=persons)
    registered = register_results(raw=read_result_files(directory=tmp_path), persons=persons)
    sent = result.events.filter(
        pl.col("type").is_in(["screen", "assessment", "sample", "histology", "fit_result", "colonoscopy"])
    )
    assert registered.events.height == sent.height
    assert registered.unmatched.height == 0
    joined = registered.events.join(sent, on="event_id", suffix="_sent")
    for column in ("person_id", "date", "result", "episode"):
        assert (joined[column] == joined[f"{column}_sent"]).all(), column


def test_unknown_identifier_is_returned_not_dropped() -> None:
    raw = pl.DataFrame(
        {
            "message_id": ["m1"],
            "identifier": ["99999999999"],
            "programme": ["colorectal"],
            "type": ["fit_result"],
            "date": ["2024-01-02"],
            "result": ["negative"],
        }
    )
    persons = pl.DataFrame(
        {"person_id": [1], "identifier": ["13116900216"], "birth_date": [None]},
        schema_overrides={"birth_date": pl.Date},
    )
    registered = register_results(raw=raw, persons=persons)
    assert registered.events.height == 0
    assert registered.unmatched["message_id"].to_list() == ["m1"]


@pytest.mark.skipif(not BUNDLES.exists(), reason="refdata examples not present")
def test_fhir_colonoscopy_bundle() -> None:
    row = parse_colonoscopy_bundle(xml_text=(BUNDLES / "example-collection-bundle.xml").read_text()).row(
        0, named=True
    )
    assert row["identifier"] == "13116900216"
    assert str(row["date"]) == "2020-11-01"
    assert row["result"] == "cancer"
    assert row["icd10"] == "C18.0"
    assert row["caecum_intubated"] is True
    assert row["complication"] is True


def test_fhir_bundle_missing_patient_names_the_field() -> None:
    xml = '<Bundle xmlns="http://hl7.org/fhir"><identifier><value value="x"/></identifier></Bundle>'
    with pytest.raises(ValidationFailed, match=r"Patient\.identifier"):
        parse_colonoscopy_bundle(xml_text=xml)
