"""The screening store on SQLite and PostgreSQL: upgrade to head, write and read invitations, results and a
KPI run with its data-freeze time (screening.md §5: every indicator states its extract date)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import sqlalchemy as sa

from oncoreg.registry.migrate import upgrade
from oncoreg.registry.tables import Person
from oncoreg.screening.episodes import episodes
from oncoreg.screening.kpi import compute_kpis, kpi_run
from oncoreg.screening.store import (
    load_invitations,
    load_kpi_run,
    load_tests,
    save_invitations,
    save_kpi_run,
    save_results,
)


def _persons(engine: sa.Engine) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Person.__table__),  # type: ignore[arg-type]
            [
                {
                    "person_id": i,
                    "identifier_type": "none",
                    "sex": 2,
                    "vital_status": "alive",
                    "updated_at": now,
                }
                for i in (1, 2)
            ],
        )


EVENTS = pl.DataFrame(
    {
        "event_id": ["B1", "B2", "B3", "B4"],
        "person_id": [1, 1, 1, 2],
        "programme": ["breast"] * 4,
        "episode": [1, 1, 1, 1],
        "date": [date(2024, 1, 10), date(2024, 2, 1), date(2024, 2, 20), date(2024, 2, 1)],
        "type": ["invitation", "screen", "assessment", "screen"],
        "test": [None, "mammography", "biopsy", "mammography"],
        "indication": [None, "screening", "follow_up", "screening"],
        "result": [None, "recall", "benign", "normal"],
        "recall": [None, True, None, False],
        "reader1_score": [None, 3, None, 1],
        "reader2_score": [None, 2, None, 1],
        "first_screen": [None, True, None, True],
        "county": ["03"] * 4,
    }
)


def test_store_round_trip(database_url: str) -> None:
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    try:
        _persons(engine)
        batch = pl.DataFrame(
            {
                "person_id": [1, 2],
                "programme": ["breast", "cervix"],
                "letter": ["invitation", "reminder"],
                "round": [2, 1],
                "due_date": [date(2025, 3, 1), date(2025, 2, 20)],
                "send_date": [date(2025, 3, 3), date(2025, 3, 3)],
                "backlog": [False, True],
            }
        )
        assert save_invitations(engine=engine, batch=batch) == 2
        stored = load_invitations(engine=engine)
        assert stored["kind"].to_list() == ["invitation", "reminder"]
        assert stored["sent_date"].to_list() == [date(2025, 3, 3)] * 2
        assert stored["backlog"].to_list() == [False, True]

        assert save_results(engine=engine, events=EVENTS) == {"screening_test": 2, "screening_examination": 1}
        # idempotent on the event id: the same file again adds nothing
        assert save_results(engine=engine, events=EVENTS) == {"screening_test": 0, "screening_examination": 0}
        tests = load_tests(engine=engine)
        assert tests["message_id"].to_list() == ["B2", "B4"]
        assert tests["reader1_score"].to_list() == [3, 1]

        freeze = datetime(2025, 1, 31, 23, 0, tzinfo=timezone(timedelta(hours=1)))
        run = kpi_run(
            freeze_time=freeze,
            computed_at=datetime(2025, 2, 3, 8, 0, tzinfo=UTC),
            episodes=episodes(events=EVENTS),
            strata=[(), ("county",)],
            programmes=["breast"],
        )
        run_id = save_kpi_run(engine=engine, run=run, user_name="coordinator")
        again = load_kpi_run(engine=engine, run_id=run_id)
        assert again.freeze_time == freeze  # same instant (stored in UTC)
        assert again.definitions_sha256 == run.definitions_sha256
        assert again.values.height == run.values.height
        recall = again.values.filter(
            (pl.col("kpi_id") == "BR-RECALL-INI") & (pl.col("stratified_by") == "county")
        )
        assert recall.select("county", "numerator", "denominator").row(0) == ("03", 1, 2)
    finally:
        engine.dispose()


def test_kpi_values_match_compute(database_url: str) -> None:
    # the stored values are the computed ones (no rounding on the way)
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    try:
        values = compute_kpis(episodes=episodes(events=EVENTS), strata=[()], programmes=["breast"])
        run = kpi_run(
            freeze_time=datetime(2025, 1, 1, tzinfo=UTC),
            computed_at=datetime(2025, 1, 2, tzinfo=UTC),
            episodes=episodes(events=EVENTS),
            strata=[()],
            programmes=["breast"],
        )
        again = load_kpi_run(engine=engine, run_id=save_kpi_run(engine=engine, run=run, user_name="x"))
        assert again.values.sort("kpi_id")["value"].to_list() == values.sort("kpi_id")["value"].to_list()
    finally:
        engine.dispose()
