"""Probabilistic linkage with Splink on DuckDB: score notification–person pairs and cluster notifications.

Method: candidate pairs come from the model's blocking rules (birth date; last-name prefix and birth year;
first and last name; identifier head or tail), each pair is scored with the trained Fellegi–Sunter model
(:mod:`oncoreg.linkage.model`), and pairs under ``floor`` are dropped. Notifications that no person claims
are clustered among themselves by connected components over pairs at or above the match threshold (Splink's
``cluster_pairwise_predictions_at_threshold``).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from oncoreg.linkage.model import LinkageModel, duckdb_api, quiet_splink

SCORES = {"notification_uid": pl.String, "person_uid": pl.String, "match_probability": pl.Float64}
CLUSTERS = {"unique_id": pl.String, "cluster_id": pl.String}


def _to_polars(splink_frame: Any) -> pl.DataFrame:
    table = splink_frame.as_duckdbpyrelation().to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def score_pairs(
    *,
    person_records: pl.DataFrame,
    notification_records: pl.DataFrame,
    model: LinkageModel,
    floor: float,
) -> pl.DataFrame:
    """``notification_uid, person_uid, match_probability`` for blocked pairs scoring at least ``floor``.

    The prior is 1 / number of persons (each notification belongs to at most one of them).
    """
    from splink import Linker

    if person_records.height == 0 or notification_records.height == 0:
        return pl.DataFrame(schema=SCORES)
    settings = model.with_prior(prior=1.0 / person_records.height, link_type="link_only")
    api = duckdb_api()
    with quiet_splink():
        tables = [
            api.register(person_records.to_arrow(), dataset_display_name="persons"),
            api.register(notification_records.to_arrow(), dataset_display_name="notifications"),
        ]
        linker = Linker(tables, settings, log_level=None)
        predictions = _to_polars(linker.inference.predict(threshold_match_probability=floor))
    if predictions.height == 0:
        return pl.DataFrame(schema=SCORES)
    left_is_person = pl.col("source_dataset_l") == "persons"
    return predictions.select(
        pl.when(left_is_person)
        .then(pl.col("unique_id_r"))
        .otherwise(pl.col("unique_id_l"))
        .alias("notification_uid"),
        pl.when(left_is_person)
        .then(pl.col("unique_id_l"))
        .otherwise(pl.col("unique_id_r"))
        .alias("person_uid"),
        pl.col("match_probability").cast(pl.Float64),
    ).sort("notification_uid", "person_uid")


def cluster_records(
    *, records: pl.DataFrame, model: LinkageModel, threshold: float, prior: float
) -> pl.DataFrame:
    """``unique_id, cluster_id`` for every record: connected components of pairs at or above ``threshold``.

    ``cluster_id`` is the smallest ``unique_id`` of the cluster (Splink's convention), so it is stable.
    """
    from splink import Linker

    if records.height == 0:
        return pl.DataFrame(schema=CLUSTERS)
    if records.height == 1:
        return records.select("unique_id", pl.col("unique_id").alias("cluster_id"))
    settings = model.with_prior(prior=prior, link_type="dedupe_only")
    api = duckdb_api()
    with quiet_splink():
        table = api.register(records.to_arrow(), dataset_display_name="unlinked")
        linker = Linker(table, settings, log_level=None)
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        frame = _to_polars(clusters)
    return frame.select(pl.col("unique_id").cast(pl.String), pl.col("cluster_id").cast(pl.String)).sort(
        "unique_id"
    )
