"""A small simulated country shared by the simulator tests (module-scoped: it takes a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncoreg.simulate.run import SimulationSummary, simulate

SMALL = {"scale": 0.005, "seed": 7, "start_year": 2021, "end_year": 2023}


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """Scale 0.005, 2021–2023, with messages when the message writers are installed."""
    return simulate(out_dir=tmp_path_factory.mktemp("sim"), **SMALL)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small_args() -> dict[str, float]:
    """The arguments of :func:`small_run`."""
    return dict(SMALL)


@pytest.fixture(scope="session")
def truth(small_run: SimulationSummary) -> Path:
    return small_run.out_dir / "truth"
