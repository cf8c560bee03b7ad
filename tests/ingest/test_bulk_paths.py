"""The fast paths of ingest write what the plain ones write.

- A run that stores and parses in one pass per batch ends in the store of the two-phase path (messages
  stored ``received`` first, then parsed from the store), history included.
- A parser failing unexpectedly still leaves its batch stored verbatim.
- ``oncoreg.registry.bulk.insert_rows`` stores the values SQLAlchemy's ``insert()`` stores.
- The plain-split CSV reading agrees with ``csv.reader``.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ingest_support import canonical_dump

from oncoreg.ingest import ingest_directory, run, store
from oncoreg.ingest.csv_feeds import read_row
from oncoreg.ingest.split import split_file
from oncoreg.registry import Registry, bulk, history


def _history(engine: sa.Engine) -> list[tuple[Any, ...]]:
    """Notification history without surrogate ids or times: (message hash, action, user, reason, states,
    the state the history gives now: the row's content under the folded person link and version)."""
    h, n, m = history.HISTORY, store.NOTIFICATION, store.MESSAGES
    query = (
        sa.select(
            h.c.entity_id,
            m.c.content_hash,
            n.c.item,
            h.c.action,
            h.c.changed_by,
            h.c.reason,
            h.c.before,
            h.c.after,
        )
        .join(n, n.c.notification_id == h.c.entity_id)
        .join(m, m.c.message_id == n.c.message_id)
        .where(h.c.entity == "notification")
    )
    far = datetime(9999, 1, 1, tzinfo=UTC)
    out = []
    with engine.connect() as connection:
        for nid, content_hash, item, action, user, reason, before, after in connection.execute(query).all():
            # the insert keeps only the mutable fields; the content is the row's
            assert (action, before, after) == ("insert", None, {"person_id": None, "version": 1})
            state = history.state_at(connection, entity="notification", entity_id=nid, as_of=far)
            assert state is not None
            assert (state["notification_id"], state["person_id"], state["version"]) == (nid, None, 1)
            assert state["message_id"] is not None
            state = {k: v for k, v in state.items() if k not in ("notification_id", "message_id")}
            run_free = reason.rstrip("0123456789")  # "ingest run 7": run ids differ between the stores
            out.append((content_hash, item, action, user, run_free, json.dumps(state, sort_keys=True)))
    return sorted(out)


def _store_only(registry: Registry, directory: Path) -> None:
    """What a run killed after storing (or an older two-phase run) leaves: every message ``received``."""
    run_id, adoptable = store.start_run(registry.engine, user="batch", directory="x", now=registry.clock())
    for path, source, message_format in run.message_files(directory)[0]:
        messages = list(split_file(path, source=source, message_format=message_format, root=directory))
        store.store_batch(registry.engine, messages, run_id=run_id, adoptable=adoptable, now=registry.clock())


def test_one_pass_equals_stored_first_then_parsed(
    registry: Registry, message_dir: Path, tmp_path: Path
) -> None:
    one_pass = ingest_directory(registry=registry, directory=message_dir, user="batch", batch_size=70)
    with Registry.create(f"sqlite:///{tmp_path / 'two_phase.sqlite'}") as other:
        _store_only(other, message_dir)
        with other.engine.connect() as connection:
            received = connection.execute(
                sa.select(sa.func.count()).where(store.MESSAGES.c.status == "received")
            ).scalar_one()
        assert received == one_pass.received  # nothing parsed yet
        two_phase = ingest_directory(registry=other, directory=message_dir, user="batch", batch_size=70)
        assert canonical_dump(other.engine) == canonical_dump(registry.engine)
        assert _history(other.engine) == _history(registry.engine)
    assert (two_phase.accepted, two_phase.quarantined) == (one_pass.accepted, one_pass.quarantined)
    assert two_phase.received == one_pass.received
    assert two_phase.reconciles


def test_a_parser_failure_leaves_its_batch_stored_and_a_rerun_finishes_it(
    registry: Registry, message_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    parse = run.parse_message

    def failing(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 100:
            raise RuntimeError("parser bug")
        return parse(**kwargs)

    monkeypatch.setattr(run, "parse_message", failing)
    with pytest.raises(RuntimeError, match="parser bug"):
        ingest_directory(registry=registry, directory=message_dir, user="batch", batch_size=60)
    with registry.engine.connect() as connection:
        statuses = dict(
            connection.execute(
                sa.select(store.MESSAGES.c.status, sa.func.count()).group_by(store.MESSAGES.c.status)
            ).all()
        )
    assert statuses["received"] == 60  # the second batch (calls 61-120), stored verbatim, none parsed
    monkeypatch.setattr(run, "parse_message", parse)
    resumed = ingest_directory(registry=registry, directory=message_dir, user="batch", batch_size=60)
    with Registry.create(f"sqlite:///{tmp_path / 'reference.sqlite'}") as reference:
        once = ingest_directory(registry=reference, directory=message_dir, user="batch", batch_size=60)
        assert canonical_dump(registry.engine) == canonical_dump(reference.engine)
        assert _history(registry.engine) == _history(reference.engine)
    assert resumed.reconciles
    assert resumed.received == once.received


def test_insert_rows_stores_what_insert_stores(registry: Registry) -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    states: list[dict[str, Any] | None] = [None, {"a": 1, "d": "2024-01-02", "x": None}, {"b": [1, "ø"]}]
    rows = [
        history.history_row(
            entity="tumour",  # (a notification's insert keeps only its mutable fields)
            entity_id=i,
            action="insert",
            changed_at=now,
            changed_by="kari",
            reason="test",
            before=None if i else {"z": 0},
            after=state,
        )
        for i, state in enumerate(states)
    ]
    h = history.HISTORY
    columns = [c for c in h.c if c.name != "history_id"]
    with registry.engine.begin() as connection:
        history.record(connection, rows)  # the bulk path
        connection.execute(sa.insert(h), [{**row, "entity_id": row["entity_id"] + 10} for row in rows])
        # raw stored values, not through the column types: the text/JSON the database holds
        raw = connection.execute(
            sa.select(*[sa.cast(c, sa.Text) if c.name in ("before", "after") else c for c in columns])
            .where(h.c.entity == "tumour")
            .order_by(h.c.entity_id)
        ).all()
    bulk_rows, plain_rows = raw[:3], raw[3:]
    assert [r[1] for r in plain_rows] == [10, 11, 12]
    strip = [tuple(v for i, v in enumerate(r) if i != 1) for r in bulk_rows]
    assert strip == [tuple(v for i, v in enumerate(r) if i != 1) for r in plain_rows]
    with registry.engine.connect() as connection:
        assert history.state_at(connection, entity="tumour", entity_id=1, as_of=now) == states[1]
        assert history.state_at(connection, entity="tumour", entity_id=0, as_of=now) is None
    with registry.engine.connect() as connection:
        assert bulk.insert_rows(connection, h, ("entity",), []) == 0


def test_insert_rows_converts_dates_and_repeated_values(registry: Registry) -> None:
    n = store.NOTIFICATION
    values = [
        (1000 + i, "clinical", i % 3, date(2020, 1, 1 + i % 3) if i % 2 else None, 1) for i in range(300)
    ]
    with registry.engine.begin() as connection:
        inserted = bulk.insert_rows(
            connection, n, ("notification_id", "source_type", "item", "event_date", "version"), values
        )
        back = connection.execute(
            sa.select(n.c.notification_id, n.c.source_type, n.c.item, n.c.event_date, n.c.version).order_by(
                n.c.notification_id
            )
        ).all()
    assert inserted == 300
    assert [tuple(row) for row in back] == values


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2",
        "a,b\n1,",
        "a,b\n,",
        'a,b\n"1,5",2',
        'a,b\n"x\ny",2',
        "a,b\r\n1,2",
        "a,b\n1,2\n",
        "a,b\n1,2\n3,4",
        "a,b\n1\x002",
        "a\u2028b,c\n1,2",
        "a\x0cb,c\n1\x0b,2",
        "a,b",
        "\n1,2",
        "a,b\n",
    ],
)
def test_csv_rows_read_as_csv_reader_reads_them(text: str) -> None:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
        expected: object = (rows[0], rows[1]) if len(rows) == 2 else ValueError
    except csv.Error:
        expected = csv.Error
    try:
        got: object = read_row(text.encode())
    except (ValueError, csv.Error) as exc:
        got = type(exc)
    assert got == expected


def test_csv_rows_read_as_csv_reader_reads_them_random() -> None:
    rng = random.Random(5)
    alphabet = ["a", "ø", ",", "\n", " ", '"', "\r", "\t", "\u2028", "\x0b"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        rows = list(csv.reader(io.StringIO(text, newline="")))
        expected: object = (rows[0], rows[1]) if len(rows) == 2 else ValueError
        try:
            got: object = read_row(text.encode())
        except ValueError:
            got = ValueError
        assert got == expected, repr(text)
