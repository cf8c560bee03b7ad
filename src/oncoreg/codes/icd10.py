"""ICD-10 (WHO 2019) chapter II, neoplasms C00-D48: blocks, categories and subcategories with labels.

Codes are written with a dot (``C34.1``); three-character categories without one (``C64``). Subcategory
labels read ``<category stem>: <subcategory title>`` as in the source (monarch-initiative/icd10who).
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl

from oncoreg.codes.versions import read_table
from oncoreg.errors import CodeError

_CODE = re.compile(r"^([A-Z]\d{2})(?:\.?(\d))?$")


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    table = read_table("icd10_chapter2.csv")
    return dict(zip(table["code"].to_list(), table["label"].to_list(), strict=True))


def icd10_table() -> pl.DataFrame:
    """Chapter II: ``code``, ``level`` (block / category / subcategory), ``parent``, ``label``."""
    return read_table("icd10_chapter2.csv")


def normalise_icd10(code: str) -> str:
    """``C341``, ``c34.1`` -> ``C34.1``; ``C64`` -> ``C64``; raises CodeError if not shaped like ICD-10."""
    text = str(code).strip().upper()
    match = _CODE.match(text)
    if match is None:
        raise CodeError(
            f"ICD-10 code {code!r} is malformed (expected like C34.1)",
            field="icd10",
            value=str(code),
            rule="icd10-format",
        )
    stem, digit = match.groups()
    return stem + (f".{digit}" if digit is not None else "")


def is_chapter2_code(code: str) -> bool:
    """Whether ``code`` is a block, category or subcategory of ICD-10 chapter II (C00-D48)."""
    try:
        return normalise_icd10(code) in _labels()
    except CodeError:
        return code in _labels()


def icd10_label(code: str) -> str:
    """The WHO 2019 label of a chapter II code (``C34.1``, ``C34`` or a block such as ``C00-C14``)."""
    key = code if code in _labels() else normalise_icd10(code)
    try:
        return _labels()[key]
    except KeyError:
        raise CodeError(
            f"ICD-10 code {code!r} is not in chapter II (C00-D48) of ICD-10 2019",
            field="icd10",
            value=str(code),
            rule="icd10-chapter2",
        ) from None
