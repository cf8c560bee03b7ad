"""``store.read_frame``'s native path (connectorx on a SQLite file) gives exactly the DBAPI path's frame, or
falls back to it: every dtype the store reads, nulls, order, empty results, values of another type than
their column's (SQLite is dynamically typed), pending writes, ``:memory:``, a locked database, and a whole
rebuild."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from oncoreg.ingest import ingest_directory
from oncoreg.pipeline import run_pipeline, store
from oncoreg.registry.service import Registry

SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "count": pl.Int64,
    "small": pl.Int8,
    "middle": pl.Int32,
    "name": pl.String,
    "day": pl.Date,
    "flag": pl.Boolean,
    "share": pl.Float64,
    "whole": pl.Float64,  # an INTEGER column read as floats
    "marked": pl.Boolean,  # an INTEGER column read as booleans
}
ROWS = [
    (1, 5, 3, 70_000, "Åse", "2024-02-29", 1, 1.5, 7, 2),
    (2, None, None, None, None, None, None, None, None, None),
    (3, -(2**62), -128, -5, "", "1986-01-01", 0, -0.25, 0, 0),
    (4, 0, 127, 2**31 - 1, "x'y", "2099-12-31", 1, 0.0, None, 1),
]


class Spy:
    """Counts the native reads that gave a frame and those that fell back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.native = 0
        self.fallbacks = 0
        original = store._native_read

        def counted(source: str, sql: str, target: pl.Schema, **kwargs: Any) -> pl.DataFrame | None:
            frame = original(source, sql, target, **kwargs)
            if frame is None:
                self.fallbacks += 1
            else:
                self.native += 1
            return frame

        monkeypatch.setattr(store, "_native_read", counted)


def _table(url: str) -> tuple[sa.Engine, sa.Table]:
    memory = url == "sqlite://" or "mode=memory" in url
    engine = sa.create_engine(url, poolclass=sa.pool.StaticPool) if memory else sa.create_engine(url)
    table = sa.Table(
        "t",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        *(sa.Column(name) for name in [*SCHEMA][1:]),
        sa.Column("loose"),
    )
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, count BIGINT, small SMALLINT, middle INTEGER,"
            " name VARCHAR(20), day DATE, flag BOOLEAN, share FLOAT, whole INTEGER, marked INTEGER,"
            " loose)"  # no declared type: any value keeps its own type
        )
        marks = ", ".join("?" * 11)
        connection.exec_driver_sql(f"INSERT INTO t VALUES ({marks})", [(*row, None) for row in ROWS])
    return engine, table


def _select(table: sa.Table, *names: str) -> sa.Select[Any]:
    return sa.select(*(table.c[name] for name in names))


def _both(engine: sa.Engine, query: sa.Select[Any], schema: dict[str, Any]) -> tuple[Any, Any]:
    """(DBAPI path, native path) results of one read; an exception stands for its type."""
    results: list[Any] = []
    for native in (False, True):
        store.NATIVE_READS = native
        try:
            with engine.connect() as connection:
                results.append(store.read_frame(connection, query, schema))
        except Exception as exc:
            results.append(type(exc))
        finally:
            store.NATIVE_READS = True
    return results[0], results[1]


def _set(engine: sa.Engine, sql: str) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(sql)


