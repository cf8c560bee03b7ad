"""ICCC-3 (International Classification of Childhood Cancer, 3rd edition, IARC 2017 update).

A tumour coded in ICD-O-3 (topography ``C64.9``, morphology ``8960``, behaviour ``3``) falls in at most one
ICCC-3 group: a main group I-XII, a subgroup (``VI.a``) and, where the subgroup is split, an extended group
(``VI.a.1`` nephroblastoma). The rules are data (``data/iccc_iarc2017_rules.csv``): each names the sites,
histologies and behaviours it takes, and the first matching rule in table order gives the group (the rules
do not overlap; a test proves it). Non-malignant behaviour (/0, /1) is taken only where the table says so:
the CNS groups III and X.a (intracranial and intraspinal tumours), as in the 2017 update; /2 in situ, /6 and
/9 are never classified.

Reference: Steliarova-Foucher E, Stiller C, Lacour B, Kaatsch P. International Classification of Childhood
Cancer, third edition. Cancer 2005;103:1457-67; ICCC-3 IARC 2017 update as tabulated by SEER
(https://seer.cancer.gov/iccc/iccc-iarc-2017.html), via imsweb/algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import polars as pl

from oncoreg.errors import CodeError, Problem, ValidationFailed

__all__ = [
    "ICCC_VERSION",
    "IcccResult",
    "classify_iccc",
    "iccc3",
    "iccc_groups",
    "iccc_label",
    "iccc_rules",
    "topography_number",
]

ICCC_VERSION = "ICCC-3 IARC 2017"
_DATA = files("oncoreg.codes") / "data"
_TOPOGRAPHY = r"^C?(\d{2})\.?(\d)$"
_BEHAVIOURS = (0, 1, 2, 3, 6, 9)


@dataclass(frozen=True)
class IcccResult:
    """The ICCC-3 group of one tumour.

    ``code`` is the most detailed code (``"XI.f.10"``, ``"IV.a"``, ``"V"``); ``main_group`` is 1-12,
    ``subgroup`` a letter or ``None`` (group V has none), ``extended`` the number of the extended group or
    ``None`` where the subgroup is not split; ``seer_recode`` is SEER's sequential number (1-115) of the
    extended group ("ICCC site recode extended 3rd edition/IARC 2017").
    """

    code: str
    main_group: int
    subgroup: str | None
    extended: int | None
    seer_recode: int
    label: str

    @property
    def main_code(self) -> str:
        """The main group as a Roman numeral (``"VI"``)."""
        return self.code.split(".")[0]

    @property
    def subgroup_code(self) -> str:
        """Main group and subgroup (``"VI.a"``); the main group alone where there is no subgroup."""
        return ".".join(self.code.split(".")[:2])


@lru_cache(maxsize=1)
def iccc_rules() -> pl.DataFrame:
    """The classification rules, one row per rule, in the order they are tried."""
    return pl.read_csv(
        _DATA.joinpath("iccc_iarc2017_rules.csv").read_bytes(),
        schema_overrides={"subgroup": pl.String, "extended": pl.Int8, "behaviours": pl.String},
    )


@lru_cache(maxsize=1)
def iccc_groups() -> pl.DataFrame:
    """Every ICCC-3 code with its level (``main``/``subgroup``/``extended``) and label."""
    return pl.read_csv(_DATA.joinpath("iccc_iarc2017_groups.csv").read_bytes())


def iccc_label(code: str) -> str:
    """The label of an ICCC-3 code such as ``"V"``, ``"IV.a"`` or ``"XI.f.10"``."""
    hit = iccc_groups().filter(pl.col("iccc_code") == code)
    if hit.height == 0:
        raise CodeError(f"ICCC-3 code {code!r} is unknown", field="iccc_code", value=code, rule=ICCC_VERSION)
    return str(hit["label"][0])


def _expand_ranges(column: str, *, prefix: str) -> pl.Expr:
    """``"C000-C218,C239"`` -> list of ``{lo, hi}`` structs with the prefix stripped."""
    item = pl.element().str.strip_chars_start(prefix)
    return (
        pl.col(column)
        .str.split(",")
        .list.eval(
            pl.struct(
                lo=item.str.split("-").list.first().str.strip_chars_start(prefix).cast(pl.Int32),
                hi=item.str.split("-").list.last().str.strip_chars_start(prefix).cast(pl.Int32),
            )
        )
    )


@lru_cache(maxsize=1)
def _expanded_rules() -> pl.DataFrame:
    """One row per (rule, histology, behaviour, site range): the join table of :func:`classify_iccc`."""
    rules = iccc_rules()
    hist = (
        rules.select("rule_id", _expand_ranges("histologies", prefix="").alias("h"))
        .explode("h")
        .select(
            "rule_id",
            pl.int_ranges(pl.col("h").struct["lo"], pl.col("h").struct["hi"] + 1).alias("histology"),
        )
        .explode("histology")
    )
    sites = (
        rules.select("rule_id", _expand_ranges("sites", prefix="C").alias("s"))
        .explode("s")
        .select(
            "rule_id", pl.col("s").struct["lo"].alias("site_lo"), pl.col("s").struct["hi"].alias("site_hi")
        )
    )
    behaviours = rules.select(
        "rule_id", pl.col("behaviours").str.split(",").cast(pl.List(pl.Int32)).alias("behaviour")
    ).explode("behaviour")
    return (
        hist.join(behaviours, on="rule_id")
        .join(sites, on="rule_id")
        .with_columns(pl.col("histology").cast(pl.Int32))
        .sort("rule_id")
    )


def topography_number(topography: pl.Expr) -> pl.Expr:
    """``"C64.9"``/``"C649"``/``"64.9"`` -> 649 (null where the text is not a topography code)."""
    text = topography.str.strip_chars().str.to_uppercase()
    return (text.str.extract(_TOPOGRAPHY, 1) + text.str.extract(_TOPOGRAPHY, 2)).cast(pl.Int32)


def _check_inputs(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("topography", "morphology", "behaviour") if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            [Problem(field=c, value="", rule=ICCC_VERSION, text="column is missing") for c in missing]
        )
    work = frame.select(
        pl.int_range(pl.len()).alias("_row"),
        pl.col("topography").cast(pl.String),
        topography_number(pl.col("topography").cast(pl.String)).alias("_site"),
        pl.col("morphology").cast(pl.Int32, strict=False).alias("_histology"),
        pl.col("morphology").cast(pl.String).alias("_morphology_text"),
        pl.col("behaviour").cast(pl.Int32, strict=False).alias("_behaviour"),
        pl.col("behaviour").cast(pl.String).alias("_behaviour_text"),
    )
    problems: list[Problem] = []
    bad_site = work.filter(pl.col("topography").is_not_null() & pl.col("_site").is_null())
    problems += [
        Problem(
            field="topography",
            value=v,
            rule=ICCC_VERSION,
            text="not an ICD-O-3 topography (Cxx.x)",
            row=str(r),
        )
        for r, v in bad_site.select("_row", "topography").iter_rows()
    ]
    bad_hist = work.filter(
        pl.col("_morphology_text").is_not_null()
        & (pl.col("_histology").is_null() | ~pl.col("_histology").is_between(8000, 9999))
    )
    problems += [
        Problem(
            field="morphology",
            value=v,
            rule=ICCC_VERSION,
            text="not an ICD-O-3 histology 8000-9999",
            row=str(r),
        )
        for r, v in bad_hist.select("_row", "_morphology_text").iter_rows()
    ]
    bad_beh = work.filter(
        pl.col("_behaviour_text").is_not_null()
        & (pl.col("_behaviour").is_null() | ~pl.col("_behaviour").is_in(_BEHAVIOURS))
    )
    problems += [
        Problem(field="behaviour", value=v, rule=ICCC_VERSION, text="not a behaviour 0,1,2,3,6,9", row=str(r))
        for r, v in bad_beh.select("_row", "_behaviour_text").iter_rows()
    ]
    if problems:
        raise ValidationFailed(problems)
    return work.select("_row", "_site", "_histology", "_behaviour")


def classify_iccc(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the ICCC-3 (IARC 2017) group of every row of ``frame``.

    ``frame`` needs ``topography`` (``"C64.9"`` or ``"C649"``), ``morphology`` (4-digit histology) and
    ``behaviour``. Returned: ``frame`` with ``iccc_code`` (most detailed code), ``iccc_main_group`` (1-12),
    ``iccc_subgroup`` (letter), ``iccc_extended`` and ``iccc_seer_recode``; all null where no rule matches
    (in situ, non-malignant outside the CNS groups, or a site/histology pair outside the table).
    Malformed codes raise :class:`~oncoreg.errors.ValidationFailed` listing every bad row.

    Method: equi-join on (histology, behaviour) with the expanded rule table, keep candidates whose site range
    holds the topography, take the lowest rule id per row (first match, as in the published table).
    """
    work = _check_inputs(frame)
    rules = _expanded_rules()
    hits = (
        work.join(rules, left_on=["_histology", "_behaviour"], right_on=["histology", "behaviour"])
        .filter(pl.col("_site").is_between(pl.col("site_lo"), pl.col("site_hi")))
        .group_by("_row")
        .agg(pl.col("rule_id").min())
        .join(
            iccc_rules().select(
                "rule_id",
                pl.col("iccc_code"),
                pl.col("main_group").cast(pl.Int8).alias("iccc_main_group"),
                pl.col("subgroup").alias("iccc_subgroup"),
                pl.col("extended").cast(pl.Int8).alias("iccc_extended"),
                pl.col("seer_recode").cast(pl.Int16).alias("iccc_seer_recode"),
            ),
            on="rule_id",
        )
        .drop("rule_id")
    )
    added = work.select("_row").join(hits, on="_row", how="left").sort("_row").drop("_row")
    return pl.concat([frame.drop(added.columns, strict=False), added], how="horizontal")


def iccc3(*, topography: str, morphology: int, behaviour: int) -> IcccResult | None:
    """The ICCC-3 (IARC 2017) group of one tumour, or ``None`` when it has none (see :func:`classify_iccc`).

    >>> iccc3(topography="C69.2", morphology=9510, behaviour=3).code
    'V'
    """
    one = classify_iccc(
        pl.DataFrame({"topography": [topography], "morphology": [morphology], "behaviour": [behaviour]})
    )
    row = one.row(0, named=True)
    if row["iccc_code"] is None:
        return None
    return IcccResult(
        code=row["iccc_code"],
        main_group=row["iccc_main_group"],
        subgroup=row["iccc_subgroup"],
        extended=row["iccc_extended"],
        seer_recode=row["iccc_seer_recode"],
        label=iccc_label(row["iccc_code"]),
    )
