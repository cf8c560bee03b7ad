"""Every message parses in its format, carries the truth's message_id and shows the injected errors."""

from __future__ import annotations

import json
from pathlib import Path

import hl7
import numpy as np
import polars as pl
import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from test_messages import RATES, YEAR, synthetic_year

from oncoreg.registry.identifiers import classify_identifier
from oncoreg.simulate.messages import csv_formats, write_messages

CSV_DATE_COLUMNS = {
    "clinical_csv": ["diagnosis_date"],
    "death_certificate": ["death_date"],
    "patient_admin": ["admission_date", "discharge_date"],
    "radiotherapy": ["start_date", "end_date"],
    "systemic_therapy": ["start_date", "end_date"],
    "population_register": ["event_date"],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]]:
    frames = synthetic_year(n_persons=2500, n_tumours=2000, seed=5)
    out = tmp_path_factory.mktemp("formats")
    truth = write_messages(out_dir=out, year=YEAR, rng=np.random.default_rng(99), config=RATES, **frames)
    return out, truth, frames


def _hl7_messages(out: Path, truth: pl.DataFrame) -> dict[str, str]:
    """message_id → message text, from the batch files (segments end with CR)."""
    found: dict[str, str] = {}
    for file in truth.filter(pl.col("source") == "pathology")["file"].unique().sort().to_list():
        text = (out / file).read_bytes().decode("utf-8")
        segments = text.split("\r")
        assert segments[0].startswith("FHS|^~\\&|")
        assert segments[1].startswith("BHS|")
        assert segments[-1] == ""
        assert segments[-2] == "FTS|1"
        chunks = "\r".join(segments[2:-3]).split("\rMSH|")
        messages = [chunks[0], *("MSH|" + chunk for chunk in chunks[1:])]
        assert segments[-3] == f"BTS|{len(messages)}"
        for message in messages:
            found[message.split("|")[9]] = message
    return found