def test_every_dtype_reads_natively_as_the_dbapi_path_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, table = _table(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spy = Spy(monkeypatch)
    for order in (table.c.id, table.c.id.desc(), table.c.name.desc().nulls_last()):
        old, new = _both(engine, _select(table, *SCHEMA).order_by(order), SCHEMA)
        assert new.schema == old.schema == pl.Schema(SCHEMA)
        assert new.equals(old)
    assert old.rows() == [
        (1, 5, 3, 70_000, "Åse", date(2024, 2, 29), True, 1.5, 7.0, True),
        (4, 0, 127, 2**31 - 1, "x'y", date(2099, 12, 31), True, 0.0, None, True),
        (3, -(2**62), -128, -5, "", date(1986, 1, 1), False, -0.25, 0.0, False),
        (2, None, None, None, None, None, None, None, None, None),
    ]
    assert (spy.native, spy.fallbacks) == (3, 0)
    old, new = _both(engine, _select(table, *SCHEMA).where(table.c.id > 100), SCHEMA)
    assert new.equals(old)
    assert new.schema == pl.Schema(SCHEMA)
    assert new.height == 0
    # selected under other names, in select order, with literal binds
    renamed = {"key": pl.Int64, "when": pl.Date}
    query = _select(table, "id", "day").where(table.c.name.in_(["x'y", "Åse"])).order_by(table.c.id)
    old, new = _both(engine, query, renamed)
    assert new.equals(old)
    assert new.columns == ["key", "when"]
    assert new.height == 2
    assert spy.native == 5


def test_a_partitioned_read_gives_the_dbapi_paths_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges of the id read concurrently, then sorted again: the same frame, also for ids with gaps,
    negative ids, nulls in every other column, a handful of rows and none."""
    engine, table = _table(f"sqlite:///{tmp_path / 'r.sqlite'}")
    ids = [*range(-50, 0, 7), *range(5, 40_000, 3), 10**12]
    _set(engine, "DELETE FROM t")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO t (id, count, name, day, flag) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    i,
                    None if i % 5 else i * 2,
                    None if i % 7 else f"n{i}",
                    None if i % 3 else "2001-02-03",
                    i % 2,
                )
                for i in ids
            ],
        )
    spy = Spy(monkeypatch)
    names = ("id", "count", "name", "day", "flag")
    schema = {name: SCHEMA[name] for name in names}
    for where in (table.c.id.is_not(None), table.c.id > 10**12, table.c.id.between(-30, 40)):
        query = _select(table, *names).where(where).order_by(table.c.id)
        store.NATIVE_READS = False
        with engine.connect() as connection:
            old = store.read_frame(connection, query, schema)
        store.NATIVE_READS = True
        with engine.connect() as connection:
            new = store.read_frame(connection, query, schema, partition_on="id")
        assert new.equals(old)
    assert old.height > 0
    assert (spy.native, spy.fallbacks) == (3, 0)  # every read came natively, the empty one too


@pytest.mark.parametrize(
    ("column", "value", "dtype"),
    [
        ("count", "'abc'", pl.Int64),  # text in an INTEGER column: both refuse
        ("count", "5.5", pl.Int64),  # a real in an INTEGER column: the DBAPI path truncates it
        ("small", "300", pl.Int8),  # out of the target's range: both refuse
        ("day", "'2024-01-31 08:15:00'", pl.Date),  # a date with a time part: sliced to the date
        ("day", "20240131", pl.Date),  # an integer in a DATE column: both refuse
        ("day", "'2024-02-30'", pl.Date),  # no such day: both refuse
        ("flag", "'yes'", pl.Boolean),  # text in a BOOLEAN column: both refuse
        ("flag", "2", pl.Boolean),  # any non-zero integer is true
        ("name", "x'00'", pl.String),  # a blob in a TEXT column
        ("share", "'many'", pl.Float64),  # text in a FLOAT column
        ("loose", "12", pl.String),  # an integer in a column without a declared type
        ("loose", "'12'", pl.Int64),  # and text there read as an integer
    ],
)
def test_a_value_of_another_type_reads_as_the_dbapi_path_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str, value: str, dtype: Any
) -> None:
    engine, table = _table(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _set(engine, f"UPDATE t SET {column} = {value} WHERE id = 3")
    spy = Spy(monkeypatch)
    schema = {"id": pl.Int64, column: dtype}
    old, new = _both(engine, _select(table, "id", column).order_by(table.c.id), schema)
    if isinstance(old, pl.DataFrame):
        assert isinstance(new, pl.DataFrame)
        assert new.schema == old.schema
        assert new.equals(old)
    else:
        assert new is old
    assert spy.native + spy.fallbacks == 1


def test_a_date_with_a_time_part_falls_back_to_the_sliced_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, table = _table(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _set(engine, "UPDATE t SET day = '2024-01-31 08:15:00' WHERE id = 3")
    spy = Spy(monkeypatch)
    with engine.connect() as connection:
        frame = store.read_frame(connection, _select(table, "day").where(table.c.id == 3), {"day": pl.Date})
    assert frame["day"].to_list() == [date(2024, 1, 31)]
    assert (spy.native, spy.fallbacks) == (0, 1)


def test_pending_writes_of_the_transaction_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, table = _table(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spy = Spy(monkeypatch)
    query = _select(table, "id", "name").order_by(table.c.id)
    schema = {"id": pl.Int64, "name": pl.String}
    with engine.begin() as connection:
        assert store.read_frame(connection, query, schema).height == 4  # nothing written yet: native
        connection.execute(sa.insert(table).values(id=9, name="new"))
        connection.execute(sa.delete(table).where(table.c.id == 1))
        frame = store.read_frame(connection, query, schema)
    assert frame["id"].to_list() == [2, 3, 4, 9]
    assert frame["name"].to_list()[-1] == "new"
    assert (spy.native, spy.fallbacks) == (1, 0)


def test_an_in_memory_database_reads_through_the_dbapi_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    for url in ("sqlite://", "sqlite:///file:mem1?mode=memory&cache=shared&uri=true"):
        engine, table = _table(url)
        with engine.connect() as connection:
            frame = store.read_frame(connection, _select(table, *SCHEMA).order_by(table.c.id), SCHEMA)
        assert frame.height == len(ROWS)
        assert frame["day"].to_list()[0] == date(2024, 2, 29)
    assert (spy.native, spy.fallbacks) == (0, 0)


LOCKER = """
import sqlite3, sys, time
writer = sqlite3.connect(sys.argv[1], isolation_level=None)
writer.execute("BEGIN EXCLUSIVE")
writer.execute("INSERT INTO t (id, name) VALUES (10, 'late')")
print("locked", flush=True)
time.sleep(0.5)
writer.execute("COMMIT")
"""


def test_a_database_locked_by_another_process_is_read_once_the_lock_is_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.sqlite"
    engine, table = _table(f"sqlite:///{path}")
    spy = Spy(monkeypatch)
    command = [sys.executable, "-c", LOCKER, str(path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as locker:
        assert locker.stdout is not None
        assert locker.stdout.readline().strip() == "locked"
        with engine.connect() as connection:
            frame = store.read_frame(connection, _select(table, "id").order_by(table.c.id), {"id": pl.Int64})
    assert locker.returncode == 0
    assert frame["id"].to_list() == [1, 2, 3, 4, 10]
    assert spy.native + spy.fallbacks == 1


def test_no_native_read_while_another_connection_of_the_engine_is_out_or_off_the_main_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """connectorx's own SQLite would not see (and on closing would release) the locks of this process's
    other connections: then the DBAPI cursor reads."""
    engine, table = _table(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spy = Spy(monkeypatch)
    query, schema = _select(table, "id").order_by(table.c.id), {"id": pl.Int64}
    with engine.connect() as writer, engine.connect() as connection:
        writer.execute(sa.insert(table).values(id=11))  # a write lock held by another connection
        assert store.read_frame(connection, query, schema)["id"].to_list() == [1, 2, 3, 4]
        writer.rollback()
    assert (spy.native, spy.fallbacks) == (0, 0)
    frames: list[pl.DataFrame] = []

    def read() -> None:
        with engine.connect() as connection:
            frames.append(store.read_frame(connection, query, schema))

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    assert frames[0]["id"].to_list() == [1, 2, 3, 4]
    assert (spy.native, spy.fallbacks) == (0, 0)
    with engine.connect() as connection:
        assert store.read_frame(connection, query, schema).height == 4
    assert spy.native == 1


DAY = date(2026, 1, 1)
DERIVED = {
    "person": "SELECT * FROM person ORDER BY person_id",
    "notification": "SELECT notification_id, person_id, version FROM notification ORDER BY 1",
    "residence": "SELECT * FROM residence ORDER BY residence_id",
    "person_identifier": "SELECT * FROM person_identifier ORDER BY 1",
    "tumour": "SELECT * FROM tumour ORDER BY tumour_id",
    "tumour_notification": "SELECT tumour_id, notification_id FROM tumour_notification ORDER BY 1, 2",
    "death": "SELECT * FROM death ORDER BY death_id",
    "review_task": "SELECT * FROM review_task ORDER BY task_id",
    "check_result": "SELECT * FROM check_result ORDER BY check_result_id",
    "treatment": "SELECT * FROM treatment ORDER BY treatment_id",
    "history": 'SELECT history_id, entity, entity_id, action, "before", "after" FROM history ORDER BY 1',
}


def _derived(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    connection = sqlite3.connect(path)
    try:
        out = {}
        for name, sql in DERIVED.items():
            cursor = connection.execute(sql)
            keep = [i for i, d in enumerate(cursor.description) if not d[0].endswith("_at")]
            out[name] = [tuple(row[i] for i in keep) for row in cursor]
        return out
    finally:
        connection.close()


def test_a_rebuild_derives_the_same_tables_with_native_reads_on_and_off(
    tiny_country: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingested = tmp_path / "ingested.sqlite"
    registry = Registry.create(f"sqlite:///{ingested}")
    ingest_directory(registry=registry, directory=tiny_country, user="t")
    registry.dispose()
    spy = Spy(monkeypatch)
    derived, reports = {}, {}
    for native in (True, False):
        path = tmp_path / f"native_{native}.sqlite"
        shutil.copyfile(ingested, path)
        monkeypatch.setattr(store, "NATIVE_READS", native)
        registry = Registry.create(f"sqlite:///{path}")
        try:
            first = run_pipeline(registry=registry, directory=None, user="t", rebuild=True, as_of=DAY)
            spy.native, spy.fallbacks = 0, 0
            again = run_pipeline(registry=registry, directory=None, user="t", rebuild=True, as_of=DAY)
        finally:
            registry.dispose()
        assert first.changed
        assert not again.changed
        if native:  # the rebuild that writes nothing read everything natively
            assert spy.native > 5
            assert spy.fallbacks == 0
        reports[native] = {
            k: v for k, v in first.to_dict().items() if k not in {"seconds", "total_seconds", "run_id"}
        }
        derived[native] = _derived(path)
    assert len(derived[True]["tumour"]) > 50
    assert len(derived[True]["history"]) > 1000
    assert reports[True] == reports[False]
    for name in DERIVED:
        assert derived[True][name] == derived[False][name], name
