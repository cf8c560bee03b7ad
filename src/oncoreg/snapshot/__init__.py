"""Snapshots: the registry, or its state as of a past time, frozen into Parquet tables with a manifest.

``freeze(registry=..., out_dir=..., as_of=...)`` writes a snapshot; ``load_snapshot(path)`` reads one back
(lazy Polars frames, checksums verified). Statistics read only snapshots (DESIGN §2, §7). Layout, schemas and
as-of semantics: ``docs/snapshot.md`` and :mod:`oncoreg.snapshot.schema`.
"""

from __future__ import annotations

from oncoreg.snapshot.freeze import freeze
from oncoreg.snapshot.manifest import Snapshot, SnapshotError, SnapshotManifest, TableEntry, load_snapshot

__all__ = ["Snapshot", "SnapshotError", "SnapshotManifest", "TableEntry", "freeze", "load_snapshot"]