def test_hl7_pathology_reports_parse_with_the_required_segments(
    run: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    out, truth, frames = run
    pathology = truth.filter(pl.col("source") == "pathology")
    texts = _hl7_messages(out, truth)
    assert set(texts) == set(pathology["message_id"])
    persons = frames["persons"].select("person_id", "identifier", "birth_date")
    expected = pathology.join(persons, on="person_id").join(
        frames["tumours"].select("tumour_id", "topography", "morphology", "behaviour"), on="tumour_id"
    )
    good = 0
    for row in expected.iter_rows(named=True):
        message = hl7.parse(texts[row["message_id"]])
        names = [str(segment[0]) for segment in message]
        if row["malformed"]:
            assert "PID" not in names or str(message.segment("MSH")[9]) == ""
            continue
        good += 1
        assert names == ["MSH", "PID", "ORC", "OBR", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX"]
        msh, pid = message.segment("MSH"), message.segment("PID")
        assert str(msh[9]) == "ORU^R01^ORU_R01"
        assert str(msh[12]) == "2.5"
        assert str(msh[10]) == row["message_id"]
        assert str(msh[7]).startswith(row["sent_date"].strftime("%Y%m%d"))
        assert str(pid[7]) == row["birth_date"].strftime("%Y%m%d")
        identifier, errors = str(pid[3][0][0]) if str(pid[3]) else "", row["errors"].split(";")
        if not {"hnumber", "identifier_missing", "identifier_transposed", "identifier_wrong_digit"} & set(
            errors
        ):
            assert identifier == row["identifier"]
            assert str(pid[3][0][4]) in {"FNR", "DNR"}
        if (
            "hnumber" in errors
            and "identifier_missing" not in errors
            and "identifier_wrong_digit" not in errors
        ):
            assert str(pid[3][0][4]) == "HNR"
            if "identifier_transposed" not in errors:
                assert classify_identifier(identifier).type == "hnr"
        obx = {str(s[3][0][0]): s[5] for s in message.segments("OBX")}
        assert str(obx["TOPOGRAFI"][0][0]) == row["topography"]
        assert str(obx["MORFOLOGI"][0][0]) == f"{row['morphology']}/{row['behaviour']}"
        assert str(obx["KONKLUSJON"])
    assert good > 0.9 * pathology.height


def test_fhir_bundles_validate_unless_malformed(
    run: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    out, truth, frames = run
    clinical = truth.filter(pl.col("source") == "clinical")
    (file,) = clinical["file"].unique().to_list()
    lines = (out / file).read_text("utf-8").splitlines()
    assert len(lines) == clinical.height
    by_id = {row["message_id"]: row for row in clinical.iter_rows(named=True)}
    tumours = {row["tumour_id"]: row for row in frames["tumours"].iter_rows(named=True)}
    seen = set()
    for line in lines:
        message_id = line.split('"value":"', 1)[1].split('"', 1)[0]
        row = by_id[message_id]
        seen.add(message_id)
        if row["malformed"]:
            with pytest.raises((ValidationError, ValueError)):
                Bundle.model_validate_json(line)
            continue
        bundle = Bundle.model_validate_json(line)
        assert bundle.identifier.value == message_id
        response = bundle.entry[2].resource
        answers = {item.linkId: item.answer[0] for item in response.item}
        truth_tumour = tumours[row["tumour_id"]]
        topography = answers["topografi"].valueCoding.code
        if "topography_conflict" in row["errors"]:
            assert topography != truth_tumour["topography"]
            assert topography[:4] == truth_tumour["topography"][:4]
        else:
            assert topography == truth_tumour["topography"]
        morphology = answers["morfologi"].valueCoding.code
        conflict = "morphology_conflict" in row["errors"]
        assert (morphology == f"{truth_tumour['morphology']}/{truth_tumour['behaviour']}") != conflict
        assert str(answers["diagnosedato"].valueDate) == str(truth_tumour["incidence_date"])
    assert seen == set(by_id)


@pytest.mark.parametrize("source", sorted(CSV_DATE_COLUMNS))
def test_csv_files_have_the_documented_columns_and_dates(
    run: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]], source: str
) -> None:
    out, truth, frames = run
    messages = truth.filter(pl.col("source") == source)
    assert messages.height > 0
    rows = pl.concat(
        [pl.read_csv(out / file, infer_schema=False) for file in messages["file"].unique().sort().to_list()]
    )
    assert rows.columns == csv_formats.header(source)
    assert rows.height == messages.height
    joined = rows.join(messages, on="message_id", how="inner", suffix="_truth")
    assert joined.height == rows.height
    parsed = joined.with_columns(
        pl.col(c).str.to_date("%Y-%m-%d", strict=False).alias(f"{c}_parsed") for c in CSV_DATE_COLUMNS[source]
    )
    main = CSV_DATE_COLUMNS[source][0]
    bad = parsed.filter(pl.col(f"{main}_parsed").is_null())
    assert set(bad["message_id"]) == set(messages.filter(pl.col("malformed"))["message_id"])
    good = parsed.filter(~pl.col("malformed"))
    assert good["sent_date"].str.to_date("%Y-%m-%d").to_list() == good["sent_date_truth"].to_list()
    assert good["sex"].is_in(["1", "2"]).all()
    clean = good.filter(pl.col("errors") == "").join(
        frames["persons"].select(
            "person_id", pl.col("identifier").alias("id_truth"), "first_name", "last_name"
        ),
        on="person_id",
        suffix="_person",
    )
    assert clean.height > 0
    assert (clean["identifier"] == clean["id_truth"]).all()
    assert (clean["first_name"] == clean["first_name_person"]).all()
    missing = good.filter(pl.col("errors").str.contains("identifier_missing"))
    assert missing["identifier"].is_null().all()
    assert missing["identifier_type"].is_null().all()
    named = good.filter(pl.col("errors").str.contains("name_")).join(
        frames["persons"].select("person_id", "first_name", "last_name"), on="person_id", suffix="_person"
    )
    changed = (named["first_name"] != named["first_name_person"]) | (
        named["last_name"] != named["last_name_person"]
    )
    assert changed.all()


def test_duplicates_differ_from_their_original_only_in_id_and_send_time(
    run: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    out, truth, _ = run
    duplicates = truth.filter(pl.col("duplicate_of").is_not_null())
    assert set(duplicates["source"].unique()) >= {"pathology", "clinical", "patient_admin"}
    originals = truth.select(
        pl.col("message_id").alias("duplicate_of"), pl.col("errors").alias("original_errors")
    )
    check = duplicates.join(originals, on="duplicate_of")
    assert check.height == duplicates.height
    resent = pl.concat_str("original_errors", pl.lit("duplicate"), separator=";").str.strip_chars_start(";")
    assert check.select((pl.col("errors") == resent).all()).item()
    hl7_text = _hl7_messages(out, truth)
    clinical = truth.filter(pl.col("source") == "clinical")
    fhir_text = {}
    if clinical.height:
        for line in (out / clinical["file"][0]).read_text("utf-8").splitlines():
            fhir_text[line.split('"value":"', 1)[1].split('"', 1)[0]] = line
    for row in duplicates.iter_rows(named=True):
        copy, original = row["message_id"], row["duplicate_of"]
        if row["source"] == "pathology":
            a, b = hl7_text[copy].split("\r"), hl7_text[original].split("\r")
            msh_a, msh_b = a[0].split("|"), b[0].split("|")
            assert msh_a[9] == copy
            assert msh_b[9] == original
            del msh_a[9], msh_a[6], msh_b[9], msh_b[6]
            assert msh_a == msh_b
            obr = next(i for i, s in enumerate(a) if s.startswith("OBR|"))
            assert [s for i, s in enumerate(a[1:], 1) if i != obr] == [
                s for i, s in enumerate(b[1:], 1) if i != obr
            ]
            assert a[obr].split("|")[:22] == b[obr].split("|")[:22]
        elif row["source"] == "clinical" and not row["malformed"]:
            first, second = json.loads(fhir_text[copy]), json.loads(fhir_text[original])
            for bundle in (first, second):
                del (
                    bundle["identifier"]["value"],
                    bundle["timestamp"],
                    bundle["entry"][2]["resource"]["authored"],
                )
            assert first == second
        elif row["format"] == "csv":
            rows = pl.read_csv(out / row["file"], infer_schema=False)
            pair = rows.filter(pl.col("message_id").is_in([copy, original])).sort("message_id")
            assert pair.height == 2
            assert pair["message_id"].to_list() == sorted([copy, original])
            rest = pair.drop("message_id", "sent_date")
            assert rest.row(0) == rest.row(1)
