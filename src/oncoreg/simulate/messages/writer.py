"""The entry point of the message writers: one calendar year's frames in, source files and truth out.

Steps (all vectorised over one table of messages, one row per message):

1. build the streams (``tumour_streams``, ``event_streams``) and the code conflicts of clinical notifications;
2. join each message's person identity and inject identity errors (``inject.identity_errors``);
3. move late messages (``late_rate``) 365–730 days on and draw the time of day of each send;
4. number the messages per source in send order: ``message_id = <PREFIX>-<year>-<seq:07d>``;
5. choose the malformed ones (``malformed_rate``) and the resent duplicates (``duplicate_rate``). A
   duplicate is the same content resent 1–30 days later under the next free number: it differs from the
   original only in its ``message_id`` and send time (HL7 MSH-7/MSH-10 and the FHS/BHS stamp; FHIR
   ``Bundle.identifier`` and ``timestamp``/``authored``; CSV ``message_id`` and ``sent_date``), and a
   malformed original is resent malformed in the same way;
6. render every source (``hl7v2``, ``fhir``, ``csv_formats``) and write the files under
   ``out_dir/messages/<source>/<year>/``.

The same inputs and generator state give the same bytes: no clock is read and every draw happens in a
fixed order on frames sorted by keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.simulate import schema
from oncoreg.simulate.messages import csv_formats, delays, event_streams, fhir, hl7v2, inject, tumour_streams
from oncoreg.simulate.messages.config import MessageConfig

FORMATS = {
    "pathology": "hl7v2",
    "clinical": "fhir",
    "clinical_csv": "csv",
    "death_certificate": "csv",
    "patient_admin": "csv",
    "radiotherapy": "csv",
    "systemic_therapy": "csv",
    "population_register": "csv",
}
PREFIXES = {
    "pathology": "PAT",
    "clinical": "KLI",
    "clinical_csv": "KLC",
    "death_certificate": "DOD",
    "patient_admin": "NPR",
    "radiotherapy": "STR",
    "systemic_therapy": "SYS",
    "population_register": "FRG",
}


def _conform(
    frame: pl.DataFrame, frame_schema: dict[str, pl.DataType | type[pl.DataType]], name: str
) -> pl.DataFrame:
    missing = [column for column in frame_schema if column not in frame.columns]
    if missing:
        raise ValidationFailed(
            [
                Problem(field=f"{name}.{column}", value="", rule="schema", text="column missing")
                for column in missing
            ]
        )
    return schema.conform(frame, frame_schema)


def _check_people(persons: pl.DataFrame, **frames: pl.DataFrame) -> None:
    known = persons["person_id"].implode()
    problems = [
        Problem(
            field=f"{name}.person_id",
            value=str(pid),
            rule="person_known",
            text="not in persons",
            row=str(row),
        )
        for name, frame in frames.items()
        for row, pid in frame.with_row_index("row")
        .filter(~pl.col("person_id").is_in(known))
        .select("row", "person_id")
        .head(20)
        .iter_rows()
    ]
    if problems:
        raise ValidationFailed(problems)


def _message_table(
    *,
    year: int,
    persons: pl.DataFrame,
    tumours: pl.DataFrame,
    deaths: pl.DataFrame,
    moves: pl.DataFrame,
    treatments: pl.DataFrame,
    rng: np.random.Generator,
    config: MessageConfig,
) -> pl.DataFrame:
    """Steps 1–4: one row per original message, numbered, with identity, errors and send time."""
    clinical = tumour_streams.clinical_rows(tumours=tumours, rng=rng, config=config)
    streams = [
        tumour_streams.pathology_rows(tumours=tumours, rng=rng, config=config),
        inject.code_conflicts(clinical=clinical, rng=rng, config=config),
        tumour_streams.patient_admin_rows(tumours=tumours, treatments=treatments, rng=rng, config=config),
        event_streams.death_certificate_rows(deaths=deaths, tumours=tumours, rng=rng),
        event_streams.radiotherapy_rows(treatments=treatments, tumours=tumours, rng=rng),
        event_streams.systemic_therapy_rows(treatments=treatments, tumours=tumours, rng=rng),
        event_streams.population_rows(persons=persons, moves=moves, year=year, rng=rng, config=config),
    ]
    table = (
        pl.concat(streams, how="diagonal_relaxed")
        .with_row_index("content_key")
        .with_columns(
            pl.col("content_key").cast(pl.Int64),
            *(
                pl.col(f"err_{name}").fill_null(False)
                for name in ("topography_conflict", "morphology_conflict", "laterality_conflict")
            ),
        )
    )
    table = inject.identity_errors(messages=table, persons=persons, rng=rng, config=config)
    n = table.height
    late = (table["source"] != "population_register").to_numpy() & (rng.random(n) < config.late_rate)
    table = table.with_columns(
        pl.Series("err_late", late),
        pl.when(pl.lit(late))
        .then(delays.after("sent_date", delays.uniform_days(n=n, low=365, high=730, rng=rng)))
        .otherwise(pl.col("sent_date"))
        .alias("sent_date"),
        delays.send_seconds(n=n, rng=rng).alias("sent_seconds"),
        pl.col("source").replace_strict(FORMATS).alias("format"),
    ).sort("source", "sent_date", "sent_seconds", "content_key")
    return table.with_columns(
        pl.format(
            "{}-{}-{}",
            pl.col("source").replace_strict(PREFIXES),
            pl.lit(year),
            (pl.int_range(pl.len()).over("source") + 1).cast(pl.String).str.zfill(7),
        ).alias("message_id"),
        pl.lit(None, dtype=pl.String).alias("duplicate_of"),
    )


def _add_duplicates(table: pl.DataFrame, *, year: int, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Step 5b: resent copies, numbered after the originals of their source."""
    chosen = table.filter(pl.Series(rng.random(table.height) < rate))
    m = chosen.height
    counts = table.group_by("source").len("originals")
    copies = (
        chosen.join(counts, on="source", how="left", maintain_order="left")
        .with_columns(
            pl.col("message_id").alias("duplicate_of"),
            delays.after("sent_date", delays.uniform_days(n=m, low=1, high=30, rng=rng)).alias("sent_date"),
            delays.send_seconds(n=m, rng=rng).alias("sent_seconds"),
        )
        .with_columns(
            pl.format(
                "{}-{}-{}",
                pl.col("source").replace_strict(PREFIXES),
                pl.lit(year),
                (pl.col("originals") + pl.int_range(pl.len()).over("source") + 1)
                .cast(pl.String)
                .str.zfill(7),
            ).alias("message_id")
        )
        .drop("originals")
    )
    return pl.concat([table, copies]).sort("source", "sent_date", "sent_seconds", "message_id")


