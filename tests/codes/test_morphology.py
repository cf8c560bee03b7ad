"""ICD-O-3(.1) morphology: merged list with sources, parsing, validation, labels and synonym search."""

from __future__ import annotations

import pytest

from oncoreg.codes import (
    is_listed_morphology,
    is_valid_morphology,
    morphology_label,
    morphology_sources,
    morphology_table,
    parse_morphology,
    search_morphology,
)
from oncoreg.errors import CodeError


def test_every_code_has_behaviour_label_and_source() -> None:
    table = morphology_table()
    assert table.height > 1065  # at least the ICD-O-3.1 NCI list (1,065 codes, PROVENANCE.md §2)
    assert table["label"].null_count() == 0
    assert set(table["behaviour"].unique().to_list()) <= {0, 1, 2, 3, 6, 9}
    assert table["sources"].null_count() == 0
    assert "" not in table["sources"].to_list()


def test_sources_record_which_list_has_the_code() -> None:
    # 8163/3 and 9597/3 are ICD-O-3.1 additions, absent from the 2000 file (PROVENANCE.md §2).
    assert "icdo31_nci" in morphology_sources("8163/3")
    assert "icdo3_2000" not in morphology_sources(9597, 3)
    assert morphology_sources("8140/3") == ("icdo3_2000", "icdo31_nci", "canreg5")
    # 9661/3 is in the 2000 file but not in the NCI 3.1 list.
    assert morphology_sources("9661/3")[0] == "icdo3_2000"
    assert "icdo31_nci" not in morphology_sources("9661/3")


@pytest.mark.parametrize(
    ("code", "behaviour", "expected"),
    [("8140", "3", (8140, 3)), (8140, 3, (8140, 3)), ("8140/3", None, (8140, 3)), ("81403", "", (8140, 3))],
)
def test_parse_accepts_forms(code: str | int, behaviour: str | int | None, expected: tuple[int, int]) -> None:
    assert parse_morphology(code, behaviour) == expected


@pytest.mark.parametrize(
    ("code", "behaviour", "rule"),
    [
        ("814", "3", "icdo3-morphology-format"),
        ("8140", "4", "icdo3-behaviour-code"),
        ("8140", None, "icdo3-behaviour-code"),
        ("8140/3", "2", "icdo3-behaviour-agrees"),
    ],
)
def test_parse_rejects_with_rule(code: str, behaviour: str | None, rule: str) -> None:
    with pytest.raises(CodeError) as info:
        parse_morphology(code, behaviour)
    assert info.value.rule == rule


def test_valid_versus_listed() -> None:
    # 8000/2 is allowed by the behaviour matrix but is not listed (O3_10M marks it with letter G).
    assert is_valid_morphology("8000", 2)
    assert not is_listed_morphology("8000", 2)
    assert is_listed_morphology("8000", 3)
    assert not is_valid_morphology("1234", 3)
    assert not is_valid_morphology("8000", 5)


def test_labels() -> None:
    assert morphology_label("8140/3") == "Adenocarcinoma, NOS"
    assert morphology_label(8162, 3) == "Klatskin tumor"
    with pytest.raises(CodeError, match="not listed"):
        morphology_label("8000", 2)


def test_search_uses_synonyms() -> None:
    # "Tumor, benign" is a synonym (Struct=sub) of 8000/0 in Morphenglish.txt.
    found = search_morphology("tumor, benign")
    assert "8000/0" in found["code"].to_list()
    hits = search_morphology("hepatocellular carcinoma")["code"].to_list()
    assert "8170/3" in hits
