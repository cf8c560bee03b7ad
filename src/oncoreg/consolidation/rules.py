"""The consolidation rules as versioned data (``data/*.csv``, STYLE §3), loaded once.

* ``histology_groups.csv``: IARC/IACR 2004 Table 2 groups (imsweb IarcUtils ranges) with the non-specific
  coverage of DESIGN §6 (17 covers 1-7, 15, 16; 14 covers 8-13; 5 covers 1-4) and the systemic flag (8-15).
* ``recording_sites.csv``: recording rules per 3-character site: Table-1 groupings chosen for recording,
  paired organs, colon C18 and skin C44 subsites (IARC/IACR 2004 recommendations for recording).
* ``best_information.csv`` and ``source_ranks.csv``: the best-information rule per tumour field.
* ``icd10_match_groups.csv``: how ICD-10-only notifications find their tumour.
* ``icd10_to_icdo3_dco.csv``: ICD-10 -> ICD-O-3 for DCO tumours (imsweb/algorithms reverse table).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from io import BytesIO

import polars as pl

__all__ = [
    "FieldRule",
    "dco_map",
    "field_rules",
    "histology_groups",
    "icd10_match_groups",
    "morphology_groups",
    "recording_sites",
    "rules_version",
    "source_ranks",
]

_DATA = files("oncoreg.consolidation") / "data"


def _read(name: str, **kwargs: object) -> pl.DataFrame:
    raw = _DATA.joinpath(name).read_bytes()
    return pl.read_csv(BytesIO(raw), comment_prefix="#", **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FieldRule:
    """One best-information rule: the tumour ``columns`` it fills and the sort ``order`` that picks a row."""

    rule_id: str
    version: int
    field: str
    columns: tuple[str, ...]
    order: tuple[str, ...]


@lru_cache(maxsize=1)
def histology_groups() -> pl.DataFrame:
    """Table 2 groups: group_no, group_label, non_specific, systemic, covers (list), ranges, rule_id."""
    table = _read("histology_groups.csv", schema_overrides={"covers": pl.String, "ranges": pl.String})
    return table.with_columns(
        (pl.col("non_specific") == "Y").alias("non_specific"),
        (pl.col("systemic") == "Y").alias("systemic"),
        pl.col("covers")
        .fill_null("")
        .str.split(";")
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.eval(pl.element().cast(pl.Int32))
        .alias("covers"),
        pl.col("group_no").cast(pl.Int32),
    )


@lru_cache(maxsize=1)
def morphology_groups() -> pl.DataFrame:
    """Every 4-digit code in a Table 2 range: morphology (string), hist_group, non_specific, systemic."""
    groups = histology_groups()
    ranges = (
        groups.select("group_no", "non_specific", "systemic", pl.col("ranges").str.split(","))
        .explode("ranges")
        .with_columns(pl.col("ranges").str.split("-").alias("_bounds"))
        .with_columns(
            pl.col("_bounds").list.first().cast(pl.Int32).alias("_lo"),
            pl.col("_bounds").list.last().cast(pl.Int32).alias("_hi"),
        )
        .with_columns(pl.int_ranges("_lo", pl.col("_hi") + 1).alias("_code"))
        .explode("_code")
    )
    return ranges.select(
        pl.col("_code").cast(pl.String).str.zfill(4).alias("morphology"),
        pl.col("group_no").alias("hist_group"),
        "non_specific",
        "systemic",
    ).unique("morphology", keep="first", maintain_order=True)


@lru_cache(maxsize=1)
def recording_sites() -> pl.DataFrame:
    """Recording rules per 3-character site: site, site_group, paired, split_subsites, rule_id."""
    table = _read("recording_sites.csv")
    return table.select(
        "site",
        "site_group",
        (pl.col("paired") == "Y").alias("paired"),
        (pl.col("split_subsites") == "Y").alias("split_subsites"),
        "rule_id",
    )


@lru_cache(maxsize=1)
def source_ranks() -> pl.DataFrame:
    """Source priority per rule set: rule_set, source_type, rank (lower wins)."""
    return _read("source_ranks.csv").with_columns(pl.col("rank").cast(pl.Int8))


@lru_cache(maxsize=1)
def field_rules() -> tuple[FieldRule, ...]:
    """The best-information rules in file order."""
    table = _read("best_information.csv")
    return tuple(
        FieldRule(
            rule_id=row["rule_id"],
            version=int(row["version"]),
            field=row["field"],
            columns=tuple(row["columns"].split(";")),
            order=tuple(row["order"].split(";")),
        )
        for row in table.iter_rows(named=True)
    )


@lru_cache(maxsize=1)
def icd10_match_groups() -> pl.DataFrame:
    """icd10_3 -> match_group (absent codes match on their own 3 characters; ``ANY`` matches every tumour)."""
    return _read("icd10_match_groups.csv").select("icd10_3", "match_group")


@lru_cache(maxsize=1)
def dco_map() -> pl.DataFrame:
    """ICD-10 (``C34.9``) -> topography, morphology (4-digit string), behaviour for DCO tumours."""
    return _read("icd10_to_icdo3_dco.csv", schema_overrides={"morphology": pl.String}).with_columns(
        pl.col("behaviour").cast(pl.Int8)
    )


def rules_version() -> str:
    """One string naming the versions of every rule table, recorded with each run."""
    parts = [f"{rule.rule_id}.v{rule.version}" for rule in field_rules()]
    return "consolidation-rules:" + ",".join(parts)
