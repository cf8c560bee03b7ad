"""Write the screening messages (what laboratories and screening units send the Registry) and the truth.

Layout under ``out_dir``:
``messages/screening/breast/<year>/screening_results.csv`` (screens with reader scores, assessments),
``messages/screening/cervix/<year>/laboratory_results.csv`` (samples and histology; monthly files, §1.2),
``messages/screening/colorectal/<year>/fit_results.csv`` and ``colonoscopy_reports.csv``,
``truth/screening_events.parquet`` (every event, with person and tumour) and
``truth/screening_tumours.parquet`` (the per-tumour classification). Letters and kits are the Registry's
own outbound actions and appear only in the truth. Message columns: ``docs/simulate-screening.md``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from oncoreg.simulate.schema import MESSAGES_TRUTH, conform, empty
from oncoreg.simulate.screening.engine import ScreeningResult

# (programme, file stem, event types, columns after the identifiers, days from event to sending)
_FILES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "breast",
        "screening_results",
        ("screen", "assessment"),
        (
            "type",
            "episode",
            "date",
            "test",
            "result",
            "reader1_score",
            "reader2_score",
            "consensus",
            "recall",
            "recommendation",
            "due_date",
            "county",
        ),
    ),
    (
        "cervix",
        "laboratory_results",
        ("sample", "histology"),
        (
            "type",
            "date",
            "test",
            "indication",
            "result",
            "hpv_genotype",
            "reflex_cytology",
            "recommendation",
            "due_date",
            "county",
        ),
    ),
    (
        "colorectal",
        "fit_results",
        ("fit_result",),
        ("episode", "date", "test", "result", "value", "value_text", "recommendation", "county"),
    ),
    ("colorectal", "colonoscopy_reports", ("colonoscopy",), ("episode", "date", "result", "county")),
)


def _sent_date(programme: str) -> pl.Expr:
    date = pl.col("date")
    if programme == "cervix":  # laboratories send a file once a month (screening.md §1.2)
        return date.dt.month_start().dt.offset_by("1mo")
    return date.dt.offset_by("7d" if programme == "breast" else "1d")


def write_screening_files(*, out_dir: Path, result: ScreeningResult, persons: pl.DataFrame) -> pl.DataFrame:
    """Write the message files and the truth; return one MESSAGES_TRUTH row per message row written."""
    written = write_screening_messages(out_dir=out_dir, events=result.events, persons=persons, started=set())
    truth_dir = out_dir / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    result.events.write_parquet(truth_dir / "screening_events.parquet")
    result.truth.write_parquet(truth_dir / "screening_tumours.parquet")
    return written


def write_screening_messages(
    *, out_dir: Path, events: pl.DataFrame, persons: pl.DataFrame, started: set[Path]
) -> pl.DataFrame:
    """Write the message rows of ``events`` (EVENTS rows of the people in ``persons``) to the files.

    A file not in ``started`` is created (with its header) and added to it; a file in it gets the rows
    appended, so a caller passing the events a chunk of persons at a time, in ``person_id`` order, writes
    the same files as one call with all of them. Returns one MESSAGES_TRUTH row per message row written.
    """
    ids = persons.select("person_id", "identifier", "identifier_type")
    events = events.join(ids, on="person_id", how="left", maintain_order="left")
    written: list[pl.DataFrame] = []
    for programme, stem, types, columns in _FILES:
        chosen = events.filter((pl.col("programme") == programme) & pl.col("type").is_in(list(types)))
        chosen = chosen.with_columns(pl.col("date").dt.year().alias("_year"))
        for (year,), rows in chosen.partition_by("_year", as_dict=True, maintain_order=True).items():
            relative = Path("messages") / "screening" / programme / str(year) / f"{stem}.csv"
            target = out_dir / relative
            new_file = target not in started
            if new_file:
                target.parent.mkdir(parents=True, exist_ok=True)
                started.add(target)
            with target.open("wb" if new_file else "ab") as handle:
                rows.select(
                    pl.col("event_id").alias("message_id"), "identifier", "identifier_type", *columns
                ).write_csv(handle, include_header=new_file)
            written.append(
                rows.select(
                    pl.col("event_id").alias("message_id"),
                    pl.lit(f"screening_{programme}").alias("source"),
                    pl.lit("csv").alias("format"),
                    pl.lit(relative.as_posix()).alias("file"),
                    "person_id",
                    "tumour_id",
                    _sent_date(programme).alias("sent_date"),
                    pl.lit(False).alias("malformed"),
                    pl.lit(None, dtype=pl.String).alias("duplicate_of"),
                    pl.lit("").alias("errors"),
                )
            )
    if not written:
        return empty(MESSAGES_TRUTH)
    return conform(pl.concat(written), MESSAGES_TRUTH)
