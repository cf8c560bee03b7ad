"""ICD-O-3 morphology with the ICD-O-3.1 additions: histology (4 digits) and behaviour (one digit).

Behaviour codes: 0 benign, 1 uncertain/borderline, 2 in situ, 3 malignant primary, 6 malignant metastatic,
9 malignant, uncertain whether primary or metastatic (ICD-O-3, p. 30). A code is written ``8140/3``.
The list merges three sources and records for each code which of them list it (``sources``):
``icdo3_2000`` (WHO/IARC ICD-O-3 English file), ``icdo31_nci`` (ICD-O-3.1 terms from the NCI
Metathesaurus) and ``canreg5`` (the dictionary IARC ships with CanReg5). ICD-O's behaviour matrix allows any
histology with any behaviour, so a known histology with an unlisted behaviour is *valid* but not *listed*.
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl

from oncoreg.codes.versions import read_table
from oncoreg.errors import CodeError

BEHAVIOURS = (0, 1, 2, 3, 6, 9)
_CODE = re.compile(r"^(\d{4})(?:/?(\d))?$")


@lru_cache(maxsize=1)
def _table() -> pl.DataFrame:
    return read_table("icdo3_morphology.csv").with_columns(
        pl.col("histology").cast(pl.Int16), pl.col("behaviour").cast(pl.Int8)
    )


@lru_cache(maxsize=1)
def _labels() -> dict[tuple[int, int], tuple[str, str]]:
    table = _table()
    keys = zip(table["histology"].to_list(), table["behaviour"].to_list(), strict=True)
    values = zip(table["label"].to_list(), table["sources"].to_list(), strict=True)
    return dict(zip(keys, values, strict=True))


@lru_cache(maxsize=1)
def known_histologies() -> frozenset[int]:
    """Every 4-digit histology listed with at least one behaviour by any source."""
    return frozenset(_table()["histology"].to_list())


def morphology_table() -> pl.DataFrame:
    """All listed codes: ``code`` (``8140/3``), ``histology``, ``behaviour``, ``label``, ``sources``."""
    return _table()


def parse_morphology(code: int | str, behaviour: int | str | None = None) -> tuple[int, int]:
    """``8140`` + ``3``, ``"8140/3"``, ``"81403"`` -> ``(8140, 3)``; checks the shape, not the lists.

    The behaviour may come inside ``code`` or separately; when both are given they must agree.
    """
    text = str(code).strip()
    match = _CODE.match(text)
    if match is None:
        raise CodeError(
            f"morphology {text!r} is not an ICD-O-3 morphology code (expected 4 digits like 8140 or 8140/3)",
            field="morphology",
            value=text,
            rule="icdo3-morphology-format",
        )
    histology, inline = match.groups()
    given = "" if behaviour is None else str(behaviour).strip()
    if given and inline is not None and given != inline:
        raise CodeError(
            f"morphology {text!r} carries behaviour /{inline} but behaviour {given!r} was given",
            field="behaviour",
            value=given,
            rule="icdo3-behaviour-agrees",
        )
    chosen = given or inline
    if chosen is None or not chosen.isdigit() or int(chosen) not in BEHAVIOURS:
        raise CodeError(
            f"behaviour {chosen!r} of morphology {histology} is not an ICD-O-3 behaviour (0, 1, 2, 3, 6, 9)",
            field="behaviour",
            value=str(chosen),
            rule="icdo3-behaviour-code",
        )
    return int(histology), int(chosen)


def is_valid_morphology(code: int | str, behaviour: int | str | None = None) -> bool:
    """Shape is right, behaviour is 0/1/2/3/6/9 and the histology is known (behaviour matrix allowed)."""
    try:
        histology, _ = parse_morphology(code, behaviour)
    except CodeError:
        return False
    return histology in known_histologies()


def is_listed_morphology(code: int | str, behaviour: int | str | None = None) -> bool:
    """Whether histology/behaviour is listed as such by at least one source (not only by the matrix)."""
    try:
        return parse_morphology(code, behaviour) in _labels()
    except CodeError:
        return False


def morphology_sources(code: int | str, behaviour: int | str | None = None) -> tuple[str, ...]:
    """Which sources list the code (``icdo3_2000``, ``icdo31_nci``, ``canreg5``); empty if none does."""
    found = _labels().get(parse_morphology(code, behaviour))
    return tuple(found[1].split(";")) if found else ()


def morphology_label(code: int | str, behaviour: int | str | None = None) -> str:
    """The preferred term of ``8140/3`` (ICD-O-3 2000 first, then ICD-O-3.1 NCI, then CanReg5).

    Raises :class:`~oncoreg.errors.CodeError` when the code is malformed or not listed.
    """
    histology, behaviour_code = parse_morphology(code, behaviour)
    found = _labels().get((histology, behaviour_code))
    if found is None:
        raise CodeError(
            f"morphology {histology}/{behaviour_code} is not listed in ICD-O-3 or ICD-O-3.1",
            field="morphology",
            value=f"{histology}/{behaviour_code}",
            rule="icdo3-morphology-listed",
        )
    return found[0]


def search_morphology(text: str) -> pl.DataFrame:
    """Codes whose label or synonyms contain every word of ``text`` (case-insensitive).

    Returns ``code``, ``label``, ``matched`` (the first matching term or synonym) and ``sources``.
    """
    words = [re.escape(word) for word in text.lower().split()]
    hit = pl.lit(True)
    for word in words:
        hit = hit & pl.col("term").str.to_lowercase().str.contains(word)
    terms = read_table("icdo3_morphology_terms.csv")
    found = (
        terms.filter(hit).group_by("code", maintain_order=True).agg(pl.col("term").first().alias("matched"))
    )
    return (
        found.join(_table().select("code", "label", "sources"), on="code", how="left")
        .select("code", "label", "matched", "sources")
        .sort("code")
    )
