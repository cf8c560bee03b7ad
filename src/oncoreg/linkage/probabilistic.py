"""Probabilistic linkage with Splink on DuckDB: score notification–person pairs and cluster notifications.

Method: candidate pairs come from the model's blocking rules (birth date; last-name prefix and birth year;
first and last name; identifier head or tail), each pair is scored with the trained Fellegi–Sunter model
(:mod:`oncoreg.linkage.model`), and pairs under ``floor`` are dropped. Notifications that no person claims
are clustered among themselves by connected components over pairs at or above the match threshold (Splink's
``cluster_pairwise_predictions_at_threshold``). Records with identical comparison columns are scored once
and their results shared (a notification's records repeat: the same person reported by many sources).
Persons no blocking rule can pair with any of the notifications are left out before DuckDB sees them
(:func:`blockable`: same pairs, same scores, far less memory when a few notifications meet a whole country).
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from oncoreg.linkage.model import LinkageModel, quiet_splink, splink_linker

SCORES = {"notification_uid": pl.String, "person_uid": pl.String, "match_probability": pl.Float64}
CLUSTERS = {"unique_id": pl.String, "cluster_id": pl.String}


def _to_polars(splink_frame: Any) -> pl.DataFrame:
    table = splink_frame.as_duckdbpyrelation().to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _distinct_records(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Identical records (all comparison columns equal) score identically: ``(distinct, members)`` with one
    record per distinct content (``unique_id`` = its first member) and ``unique_id, member_id``."""
    columns = [c for c in records.columns if c != "unique_id"]
    keyed = records.with_columns(pl.struct(columns).rank("dense").alias("_content"))
    first = keyed.group_by("_content").agg(pl.col("unique_id").first().alias("_representative"))
    keyed = keyed.join(first, on="_content", how="left", maintain_order="left")
    distinct = keyed.filter(pl.col("unique_id") == pl.col("_representative")).select(records.columns)
    members = keyed.select(
        pl.col("_representative").alias("unique_id"), pl.col("unique_id").alias("member_id")
    )
    return distinct, members


_EQUALITY = re.compile(r"^\(?\s*l\.(\w+)\s*=\s*r\.(\w+)\s*\)?$")


def _rule_columns(rule: str) -> list[tuple[str, str]] | None:
    """``[(left column, right column), ...]`` of a blocking rule made only of ``l.a = r.b`` terms joined by
    AND; None for any other rule."""
    pairs = []
    for term in re.split(r"\s+AND\s+", rule.strip(), flags=re.IGNORECASE):
        match = _EQUALITY.match(term.strip())
        if match is None:
            return None
        pairs.append((match.group(1), match.group(2)))
    return pairs


def blockable(records: pl.DataFrame, others: pl.DataFrame, *, rules: list[str]) -> pl.DataFrame:
    """The rows of ``records`` that at least one blocking rule can pair with a row of ``others``.

    A rule of equalities pairs two records only when every column it names is non-null on both sides and
    equal, so a record whose keys no record of ``others`` shares is in no blocked pair: dropping it changes
    no pair and no score (no term-frequency adjustment is used; the prior is set by the caller). Both
    orientations of each rule are tried (``l`` and ``r`` may be either table), which can only keep more. A
    rule of any other form keeps every record.
    """
    if records.height == 0:
        return records
    keep = pl.Series("_keep", [False] * records.height)
    for rule in rules:
        pairs = _rule_columns(rule)
        if pairs is None:
            return records
        lefts, rights = [a for a, _ in pairs], [b for _, b in pairs]
        for mine, theirs in ((lefts, rights), (rights, lefts)):
            keys = (
                others.select([pl.col(c).alias(f"_k{i}") for i, c in enumerate(theirs)]).drop_nulls().unique()
            )
            if keys.height == 0:
                continue
            hit = (
                records.select([pl.col(c).alias(f"_k{i}") for i, c in enumerate(mine)])
                .with_row_index("_row")
                .join(keys, on=list(keys.columns), how="semi")["_row"]
            )
            keep = keep.scatter(hit, True)
    return records.filter(keep)


