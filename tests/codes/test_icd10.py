"""ICD-10 (WHO 2019) chapter II labels."""

from __future__ import annotations

import pytest

from oncoreg.codes import icd10_label, icd10_table, is_chapter2_code, normalise_icd10
from oncoreg.errors import CodeError


def test_chapter2_counts() -> None:
    # PROVENANCE.md §4: 20 blocks, 137 categories, 737 subcategories.
    counts = dict(icd10_table().group_by("level").len().iter_rows())
    assert counts == {"block": 20, "category": 137, "subcategory": 737}


def test_labels_and_normalisation() -> None:
    assert icd10_label("C34.1") == "Malignant neoplasm: Upper lobe, bronchus or lung"
    assert icd10_label("c341") == icd10_label("C34.1")
    assert icd10_label("C64").startswith("Malignant neoplasm of kidney")
    assert icd10_label("C00-C14").startswith("Malignant neoplasms of lip")
    assert normalise_icd10("d219") == "D21.9"


def test_unknown_and_malformed() -> None:
    assert not is_chapter2_code("D21.8")  # D21 has .0-.6 and .9 only
    assert not is_chapter2_code("N40")  # chapter XIV
    with pytest.raises(CodeError, match="chapter II"):
        icd10_label("D21.8")
    with pytest.raises(CodeError, match="malformed"):
        normalise_icd10("lung")
