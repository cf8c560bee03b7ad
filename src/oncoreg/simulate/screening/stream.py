"""The screening stage of a whole country, one chunk of persons at a time (bounded memory).

The simulator hands the persons over in consecutive chunks of ``person_id`` (each chunk a contiguous
range, in increasing order). Every chunk runs :func:`simulate_screening` on its people and their tumours
with a generator of its own; persons are independent in the programmes, so this is the same model as one
call over everyone. The chunk's events are numbered after those of the earlier chunks of their programme
(``B``/``C``/``K`` + 9 digits, in person, date and type order, as one call would number them), appended to
``truth/screening_events.parquet`` and, with messages, to the per-year message files. Only the
per-tumour truth (one row per tumour) and the screen-detected tumours are kept until :meth:`close`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.simulate.output import StreamingTable, write_parquet
from oncoreg.simulate.schema import MESSAGES_TRUTH, TUMOURS, empty
from oncoreg.simulate.screening.config import ScreeningConfig
from oncoreg.simulate.screening.detection import TRUTH
from oncoreg.simulate.screening.engine import simulate_screening
from oncoreg.simulate.screening.events import EVENTS
from oncoreg.simulate.screening.writer import write_screening_messages

_PREFIXES = {"breast": "B", "cervix": "C", "colorectal": "K"}


class ScreeningStream:
    """Screening over ``start_year``–``end_year`` for the persons given to :meth:`add`, chunk by chunk.

    ``tumours``: TUMOURS rows of every person (extra columns are ignored). ``messages``: also write the
    message files under ``out_dir/messages/screening/``.
    """

    def __init__(
        self,
        *,
        out_dir: Path,
        tumours: pl.DataFrame,
        start_year: int,
        end_year: int,
        messages: bool,
        config: ScreeningConfig | None = None,
    ) -> None:
        self.out_dir = out_dir
        columns = [c for c in TUMOURS if c in tumours.columns]
        self.tumours = tumours.select(columns).sort("person_id", "tumour_id")
        self._tumour_person = self.tumours["person_id"].to_numpy()
        self.start_year, self.end_year = start_year, end_year
        self.messages = messages
        self.config = config or ScreeningConfig.default()
        self.events = StreamingTable(out_dir / "truth" / "screening_events.parquet", EVENTS)
        self.numbered = dict.fromkeys(_PREFIXES, 0)
        self.started: set[Path] = set()
        self.truth: list[pl.DataFrame] = []
        self.detected: list[pl.DataFrame] = []

    def add(self, *, persons: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        """Screen the ``persons`` (PERSONS rows, ``person_id`` above those of earlier chunks); return the
        MESSAGES_TRUTH rows of the message rows written (none without messages)."""
        ids = persons["person_id"].to_numpy()
        first, last = int(ids.min()), int(ids.max())
        lo = np.searchsorted(self._tumour_person, first, side="left")
        hi = np.searchsorted(self._tumour_person, last, side="right")
        result = simulate_screening(
            persons=persons,
            tumours=self.tumours.slice(int(lo), int(hi - lo)),
            start_year=self.start_year,
            end_year=self.end_year,
            rng=rng,
            config=self.config,
        )
        events = self._renumber(result.events)
        self.events.write(events)
        self.truth.append(result.truth)
        self.detected.append(result.tumours.filter(pl.col("screen_detected")))
        if not self.messages:
            return empty(MESSAGES_TRUTH)
        return write_screening_messages(
            out_dir=self.out_dir, events=events, persons=persons, started=self.started
        )

    def _renumber(self, events: pl.DataFrame) -> pl.DataFrame:
        """Event numbers after those of the earlier chunks, per programme."""
        offset = pl.col("programme").replace_strict(self.numbered, return_dtype=pl.Int64)
        number = pl.col("event_id").str.slice(1).cast(pl.Int64) + offset
        renumbered = events.with_columns(
            (pl.col("event_id").str.slice(0, 1) + number.cast(pl.String).str.zfill(9)).alias("event_id")
        )
        for programme, count in events.group_by("programme").len().iter_rows():
            self.numbered[programme] += count
        return renumbered

    def close(self) -> pl.DataFrame:
        """Finish the events file, write ``truth/screening_tumours.parquet`` (sorted by tumour) and return
        the screen-detected tumours (TUMOURS rows with their new incidence date, age, basis and stage)."""
        self.events.close()
        truth = pl.concat(self.truth) if self.truth else empty(TRUTH)
        write_parquet(truth.sort("tumour_id"), self.out_dir / "truth" / "screening_tumours.parquet")
        return pl.concat(self.detected) if self.detected else empty(TUMOURS)