def write_messages(
    *,
    out_dir: Path,
    year: int,
    persons: pl.DataFrame,
    tumours: pl.DataFrame,
    deaths: pl.DataFrame,
    moves: pl.DataFrame,
    treatments: pl.DataFrame,
    rng: np.random.Generator,
    config: MessageConfig,
) -> pl.DataFrame:
    """Write one year's source files under ``out_dir/messages/<source>/<year>/``; return the truth.

    The result has the ``MESSAGES_TRUTH`` schema (``oncoreg.simulate.schema``): one row per message
    written, ``message_id`` as carried by the message (HL7 MSH-10, FHIR ``Bundle.identifier.value``, CSV
    ``message_id``), ``file`` relative to ``out_dir``, ``errors`` the injected errors joined by ``;``.
    Inputs are checked against the stage schemas first (:class:`oncoreg.errors.ValidationFailed`).
    """
    persons = _conform(persons, schema.PERSONS, "persons")
    tumours = _conform(tumours, schema.TUMOURS, "tumours")
    deaths = _conform(deaths, schema.DEATHS, "deaths")
    moves = _conform(moves, schema.MOVES, "moves")
    treatments = _conform(treatments, schema.TREATMENTS, "treatments")
    _check_people(persons, tumours=tumours, deaths=deaths, moves=moves, treatments=treatments)
    table = _message_table(
        year=year,
        persons=persons,
        tumours=tumours,
        deaths=deaths,
        moves=moves,
        treatments=treatments,
        rng=rng,
        config=config,
    )
    table = table.with_columns(
        inject.malformed_kinds(formats=table["format"], rng=rng, rate=config.malformed_rate),
        pl.col("laterality").fill_null("U"),
        pl.col("grade").fill_null(9),
        pl.col("stage").fill_null("unknown"),
    )
    table = _add_duplicates(table, year=year, rng=rng, rate=config.duplicate_rate)
    files: dict[str, bytes] = {}
    parts = []
    for (source,), group in table.group_by("source", maintain_order=True):
        if source == "pathology":
            file, written = hl7v2.render(group, year=year)
        elif source == "clinical":
            file, written = fhir.render(group, year=year)
        else:
            file, written = csv_formats.render(group, source=str(source), year=year)
        files.update(written)
        parts.append(group.with_columns(file.alias("file")))
    for relative, content in sorted(files.items()):
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if not parts:
        return schema.empty(schema.MESSAGES_TRUTH)
    truth = pl.concat(parts).select(
        *(c for c in schema.MESSAGES_TRUTH if c not in ("malformed", "errors")),
        pl.col("malformed_kind").is_not_null().alias("malformed"),
        inject.error_list().alias("errors"),
    )
    return schema.conform(truth, schema.MESSAGES_TRUTH).sort("source", "message_id")
