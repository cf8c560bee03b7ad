"""The statistics explorer and data-quality pages' library: snapshot discovery, cached standard tables,
selections answered as rows, CSV and Vega-Lite specs, and small-count suppression for researchers."""

from __future__ import annotations

from oncoreg.web.explorer.quality import QualityAnswer, quality_view
from oncoreg.web.explorer.query import Answer, Selection, choices, explore, suppress_small_counts
from oncoreg.web.explorer.snapshots import (
    SnapshotInfo,
    SnapshotTables,
    TablesCache,
    latest_snapshot,
    list_snapshots,
)

__all__ = [
    "Answer",
    "QualityAnswer",
    "Selection",
    "SnapshotInfo",
    "SnapshotTables",
    "TablesCache",
    "choices",
    "explore",
    "latest_snapshot",
    "list_snapshots",
    "quality_view",
    "suppress_small_counts",
]
