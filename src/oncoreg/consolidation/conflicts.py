"""Conflicts beyond the best-information rules -> review tasks (DESIGN §6).

* ``topography_conflict``: notifications grouped into one tumour disagree at the 3-character level (e.g.
  C19 vs C20 in a Table-1 group); not for systemic tumours, whose site is ignored;
* ``subsite_conflict``: colon/skin notifications of one tumour name different 4th characters (a clinical
  subsite joined a pathology one);
* ``laterality_conflict``: left and right in one tumour (a clinical side joined a pathology one);
* ``behaviour_conflict``: pathology reports say /2 and /3 with different morphology codes (resolved as /3,
  but a registrar checks the morphology);
* ``unknown_primary``: a C80 tumour next to a known primary of a compatible histology group (DESIGN §6);
* ``date_contradiction``: a notification dated after the person's death (other than death certificates and
  autopsy) or before birth.
"""

from __future__ import annotations

import polars as pl

from oncoreg.consolidation.review import disagreement_tasks, tumour_tasks

__all__ = ["conflict_tasks"]


def _unknown_primary(rows: pl.DataFrame) -> pl.DataFrame:
    per_tumour = rows.unique("tumour_id", keep="first").select(
        "tumour_id", "person_id", "site_group", "hist_group", "non_specific", "covers"
    )
    unknown = per_tumour.filter(pl.col("site_group") == "C80")
    known = per_tumour.filter(pl.col("site_group") != "C80").rename(
        {c: f"{c}_k" for c in ("tumour_id", "site_group", "hist_group", "non_specific", "covers")}
    )
    compatible = (
        (pl.col("hist_group") == pl.col("hist_group_k"))
        | (pl.col("non_specific") & pl.col("covers").list.contains(pl.col("hist_group_k")))
        | (pl.col("non_specific_k") & pl.col("covers_k").list.contains(pl.col("hist_group")))
    )
    pairs = (
        unknown.join(known, on="person_id")
        .filter(compatible)
        .group_by("tumour_id")
        .agg(pl.col("tumour_id_k").sort().alias("known_tumours"))
        .sort("tumour_id")
    )
    return tumour_tasks(
        pairs,
        kind="unknown_primary",
        reason=pl.lit("C80 tumour next to a known primary of a compatible histology group"),
        details=["known_tumours"],
    )


def _dates(rows: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    dated = rows.join(persons.select("person_id", "birth_date", "death_date"), on="person_id", how="left")
    after_death = (pl.col("first_date") > pl.col("death_date")) & (
        pl.col("basis_subcode").fill_null("") != "7.3"
    )
    before_birth = pl.col("first_date") < pl.col("birth_date")
    bad = dated.filter(after_death.fill_null(False) | before_birth.fill_null(False)).sort("notification_id")
    return tumour_tasks(
        bad,
        kind="date_contradiction",
        reason=pl.format(
            "notification {} dated {} outside the person's life", "notification_id", "first_date"
        ),
        details=["notification_id", "first_date", "birth_date", "death_date"],
    )


def conflict_tasks(
    *, rows: pl.DataFrame, tumours: pl.DataFrame, notes: pl.DataFrame, persons: pl.DataFrame
) -> pl.DataFrame:
    """Every conflict task for the tumour-describing notification ``rows`` (with ``tumour_id``)."""
    del tumours, notes  # the checks need only the grouped rows today
    pathology = pl.col("source_type") == "pathology"
    behaviour = rows.filter(pathology & pl.col("behaviour").is_in([2, 3]))
    mixed = (
        behaviour.group_by("tumour_id")
        .agg(pl.col("behaviour").n_unique().alias("_nb"), pl.col("morphology").n_unique().alias("_nm"))
        .filter((pl.col("_nb") > 1) & (pl.col("_nm") > 1))
    )
    return pl.concat(
        [
            disagreement_tasks(
                rows.with_columns(pl.col("topography").str.slice(0, 3).alias("site")),
                column="site",
                kind="topography_conflict",
                where=pl.col("site_group") != "SYSTEMIC",
            ),
            disagreement_tasks(rows, column="subsite", kind="subsite_conflict"),
            disagreement_tasks(rows, column="side", kind="laterality_conflict"),
            disagreement_tasks(
                behaviour.filter(pl.col("tumour_id").is_in(mixed["tumour_id"].implode())),
                column="morphology",
                kind="behaviour_conflict",
            ),
            _unknown_primary(rows),
            _dates(rows, persons),
        ]
    )
