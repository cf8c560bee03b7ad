"""The CSV feeds: clinical notifications (CSV channel), death certificates, NPR episodes, radiotherapy,
systemic therapy and population-register updates (docs/formats.md lists every column).

All files: UTF-8, comma separated, a header row, ``"``-quoting where needed, dates ``YYYY-MM-DD``, sex
``1``/``2``, identifier type ``fnr``/``dnr``/``hnr`` (empty with the identifier when it is missing), lists
inside a field joined by ``;``. Every row is one message and carries its own ``message_id`` and
``sent_date``; a resent duplicate repeats the row with only those two fields changed.

Malformed rows (truth ``malformed``, kind ``bad_date``) carry an impossible date in the stream's main
date column: month 13 (``2021-13-05``) or the Norwegian dotted form (``05.03.2021``).
"""

from __future__ import annotations

import polars as pl

IDENTITY_COLUMNS = ("identifier", "identifier_type", "first_name", "last_name", "birth_date", "sex")
DATE_FORMAT = "%Y-%m-%d"


def _date(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime(DATE_FORMAT)


def _bad(column: str) -> pl.Expr:
    """An unparseable version of a date column: month 13 or ``DD.MM.YYYY``."""
    return (
        pl.when(pl.col("content_key") % 2 == 0)
        .then(pl.format("{}-13-{}", pl.col(column).dt.year(), pl.col(column).dt.strftime("%d")))
        .otherwise(pl.col(column).dt.strftime("%d.%m.%Y"))
    )


def _identity() -> list[pl.Expr]:
    return [
        pl.col("identifier"),
        pl.col("identifier_type"),
        pl.col("first_name"),
        pl.col("last_name"),
        _date("birth_date").alias("birth_date"),
        pl.col("sex").cast(pl.String),
    ]


def _columns(source: str) -> tuple[list[pl.Expr], str]:
    """The content columns of a source (after the identity) and its main date column."""
    if source == "clinical_csv":
        return [
            pl.col("sender").alias("hospital"),
            _date("event_date").alias("diagnosis_date"),
            pl.col("topography"),
            pl.format("{}/{}", "morphology", "behaviour").alias("morphology"),
            pl.col("grade").cast(pl.String),
            pl.col("laterality"),
            pl.col("stage"),
            pl.col("tnm"),
            pl.col("basis").cast(pl.String),
        ], "diagnosis_date"
    if source == "death_certificate":
        return [
            pl.format("DA{}-{}", pl.col("event_date").dt.year(), "content_key").alias("certificate_id"),
            _date("event_date").alias("death_date"),
            pl.col("underlying_cause"),
            pl.col("contributing_causes"),
        ], "death_date"
    if source == "patient_admin":
        return [
            pl.format("NPR{}-{}", pl.col("event_date").dt.year(), "content_key").alias("episode_id"),
            pl.col("sender").alias("hospital"),
            _date("admission_date").alias("admission_date"),
            _date("discharge_date").alias("discharge_date"),
            pl.col("care_type"),
            pl.col("icd10").alias("main_diagnosis"),
            pl.col("secondary_diagnoses"),
            pl.lit("").alias("procedure_codes"),
        ], "admission_date"
    if source == "radiotherapy":
        return [
            pl.format("STR-{}", "content_key").alias("record_id"),
            pl.col("sender").alias("hospital"),
            pl.col("icd10").alias("diagnosis"),
            _date("start_date").alias("start_date"),
            _date("end_date").alias("end_date"),
            pl.col("total_dose_gy").cast(pl.String),
            pl.col("fractions").cast(pl.String),
        ], "start_date"
    if source == "systemic_therapy":
        return [
            pl.format("SYS-{}", "content_key").alias("record_id"),
            pl.col("sender").alias("hospital"),
            pl.col("icd10").alias("diagnosis"),
            _date("start_date").alias("start_date"),
            _date("end_date").alias("end_date"),
            pl.col("atc_group"),
        ], "start_date"
    if source == "population_register":
        return [
            pl.col("event"),
            _date("event_date").alias("event_date"),
            pl.col("municipality"),
            pl.col("previous_municipality"),
            pl.col("previous_last_name"),
        ], "event_date"
    raise ValueError(f"no CSV layout for source {source!r}")


#: Where each CSV source is written: one file per sender (``{sender}``) or per year.
FILE_PATTERNS = {
    "clinical_csv": "messages/clinical_csv/{year}/{sender}_{year}.csv",
    "death_certificate": "messages/death_certificate/{year}/death_certificates_{year}.csv",
    "patient_admin": "messages/patient_admin/{year}/npr_episodes_{year}.csv",
    "radiotherapy": "messages/radiotherapy/{year}/{sender}_{year}.csv",
    "systemic_therapy": "messages/systemic_therapy/{year}/sact_{year}.csv",
    "population_register": "messages/population_register/{year}/population_events_{year}.csv",
}

_SOURCE_DATE_INPUT = {
    "clinical_csv": "event_date",
    "death_certificate": "event_date",
    "patient_admin": "admission_date",
    "radiotherapy": "start_date",
    "systemic_therapy": "start_date",
    "population_register": "event_date",
}


def header(source: str) -> list[str]:
    """The column names of a source's CSV files, in order."""
    content, _ = _columns(source)
    names = [e.meta.output_name() for e in content]
    return ["message_id", "sent_date", *IDENTITY_COLUMNS, *names]


def render(messages: pl.DataFrame, *, source: str, year: int) -> tuple[pl.Series, dict[str, bytes]]:
    """CSV rows of one source; returns the file of each row and the file contents."""
    content, date_column = _columns(source)
    bad = _bad(_SOURCE_DATE_INPUT[source])
    pattern = FILE_PATTERNS[source].replace("{year}", str(year))
    file_expr = (
        pl.format(pattern.replace("{sender}", "{}"), "sender") if "{sender}" in pattern else pl.lit(pattern)
    )
    table = messages.select(
        file_expr.alias("_file"),
        pl.col("message_id"),
        _date("sent_date").alias("sent_date"),
        *_identity(),
        *content,
        pl.col("malformed_kind"),
        bad.alias("_bad"),
    ).with_columns(
        pl.when(pl.col("malformed_kind") == "bad_date")
        .then(pl.col("_bad"))
        .otherwise(pl.col(date_column))
        .alias(date_column)
    )
    files: dict[str, bytes] = {}
    columns = header(source)
    for (path,), group in table.group_by("_file", maintain_order=True):
        cells = group.select(pl.col(name).replace("", None) for name in columns)  # empty field, not ""
        files[str(path)] = cells.write_csv().encode("utf-8")
    return table["_file"], files
