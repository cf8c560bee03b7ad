"""Keyed random streams: one independent generator per (stage, year) derived from the run's seed.

``np.random.SeedSequence(seed, spawn_key=(stage, year))`` gives streams that do not depend on the order in
which stages run, so adding a stage or a year never changes the draws of another (same seed, same bytes).
"""

from __future__ import annotations

import numpy as np

STAGES = {
    "population": 1,
    "identity": 2,
    "deaths": 3,
    "incidence": 4,
    "tumours": 5,
    "migration": 6,
    "moves": 7,
    "treatments": 8,
    "messages": 9,
    "screening": 10,
    "targets": 11,
}


def stream(*, seed: int, stage: str, year: int, part: int | None = None) -> np.random.Generator:
    """The generator of ``stage`` in calendar ``year`` for run ``seed`` (of its ``part``, when a stage runs
    in numbered parts, e.g. chunks of persons)."""
    key = (STAGES[stage], year) if part is None else (STAGES[stage], year, part)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def stochastic_round(values: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Round each value down or up with probability equal to its fractional part (unbiased integer counts)."""
    floor = np.floor(values)
    rounded: np.ndarray = (floor + (rng.random(values.shape) < values - floor)).astype(np.int64)
    return rounded
