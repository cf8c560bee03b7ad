"""Screening frames in and out of the operational store (``registry.screening_tables``, migration 0005).

Keyword-only functions over a SQLAlchemy engine (chosen at the edge from one URL, DESIGN §4): the letters
sent (:data:`~oncoreg.screening.invitations.BATCH` rows → ``screening_invitation``), the registered results
(:data:`~oncoreg.screening.episodes.SCREENING_EVENTS` → ``screening_test`` for tests and
``screening_examination`` for work-up examinations; idempotent on the event id) and KPI runs with their
data-freeze time (:class:`~oncoreg.screening.kpi.KpiRun` → ``screening_kpi_run`` + ``screening_kpi_value``).
The person rows must already exist (foreign keys to ``person``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.registry.screening_tables import (
    ScreeningExamination,
    ScreeningInvitation,
    ScreeningKpiRun,
    ScreeningKpiValue,
    ScreeningTest,
)
from oncoreg.screening.episodes import conform_events
from oncoreg.screening.kpi import KPI_VALUES, STRATA, KpiRun

_TEST_TYPES = ("screen", "sample", "fit_result")
_EXAMINATION_TYPES = ("assessment", "colonoscopy", "colposcopy", "histology")
_CHUNK = 5_000


def _insert(engine: sa.Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for start in range(0, len(rows), _CHUNK):
            connection.execute(sa.insert(table), rows[start : start + _CHUNK])


def save_invitations(*, engine: sa.Engine, batch: pl.DataFrame, status: str = "sent") -> int:
    """Store a letter batch (BATCH rows, with ``send_date`` and ``backlog`` when present); returns rows."""
    rows = [
        {
            "person_id": row["person_id"],
            "programme": row["programme"],
            "round": row["round"],
            "kind": row["letter"],
            "due_date": row["due_date"],
            "sent_date": row.get("send_date") if status == "sent" else None,
            "status": "backlog" if row.get("backlog") and status != "sent" else status,
            "backlog": bool(row.get("backlog") or False),
        }
        for row in batch.iter_rows(named=True)
    ]
    _insert(engine, ScreeningInvitation.__table__, rows)  # type: ignore[arg-type]
    return len(rows)


def load_invitations(*, engine: sa.Engine) -> pl.DataFrame:
    """Every stored invitation (the ``screening_invitation`` columns), ordered by id."""
    table = ScreeningInvitation.__table__
    with engine.connect() as connection:
        result = connection.execute(sa.select(table).order_by(table.c.invitation_id))
        return pl.DataFrame([dict(row._mapping) for row in result], infer_schema_length=None)


def _existing(engine: sa.Engine, table: sa.Table) -> set[str]:
    with engine.connect() as connection:
        return {str(value) for value in connection.execute(sa.select(table.c.message_id)).scalars()}


def save_results(*, engine: sa.Engine, events: pl.DataFrame) -> dict[str, int]:
    """Store registered results: tests and examinations not stored before (by ``event_id``).
    Returns the number of new rows per table."""
    frame = conform_events(events)
    missing = frame.filter(pl.col("event_id").is_null()).height
    if missing:
        raise ValueError(f"{missing} events have no event_id; results are stored by event id")
    now = datetime.now(UTC)
    test_table: sa.Table = ScreeningTest.__table__  # type: ignore[assignment]
    exam_table: sa.Table = ScreeningExamination.__table__  # type: ignore[assignment]
    seen_tests, seen_exams = _existing(engine, test_table), _existing(engine, exam_table)
    tests: list[dict[str, Any]] = []
    examinations: list[dict[str, Any]] = []
    for row in frame.filter(pl.col("type").is_in(_TEST_TYPES + _EXAMINATION_TYPES)).iter_rows(named=True):
        if row["type"] in _TEST_TYPES and row["event_id"] not in seen_tests:
            tests.append(
                {
                    "message_id": row["event_id"],
                    "person_id": row["person_id"],
                    "programme": row["programme"],
                    "episode": row["episode"],
                    "sample_date": row["date"],
                    "test": row["test"] or row["type"],
                    "indication": row["indication"],
                    "result": row["result"],
                    "value": row["value"],
                    "value_text": row["value_text"],
                    "hpv_genotype": row["hpv_genotype"],
                    "reflex_cytology": row["reflex_cytology"],
                    "reader1_score": row["reader1_score"],
                    "reader2_score": row["reader2_score"],
                    "consensus": row["consensus"],
                    "recall": row["recall"],
                    "county": row["county"],
                    "registered_at": now,
                }
            )
        elif row["type"] in _EXAMINATION_TYPES and row["event_id"] not in seen_exams:
            examinations.append(
                {
                    "message_id": row["event_id"],
                    "person_id": row["person_id"],
                    "programme": row["programme"],
                    "episode": row["episode"],
                    "kind": row["type"],
                    "examination_date": row["date"],
                    "result": row["result"],
                    "registered_at": now,
                }
            )
    _insert(engine, test_table, tests)
    _insert(engine, exam_table, examinations)
    return {"screening_test": len(tests), "screening_examination": len(examinations)}


def load_tests(*, engine: sa.Engine) -> pl.DataFrame:
    """Every stored test (``screening_test`` columns), ordered by id."""
    table: sa.Table = ScreeningTest.__table__  # type: ignore[assignment]
    with engine.connect() as connection:
        result = connection.execute(sa.select(table).order_by(table.c.test_id))
        return pl.DataFrame([dict(row._mapping) for row in result], infer_schema_length=None)


def save_kpi_run(*, engine: sa.Engine, run: KpiRun, user_name: str, note: str | None = None) -> int:
    """Store a KPI run with its data-freeze time and every value; returns the run id."""
    run_table: sa.Table = ScreeningKpiRun.__table__  # type: ignore[assignment]
    value_table: sa.Table = ScreeningKpiValue.__table__  # type: ignore[assignment]
    with engine.begin() as connection:
        run_id = connection.execute(
            sa.insert(run_table)
            .values(
                freeze_time=run.freeze_time.astimezone(UTC),
                computed_at=run.computed_at.astimezone(UTC),
                definitions_sha256=run.definitions_sha256,
                parameters_version=run.parameters_version,
                user_name=user_name,
                note=note,
            )
            .returning(run_table.c.run_id)
        ).scalar_one()
        rows = [
            {
                "run_id": run_id,
                "kpi_id": row["kpi_id"],
                "programme": row["programme"],
                "stratified_by": row["stratified_by"],
                "stratum": {name: row[name] for name in STRATA if row[name] is not None},
                "numerator": row["numerator"],
                "denominator": row["denominator"],
                "expected": row["expected"],
                "value": row["value"],
                "level": row["level"],
            }
            for row in run.values.iter_rows(named=True)
        ]
        for start in range(0, len(rows), _CHUNK):
            connection.execute(sa.insert(value_table), rows[start : start + _CHUNK])
    return int(run_id)


def load_kpi_run(*, engine: sa.Engine, run_id: int) -> KpiRun:
    """A stored KPI run (values with kpi_id, programme, stratified_by, the strata, numerator, denominator,
    expected, value, level; name/unit/levels are in the definitions of the stored hash)."""
    run_table: sa.Table = ScreeningKpiRun.__table__  # type: ignore[assignment]
    value_table: sa.Table = ScreeningKpiValue.__table__  # type: ignore[assignment]
    with engine.connect() as connection:
        head = connection.execute(sa.select(run_table).where(run_table.c.run_id == run_id)).one_or_none()
        if head is None:
            raise LookupError(f"KPI run {run_id} is not in the store")
        values = connection.execute(
            sa.select(value_table).where(value_table.c.run_id == run_id).order_by(value_table.c.kpi_value_id)
        ).all()
    columns = (
        "kpi_id",
        "programme",
        "stratified_by",
        "numerator",
        "denominator",
        "expected",
        "value",
        "level",
    )
    records = [
        {**{c: getattr(v, c) for c in columns}, **{s: v.stratum.get(s) for s in STRATA}} for v in values
    ]
    schema = {c: KPI_VALUES[c] for c in (*columns, *STRATA)}
    freeze = head.freeze_time if head.freeze_time.tzinfo else head.freeze_time.replace(tzinfo=UTC)
    computed = head.computed_at if head.computed_at.tzinfo else head.computed_at.replace(tzinfo=UTC)
    return KpiRun(
        freeze_time=freeze,
        computed_at=computed,
        definitions_sha256=head.definitions_sha256,
        parameters_version=head.parameters_version,
        values=pl.DataFrame(records, schema=schema),
    )
