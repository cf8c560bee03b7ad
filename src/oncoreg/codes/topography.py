"""ICD-O-3 topography: the 70 three-character headings and 330 four-character subsites.

Codes are written ``C34.1`` (subsite) and ``C34`` (heading). Input may come as ``C34.1``, ``C341``,
``c34.1`` or CanReg-style ``341``; :func:`normalise_topography` turns all of them into ``C34.1``.
Source: WHO/IARC ICD-O-3 (2000) English topography file (the axis did not change in ICD-O-3.1/3.2).
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl

from oncoreg.codes.versions import read_table
from oncoreg.errors import CodeError

_PATTERN = re.compile(r"^C?(\d{2})(?:\.?(\d))?$")
#: Polars regex with the same meaning as ``_PATTERN`` (input upper-cased and stripped first).
POLARS_PATTERN = r"^C?(\d{2})\.?(\d)?$"


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    table = read_table("icdo3_topography.csv")
    return dict(zip(table["code"].to_list(), table["label"].to_list(), strict=True))


def topography_table() -> pl.DataFrame:
    """All topography codes: ``code`` (``C34`` / ``C34.1``), ``level`` (3 heading, 4 subsite), ``label``."""
    return read_table("icdo3_topography.csv").with_columns(pl.col("level").cast(pl.Int8))


def normalise_topography(code: str) -> str:
    """``C34.1``, ``C341``, ``c34.1`` or ``341`` -> ``C34.1``; ``C34`` -> ``C34`` (heading).

    Raises :class:`~oncoreg.errors.CodeError` if the text is not shaped like a topography code or the code
    is not in ICD-O-3.
    """
    text = str(code).strip().upper()
    match = _PATTERN.match(text)
    if match is None:
        raise CodeError(
            f"topography {code!r} is not an ICD-O-3 topography code (expected like C34.1)",
            field="topography",
            value=str(code),
            rule="icdo3-topography-format",
        )
    heading, subsite = match.groups()
    normal = f"C{heading}" + (f".{subsite}" if subsite is not None else "")
    if normal not in _labels():
        raise CodeError(
            f"topography {code!r} is not in ICD-O-3 (no code {normal})",
            field="topography",
            value=str(code),
            rule="icdo3-topography-known",
        )
    return normal


def is_valid_topography(code: str, *, allow_heading: bool = False) -> bool:
    """Whether ``code`` names an ICD-O-3 subsite (or, with ``allow_heading``, a three-character heading)."""
    try:
        normal = normalise_topography(code)
    except CodeError:
        return False
    return allow_heading or "." in normal


def topography_label(code: str) -> str:
    """The ICD-O-3 preferred label of a subsite or heading (headings are in capitals, as in the source)."""
    return _labels()[normalise_topography(code)]


def search_topography(text: str) -> pl.DataFrame:
    """Codes whose label or inclusion terms contain ``text`` (case-insensitive, every word must occur).

    Returns ``code``, ``label`` and ``matched`` (the first matching term), sorted by code.
    """
    words = [re.escape(word) for word in text.lower().split()]
    terms = read_table("icdo3_topography_terms.csv")
    hit = pl.lit(True)
    for word in words:
        hit = hit & pl.col("term").str.to_lowercase().str.contains(word)
    found = (
        terms.filter(hit).group_by("code", maintain_order=True).agg(pl.col("term").first().alias("matched"))
    )
    return (
        found.join(read_table("icdo3_topography.csv").select("code", "label"), on="code", how="left")
        .select("code", "label", "matched")
        .sort("code")
    )
