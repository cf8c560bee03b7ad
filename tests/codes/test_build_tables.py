"""The build of the clean tables from the raw fixed-width files, and the manifest of versions."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from oncoreg.codes import code_list_versions
from oncoreg.codes.build_tables import parse_o3_10m_line, parse_site_tables, write_tables

REFDATA = Path("/work/shared/refdata")
DATA = Path(str(files("oncoreg.codes") / "data"))
OWN_TABLES = [
    "icdo3_topography.csv",
    "icdo3_topography_terms.csv",
    "icdo3_morphology.csv",
    "icdo3_morphology_terms.csv",
    "icd10_chapter2.csv",
    "icd10_by_topography.csv",
    "icd10_by_morphology.csv",
    "icd10_site_rules.csv",
]


def test_parse_rule_lines() -> None:
    # Lines as in O3_10M (README of canreg5_iarccrgtools_lookup).
    assert parse_o3_10m_line("968037C833", line_number=1).icd10 == "C83.3"
    female = parse_o3_10m_line("900037C56 +", line_number=2)
    assert (female.icd10, female.only_sex, female.rule) == ("C56", "F", 7)
    pointer = parse_o3_10m_line("872038 403", line_number=3)
    assert (pointer.rule, pointer.subtable, pointer.listed) == (8, 403, True)
    letter = parse_o3_10m_line("80002G", line_number=4)
    assert (letter.rule, letter.listed) == (3, False)
    assert parse_o3_10m_line("86902K#### ", line_number=5).impossible
    # The '*' form (4th character from the topography) does not occur in the shipped O3_10M: synthetic line.
    star = parse_o3_10m_line("999937C44*", line_number=6)
    assert (star.icd10, star.topography_4th) == ("C44", True)
    assert parse_o3_10m_line("87133L 359/* comment */", line_number=7).subtable == 359


def test_parse_site_tables_blocks_and_sexes() -> None:
    r8 = [" 44-C43- \n", " 50-C435 \n", "aos.:1   \n", " 809D292@\n", "aos.:2   \n"]
    r9 = [" 809C629C56 \n", "aos.:1  :1  \n"]
    rows = parse_site_tables(r8, r9, pointers={(8, 1), (8, 4), (9, 1)})
    first = [r for r in rows if r["table"] == "r8" and r["subtable"] == 1]
    assert [r["topography"] for r in first] == ["C44", "C50", "*"]
    assert (first[0]["icd10"], first[0]["topography_4th"], first[2]["rule"]) == ("C43", True, 1)
    male_only = next(r for r in rows if r["subtable"] == 4)
    assert male_only["only_sex"] == "M"
    by_sex = {r["for_sex"]: r["icd10"] for r in rows if r["table"] == "r9" and r["topography"] == "C80.9"}
    assert by_sex == {"M": "C62.9", "F": "C56"}


@pytest.mark.skipif(not REFDATA.exists(), reason="shared refdata not available")
def test_package_tables_are_the_build_of_refdata(tmp_path: Path) -> None:
    write_tables(refdata=REFDATA, out=tmp_path)
    for name in OWN_TABLES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_manifest_lists_existing_files_with_versions() -> None:
    manifest = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["tables"]:
        for key in ("name", "version", "source", "licence", "valid_from"):
            assert entry[key], (entry.get("name"), key)
        for name in [entry["file"], entry.get("terms_file"), *entry.get("other_files", [])]:
            if name:
                assert (DATA / name).exists(), name
    versions = code_list_versions()
    assert {"icdo3_topography", "icdo3_morphology", "icd10_chapter2", "icdo3_to_icd10"} <= set(versions)
    assert all(isinstance(v, str) and v for v in versions.values())
    assert (DATA / "NOTICE").exists()
