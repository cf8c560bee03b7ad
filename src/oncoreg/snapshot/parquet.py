"""Deterministic Parquet writing in chunks, and file checksums.

The same rows in the same order give byte-identical files: fixed compression (zstd level 3), a fixed Arrow
schema per table, no write-time metadata. Chunks are appended as row groups, so memory is bounded by one
chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from oncoreg.snapshot.schema import Schema, conform

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema a Polars schema is written with."""
    return pl.DataFrame(schema=schema).to_arrow().schema


def write_chunks(path: Path, chunks: Iterable[pl.DataFrame], schema: Schema) -> int:
    """Write ``chunks`` (conformed to ``schema``) to one Parquet file; returns the number of rows."""
    target = arrow_schema(schema)
    rows = 0
    with pq.ParquetWriter(
        path, target, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL, store_schema=False
    ) as writer:
        for chunk in chunks:
            if chunk.height == 0:
                continue
            table = conform(chunk, schema).to_arrow().cast(target)
            writer.write_table(table)
            rows += chunk.height
    return rows


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
