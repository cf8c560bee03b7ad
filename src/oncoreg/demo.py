"""The main job on the embedded default, end to end, for a first look at oncoreg.

``run_demo`` simulates a small synthetic Norway, registers everything it sends through the pipeline
(ingest → link → consolidate → check) into the registry store, freezes a snapshot, computes the standard
statistics tables from it and compares the registry with the simulator's ground truth. The CLI verb
``oncoreg demo`` prints the results and then serves the web application on the same data.

Everything lives under the data directory of the settings (``ONCOREG_DATA_DIR``, default ``./oncoreg-data``):

- ``demo-country/``: the simulated country (``messages/`` and ``truth/``), reused when present;
- ``registry.sqlite``: the registry store (or the PostgreSQL database of ``ONCOREG_DATABASE_URL``);
- ``snapshots/<UTC time>/``: the frozen snapshot with its manifest;
- ``snapshots/<UTC time>.tables/``: its standard tables and quality indicators, computed by the statistics
  explorer's cache (so the web application starts warm), with survival from ``ratetable.csv``, the
  simulator's rate table copied into the data directory.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oncoreg.config import Settings
    from oncoreg.evaluate import Evaluation
    from oncoreg.pipeline.report import PipelineReport
    from oncoreg.registry import Registry

logger = logging.getLogger(__name__)

DEMO_USER = "demo"
#: The demo's country: small enough to run in a few minutes on a laptop, long enough for 5-year survival.
DEFAULT_SCALE = 0.005
DEFAULT_SEED = 2026
DEFAULT_START_YEAR = 2010
DEFAULT_END_YEAR = 2024


@dataclass
class DemoSummary:
    """What the demo produced and where."""

    data_dir: Path
    simulation_dir: Path
    store_url: str
    snapshot_dir: Path
    tables_dir: Path
    pipeline: PipelineReport
    evaluation: Evaluation
    store_counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


Step = Callable[[str], None]


def run_demo(
    *,
    settings: Settings,
    scale: float = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
    start_year: int = DEFAULT_START_YEAR,
    end_year: int = DEFAULT_END_YEAR,
    fresh: bool = False,
    step: Step | None = None,
) -> DemoSummary:
    """Simulate, register, freeze, tabulate and evaluate; see the module docstring.

    ``fresh`` deletes an earlier demo country, the SQLite store and the snapshots first (a PostgreSQL store
    is never deleted: the pipeline then runs incrementally on it). ``step`` is told the name of each stage.
    """
    import time

    from oncoreg.evaluate import evaluate_snapshot
    from oncoreg.pipeline import run_pipeline
    from oncoreg.registry import Registry
    from oncoreg.simulate.run import simulate
    from oncoreg.snapshot import freeze

    announce = step or (lambda _name: None)
    data_dir = settings.data_dir.resolve()
    simulation_dir = data_dir / "demo-country"
    if fresh:
        _clear(data_dir=data_dir, simulation_dir=simulation_dir, store_url=settings.store_url)
    data_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    if not (simulation_dir / "truth" / "messages.parquet").exists():
        announce(f"simulating a synthetic Norway at scale {scale} ({start_year}-{end_year})")
        simulate(out_dir=simulation_dir, scale=scale, seed=seed, start_year=start_year, end_year=end_year)
    seconds["simulate"] = time.perf_counter() - started

    announce("registering the messages: ingest, link, consolidate, check")
    started = time.perf_counter()
    registry = Registry.create(settings.store_url)
    try:
        report = run_pipeline(registry=registry, directory=simulation_dir, user=DEMO_USER, settings=settings)
        seconds["pipeline"] = time.perf_counter() - started

        announce("freezing a snapshot")
        started = time.perf_counter()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        snapshot_dir = data_dir / "snapshots" / stamp
        freeze(registry=registry, out_dir=snapshot_dir)
        seconds["snapshot"] = time.perf_counter() - started
        counts = registry.summary()
    finally:
        registry.dispose()

    announce("computing the standard statistics tables")
    started = time.perf_counter()
    tables_dir = _standard_tables(
        data_dir=data_dir, snapshot_dir=snapshot_dir, ratetable=simulation_dir / "truth" / "ratetable.csv"
    )
    seconds["tables"] = time.perf_counter() - started

    announce("comparing the registry with the simulator's truth")
    evaluation = evaluate_snapshot(simulation_dir=simulation_dir, snapshot_dir=snapshot_dir)
    return DemoSummary(
        data_dir=data_dir,
        simulation_dir=simulation_dir,
        store_url=settings.store_url,
        snapshot_dir=snapshot_dir,
        tables_dir=tables_dir,
        pipeline=report,
        evaluation=evaluation,
        store_counts=counts,
        seconds=seconds,
    )


def _standard_tables(*, data_dir: Path, snapshot_dir: Path, ratetable: Path) -> Path:
    """The snapshot's standard tables, computed and cached the way the statistics explorer reads them."""
    from oncoreg.web.explorer.snapshots import RATE_TABLE_FILE, TablesCache, cache_dir, list_snapshots

    shutil.copyfile(ratetable, data_dir / RATE_TABLE_FILE)
    info = next(found for found in list_snapshots(data_dir) if found.path.resolve() == snapshot_dir.resolve())
    TablesCache().tables(info, rate_table_path=data_dir / RATE_TABLE_FILE)
    return cache_dir(info)


def _clear(*, data_dir: Path, simulation_dir: Path, store_url: str) -> None:
    """Delete the demo's own files (never anything outside the data directory)."""
    for folder in (simulation_dir, data_dir / "snapshots"):
        if folder.exists():
            shutil.rmtree(folder)
    sqlite_file = data_dir / "registry.sqlite"
    if store_url == f"sqlite:///{sqlite_file}" and sqlite_file.exists():
        sqlite_file.unlink()


def demo_registry(settings: Settings) -> Registry:
    """The demo's store, migrated to the newest schema."""
    from oncoreg.registry import Registry

    return Registry.create(settings.store_url)
