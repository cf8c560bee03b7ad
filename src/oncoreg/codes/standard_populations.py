"""Standard populations for direct age standardisation, with their age groups.

Each standard is stored in the age groups it is published in (``data/stdpop_weights.csv``, raw published
numbers: per 100 000, per 1 000 000, or per cent for NORDCAN's ICSS adaptation); coarser groupings are
derived by summing the primary grouping, never by splitting. The age-group schemes
(``data/stdpop_age_groups.csv``):

* ``5y18``: 0-4, 5-9, ..., 80-84, 85+ (the default); ``5y19`` ... 85-89, 90+; ``5y20`` ... 95+;
  ``5y21`` ... 95-99, 100+;
* ``infant5y19``: 0, 1-4, 5-9, ..., 80-84, 85+; ``infant5y21``: 0, 1-4, 5-9, ..., 90-94, 95+;
* ``1y101``: single years 0 ... 99, 100+ (WHO only);
* ``icss5``: 15-44, 45-54, 55-64, 65-74, 75+ (Corazziari et al. 2004 broad groups; ages 0-14 carry no weight);
* ``nordcan5`` / ``nordcan3``: NORDCAN's per-set groups (ages 0-89 only; the last group is closed at 89).

Direct standardisation: ``ASR = sum_i w_i r_i / sum_i w_i`` with ``w_i`` = ``weight`` (equivalently
``sum_i weight_share_i r_i``). References per standard: :func:`standard_populations_catalogue`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import polars as pl

from oncoreg.errors import CodeError

__all__ = [
    "available_age_groups",
    "nordcan_icss_standard",
    "standard_population",
    "standard_population_names",
    "standard_populations_catalogue",
]

_DATA = files("oncoreg.codes") / "data"
_RULE = "standard population"


@lru_cache(maxsize=1)
def _weights() -> pl.DataFrame:
    return pl.read_csv(
        _DATA.joinpath("stdpop_weights.csv").read_bytes(),
        schema_overrides={
            "age_group": pl.Int32,
            "age_start": pl.Int32,
            "age_end": pl.Int32,
            "weight": pl.Float64,
        },
    )


@lru_cache(maxsize=1)
def _schemes() -> pl.DataFrame:
    return pl.read_csv(
        _DATA.joinpath("stdpop_age_groups.csv").read_bytes(),
        schema_overrides={"age_group": pl.Int32, "age_start": pl.Int32, "age_end": pl.Int32},
    )


@lru_cache(maxsize=1)
def _standards() -> pl.DataFrame:
    return pl.read_csv(_DATA.joinpath("stdpop_standards.csv").read_bytes())


def standard_population_names() -> list[str]:
    """The names accepted by :func:`standard_population` (``world_segi_1960``, ``europe_2013``, ...)."""
    return _standards()["standard"].to_list()


def _check_name(name: str) -> None:
    if name not in standard_population_names():
        known = ", ".join(standard_population_names())
        raise CodeError(
            f"standard population {name!r} is unknown; known: {known}", field="name", value=name, rule=_RULE
        )


def _collapse(primary: pl.DataFrame, target: pl.DataFrame) -> pl.DataFrame | None:
    """Sum ``primary`` groups into ``target`` groups, or ``None`` if ``target`` is not a coarsening of it.

    Every target group must start at a primary group's start and end at a primary group's end (open with
    open); a primary group outside every target group is allowed only with weight 0.
    """
    pairs = primary.join(target, how="cross", suffix="_t").filter(
        (pl.col("age_start") >= pl.col("age_start_t"))
        & (
            pl.col("age_end_t").is_null()
            | (pl.col("age_end").is_not_null() & (pl.col("age_end") <= pl.col("age_end_t")))
        )
    )
    if pairs["age_group"].n_unique() != pairs.height:
        return None
    left_out = primary.join(pairs.select("age_group"), on="age_group", how="anti")
    if (left_out["weight"] != 0).any():
        return None
    summed = pairs.group_by("age_group_t").agg(
        pl.col("age_start").min().alias("first_start"),
        pl.col("age_end").max().alias("last_end"),
        pl.col("age_end").is_null().any().alias("open"),
        pl.col("weight").sum(),
    )
    out = target.join(summed, left_on="age_group", right_on="age_group_t", how="left")
    exact = (pl.col("first_start") == pl.col("age_start")) & (
        pl.when(pl.col("age_end").is_null())
        .then(pl.col("open"))
        .otherwise(~pl.col("open") & (pl.col("last_end") == pl.col("age_end")))
    )
    if not out.select(exact.fill_null(False).all()).item():
        return None
    return out.select("age_group", "age_start", "age_end", "weight")


def _build(name: str, age_groups: str) -> pl.DataFrame | None:
    stored = _weights().filter((pl.col("standard") == name) & (pl.col("age_groups") == age_groups))
    if stored.height:
        return stored.select("age_group", "age_start", "age_end", "weight")
    target = _schemes().filter(pl.col("age_groups") == age_groups).select("age_group", "age_start", "age_end")
    if target.height == 0:
        return None
    primary_name = _standards().filter(pl.col("standard") == name)["primary_age_groups"].item()
    primary = _weights().filter((pl.col("standard") == name) & (pl.col("age_groups") == primary_name))
    return _collapse(primary.select("age_group", "age_start", "age_end", "weight"), target)


def available_age_groups(name: str) -> list[str]:
    """The age-group schemes ``name`` can be given in (stored ones and exact coarsenings of the primary)."""
    _check_name(name)
    stored = _weights().filter(pl.col("standard") == name)["age_groups"].unique(maintain_order=True).to_list()
    derived = [s for s in _schemes()["age_groups"].unique(maintain_order=True) if s not in stored]
    return stored + [s for s in derived if _build(name, s) is not None]


def standard_population(name: str, *, age_groups: str = "5y18") -> pl.DataFrame:
    """The weights of standard population ``name`` in the age groups ``age_groups``.

    Columns: ``age_group`` (1..n), ``age_start``, ``age_end`` (inclusive; null for an open last group),
    ``weight`` (the published numbers, e.g. per 100 000) and ``weight_share`` = ``weight / sum(weight)``.
    Unknown names or groupings the standard cannot be given in raise :class:`~oncoreg.errors.CodeError`
    naming what is available.

    >>> standard_population("world_segi_1960")["weight"].sum()
    100000.0
    """
    _check_name(name)
    table = _build(name, age_groups)
    if table is None:
        known = ", ".join(available_age_groups(name))
        raise CodeError(
            f"standard population {name!r} has no age groups {age_groups!r}; available: {known}",
            field="age_groups",
            value=age_groups,
            rule=_RULE,
        )
    return table.sort("age_group").with_columns(weight_share=pl.col("weight") / pl.col("weight").sum())


def standard_populations_catalogue() -> pl.DataFrame:
    """One row per standard: name, primary age groups, published total, label, typical use and reference."""
    return _standards()


def nordcan_icss_standard(entity: int) -> str:
    """The NORDCAN ICSS weight set for survival of NORDCAN entity ``entity`` (default ``nordcan_icss_1``).

    From nordcansurvival (``reference/statistics.md`` §1.5): bone 340 -> 2.1; melanoma, cervix, brain,
    thyroid, soft tissue (290, 190, 320, 330, 350) -> 2.2; testis, Hodgkin (250, 370) -> 3.1;
    ALL (401) -> 3.2.
    """
    table = pl.read_csv(_DATA.joinpath("stdpop_nordcan_icss_entities.csv").read_bytes())
    hit = table.filter(pl.col("entity") == entity)
    return str(hit["standard"].item()) if hit.height else "nordcan_icss_1"
