"""Classifications as versioned data: ICD-O-3 topography and morphology, ICD-10 chapter II, and the
ICD-O-3 -> ICD-10 conversion of IARCcrgTools.

The tables live in ``data/`` (see ``data/manifest.json`` and ``data/NOTICE``); this package depends on
nothing of oncoreg except :mod:`oncoreg.errors`.
"""

from __future__ import annotations

from oncoreg.codes.icd10 import icd10_label, icd10_table, is_chapter2_code, normalise_icd10
from oncoreg.codes.icdo3_to_icd10 import Icd10Result, convert_frame, icdo3_to_icd10, parse_sex
from oncoreg.codes.morphology import (
    BEHAVIOURS,
    is_listed_morphology,
    is_valid_morphology,
    morphology_label,
    morphology_sources,
    morphology_table,
    parse_morphology,
    search_morphology,
)
from oncoreg.codes.topography import (
    is_valid_topography,
    normalise_topography,
    search_topography,
    topography_label,
    topography_table,
)
from oncoreg.codes.versions import code_list_versions

__all__ = [
    "BEHAVIOURS",
    "Icd10Result",
    "code_list_versions",
    "convert_frame",
    "icd10_label",
    "icd10_table",
    "icdo3_to_icd10",
    "is_chapter2_code",
    "is_listed_morphology",
    "is_valid_morphology",
    "is_valid_topography",
    "morphology_label",
    "morphology_sources",
    "morphology_table",
    "normalise_icd10",
    "normalise_topography",
    "parse_morphology",
    "parse_sex",
    "search_morphology",
    "search_topography",
    "topography_label",
    "topography_table",
]
