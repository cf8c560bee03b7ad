"""Every format parses into the right notification fields; malformed messages name field, value and rule."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from oncoreg.ingest import ParseOutcome, parse_message
from oncoreg.ingest.split import classify, split_file

Simulated = tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]]
#: The rule each malformation of the simulator must be quarantined under.
MALFORMED_RULES = {
    "missing_pid": ("PID", "hl7.pid.required"),
    "broken_msh": ("MSH-9", "required"),
    "invalid_json": ("content", "json.valid"),
    "missing_status": ("QuestionnaireResponse.status", "required"),
    "missing_bundle_type": ("Bundle.type", "required"),
    "bad_date": (None, "date.format"),
}


@pytest.fixture(scope="module")
def parsed(simulated: Simulated) -> dict[str, tuple[str, bytes, ParseOutcome]]:
    """external message id → (source, content, outcome) for every message of the simulated directory."""
    out, _, _ = simulated
    found: dict[str, tuple[str, bytes, ParseOutcome]] = {}
    for path in sorted((out / "messages").rglob("*.*")):
        kind = classify(path.relative_to(out))
        assert kind is not None, path
        for message in split_file(path, source=kind[0], message_format=kind[1]):
            outcome = parse_message(source=message.source, format=message.format, content=message.content)
            key = outcome.external_id or f"unreadable-{len(found)}"
            found[key] = (message.source, message.content, outcome)
    return found


def _truth(simulated: Simulated) -> pl.DataFrame:
    _, truth, frames = simulated
    tumours = frames["tumours"].select(
        "tumour_id",
        "topography",
        "morphology",
        "behaviour",
        "laterality",
        "incidence_date",
        pl.col("grade").alias("t_grade"),
    )
    persons = frames["persons"].select("person_id", "identifier", "birth_date", "sex", "first_name")
    return truth.join(tumours, on="tumour_id", how="left").join(persons, on="person_id", how="left")


def test_every_malformed_message_is_quarantined_with_its_rule_and_every_other_accepted(
    simulated: Simulated, parsed: dict[str, tuple[str, bytes, ParseOutcome]]
) -> None:
    _, truth, _ = simulated
    malformed = truth.filter(pl.col("malformed"))
    assert malformed.height >= 20  # raised rate: every kind occurs
    kinds_seen = set()
    for row in truth.iter_rows(named=True):
        kind = next(
            (e.removeprefix("malformed_") for e in row["errors"].split(";") if e.startswith("malformed_")),
            None,
        )
        if kind == "invalid_json":
            continue  # the id is inside the cut JSON; counted below
        _, _, outcome = parsed[row["message_id"]]
        if not row["malformed"]:
            assert outcome.accepted, (row["message_id"], outcome.problems)
            continue
        kinds_seen.add(kind)
        assert not outcome.accepted
        assert not outcome.notifications
        field, rule = MALFORMED_RULES[str(kind)]
        assert any(p.rule == rule and (field is None or p.field == field) for p in outcome.problems), (
            row["message_id"],
            outcome.problems,
        )
        assert all(p.text and p.rule and p.field for p in outcome.problems)
    unreadable = [o for key, (_, _, o) in parsed.items() if key.startswith("unreadable-")]
    invalid_json = truth.filter(pl.col("errors").str.contains("malformed_invalid_json")).height
    assert len(unreadable) == invalid_json
    assert all(o.problems[0].rule == "json.valid" for o in unreadable)
    assert kinds_seen >= {"missing_pid", "broken_msh", "bad_date"}
    assert len(parsed) == truth.height  # none lost


def test_pathology_and_clinical_fields_match_the_truth(
    simulated: Simulated, parsed: dict[str, tuple[str, bytes, ParseOutcome]]
) -> None:
    truth = _truth(simulated).filter(
        pl.col("source").is_in(["pathology", "clinical", "clinical_csv"]), ~pl.col("malformed")
    )
    checked = 0
    for row in truth.iter_rows(named=True):
        (note,) = parsed[row["message_id"]][2].notifications
        assert note["received_date"] == row["sent_date"]
        assert note["given_birth_date"] == row["birth_date"]
        assert note["given_sex"] == row["sex"]
        if row["errors"] == "":
            assert note["given_identifier"] == row["identifier"]
            assert note["given_first_name"] == row["first_name"]
        conflict = any(e in row["errors"] for e in ("topography_conflict", "morphology_conflict"))
        if row["source"] == "pathology":
            assert note["source_type"] == "pathology"
            assert note["sample_date"] == note["event_date"]
            assert note["basis"] in (5, 6, 7)
            assert note["free_text"]
        else:
            assert note["source_type"] == "clinical"
            assert note["diagnosis_date"] == row["incidence_date"]
            assert note["summary_stage"] in ("localised", "regional", "distant", "unknown")
        if not conflict:
            assert note["topography"] == row["topography"]
            assert note["morphology"] == f"{row['morphology']:04d}"
            assert note["behaviour"] == row["behaviour"]
            assert note["grade"] == row["t_grade"]
            checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    ("source", "expect"),
    [
        ("death_certificate", {"source_type": "death_certificate", "basis": 0}),
        ("patient_admin", {"source_type": "patient_admin"}),
        ("radiotherapy", {"source_type": "radiotherapy", "event_kind": "radiotherapy"}),
        ("systemic_therapy", {"source_type": "systemic_therapy"}),
        ("population_register", {"source_type": "population_register"}),
    ],
)
def test_event_feeds_map_their_columns(
    simulated: Simulated,
    parsed: dict[str, tuple[str, bytes, ParseOutcome]],
    source: str,
    expect: dict[str, object],
) -> None:
    out, truth, _ = simulated
    rows = truth.filter(pl.col("source") == source, ~pl.col("malformed"))
    assert rows.height > 0
    files = rows["file"].unique().sort().to_list()
    csv = pl.concat([pl.read_csv(out / f, infer_schema=False) for f in files])
    for row in csv.filter(pl.col("message_id").is_in(rows["message_id"].implode())).iter_rows(named=True):
        (note,) = parsed[row["message_id"]][2].notifications
        for key, value in expect.items():
            assert note[key] == value
        assert str(note["received_date"]) == row["sent_date"]
        date_column = {
            "death_certificate": "death_date",
            "patient_admin": "admission_date",
            "population_register": "event_date",
        }.get(source, "start_date")
        assert str(note["event_date"]) == row[date_column]
        if source == "death_certificate":
            assert note["icd10"] == row["underlying_cause"]
            assert note["death_date"] == note["event_date"]
        if source == "patient_admin":
            assert note["icd10"] == row["main_diagnosis"]
            assert note["event_kind"] == row["care_type"]
        if source == "population_register":
            assert note["event_kind"] == row["event"]
            assert note["given_municipality"] == row["municipality"]
        if source in ("radiotherapy", "systemic_therapy"):
            assert note["icd10"] == row["diagnosis"]
            assert str(note["end_date"]) == row["end_date"]


def test_structural_fhir_check_agrees_with_fhir_resources(
    simulated: Simulated, parsed: dict[str, tuple[str, bytes, ParseOutcome]]
) -> None:
    clinical = [(content, o) for source, content, o in parsed.values() if source == "clinical"]
    assert len(clinical) > 50
    for content, outcome in clinical:
        try:
            Bundle.model_validate_json(content)
            valid = True
        except (ValidationError, ValueError):
            valid = False
        assert outcome.accepted == valid, outcome.problems


HL7 = (
    "MSH|^~\\&|LIS|FONNA|KREFTREG|KRG|20210112112124+0100||ORU^R01^ORU_R01|PAT-1|P|2.5\r"
    "PID|1||13030378509^^^FNR&2.16.578.1.12.4.1.4.1&ISO^FNR||Str\\T\\øm^Magnus||20030313|M\r"
    "OBR|1|R|A|HIST^Histologisk^99KRG|||20210101\r"
    "OBX|1|CWE|TOPOGRAFI^T^99KRG||{top}^^ICDO3||||||F\r"
    "OBX|2|CWE|MORFOLOGI^M^99KRG||{morph}^^ICDO3||||||F\r"
    "OBX|3|TX|KONKLUSJON^Diagnose^99KRG||Adenokarsinom, metastase fra lunge||||||F\r"
)


def test_hl7_codes_are_normalised_and_bad_codes_named() -> None:
    good = parse_message(
        source="pathology", format="hl7v2", content=HL7.format(top="c341", morph="81403").encode()
    )
    assert good.accepted
    assert good.external_id == "PAT-1"
    (note,) = good.notifications
    assert (note["topography"], note["morphology"], note["behaviour"]) == ("C34.1", "8140", 3)
    assert note["basis"] == 6  # histology of a metastasis, from the conclusion
    assert note["given_last_name"] == "Str&øm"  # HL7 escape undone
    bad = parse_message(
        source="pathology", format="hl7v2", content=HL7.format(top="C99.9", morph="8140/7").encode()
    )
    rules = {(p.field, p.value, p.rule) for p in bad.problems}
    assert ("topography", "C99.9", "icdo3-topography-known") in rules
    assert ("behaviour", "8140/7", "icdo3-behaviour-code") in rules
    assert not bad.notifications


def test_csv_problems_name_field_value_and_rule() -> None:
    header = (
        b"message_id,sent_date,identifier,identifier_type,first_name,last_name,birth_date,sex,certificate_id,"
    )
    header += b"death_date,underlying_cause,contributing_causes\n"
    row = b"DOD-1,2021-01-07,2201682072,fnr,Finn,Amundsen,1968-01-22,7,DA-1,05.03.2021,I21.9,\n"
    outcome = parse_message(source="death_certificate", format="csv", content=header + row)
    found = {(p.field, p.value, p.rule) for p in outcome.problems}
    assert found == {
        ("identifier", "2201682072", "identifier.format"),
        ("sex", "7", "sex.code"),
        ("death_date", "05.03.2021", "date.format"),
    }
    missing = parse_message(source="radiotherapy", format="csv", content=header + row)
    assert {p.field for p in missing.problems if p.rule == "csv.header"} >= {"record_id", "start_date"}


def test_non_utf8_and_unknown_inputs() -> None:
    outcome = parse_message(source="clinical", format="fhir", content=b'{"a": "\xff"}')
    assert [p.rule for p in outcome.problems] == ["utf8"]
    listed = parse_message(source="clinical", format="fhir", content=b"[1, 2]")
    assert [p.rule for p in listed.problems] == ["fhir.bundle"]
    from oncoreg.ingest import IngestError

    with pytest.raises(IngestError, match="format 'xml'"):
        parse_message(source="clinical", format="xml", content=b"")


def test_generic_csv_gives_one_notification_per_row() -> None:
    content = (
        b"message_id,source_type,received_date,event_date,topography,morphology,behaviour,basis,given_identifier,"
        b"given_sex,institution\nGEN-1,clinical,2021-02-01,2021-01-15,C50.4,8500,3,7,13030378509,2,OUS\n"
    )
    outcome = parse_message(source="generic", format="csv", content=content)
    assert outcome.accepted, outcome.problems
    (note,) = outcome.notifications
    assert (note["topography"], note["morphology"], note["behaviour"], note["basis"]) == (
        "C50.4",
        "8500",
        3,
        7,
    )
    assert str(note["event_date"]) == "2021-01-15"
    assert note["institution"] == "OUS"
    assert note["given_sex"] == 2
    bad = parse_message(source="generic", format="csv", content=content.replace(b"clinical", b"astrology"))
    assert [(p.field, p.rule) for p in bad.problems] == [("source_type", "source_type.code")]


def test_screening_results_and_truth_are_not_registration_feeds() -> None:
    assert classify(Path("messages/screening/breast/2020/screening_results.csv")) is None
    assert classify(Path("messages/screening/cervix/2020/laboratory_results.csv")) is None
    assert classify(Path("truth/tumours.csv")) is None
    assert classify(Path("messages/pathology/2020/SUS_2020.hl7")) == ("pathology", "hl7v2")
    assert classify(Path("incoming/extra.csv")) == ("generic", "csv")
