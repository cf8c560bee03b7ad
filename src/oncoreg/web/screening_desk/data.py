"""Where the screening desk's frames come from: ``settings.data_dir / "screening"``.

The same inputs the ``oncoreg screening`` operations commands take (``--events/--persons/--tumours``):

* ``screening_events.parquet``: registered screening events
  (:data:`oncoreg.screening.episodes.SCREENING_EVENTS`, registry person ids), required;
* ``persons.parquet``: the population register frame of the target population (``person_id, birth_date,
  sex, county, entry_date, exit_date[, reserved]``), needed for coverage and the invitation batch;
* ``tumours.parquet``: registry tumours (``person_id, icd10, incidence_date``; a snapshot's tumours file
  will do) for interval cancers and previous-cancer exclusions.

Frames are read once and kept until a file's modification time changes. The data-freeze time is the
events file's modification time; the desk's default "as of" date is the latest event date.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

SCREENING_DIR = "screening"
EVENTS_FILE = "screening_events.parquet"
PERSONS_FILE = "persons.parquet"
TUMOURS_FILE = "tumours.parquet"
_PERSON_COLUMNS = ("person_id", "birth_date", "sex", "county", "entry_date", "exit_date", "reserved")


@dataclass
class ScreeningData:
    """The desk's inputs and a memo of what was computed from them (cleared when the files change)."""

    events: pl.DataFrame
    persons: pl.DataFrame | None
    tumours: pl.DataFrame | None
    freeze_time: datetime
    last_event_date: date
    memo: dict[Any, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def screening_dir(data_dir: Path) -> Path:
    return data_dir / SCREENING_DIR


def read_screening(folder: Path) -> ScreeningData | None:
    """Read the desk's files from ``folder`` (None when there is no events file)."""
    events_path = folder / EVENTS_FILE
    if not events_path.is_file():
        return None
    events = pl.read_parquet(events_path)
    persons = None
    if (folder / PERSONS_FILE).is_file():
        persons = pl.read_parquet(folder / PERSONS_FILE)
        persons = persons.select([c for c in _PERSON_COLUMNS if c in persons.columns])
    tumours = None
    if (folder / TUMOURS_FILE).is_file():
        tumours = pl.read_parquet(folder / TUMOURS_FILE)
    last = events["date"].max()
    freeze = datetime.fromtimestamp(events_path.stat().st_mtime, tz=UTC)
    return ScreeningData(
        events=events,
        persons=persons,
        tumours=tumours,
        freeze_time=freeze,
        last_event_date=last if isinstance(last, date) else date.today(),
    )


class ScreeningCache:
    """The desk's data, re-read when a file in the folder changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Path, tuple[float, ...]] | None = None
        self._data: ScreeningData | None = None

    def get(self, data_dir: Path) -> ScreeningData | None:
        folder = screening_dir(data_dir)
        stamps = tuple(
            (folder / name).stat().st_mtime if (folder / name).is_file() else 0.0
            for name in (EVENTS_FILE, PERSONS_FILE, TUMOURS_FILE)
        )
        key = (folder.resolve(), stamps)
        with self._lock:
            if key != self._key:
                self._data = read_screening(folder)
                self._key = key
            return self._data
