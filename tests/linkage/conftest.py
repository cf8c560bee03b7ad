"""Session fixtures of the linkage tests: the synthetic population, a model trained on it, the hand cases."""

from __future__ import annotations

import polars as pl
import pytest
from linkage_synthetic import DATA, Synthetic, synthetic_population

from oncoreg.linkage import LinkageModel, train_linkage_model


@pytest.fixture(scope="session")
def synthetic() -> Synthetic:
    return synthetic_population(seed=2024)


@pytest.fixture(scope="session")
def model(synthetic: Synthetic) -> LinkageModel:
    return train_linkage_model(notifications=synthetic.notifications, persons=synthetic.persons)


@pytest.fixture(scope="session")
def hand_persons() -> pl.DataFrame:
    return pl.read_csv(
        DATA / "hand_persons.csv", schema_overrides={"identifier": pl.String, "municipality": pl.String}
    ).with_columns(pl.col("birth_date").str.to_date(), pl.col("sex").cast(pl.Int8))


@pytest.fixture(scope="session")
def hand_notifications() -> pl.DataFrame:
    return pl.read_csv(
        DATA / "hand_notifications.csv",
        schema_overrides={"given_identifier": pl.String, "given_municipality": pl.String},
    ).with_columns(
        pl.col("event_date").str.to_date(),
        pl.col("given_birth_date").str.to_date(),
        pl.col("given_sex").cast(pl.Int8),
    )
