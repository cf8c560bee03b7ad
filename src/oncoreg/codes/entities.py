"""NORDCAN cancer entities: ICD-10 (plus morphology and behaviour) -> site groups at six levels.

NORDCAN 2.0 (Cancer Registry of Norway) groups tumours by their ICD-10 code into hierarchical entity columns
``entity_level_10`` (980 all sites), ``_11`` (990 all sites but non-melanoma skin), ``_12`` (970 all sites
but NMSC, breast and prostate), ``_13`` (321 brain and CNS incl. endocrine, 430 haematopoietic), ``_20``
(main groups such as 520 colorectal, 320 brain and CNS) and ``_30`` (the detailed entity, e.g. 90 colon).
The table is ``data/nordcan_icd10_to_entity.csv`` (NORDCAN ``specifications/icd10_to_entity_columns.csv``).

Then NORDCAN's code exceptions are applied in order (``data/nordcan_entity_exceptions.csv``, taken from
nordcanpreprocessing ``add_nordcan_entity_columns``): basal cell carcinoma 8090-8098/3 -> 888; brain and CNS
(level 20 = 320) -> 319, then meningiomas -> 316 and gliomas (behaviour 1-3) -> 317; bladder/urinary (280)
with behaviour 0-2 kept only for morphology 8010/8120/8130, else -> 999. A tumour in 888 or 999 has no
entity at the other levels. Entity 318 (nerve sheath tumours) is labelled but never assigned by NORDCAN.

Reference: NORDCAN 2.0, github.com/CancerRegistryOfNorway/{NORDCAN,nordcancore,nordcanpreprocessing};
``reference/statistics.md`` §1.3, ``reference/norway.md`` §1.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files

import polars as pl

from oncoreg.errors import CodeError

__all__ = [
    "LEVELS",
    "NORDCAN_VERSION",
    "add_entities",
    "entities_table",
    "entity_for",
    "entity_icd10_codes",
    "entity_label",
    "entity_members",
    "normalise_icd10",
]

NORDCAN_VERSION = "NORDCAN 2.0 (specifications @d2103448, nordcancore @8bd34a39)"
LEVELS: tuple[int, ...] = (10, 11, 12, 13, 20, 30)
_DATA = files("oncoreg.codes") / "data"
_NOT_INCLUDED = (888, 999)


@lru_cache(maxsize=1)
def _icd10_table() -> pl.DataFrame:
    schema = {f"entity_level_{lv}": pl.Int32 for lv in LEVELS} | {"icd10": pl.String}
    return pl.read_csv(
        _DATA.joinpath("nordcan_icd10_to_entity.csv").read_bytes(), separator=";", schema=schema
    )


@lru_cache(maxsize=1)
def _exceptions() -> pl.DataFrame:
    return pl.read_csv(
        _DATA.joinpath("nordcan_entity_exceptions.csv").read_bytes(),
        schema_overrides={"when_level_20": pl.Int32, "when_level_30": pl.Int32, "set_level_30": pl.Int32},
    ).sort("order")


def normalise_icd10(code: pl.Expr) -> pl.Expr:
    """ICD-10 as NORDCAN writes it: lower case, no dot or spaces (``"C18.7"`` -> ``"c187"``)."""
    return code.str.to_lowercase().str.replace_all(r"[.\s]", "")


def _code_set(spec: str, column: str) -> pl.Expr:
    """``"*"`` any; ``"8090-8098,9530"`` in the set; ``"!8010,8120"`` present and not in the set."""
    if spec == "*":
        return pl.lit(True)
    negate = spec.startswith("!")
    values: list[int] = []
    for part in spec.lstrip("!").split(","):
        lo, _, hi = part.partition("-")
        values.extend(range(int(lo), int(hi or lo) + 1))
    hit = pl.col(column).is_in(values)
    return (pl.col(column).is_not_null() & ~hit) if negate else hit.fill_null(False)


def _apply_exceptions(frame: pl.DataFrame) -> pl.DataFrame:
    """Apply the exception rules in order, then clear the other levels of rows set to a clearing entity."""
    rules = _exceptions()
    for rule in rules.iter_rows(named=True):
        when = _code_set(rule["morphologies"], "_morphology") & _code_set(rule["behaviours"], "_behaviour")
        if rule["when_level_20"] is not None:
            when = when & (pl.col("entity_level_20") == rule["when_level_20"]).fill_null(False)
        if rule["when_level_30"] is not None:
            when = when & (pl.col("entity_level_30") == rule["when_level_30"]).fill_null(False)
        frame = frame.with_columns(
            entity_level_30=pl.when(when)
            .then(pl.lit(rule["set_level_30"], pl.Int32))
            .otherwise("entity_level_30")
        )
    clearing = rules.filter(pl.col("clear_other_levels"))["set_level_30"].to_list()
    drop = pl.col("entity_level_30").is_in(clearing).fill_null(False)
    return frame.with_columns(
        [
            pl.when(drop).then(None).otherwise(pl.col(f"entity_level_{lv}")).alias(f"entity_level_{lv}")
            for lv in LEVELS[:-1]
        ]
    )


def add_entities(
    frame: pl.DataFrame,
    *,
    levels: Sequence[int] = LEVELS,
    icd10: str = "icd10",
    morphology: str | None = "morphology",
    behaviour: str | None = "behaviour",
) -> pl.DataFrame:
    """Add ``entity_level_<n>`` columns (Int32) for each of ``levels`` to ``frame``.

    ``icd10`` names the ICD-10 column (``"C18.7"`` or ``"c187"``); ``morphology``/``behaviour`` name the
    ICD-O-3 columns the exceptions need (``None`` or an absent column: exceptions needing them do not fire,
    e.g. for death counts). An ICD-10 code outside NORDCAN's table gives nulls at every level.
    """
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise CodeError(
            f"entity level {bad[0]} is not one of {LEVELS}",
            field="levels",
            value=str(bad[0]),
            rule=NORDCAN_VERSION,
        )

    def col_or_null(name: str | None) -> pl.Expr:
        return (
            pl.col(name).cast(pl.Int32, strict=False)
            if name and name in frame.columns
            else pl.lit(None, pl.Int32)
        )

    work = frame.select(
        pl.int_range(pl.len()).alias("_row"),
        normalise_icd10(pl.col(icd10).cast(pl.String)).alias("icd10"),
        col_or_null(morphology).alias("_morphology"),
        col_or_null(behaviour).alias("_behaviour"),
    ).join(_icd10_table(), on="icd10", how="left")
    added = _apply_exceptions(work).sort("_row").select([f"entity_level_{lv}" for lv in levels])
    return pl.concat([frame.drop(added.columns, strict=False), added], how="horizontal")


def entity_for(
    *, icd10: str, morphology: int | None = None, behaviour: int | None = None, level: int = 30
) -> int | None:
    """The NORDCAN entity of one tumour at ``level`` (10, 11, 12, 13, 20 or 30; default the detailed 30).

    ``None`` when the tumour belongs to no entity at that level (e.g. skin C44 at level 11, breast at level
    12, anything in 888/999 above level 30). Raises :class:`~oncoreg.errors.CodeError` for an ICD-10 code
    outside NORDCAN's table.

    >>> entity_for(icd10="C44.3", morphology=8090, behaviour=3)
    888
    """
    key = icd10.lower().replace(".", "").strip()
    if _icd10_table().filter(pl.col("icd10") == key).height == 0:
        raise CodeError(
            f"ICD-10 {icd10!r} is not in NORDCAN's entity table",
            field="icd10",
            value=icd10,
            rule=NORDCAN_VERSION,
        )
    one = pl.DataFrame(
        {"icd10": [icd10], "morphology": [morphology], "behaviour": [behaviour]},
        schema={"icd10": pl.String, "morphology": pl.Int32, "behaviour": pl.Int32},
    )
    value = add_entities(one, levels=(level,))[f"entity_level_{level}"][0]
    return None if value is None else int(value)


@lru_cache(maxsize=1)
def entities_table() -> pl.DataFrame:
    """Every NORDCAN entity: ``entity``, ``label``, ``level`` (10-30), ``grouping``, ``display_order``,
    ``sex`` (0 both, 1 male only, 2 female only) and the flags ``incidence``, ``mortality``, ``survival``
    (used for incidence/prevalence, mortality and survival statistics)."""
    labels = pl.read_csv(_DATA.joinpath("nordcan_entity_label.csv").read_bytes(), separator=";")
    usage = pl.read_csv(_DATA.joinpath("nordcan_entity_usage.csv").read_bytes(), separator=";")
    return (
        labels.rename({"value": "entity"})
        .join(usage, on="entity", how="left")
        .select(
            pl.col("entity").cast(pl.Int32),
            "label",
            pl.col("level").str.strip_prefix("level_").cast(pl.Int32),
            "grouping",
            pl.col("entity_display_order").cast(pl.Int32).alias("display_order"),
            pl.col("sex").cast(pl.Int8),
            pl.col("incidence/prevalence").alias("incidence"),
            "mortality",
            "survival",
        )
        .sort("entity")
    )


def entity_label(entity: int) -> str:
    """The English label of a NORDCAN entity (``90`` -> ``"Colon"``)."""
    hit = entities_table().filter(pl.col("entity") == entity)
    if hit.height == 0:
        raise CodeError(
            f"NORDCAN entity {entity} is unknown", field="entity", value=str(entity), rule=NORDCAN_VERSION
        )
    return str(hit["label"][0])


def _level_of(entity: int) -> int:
    hit = entities_table().filter(pl.col("entity") == entity)
    if hit.height == 0:
        raise CodeError(
            f"NORDCAN entity {entity} is unknown", field="entity", value=str(entity), rule=NORDCAN_VERSION
        )
    return int(hit["level"][0])


def entity_icd10_codes(entity: int) -> list[str]:
    """The ICD-10 codes (NORDCAN spelling, ``"c187"``) whose row names ``entity`` at its level (before the
    morphology exceptions, so 316/317/319 give the brain and CNS codes and 888 none)."""
    level = _level_of(entity)
    table = _icd10_table()
    if entity in (316, 317, 319):
        return table.filter(pl.col("entity_level_20") == 320)["icd10"].to_list()
    return table.filter(pl.col(f"entity_level_{level}") == entity)["icd10"].to_list()


def entity_members(entity: int) -> list[int]:
    """The detailed (level 30) entities that make up ``entity``, e.g. ``entity_members(520) == [90, 100]``.

    For 980 this answers which entities "all sites" includes; 888 and 999 are never members.
    """
    level = _level_of(entity)
    if level == 30:
        return [entity]
    rows = _icd10_table().filter(pl.col(f"entity_level_{level}") == entity)
    members = set(rows["entity_level_30"].drop_nulls().to_list())
    cns_sets = _exceptions().filter(pl.col("when_level_20") == 320)["set_level_30"].to_list()
    if (rows["entity_level_20"] == 320).any():
        members |= set(cns_sets)
    return sorted(members - set(_NOT_INCLUDED))
