"""ICD-O-3 topography: the code list, normalisation, labels and search."""

from __future__ import annotations

import pytest

from oncoreg.codes import (
    is_valid_topography,
    normalise_topography,
    search_topography,
    topography_label,
    topography_table,
)
from oncoreg.errors import CodeError


def test_counts_330_subsites_and_70_headings() -> None:
    # ICD-O-3 (2000) has 330 four-character subsites and 70 three-character headings (PROVENANCE.md §1).
    counts = topography_table().group_by("level").len().sort("level")
    assert counts["len"].to_list() == [70, 330]


@pytest.mark.parametrize("given", ["C34.1", "C341", "c34.1", " c341 ", "341"])
def test_normalise_accepts_common_spellings(given: str) -> None:
    assert normalise_topography(given) == "C34.1"


@pytest.mark.parametrize("given", ["C34.", "X34.1", "C3411", "", "lung"])
def test_normalise_rejects_malformed(given: str) -> None:
    with pytest.raises(CodeError, match="topography"):
        normalise_topography(given)


def test_unknown_code_is_rejected_with_rule() -> None:
    # C14.1 was an ICD-O-2 code and is not in ICD-O-3; C99.9 never existed.
    for code in ("C14.1", "C99.9"):
        with pytest.raises(CodeError) as info:
            normalise_topography(code)
        assert info.value.rule == "icdo3-topography-known"
    assert not is_valid_topography("C14.1")


def test_heading_is_valid_only_when_allowed() -> None:
    assert not is_valid_topography("C34")
    assert is_valid_topography("C34", allow_heading=True)
    assert is_valid_topography("C34.9")


def test_labels_from_who_file() -> None:
    assert topography_label("C341") == "Upper lobe, lung"
    assert topography_label("C50") == "BREAST"
    assert topography_label("c80.9") == "Unknown primary site"


def test_search_finds_inclusion_terms() -> None:
    # "Lingula of lung" is an inclusion term of C34.1 (Topoenglish.txt, Lvl incl).
    found = search_topography("lingula")
    assert found["code"].to_list() == ["C34.1"]
    lung = search_topography("lung")["code"].to_list()
    assert {"C34.0", "C34.1", "C34.9"} <= set(lung)


def test_search_needs_every_word() -> None:
    found = search_topography("upper lobe lung")["code"].to_list()
    assert found == ["C34.1"]