def score_pairs(
    *,
    person_records: pl.DataFrame,
    notification_records: pl.DataFrame,
    model: LinkageModel,
    floor: float,
) -> pl.DataFrame:
    """``notification_uid, person_uid, match_probability`` for blocked pairs scoring at least ``floor``.

    The prior is 1 / number of persons (each notification belongs to at most one of them). Notifications
    with identical comparison records are scored once (same pairs and scores as scoring each).
    """
    if person_records.height == 0 or notification_records.height == 0:
        return pl.DataFrame(schema=SCORES)
    distinct, members = _distinct_records(notification_records)
    settings = model.with_prior(prior=1.0 / person_records.height, link_type="link_only")
    # only persons some blocking rule can pair with a notification go to DuckDB (the prior above counts all)
    person_records = blockable(
        person_records, distinct, rules=settings["blocking_rules_to_generate_predictions"]
    )
    if person_records.height == 0:
        return pl.DataFrame(schema=SCORES)
    with quiet_splink():
        linker = splink_linker(settings, persons=person_records, notifications=distinct)
        predictions = _to_polars(linker.inference.predict(threshold_match_probability=floor))
    if predictions.height == 0:
        return pl.DataFrame(schema=SCORES)
    left_is_person = pl.col("source_dataset_l") == "persons"
    scored = predictions.select(
        pl.when(left_is_person)
        .then(pl.col("unique_id_r"))
        .otherwise(pl.col("unique_id_l"))
        .cast(pl.String)
        .alias("unique_id"),
        pl.when(left_is_person)
        .then(pl.col("unique_id_l"))
        .otherwise(pl.col("unique_id_r"))
        .cast(pl.String)
        .alias("person_uid"),
        pl.col("match_probability").cast(pl.Float64),
    )
    return (
        scored.join(members, on="unique_id", how="inner")
        .select(pl.col("member_id").alias("notification_uid"), "person_uid", "match_probability")
        .sort("notification_uid", "person_uid")
    )


def _self_matches(*, distinct: pl.DataFrame, settings: dict[str, Any], threshold: float) -> pl.Series:
    """``unique_id`` of the records whose copies would pair with each other at ``threshold``: a blocking
    rule holds (all its columns non-null) and two identical records score at least the threshold."""
    if distinct.height == 0:
        return pl.Series("unique_id", [], dtype=pl.String)
    rules = " OR ".join(f"({rule})" for rule in settings["blocking_rules_to_generate_predictions"])
    own = {
        **settings,
        "link_type": "link_only",
        "blocking_rules_to_generate_predictions": [f"l.unique_id = r.unique_id AND ({rules})"],
    }
    with quiet_splink():
        linker = splink_linker(own, copies_a=distinct, copies_b=distinct)
        predictions = _to_polars(linker.inference.predict(threshold_match_probability=threshold))
    if predictions.height == 0:
        return pl.Series("unique_id", [], dtype=pl.String)
    return predictions["unique_id_l"].cast(pl.String).unique()


def cluster_records(
    *, records: pl.DataFrame, model: LinkageModel, threshold: float, prior: float
) -> pl.DataFrame:
    """``unique_id, cluster_id`` for every record: connected components of pairs at or above ``threshold``.

    ``cluster_id`` identifies the cluster (the smallest ``unique_id`` of the distinct records of its
    component, Splink's convention). Identical records are compared once: they share the component of
    their content, and a content with no partner is one cluster when two copies would pair with each
    other (:func:`_self_matches`), else one cluster per copy.
    """
    if records.height == 0:
        return pl.DataFrame(schema=CLUSTERS)
    if records.height == 1:
        return records.select("unique_id", pl.col("unique_id").alias("cluster_id"))
    distinct, members = _distinct_records(records)
    settings = model.with_prior(prior=prior, link_type="dedupe_only")
    if distinct.height > 1:
        with quiet_splink():
            linker = splink_linker(settings, unlinked=distinct)
            predictions = linker.inference.predict(threshold_match_probability=threshold)
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            )
            frame = _to_polars(clusters).select(
                pl.col("unique_id").cast(pl.String), pl.col("cluster_id").cast(pl.String)
            )
    else:
        frame = distinct.select("unique_id", pl.col("unique_id").alias("cluster_id"))
    sizes = frame.group_by("cluster_id").agg(pl.len().alias("_size"))
    copies = members.group_by("unique_id").agg(pl.len().alias("_copies"))
    alone = (
        frame.join(sizes, on="cluster_id")
        .join(copies, on="unique_id")
        .filter((pl.col("_size") == 1) & (pl.col("_copies") > 1))["unique_id"]
    )
    paired = _self_matches(
        distinct=distinct.filter(pl.col("unique_id").is_in(alone.implode())),
        settings=settings,
        threshold=threshold,
    )
    split = alone.filter(~alone.is_in(paired.implode()))
    out = members.join(frame, on="unique_id", how="left").with_columns(
        pl.when(pl.col("unique_id").is_in(split.implode()))
        .then(pl.col("member_id"))
        .otherwise(pl.col("cluster_id"))
        .alias("cluster_id")
    )
    return out.select(pl.col("member_id").alias("unique_id"), "cluster_id").sort("unique_id")
