"""IARC/IACR 2004 multiple-primary *reporting* status of each tumour (DESIGN §6; registration.md §2.4).

Input rows ``person_id, tumour_id, incidence_date, sequence, topography, morphology, behaviour``; output
``tumour_id, status, primary_tumour_id, morphology`` with status ``primary`` / ``duplicate`` / ``insitu``.

Decisions (tables in ``oncoreg/checks/data/mp2004_*.csv``, IARC/IACR 2004 Tables 1 and 2 as in imsweb
IarcUtils):

* Reportable: behaviour /3, and bladder C67 with /1, /2 or /3. Every other tumour (in situ, benign,
  uncertain, /6, /9; benign bladder /0) gets status ``insitu`` ("not reported": IarcUtils code 9) with no
  primary and its own morphology.
* Site group: Table 1 group, else the 3-character site; C80.9 is its own group (C80).
* Histology group: Table 2; a histology in no group forms a group of its own (the histology itself).
* Systemic: groups 8-14 (haematopoietic) and 15 (Kaposi) ignore the site; mesothelioma (7) does not.
* Same tumour: same scope (the person for systemic groups, else the site group) and same histology group.
  Non-specific groups join a specific one: 5 joins 1-4 at the same site; 14 joins 8-13 anywhere;
  17 joins 1-7, 15, 16 at the same site (a Kaposi tumour at that site). A non-specific tumour joins the
  *earliest* covering cluster, preferring a specific cluster over a group-5 one; with none it forms its own
  (order-independent, unlike the sequential IarcUtils when several clusters cover it).
* Kept record: the earliest diagnosed (year, then month, then day; an unknown part ends the comparison),
  then the lowest sequence, then the lowest tumour id. It carries the chosen morphology of its cluster:
  specific before non-specific (5 and 14 before 17), then the numerically highest histology, then behaviour.

Vectorised: joins and group-bys over (person, scope, group); no per-row Python.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import polars as pl

from oncoreg.errors import Problem, ValidationFailed

__all__ = ["MP_INPUT_COLUMNS", "iarc_reporting"]

MP_INPUT_COLUMNS = (
    "person_id",
    "tumour_id",
    "incidence_date",
    "sequence",
    "topography",
    "morphology",
    "behaviour",
)
_DATA = files("oncoreg.checks") / "data"
_SYSTEMIC_SCOPE = "systemic"


@lru_cache(maxsize=1)
def _site_groups() -> pl.DataFrame:
    with (_DATA / "mp2004_topography_groups.csv").open("rb") as handle:
        table = pl.read_csv(handle, infer_schema=False)
    return table.select(
        pl.col("icdo3_site_3char").alias("_site3"), ("T" + pl.col("group_id")).alias("_site_group")
    )


_GROUP_COLUMNS = (
    "group_no",
    "histology_from",
    "histology_to",
    "non_specific",
    "covers",
    "systemic",
    "group_label",
)


@lru_cache(maxsize=1)
def _histology_groups() -> pl.DataFrame:
    """Table 2 as one row per histology range (``histology_from``/``_to``), from consolidation's rule data."""
    from oncoreg.consolidation.rules import histology_groups

    bounds = pl.col("ranges").str.split("-")
    return (
        histology_groups()
        .select(
            pl.col("group_no").cast(pl.Int64),
            pl.col("ranges").str.split(","),
            "non_specific",
            pl.when(pl.col("covers").list.len() > 0).then(pl.col("covers")).alias("covers"),
            "systemic",
            "group_label",
        )
        .explode("ranges")
        .with_columns(
            bounds.list.first().cast(pl.Int64).alias("histology_from"),
            bounds.list.last().cast(pl.Int64).alias("histology_to"),
        )
        .select(*_GROUP_COLUMNS)
    )


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.strip_chars().replace("", None)


