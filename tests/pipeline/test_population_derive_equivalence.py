"""``population.residence_periods`` takes the next event of the same person from its sorted neighbour and
``derive.identifier_columns`` drops repeats with ``is_first_distinct``: both must give what the former
window expressions gave (written out below) on frames with nulls, repeats and shared dates; and
``identifier_columns`` gives the same when part of the values come classified already."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from oncoreg.pipeline import derive, population
from oncoreg.registry.identifiers import classify_identifier_frame, generate_identifiers

KINDS = ["birth", "immigration", "move", "death", "emigration", "name_change"]


def _events(seed: int, n: int = 600) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    persons = [None, *range(1, 40)]  # a null person too: its events form one group, as in the window
    return pl.DataFrame(
        {
            "person_id": [persons[i] for i in rng.integers(0, len(persons), n)],
            "event_kind": [KINDS[i] for i in rng.integers(0, len(KINDS), n)],
            "event_date": [
                None if i == 0 else date(2000, 1, 1) + timedelta(days=int(i)) for i in rng.integers(0, 30, n)
            ],
            "notification_id": rng.permutation(n),
            "given_municipality": [None if i == 0 else f"03{i:02d}" for i in rng.integers(0, 5, n)],
        },
        schema_overrides={"person_id": pl.Int64},
    )


def _former_residence_periods(events: pl.DataFrame) -> pl.DataFrame:
    kind = pl.col("event_kind")
    relevant = events.filter(
        (kind.is_in(population.OPENS_RESIDENCE) & pl.col("given_municipality").is_not_null())
        | kind.is_in(population.ENDS_RESIDENCE)
    ).sort("person_id", "event_date", "notification_id", nulls_last=False)
    periods = relevant.with_columns(
        pl.col("event_date").shift(-1).over("person_id").alias("valid_to")
    ).filter(kind.is_in(population.OPENS_RESIDENCE))
    return periods.select(
        "person_id",
        pl.col("given_municipality").alias("municipality"),
        pl.col("given_municipality").str.slice(0, 2).alias("county"),
        pl.col("event_date").alias("valid_from"),
        "valid_to",
    ).cast(population.RESIDENCE)


@pytest.mark.parametrize("seed", range(5))
def test_residence_periods_as_the_window_gave_them(seed: int) -> None:
    events = _events(seed)
    periods = population.residence_periods(events)
    assert periods.equals(_former_residence_periods(events))
    assert periods["valid_to"].null_count() > 0  # a person's last period stays open
    assert periods["valid_to"].drop_nulls().len() > 0


def test_a_period_does_not_end_at_the_next_persons_event() -> None:
    events = pl.DataFrame(
        {
            "person_id": [1, 2],
            "event_kind": ["birth", "move"],
            "event_date": [date(2000, 1, 1), date(2001, 1, 1)],
            "notification_id": [1, 2],
            "given_municipality": ["0301", "1103"],
        }
    )
    assert population.residence_periods(events)["valid_to"].to_list() == [None, None]


def _former_identifier_columns(frame: pl.DataFrame, *, taken: pl.Series) -> pl.DataFrame:
    from oncoreg.registry.identifiers import classify_identifier_frame

    classified = classify_identifier_frame(frame["identifier"], as_of=date.today()).filter(
        pl.col("identifier_valid")
    )
    valid = classified.select("given_identifier", "identifier")
    kept = (
        frame.sort("person_id")
        .join(valid, left_on="identifier", right_on="given_identifier", how="left", maintain_order="left")
        .with_columns(pl.col("identifier_right").alias("identifier"))
        .drop("identifier_right")
    )
    kept = kept.with_columns(
        pl.when(
            pl.col("identifier").is_in(taken.implode())
            | pl.col("identifier").is_duplicated() & (pl.int_range(pl.len()).over("identifier") > 0)
        )
        .then(None)
        .otherwise(pl.col("identifier"))
        .alias("identifier")
    )
    kinds = classified.select(pl.col("identifier"), "identifier_type", "identifier_scheme").unique(
        "identifier", keep="first"
    )
    return (
        kept.drop("identifier_type", "identifier_scheme", strict=False)
        .join(kinds, on="identifier", how="left", maintain_order="left")
        .with_columns(pl.col("identifier_type").fill_null("none"))
    )


@pytest.mark.parametrize("seed", range(3))
def test_identifier_columns_as_the_window_gave_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    births = np.datetime64("1950-01-01") + rng.integers(0, 20000, 30).astype("timedelta64[D]")
    numbers = generate_identifiers(birth_dates=births, sexes=rng.integers(1, 3, 30), rng=rng)
    pool = [*numbers, "123", "abc", numbers[0][:6] + " " + numbers[0][6:], None]
    frame = pl.DataFrame(
        {
            "person_id": rng.permutation(200),
            "identifier": [pool[i] for i in rng.integers(0, len(pool), 200)],  # many repeats
        }
    )
    taken = pl.Series(numbers[:3])
    got = derive.identifier_columns(frame, taken=taken)
    assert got.equals(_former_identifier_columns(frame, taken=taken))
    # values classified already (as the run hands over the register's) give the same columns
    known = classify_identifier_frame(pl.Series(pool[::2], dtype=pl.String)).select(derive.CLASSIFICATION)
    assert known.height > 10
    assert derive.identifier_columns(frame, taken=taken, known=known).equals(got)
    kept = got["identifier"].drop_nulls()
    assert kept.len() > 0
    assert kept.is_unique().all()
    assert not kept.is_in(taken.implode()).any()
