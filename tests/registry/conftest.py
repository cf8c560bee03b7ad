"""Registry fixtures: a migrated store on every backend with a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from oncoreg.registry import Registry


class StepClock:
    """A clock that advances one second per reading unless set; history timestamps become predictable."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> StepClock:
    return StepClock(datetime(2024, 1, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def registry(database_url: str, clock: StepClock) -> Iterator[Registry]:
    store = Registry.create(database_url, clock=clock)
    try:
        yield store
    finally:
        store.dispose()
