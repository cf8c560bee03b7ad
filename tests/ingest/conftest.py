"""Ingest fixtures: message files written by the simulator's writers from small, known frames."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from ingest_support import RATES, YEAR, synthetic_year

from oncoreg.registry import Registry
from oncoreg.simulate.messages import write_messages


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]]:
    """A directory of simulator-written messages (~600), the truth about them and the frames behind them."""
    frames = synthetic_year(n_persons=300, n_tumours=200, seed=4)
    out = tmp_path_factory.mktemp("ingest_sim")
    truth = write_messages(out_dir=out, year=YEAR, rng=np.random.default_rng(7), config=RATES, **frames)
    return out, truth, frames


@pytest.fixture
def message_dir(simulated: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]], tmp_path: Path) -> Path:
    """A private copy of the simulated messages (tests may add files to it)."""
    target = tmp_path / "in"
    shutil.copytree(simulated[0] / "messages", target / "messages")
    return target


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    store_ = Registry.create(database_url)
    try:
        yield store_
    finally:
        store_.dispose()
