"""Writing the truth tables: streaming Parquet writers with fixed settings (same data, same bytes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from oncoreg.simulate.population import NO_DATE, PersonStore

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "write_statistics": False}


def to_dates(days: np.ndarray) -> pl.Series:
    """int32 days since 1970-01-01 (NO_DATE → null) as a Polars Date series."""
    series = pl.Series(days.astype(np.int32))
    return pl.select(pl.when(series == NO_DATE).then(None).otherwise(series).cast(pl.Date)).to_series()


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write one frame with the fixed settings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(frame.to_arrow(), path, **PARQUET_OPTIONS)


class StreamingTable:
    """A Parquet file written one chunk (row group) at a time."""

    def __init__(self, path: Path, schema: dict[str, pl.DataType | type[pl.DataType]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
        self.writer = pq.ParquetWriter(path, self.arrow_schema, **PARQUET_OPTIONS)
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (cast to the schema)."""
        table = frame.select([pl.col(n).cast(t) for n, t in self.schema.items()]).to_arrow()
        self.writer.write_table(pa.Table.from_batches(table.to_batches(), schema=self.arrow_schema))
        self.rows += frame.height

    def close(self) -> None:
        """Finish the file."""
        self.writer.close()


def _labels(labels: np.ndarray | tuple[str, ...] | list[str], index: np.ndarray) -> pl.Series:
    """``labels[index]`` as a String series: a gather from the small label table, no per-row NumPy strings."""
    return pl.Series(list(labels), dtype=pl.String).gather(pl.Series(index.astype(np.int64)))


def persons_frame(*, store: PersonStore, rows: np.ndarray, municipality_codes: np.ndarray) -> pl.DataFrame:
    """PERSONS rows for ``rows`` of the store (current state)."""
    from oncoreg.simulate.identity import first_name_labels, name_tables
    from oncoreg.simulate.population import ENTRY_REASONS, EXIT_REASONS
    from oncoreg.simulate.schema import PERSONS, conform

    muni = _labels(municipality_codes.tolist(), store["muni"][rows])
    frame = pl.DataFrame(
        {
            "person_id": rows.astype(np.int64) + 1,
            "identifier": pl.Series(store["ident"][rows]).cast(pl.String).str.zfill(11),
            "identifier_type": _labels(["fnr", "dnr"], store["ident_type"][rows]),
            "first_name": _labels(first_name_labels(), store["first_name"][rows]),
            "last_name": _labels(name_tables()["last"].names, store["last_name"][rows]),
            "birth_date": to_dates(store["birth"][rows]),
            "sex": store["sex"][rows],
            "county": muni.str.slice(0, 2),
            "municipality": muni,
            "entry_date": to_dates(store["entry"][rows]),
            "entry_reason": _labels(ENTRY_REASONS, store["entry_reason"][rows]),
            "exit_date": to_dates(store["exit"][rows]),
            "exit_reason": _labels(EXIT_REASONS, store["exit_reason"][rows]).replace("", None),
        }
    )
    return conform(frame, PERSONS)
