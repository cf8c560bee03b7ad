"""The snapshot manifest (``manifest.json``) and reading a snapshot back with its checksums verified.

The manifest records what a published number needs to be reproduced: the as-of time (and whether the
state came from the live tables or was reconstructed from history), when and by which oncoreg version the
snapshot was made, the store it came from (password removed), per table its file, row count and SHA-256,
and ``oncoreg.codes.code_list_versions()``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from oncoreg.errors import OncoregError
from oncoreg.snapshot.parquet import sha256_file

MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1


class SnapshotError(OncoregError):
    """A snapshot cannot be written or read (missing file, checksum or row-count mismatch, bad manifest)."""


@dataclass(frozen=True)
class TableEntry:
    """One table of a snapshot: its file (relative to the snapshot directory), rows and SHA-256."""

    file: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class SnapshotManifest:
    """What a snapshot holds and where it came from."""

    as_of: datetime
    state: Literal["current", "history"]  # live tables, or reconstructed from history
    created_at: datetime
    oncoreg_version: str
    store_url: str
    tables: dict[str, TableEntry]
    code_list_versions: dict[str, str]
    notes: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """The manifest as stable, sorted JSON."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["created_at"] = self.created_at.isoformat()
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SnapshotManifest:
        """Parse a manifest; a malformed one raises :class:`SnapshotError`."""
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(
                as_of=datetime.fromisoformat(data["as_of"]),
                state=data["state"],
                created_at=datetime.fromisoformat(data["created_at"]),
                oncoreg_version=data["oncoreg_version"],
                store_url=data["store_url"],
                tables={name: TableEntry(**entry) for name, entry in data["tables"].items()},
                code_list_versions=dict(data["code_list_versions"]),
                notes=list(data.get("notes", [])),
                format_version=int(data.get("format_version", FORMAT_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"malformed snapshot manifest: {exc}") from exc


@dataclass(frozen=True)
class Snapshot:
    """A snapshot read back: its manifest and one lazy Polars frame per table."""

    path: Path
    manifest: SnapshotManifest

    def table(self, name: str) -> pl.LazyFrame:
        """The table ``name`` as a lazy frame (SnapshotError if the snapshot has no such table)."""
        entry = self.manifest.tables.get(name)
        if entry is None:
            raise SnapshotError(f"snapshot {self.path} has no table {name!r}")
        return pl.scan_parquet(self.path / entry.file)

    @property
    def tumours(self) -> pl.LazyFrame:
        return self.table("tumours")

    @property
    def persons(self) -> pl.LazyFrame:
        return self.table("persons")

    @property
    def notifications(self) -> pl.LazyFrame:
        return self.table("notifications")

    @property
    def deaths(self) -> pl.LazyFrame:
        return self.table("deaths")

    @property
    def quality(self) -> pl.LazyFrame:
        return self.table("quality")


def load_snapshot(path: Path | str, *, verify: bool = True) -> Snapshot:
    """Open the snapshot in ``path``; with ``verify`` every file's SHA-256 and row count must match."""
    root = Path(path)
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file():
        raise SnapshotError(f"{root} is not a snapshot: {MANIFEST_FILE} is missing")
    manifest = SnapshotManifest.from_json(manifest_path.read_text(encoding="utf-8"))
    if verify:
        for name, entry in sorted(manifest.tables.items()):
            file = root / entry.file
            if not file.is_file():
                raise SnapshotError(f"snapshot table {name}: file {entry.file} is missing")
            digest = sha256_file(file)
            if digest != entry.sha256:
                raise SnapshotError(
                    f"snapshot table {name}: {entry.file} has sha256 {digest[:12]}…, manifest says "
                    f"{entry.sha256[:12]}… (file changed after freezing)"
                )
            rows = pl.scan_parquet(file).select(pl.len()).collect().item()
            if rows != entry.rows:
                raise SnapshotError(f"snapshot table {name}: {rows} rows, manifest says {entry.rows}")
    return Snapshot(path=root, manifest=manifest)
