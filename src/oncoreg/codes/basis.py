"""Basis of diagnosis (ENCR), versioned by incidence date, and the small ICD-O-3 code lists.

Two versions (``data/basis_versions.csv``, codes in ``data/basis_codes.csv``):

* ``encr_1999`` for incidence up to 2022-12-31: 0 DCO, 1 clinical, 2 clinical investigation, 4 specific
  tumour markers, 5 cytology, 6 histology of a metastasis, 7 histology of the primary, 9 unknown;
* ``encr_2022`` from 2023-01-01 (Visser et al. 2023): 6 and 7 consolidated into 7 with optional sub-codes
  7.1 primary, 7.2 metastasis, 7.3 autopsy; new 8 cytogenetic/molecular testing. Code 6 is not listed.

Codes are text (``"7"``, ``"7.1"``); integers are accepted. ``rank`` orders validity for "most valid basis"
(higher wins; 9 unknown lowest, then DCO). Microscopically verified (MV) = cytology or histology, plus 8 in
2022 (an oncoreg decision recorded in the data). Mapping between versions: ``data/basis_version_map.csv``.
Reference: ``reference/registration.md`` §3.3.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from importlib.resources import files

import polars as pl

from oncoreg.errors import CodeError, Problem

__all__ = [
    "basis_codes",
    "basis_rank",
    "basis_version",
    "basis_versions",
    "behaviour_codes",
    "check_basis",
    "grade_codes",
    "is_microscopically_verified",
    "laterality_codes",
    "map_basis",
    "most_valid_basis",
    "normalise_basis",
    "validate_basis",
]

_DATA = files("oncoreg.codes") / "data"
_RULE = "ENCR basis of diagnosis"


@lru_cache(maxsize=1)
def basis_versions() -> pl.DataFrame:
    """The versions with ``valid_from``/``valid_to`` (incidence dates, inclusive; null = open)."""
    return pl.read_csv(_DATA.joinpath("basis_versions.csv").read_bytes(), try_parse_dates=True).with_columns(
        pl.col("valid_from").cast(pl.Date), pl.col("valid_to").cast(pl.Date)
    )


@lru_cache(maxsize=1)
def _codes() -> pl.DataFrame:
    return pl.read_csv(_DATA.joinpath("basis_codes.csv").read_bytes(), schema_overrides={"code": pl.String})


def normalise_basis(code: int | str) -> str:
    """``7`` -> ``"7"``, ``" 7.1 "`` -> ``"7.1"``."""
    return str(code).strip()


def basis_version(on: date) -> str:
    """The version in force for incidence date ``on``."""
    hit = basis_versions().filter(
        (pl.col("valid_from") <= on) & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= on))
    )
    if hit.height != 1:
        raise CodeError(
            f"no basis-of-diagnosis version covers {on}", field="incidence_date", value=str(on), rule=_RULE
        )
    return str(hit["version"].item())


def _version_codes(version: str) -> pl.DataFrame:
    table = _codes().filter(pl.col("version") == version)
    if table.height == 0:
        known = ", ".join(basis_versions()["version"])
        raise CodeError(
            f"basis version {version!r} is unknown; known: {known}",
            field="version",
            value=version,
            rule=_RULE,
        )
    return table


def basis_codes(*, on: date) -> pl.DataFrame:
    """The code list in force on incidence date ``on``: code, label, microscopically_verified, rank, note."""
    version = basis_version(on)
    return _version_codes(version).drop("version").with_columns(version=pl.lit(version))


def _lookup(code: int | str, version: str) -> dict[str, object]:
    text = normalise_basis(code)
    hit = _version_codes(version).filter(pl.col("code") == text)
    if hit.height == 0:
        raise CodeError(f"basis {text!r} is not a code of {version}", field="basis", value=text, rule=version)
    return hit.row(0, named=True)


def validate_basis(code: int | str, *, incidence_date: date, row: str | None = None) -> Problem | None:
    """``None`` if ``code`` is valid in the version in force on ``incidence_date``, else the problem."""
    version = basis_version(incidence_date)
    text = normalise_basis(code)
    if _version_codes(version).filter(pl.col("code") == text).height:
        return None
    valid = ", ".join(_version_codes(version)["code"])
    return Problem(
        field="basis",
        value=text,
        rule=version,
        text=f"not a basis of diagnosis for incidence {incidence_date} (valid: {valid})",
        row=row,
    )


def check_basis(
    frame: pl.DataFrame, *, basis: str = "basis", incidence_date: str = "incidence_date"
) -> pl.DataFrame:
    """Add ``basis_version``, ``basis_valid``, ``basis_rank`` and ``basis_mv`` to ``frame`` (vectorised).

    The version is chosen per row by ``incidence_date``; an unknown code gives ``basis_valid`` false and null
    rank/MV. Rows without a date or code get nulls.
    """
    versions = basis_versions()
    version_expr: pl.Expr = pl.lit(None, pl.String)
    for rec in versions.iter_rows(named=True):
        covers = pl.col(incidence_date) >= rec["valid_from"]
        if rec["valid_to"] is not None:
            covers = covers & (pl.col(incidence_date) <= rec["valid_to"])
        version_expr = pl.when(covers).then(pl.lit(rec["version"])).otherwise(version_expr)
    work = frame.select(
        pl.int_range(pl.len()).alias("_row"),
        version_expr.alias("basis_version"),
        pl.col(basis).cast(pl.String).str.strip_chars().alias("_code"),
    )
    codes = _codes().select(
        pl.col("version").alias("basis_version"),
        pl.col("code").alias("_code"),
        pl.col("rank").cast(pl.Int8).alias("basis_rank"),
        pl.col("microscopically_verified").alias("basis_mv"),
    )
    added = (
        work.join(codes, on=["basis_version", "_code"], how="left")
        .sort("_row")
        .with_columns(
            basis_valid=pl.when(pl.col("_code").is_null() | pl.col("basis_version").is_null())
            .then(None)
            .otherwise(pl.col("basis_rank").is_not_null())
        )
        .select("basis_version", "basis_valid", "basis_rank", "basis_mv")
    )
    return pl.concat([frame.drop(added.columns, strict=False), added], how="horizontal")


def is_microscopically_verified(code: int | str, *, version: str) -> bool:
    """Whether ``code`` counts as microscopically verified (MV) in ``version``."""
    return bool(_lookup(code, version)["microscopically_verified"])


def basis_rank(code: int | str, *, version: str) -> int:
    """Validity rank of ``code`` in ``version``; the higher, the more valid (9 unknown = 0, DCO = 1)."""
    return int(str(_lookup(code, version)["rank"]))


def most_valid_basis(codes: Sequence[int | str], *, version: str) -> str:
    """The most valid of ``codes`` (highest rank; ties keep the first given), for consolidation."""
    if not codes:
        raise CodeError("no basis of diagnosis given", field="basis", value="", rule=version)
    return max((normalise_basis(c) for c in codes), key=lambda c: basis_rank(c, version=version))


def map_basis(code: int | str, *, from_version: str, to_version: str) -> tuple[str, bool]:
    """Translate ``code`` between versions; returns ``(code, exact)`` (``exact`` false = information lost)."""
    _lookup(code, from_version)
    if from_version == to_version:
        return normalise_basis(code), True
    table = pl.read_csv(
        _DATA.joinpath("basis_version_map.csv").read_bytes(),
        schema_overrides={"from_code": pl.String, "to_code": pl.String},
    )
    hit = table.filter(
        (pl.col("from_version") == from_version)
        & (pl.col("to_version") == to_version)
        & (pl.col("from_code") == normalise_basis(code))
    )
    if hit.height == 0:
        raise CodeError(
            f"basis {code!r} has no mapping from {from_version} to {to_version}",
            field="basis",
            value=str(code),
            rule=_RULE,
        )
    return str(hit["to_code"].item()), bool(hit["exact"].item())


def _small_list(name: str) -> pl.DataFrame:
    return pl.read_csv(_DATA.joinpath(name).read_bytes(), schema_overrides={"code": pl.Int8})


def behaviour_codes() -> pl.DataFrame:
    """ICD-O-3 behaviour codes 0, 1, 2, 3, 6, 9 with labels."""
    return _small_list("basis_behaviour_codes.csv")


def grade_codes() -> pl.DataFrame:
    """ICD-O-3 grade / differentiation / cell-type codes 1-9 with labels."""
    return _small_list("basis_grade_codes.csv")


def laterality_codes() -> pl.DataFrame:
    """Laterality (NORDCAN call for data): 0 not paired, 1 right, 2 left, 3 unilateral NOS, 4 bilateral, 9."""
    return _small_list("basis_laterality_codes.csv")
