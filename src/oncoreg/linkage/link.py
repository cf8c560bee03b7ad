"""Person linkage of a batch of notifications: deterministic first, then probabilistic, then clustering.

Method (DESIGN §2, the issue's rules):

1. Population-register events link by identifier; an identifier the persons do not know yet creates a
   person (not provisional: the register is the authority) and joins the known identifiers of the batch.
2. Other notifications with a valid identifier held by exactly one known person (fnr/dnr, or an H-number
   remembered from earlier linkage) link deterministically unless a contradiction rule fires
   (:mod:`oncoreg.linkage.deterministic`); a contradiction becomes a review task.
3. The rest (no identifier, wrong check digits, unknown H-number or identifier) are scored against all
   persons with the Splink model (:mod:`oncoreg.linkage.probabilistic`). The best candidate at or above
   ``linkage_match_threshold`` links when no second candidate reaches ``linkage_review_threshold``;
   a best candidate between the two thresholds, or a second strong candidate, makes a review task with
   the candidates and their probabilities; otherwise the notification is unclaimed.
4. Unclaimed notifications carrying an H-number that another notification of the batch linked take that
   person; the others are clustered among themselves into provisional persons.

Every notification ends in exactly one of ``links`` and ``review``. Persons created here carry negative
provisional ``person_id`` values (-1, -2, ...) that ``links`` refers to; the orchestrator replaces them by
the store's ids when it creates the persons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from oncoreg.config import Settings, get_settings
from oncoreg.errors import Problem, ValidationFailed
from oncoreg.linkage.deterministic import classify_identifiers, contradictions
from oncoreg.linkage.model import LinkageModel, train_model, training_sample_limits
from oncoreg.linkage.probabilistic import cluster_records, score_pairs
from oncoreg.linkage.records import comparison_records

PERSON_COLUMNS = (
    "person_id",
    "identifier",
    "identifier_type",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "municipality",
)
NOTIFICATION_COLUMNS = (
    "notification_id",
    "source_type",
    "event_date",
    "given_identifier",
    "given_first_name",
    "given_last_name",
    "given_birth_date",
    "given_sex",
    "given_municipality",
)
REGISTER = "population_register"

LINKS = pl.Schema(
    {
        "notification_id": pl.Int64,
        "person_id": pl.Int64,
        "method": pl.String,
        "match_probability": pl.Float64,
    }
)
REVIEW = pl.Schema(
    {"notification_id": pl.Int64, "kind": pl.String, "reason": pl.String, "candidates": pl.String}
)
NEW_PERSONS = pl.Schema(
    {
        "person_id": pl.Int64,
        "identifier": pl.String,
        "identifier_type": pl.String,
        "first_name": pl.String,
        "last_name": pl.String,
        "birth_date": pl.Date,
        "sex": pl.Int8,
        "municipality": pl.String,
        "provisional": pl.Boolean,
    }
)
IDENTIFIERS = pl.Schema(
    {
        "person_id": pl.Int64,
        "identifier": pl.String,
        "identifier_type": pl.String,
        "notification_id": pl.Int64,
    }
)


@dataclass(frozen=True)
class LinkageResult:
    """What linkage decided for a batch.

    ``links``: notification_id, person_id, method (deterministic | probabilistic | new), match_probability.
    ``review``: notification_id, kind ("linkage"), reason, candidates (JSON list of person_id and
    match_probability). ``new_persons``: persons to create (negative provisional ids). ``identifiers``:
    H-numbers learned in this batch (person_id, identifier, identifier_type, notification_id).
    """

    links: pl.DataFrame
    review: pl.DataFrame
    new_persons: pl.DataFrame
    identifiers: pl.DataFrame


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    problems = [
        Problem(field=column, value="", rule="linkage.columns", text=f"{name} frame lacks this column")
        for column in columns
        if column not in frame.columns
    ]
    if problems:
        raise ValidationFailed(problems)


def _prepare(notifications: pl.DataFrame, *, as_of: date | None) -> pl.DataFrame:
    classified = classify_identifiers(notifications["given_identifier"].cast(pl.String), as_of=as_of)
    return (
        notifications.select(*NOTIFICATION_COLUMNS)
        .with_columns(pl.col("given_identifier").cast(pl.String), pl.col("given_birth_date").cast(pl.Date))
        .join(classified, on="given_identifier", how="left", maintain_order="left")
        .with_columns(pl.col("identifier_valid").fill_null(False))
    )


def _person_table(persons: pl.DataFrame) -> pl.DataFrame:
    """One row per person, preferring the fnr/dnr row over H-number aliases."""
    return (
        persons.select(*PERSON_COLUMNS)
        .with_columns(pl.col("birth_date").cast(pl.Date), pl.col("sex").cast(pl.Int8))
        .sort("person_id", pl.col("identifier_type") == "hnr", "identifier", nulls_last=True)
        .unique("person_id", keep="first", maintain_order=True)
    )


def _known_identifiers(persons: pl.DataFrame) -> pl.DataFrame:
    """``identifier, person_id`` for identifiers held by exactly one person."""
    held = (
        persons.select(
            pl.col("identifier").cast(pl.String).str.replace_all(r"[^0-9]", ""), pl.col("person_id")
        )
        .drop_nulls()
        .unique()
    )
    return held.filter(pl.len().over("identifier") == 1)


def _person_records(persons: pl.DataFrame) -> pl.DataFrame:
    return comparison_records(
        persons,
        unique_id=pl.col("person_id"),
        first_name="first_name",
        last_name="last_name",
        birth_date="birth_date",
        sex="sex",
        municipality="municipality",
        identifier=pl.when(pl.col("identifier_type") != "hnr").then(pl.col("identifier")),
    )


def _notification_records(notifications: pl.DataFrame) -> pl.DataFrame:
    return comparison_records(
        notifications,
        unique_id=pl.col("notification_id"),
        first_name="given_first_name",
        last_name="given_last_name",
        birth_date="given_birth_date",
        sex="given_sex",
        municipality="given_municipality",
        identifier=pl.when(pl.col("identifier_type") != "hnr").then(pl.col("identifier")),
    )


def train_linkage_model(
    *,
    notifications: pl.DataFrame,
    persons: pl.DataFrame,
    seed: int = 20240101,
    max_pairs: float = 2e6,
    sample: int = 50_000,
    max_persons: int | None = None,
) -> LinkageModel:
    """Train the linkage model on persons and (a seeded sample of at most ``sample``) notifications.

    With more persons than ``max_persons`` (default: the definition's ``training_sample``) training is
    bounded, O(1) in the country's size (:mod:`oncoreg.linkage.model`)."""
    _require(notifications, NOTIFICATION_COLUMNS, "notifications")
    _require(persons, PERSON_COLUMNS, "persons")
    prepared = _prepare(notifications.filter(pl.col("source_type") != REGISTER), as_of=None)
    limit = max_persons if max_persons is not None else training_sample_limits()[0]
    person_records = _person_records(_person_table(persons))
    if person_records.height > limit:
        return train_model(
            person_records=person_records,
            notification_records=_notification_records(prepared),
            seed=seed,
            max_pairs=max_pairs,
            max_persons=limit,
            max_notifications=sample,
        )
    if prepared.height > sample:
        prepared = prepared.sample(sample, seed=seed).sort("notification_id")
    return train_model(
        person_records=person_records,
        notification_records=_notification_records(prepared),
        seed=seed,
        max_pairs=max_pairs,
    )


def _mode(column: str) -> pl.Expr:
    return pl.col(column).drop_nulls().mode().sort().first().alias(column)


def _register_persons(register: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """New persons from register events whose valid identifier nobody holds (latest event's values)."""
    fresh = register.filter(pl.col("identifier_valid")).join(known, on="identifier", how="anti")
    latest = fresh.sort("identifier", "event_date", "notification_id", nulls_last=False).unique(
        "identifier", keep="last", maintain_order=True
    )
    return latest.select(
        pl.lit(None, pl.Int64).alias("person_id"),
        "identifier",
        "identifier_type",
        pl.col("given_first_name").alias("first_name"),
        pl.col("given_last_name").alias("last_name"),
        pl.col("given_birth_date").alias("birth_date"),
        pl.col("given_sex").cast(pl.Int8).alias("sex"),
        pl.col("given_municipality").cast(pl.String).alias("municipality"),
        pl.lit(False).alias("provisional"),
    )


def _candidates_json(scores: pl.DataFrame) -> pl.DataFrame:
    """``notification_id, candidates``: a JSON list per notification, best first."""
    return (
        scores.sort("notification_id", "match_probability", "person_id", descending=[False, True, False])
        .group_by("notification_id", maintain_order=True)
        .agg(
            pl.struct(pl.col("person_id"), pl.col("match_probability").round(6))
            .struct.json_encode()
            .str.join(",")
            .alias("candidates")
        )
        .with_columns(pl.format("[{}]", pl.col("candidates")).alias("candidates"))
    )


def link_notifications(
    *,
    notifications: pl.DataFrame,
    persons: pl.DataFrame,
    settings: Settings | None = None,
    model: LinkageModel | None = None,
    as_of: date | None = None,
) -> LinkageResult:
    """Link a batch of notifications to persons (see module docstring for the method).

    ``persons`` may hold several rows per person (one per known identifier, e.g. H-number aliases).
    Without ``model`` one is trained on this batch (seeded, so the result is still deterministic).
    ``as_of`` selects the identifier check-digit schemes in effect (default today).
    """
    _require(notifications, NOTIFICATION_COLUMNS, "notifications")
    _require(persons, PERSON_COLUMNS, "persons")
    duplicated = notifications.filter(pl.col("notification_id").is_duplicated())["notification_id"]
    if duplicated.len():
        raise ValidationFailed(
            [Problem("notification_id", str(duplicated[0]), "linkage.unique", "appears more than once")]
        )
    config = settings or get_settings()
    model = model or train_linkage_model(notifications=notifications, persons=persons)
    batch = _prepare(notifications, as_of=as_of)
    person_table = _person_table(persons)
    known = _known_identifiers(persons)

    # 1. population-register events
    register = batch.filter(pl.col("source_type") == REGISTER)
    created = _register_persons(register, known).with_columns(
        (-pl.int_range(1, pl.len() + 1, dtype=pl.Int64)).alias("person_id")
    )
    known = pl.concat([known, created.select("identifier", "person_id")])
    candidates = pl.concat([person_table, created.select(*PERSON_COLUMNS)], how="vertical_relaxed")

    # 2. deterministic: a valid identifier that one known person holds
    matched = batch.filter(pl.col("identifier_valid")).join(known, on="identifier", how="inner")
    checked = contradictions(
        matched.join(
            candidates.select("person_id", "first_name", "last_name", "birth_date", "sex"),
            on="person_id",
            how="left",
        )
    )
    checked = checked.with_columns(
        pl.when(pl.col("source_type") == REGISTER)
        .then(None)
        .otherwise(pl.col("contradiction"))
        .alias("contradiction")
    )
    deterministic = checked.filter(pl.col("contradiction").is_null()).select(
        "notification_id",
        "person_id",
        pl.lit("deterministic").alias("method"),
        pl.lit(1.0).alias("match_probability"),
    )
    contradicted = checked.filter(pl.col("contradiction").is_not_null()).select(
        "notification_id",
        pl.lit("linkage").alias("kind"),
        pl.format("identifier contradicted by name and birth date [{}]", "contradiction").alias("reason"),
        pl.format('[{{"person_id":{},"match_probability":null}}]', "person_id").alias("candidates"),
    )

    # 3. probabilistic
    rest = batch.join(matched.select("notification_id"), on="notification_id", how="anti")
    scores = score_pairs(
        person_records=_person_records(candidates),
        notification_records=_notification_records(rest),
        model=model,
        floor=config.linkage_review_threshold,
    ).select(
        pl.col("notification_uid").cast(pl.Int64).alias("notification_id"),
        pl.col("person_uid").cast(pl.Int64).alias("person_id"),
        "match_probability",
    )
    ranked = scores.sort(
        "notification_id", "match_probability", "person_id", descending=[False, True, False]
    ).with_columns(pl.int_range(pl.len()).over("notification_id").alias("rank"))
    summary = ranked.group_by("notification_id").agg(
        pl.col("person_id").filter(pl.col("rank") == 0).first().alias("person_id"),
        pl.col("match_probability").filter(pl.col("rank") == 0).first().alias("best"),
        pl.col("match_probability").filter(pl.col("rank") == 1).first().fill_null(0.0).alias("second"),
    )
    accepted = (pl.col("best") >= config.linkage_match_threshold) & (
        pl.col("second") < config.linkage_review_threshold
    )
    probabilistic = summary.filter(accepted).select(
        "notification_id",
        "person_id",
        pl.lit("probabilistic").alias("method"),
        pl.col("best").alias("match_probability"),
    )
    uncertain = (
        summary.filter(~accepted)
        .select(
            "notification_id",
            pl.lit("linkage").alias("kind"),
            pl.when(pl.col("second") >= config.linkage_review_threshold)
            .then(pl.lit("several candidate persons above the review threshold"))
            .otherwise(pl.lit("best candidate between the review and match thresholds"))
            .alias("reason"),
        )
        .join(_candidates_json(scores), on="notification_id", how="left")
    )

    # 4. H-numbers learned in the batch, then clustering of the unclaimed
    linked = pl.concat([deterministic, probabilistic])
    learned = (
        linked.join(batch.select("notification_id", "identifier", "identifier_type"), on="notification_id")
        .filter(pl.col("identifier_type") == "hnr")
        .join(known, on="identifier", how="anti")
        .sort("notification_id")
        .filter(pl.col("person_id").n_unique().over("identifier") == 1)
        .unique("identifier", keep="first", maintain_order=True)
        .select("person_id", "identifier", "identifier_type", "notification_id")
    )
    unclaimed = rest.join(summary.select("notification_id"), on="notification_id", how="anti")
    by_hnr = unclaimed.join(learned.select("identifier", "person_id"), on="identifier", how="inner").select(
        "notification_id",
        "person_id",
        pl.lit("deterministic").alias("method"),
        pl.lit(1.0).alias("match_probability"),
    )
    unclaimed = unclaimed.join(by_hnr.select("notification_id"), on="notification_id", how="anti")
    clusters = cluster_records(
        records=_notification_records(unclaimed),
        model=model,
        threshold=config.linkage_match_threshold,
        prior=1.0 / max(candidates.height, 1),
    ).select(
        pl.col("unique_id").cast(pl.Int64).alias("notification_id"),
        pl.col("cluster_id").cast(pl.Int64).alias("cluster_id"),
    )
    members = unclaimed.join(clusters, on="notification_id", how="left")
    order = (
        members.group_by("cluster_id")
        .agg(pl.col("notification_id").min().alias("first"))
        .sort("first")
        .with_columns((-pl.int_range(1, pl.len() + 1, dtype=pl.Int64) - created.height).alias("person_id"))
    )
    members = members.join(order.select("cluster_id", "person_id"), on="cluster_id", how="left")
    provisional = (
        members.with_columns(
            pl.when(pl.col("identifier_valid") & (pl.col("identifier_type") != "hnr"))
            .then(pl.col("identifier"))
            .alias("valid_identifier")
        )
        .group_by("person_id")
        .agg(
            _mode("valid_identifier").alias("identifier"),
            pl.col("given_first_name").drop_nulls().mode().sort().first().alias("first_name"),
            pl.col("given_last_name").drop_nulls().mode().sort().first().alias("last_name"),
            pl.col("given_birth_date").drop_nulls().mode().sort().first().alias("birth_date"),
            pl.col("given_sex").drop_nulls().mode().sort().first().cast(pl.Int8).alias("sex"),
            pl.col("given_municipality")
            .drop_nulls()
            .mode()
            .sort()
            .first()
            .cast(pl.String)
            .alias("municipality"),
        )
        .join(
            classify_identifiers(pl.Series(members["identifier"]), as_of=as_of).select(
                pl.col("given_identifier").alias("identifier"), "identifier_type"
            ),
            on="identifier",
            how="left",
        )
        .with_columns(pl.lit(True).alias("provisional"))
        .select(*NEW_PERSONS)
    )
    new_links = members.select(
        "notification_id",
        "person_id",
        pl.lit("new").alias("method"),
        pl.lit(None, pl.Float64).alias("match_probability"),
    )
    register_links = register.join(created.select("identifier", "person_id"), on="identifier").select(
        "notification_id",
        "person_id",
        pl.lit("new").alias("method"),
        pl.lit(None, pl.Float64).alias("match_probability"),
    )
    links = (
        pl.concat([deterministic, probabilistic, by_hnr, new_links], how="vertical_relaxed")
        .join(register_links.select("notification_id"), on="notification_id", how="anti")
        .vstack(register_links)
        .cast(LINKS)
        .sort("notification_id")
    )
    return LinkageResult(
        links=links,
        review=pl.concat([contradicted, uncertain], how="vertical_relaxed")
        .cast(REVIEW)
        .sort("notification_id"),
        new_persons=pl.concat([created.select(*NEW_PERSONS), provisional], how="vertical_relaxed")
        .cast(NEW_PERSONS)
        .sort("person_id", descending=True),
        identifiers=learned.cast(IDENTIFIERS).sort("person_id"),
    )