def _date_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """``_y, _m, _d`` from a Date column or text ``YYYY[-MM[-DD]]`` with 99/9999 for unknown parts."""
    if frame.schema["incidence_date"] == pl.Date:
        date_col = pl.col("incidence_date")
        return frame.with_columns(
            date_col.dt.year().alias("_y"),
            date_col.dt.month().cast(pl.Int32).alias("_m"),
            date_col.dt.day().cast(pl.Int32).alias("_d"),
        )
    parts = _text("incidence_date").str.extract_groups(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
    year = parts.struct.field("1").cast(pl.Int32)
    month = parts.struct.field("2").cast(pl.Int32)
    day = parts.struct.field("3").cast(pl.Int32)
    year = pl.when(year != 9999).then(year)
    month = pl.when(year.is_not_null() & month.is_between(1, 12)).then(month)
    day = pl.when(month.is_not_null() & day.is_between(1, 31)).then(day)
    return frame.with_columns(year.alias("_y"), month.alias("_m"), day.alias("_d"))


def _problems(frame: pl.DataFrame) -> list[Problem]:
    missing = [name for name in MP_INPUT_COLUMNS if name not in frame.columns]
    if missing:
        return [
            Problem(field=n, value="", rule="input-columns", text=f"required column {n!r} is missing")
            for n in missing
        ]
    checks = {
        "tumour_id": (_text("tumour_id").is_not_null(), "required", "tumour id is blank"),
        "person_id": (_text("person_id").is_not_null(), "required", "person id is blank"),
        "sequence": (
            _text("sequence").str.contains(r"^\d+$").fill_null(True),
            "integer",
            "not a whole number",
        ),
        "topography": (
            _text("topography").str.to_uppercase().str.contains(r"^C?\d{2}\.?\d$").fill_null(False),
            "icdo3-topography-format",
            "not shaped like an ICD-O-3 topography (C34.1 or C341)",
        ),
        "morphology": (
            _text("morphology").str.contains(r"^\d{4}(/\d)?$").fill_null(False),
            "icdo3-morphology-format",
            "not shaped like an ICD-O-3 morphology (8140 or 8140/3)",
        ),
        "behaviour": (
            pl.coalesce(_text("behaviour"), _text("morphology").str.extract(r"/(\d)$"))
            .str.contains(r"^[0-9]$")
            .fill_null(False),
            "icdo3-behaviour-code",
            "not a behaviour digit (blank only with morphology like 8140/3)",
        ),
    }
    if frame.schema["incidence_date"] != pl.Date:
        text = _text("incidence_date")
        full = text.str.contains(r"^\d{4}-(0[1-9]|1[0-2])-\d{2}$") & ~text.str.contains("-99$")
        ok = (
            text.is_null()
            | (text.str.contains(r"^\d{4}(-\d{2})?(-\d{2})?$") & ~full)
            | (full & text.str.to_date("%Y-%m-%d", strict=False).is_not_null())
        )
        checks["incidence_date"] = (
            ok,
            "date",
            "not a date YYYY-MM-DD (YYYY, YYYY-MM, 99 or 9999 for unknown parts)",
        )
    problems = []
    numbered = frame.with_row_index("_line", offset=1)
    row_id = _text("tumour_id").fill_null(pl.format("line {}", pl.col("_line"))).alias("_rid")
    for field, (good, rule, message) in checks.items():
        bad = numbered.filter(~good).select(row_id, pl.col(field).cast(pl.String).alias("_value"))
        for row, value in bad.iter_rows():
            problems.append(Problem(field=field, value=str(value), rule=rule, text=message, row=row))
    return problems


def _earliest(candidates: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per tumour the candidate cluster with the lowest (non-specific, first order)."""
    return candidates.sort("_cand_nonspecific", "_cand_first").group_by(keys).first()


def iarc_reporting(tumours: pl.DataFrame) -> pl.DataFrame:
    """IARC/IACR 2004 reporting status per tumour (rules in the module docstring), in input order.

    ``incidence_date`` is a ``pl.Date`` (null = unknown) or text ``YYYY-MM-DD`` / ``YYYY-MM`` / ``YYYY`` with
    ``99``/``9999`` for unknown parts. Raises :class:`~oncoreg.errors.ValidationFailed` naming each bad row
    (tumour id) and field.
    """
    problems = _problems(tumours)
    if problems:
        raise ValidationFailed(problems)
    groups = _histology_groups()
    top = _text("topography").str.to_uppercase().str.extract_groups(r"^C?(\d{2})\.?(\d)$")
    morph = _text("morphology").str.extract_groups(r"^(\d{4})(?:/(\d))?$")
    frame = _date_parts(tumours.with_row_index("_row")).with_columns(
        _text("person_id").alias("_person"),
        _text("tumour_id").alias("_tumour"),
        _text("sequence").cast(pl.Int64).alias("_seq"),
        ("C" + top.struct.field("1")).alias("_site3"),
        morph.struct.field("1").cast(pl.Int32).alias("_hist"),
        pl.coalesce(_text("behaviour"), morph.struct.field("2")).cast(pl.Int32).alias("_beh"),
    )
    hist_groups = (
        frame.select("_hist")
        .unique()
        .join(groups, how="cross")
        .filter(pl.col("_hist").is_between(pl.col("histology_from"), pl.col("histology_to")))
        .group_by("_hist")
        .agg(
            pl.col("group_no").min().alias("_group"),
            pl.col("non_specific").first(),
            pl.col("covers").first(),
            pl.col("systemic").first(),
        )
    )
    frame = (
        frame.join(_site_groups(), on="_site3", how="left")
        .join(hist_groups, on="_hist", how="left")
        .with_columns(
            pl.coalesce("_site_group", "_site3").alias("_site_group"),
            pl.coalesce(pl.col("_group"), 1000 + pl.col("_hist")).alias("_group"),
            pl.col("non_specific").fill_null(False),
            pl.col("systemic").fill_null(False),
        )
        .with_columns(
            ((pl.col("_beh") == 3) | ((pl.col("_site3") == "C67") & pl.col("_beh").is_in([1, 2]))).alias(
                "_reportable"
            ),
            pl.when(pl.col("systemic"))
            .then(pl.lit(_SYSTEMIC_SCOPE))
            .otherwise(pl.col("_site_group"))
            .alias("_scope"),
        )
        .sort("_y", "_m", "_d", "_seq", "_tumour", nulls_last=True)
        .with_row_index("_order")
    )
    reportable = frame.filter(pl.col("_reportable"))
    cluster_keys = ["_person", "_scope", "_group"]
    specific = reportable.filter(~pl.col("non_specific"))
    spec_clusters = specific.group_by(cluster_keys).agg(pl.col("_order").min().alias("_cand_first"))
    # group 5 and 14: join the earliest covering specific cluster in their scope
    nonspec = reportable.filter(pl.col("non_specific") & (pl.col("_group") != 17))
    first_pass = _earliest(
        nonspec.select("_row", "_person", "_scope", "covers")
        .join(spec_clusters.rename({"_group": "_cand_group"}), on=["_person", "_scope"], how="inner")
        .filter(pl.col("covers").list.contains(pl.col("_cand_group")))
        .with_columns(pl.lit(False).alias("_cand_nonspecific")),
        ["_row"],
    ).select("_row", "_cand_group")
    nonspec = nonspec.join(first_pass, on="_row", how="left").with_columns(
        pl.coalesce("_cand_group", "_group").alias("_cluster_group")
    )
    resolved = pl.concat(
        [
            specific.with_columns(pl.col("_group").alias("_cluster_group")),
            nonspec.drop("_cand_group"),
        ],
        how="diagonal_relaxed",
    )
    # group 17: the earliest cluster with a member of a covered group at the same site group
    members = resolved.group_by([*cluster_keys[:2], "_cluster_group"]).agg(
        pl.col("_order").min().alias("_cand_first")
    )
    site_members = resolved.select(
        "_person",
        "_site_group",
        "_group",
        "_scope",
        "_cluster_group",
        pl.col("non_specific").alias("_member_ns"),
    ).join(members, on=["_person", "_scope", "_cluster_group"])
    unspecified = reportable.filter(pl.col("_group") == 17)
    second = _earliest(
        unspecified.select("_row", "_person", "_site_group", "covers")
        .join(site_members, on=["_person", "_site_group"], how="inner")
        .filter(pl.col("covers").list.contains(pl.col("_group")))
        .with_columns(pl.col("_cluster_group").is_in([5, 14, 17]).alias("_cand_nonspecific")),
        ["_row"],
    ).select("_row", pl.col("_scope").alias("_cand_scope"), pl.col("_cluster_group").alias("_cand_group"))
    unspecified = unspecified.join(second, on="_row", how="left").with_columns(
        pl.coalesce("_cand_scope", "_scope").alias("_scope"),
        pl.coalesce("_cand_group", "_group").alias("_cluster_group"),
    )
    clustered = pl.concat([resolved, unspecified.drop("_cand_scope", "_cand_group")], how="diagonal_relaxed")
    ckeys = ["_person", "_scope", "_cluster_group"]
    specificity = pl.when(~pl.col("non_specific")).then(2).when(pl.col("_group") == 17).then(0).otherwise(1)
    chosen = (
        clustered.with_columns(specificity.alias("_spec"))
        .sort("_spec", "_hist", "_beh", descending=True)
        .group_by(ckeys)
        .agg(
            pl.format("{}/{}", pl.col("_hist").first(), pl.col("_beh").first()).alias("_chosen"),
        )
    )
    kept = clustered.sort("_order").group_by(ckeys).agg(pl.col("_tumour").first().alias("_primary"))
    statuses = (
        clustered.join(chosen, on=ckeys)
        .join(kept, on=ckeys)
        .select(
            "_row",
            pl.when(pl.col("_tumour") == pl.col("_primary"))
            .then(pl.lit("primary"))
            .otherwise(pl.lit("duplicate"))
            .alias("status"),
            pl.col("_primary").alias("primary_tumour_id"),
            pl.when(pl.col("_tumour") == pl.col("_primary")).then(pl.col("_chosen")).alias("_chosen"),
        )
    )
    return (
        frame.join(statuses, on="_row", how="left")
        .sort("_row")
        .select(
            pl.col("_tumour").alias("tumour_id"),
            pl.col("status").fill_null("insitu"),
            "primary_tumour_id",
            pl.coalesce("_chosen", pl.format("{}/{}", pl.col("_hist"), pl.col("_beh"))).alias("morphology"),
        )
    )
