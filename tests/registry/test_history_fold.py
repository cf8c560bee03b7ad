"""History keeps deltas and notification content once; the state as of a time is the fold of the rows.

- An update row holds only the keys that changed, whoever writes it (service, pipeline bulk writer).
- A notification's rows hold only ``person_id`` and ``version``; its state as of a time is the row's
  content under the folded link, through two moves and at every time in between (``state_at`` and the
  snapshot's streamed as-of reader agree).
- Rows written before this rule (full states, written here by hand) fold to the same states.
- A change of a notification's content is refused: the content lives in its row and never changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from oncoreg.registry import Registry, history
from oncoreg.registry.schemas import NotificationCreate, PersonCreate, TumourCreate, TumourUpdate
from oncoreg.registry.tables import Notification, table_of
from oncoreg.snapshot import extract

FAR = datetime(9999, 1, 1, tzinfo=UTC)
NOTIFICATION = table_of(Notification)


def _rows(connection: sa.Connection, entity: history.Entity, entity_id: int) -> list[Any]:
    return history.changes(connection, entity=entity, entity_id=entity_id)


def _snapshot_notifications(registry: Registry, as_of: datetime, chunk_size: int) -> dict[int, Any]:
    with registry.engine.connect() as connection:
        frames = list(extract.notification_chunks(connection, as_of=as_of, chunk_size=chunk_size))
    return {row["notification_id"]: row for frame in frames for row in frame.iter_rows(named=True)}


def test_an_update_row_keeps_only_the_changed_keys(registry: Registry) -> None:
    with registry.session(user="kari", purpose="test") as reg:
        person = reg.add_person(person=PersonCreate(first_name="Eva", sex=2), reason="feed")
        tumour = reg.add_tumour(
            tumour=TumourCreate(
                person_id=person.person_id,
                incidence_date=date(2020, 3, 1),
                topography="C50.9",
                morphology="8500",
                behaviour=3,
                basis=7,
            ),
            reason="registration",
        )
        reg.update_tumour(
            tumour.tumour_id, changes=TumourUpdate(grade=2, topography="C50.4"), version=1, reason="review"
        )
    full = tumour.model_dump(mode="json")
    with registry.engine.begin() as connection:
        # the pipeline's bulk writer hands over whole states: the stored row keeps the difference only
        history.record_changes(
            connection,
            entity="person",
            changes=[
                (
                    person.person_id,
                    person.model_dump(mode="json"),
                    {**person.model_dump(mode="json"), "sex": 9, "version": 2},
                )
            ],
            changed_at=registry.clock(),
            changed_by="pipeline",
            reason="pipeline run 1",
        )
        insert, update = _rows(connection, "tumour", tumour.tumour_id)
        (_, person_update) = _rows(connection, "person", person.person_id)
        assert (insert.before, insert.after) == (None, full)  # inserts keep the whole state
        assert update.before == {"topography": "C50.9", "grade": None, "version": 1}
        assert update.after == {"topography": "C50.4", "grade": 2, "version": 2}
        assert (person_update.before, person_update.after) == (
            {"sex": 2, "version": 1},
            {"sex": 9, "version": 2},
        )
        state = history.state_at(connection, entity="tumour", entity_id=tumour.tumour_id, as_of=FAR)
        assert state == {**full, "topography": "C50.4", "grade": 2, "version": 2}
        assert history.state_at(connection, entity="person", entity_id=person.person_id, as_of=FAR) == {
            **person.model_dump(mode="json"),
            "sex": 9,
            "version": 2,
        }


def test_a_notification_moved_twice_as_of_each_time(registry: Registry, clock: Any) -> None:
    content = NotificationCreate(
        source_type="pathology",
        topography="C18.7",
        morphology="8140",
        behaviour=3,
        diagnosis_date=date(2021, 5, 4),
        free_text="adenocarcinoma",
    )
    with registry.session(user="kari", purpose="test") as reg:
        first, second = reg.add_persons(persons=[PersonCreate(sex=1), PersonCreate(sex=2)], reason="feed")
        notification = reg.add_notifications(notifications=[content], reason="ingest")[0]
        created = clock.now
        reg.link_notification_to_person(
            notification.notification_id, person_id=first.person_id, version=1, reason="linkage"
        )
        linked = clock.now
        reg.link_notification_to_person(
            notification.notification_id, person_id=second.person_id, version=2, reason="merge"
        )
        moved = clock.now
    nid = notification.notification_id
    whole = notification.model_dump(mode="json")
    with registry.engine.connect() as connection:
        rows = _rows(connection, "notification", nid)
        assert [(r.action, r.before, r.after) for r in rows] == [
            ("insert", None, {"person_id": None, "version": 1}),
            ("update", {"person_id": None, "version": 1}, {"person_id": first.person_id, "version": 2}),
            (
                "update",
                {"person_id": first.person_id, "version": 2},
                {"person_id": second.person_id, "version": 3},
            ),
        ]
        expected = {
            created - timedelta(seconds=2): None,
            created: {**whole, "person_id": None, "version": 1},
            linked - timedelta(microseconds=1): {**whole, "person_id": None, "version": 1},
            linked: {**whole, "person_id": first.person_id, "version": 2},
            moved: {**whole, "person_id": second.person_id, "version": 3},
        }
        for as_of, state in expected.items():
            got = history.state_at(connection, entity="notification", entity_id=nid, as_of=as_of)
            if state is None:
                assert got is None
                continue
            assert got is not None
            # the content comes from the row: every column, the public fields as the service wrote them
            assert {k: got[k] for k in whole} == state
            assert got["diagnosis_date"] == "2021-05-04"
            assert got["free_text"] == "adenocarcinoma"
    for as_of, state in expected.items():
        for chunk_size in (1, 100):
            frozen = _snapshot_notifications(registry, as_of, chunk_size)
            if state is None:
                assert nid not in frozen
            else:
                assert (frozen[nid]["person_id"], frozen[nid]["source_type"]) == (
                    state["person_id"],
                    "pathology",
                )


def test_old_full_state_rows_fold_to_the_same_states(registry: Registry, clock: Any) -> None:
    """Rows as stores before the delta rule hold them (whole states in every row), written by hand."""
    t0 = datetime(2023, 6, 1, 12, 0, tzinfo=UTC)
    person = {"person_id": 901, "first_name": "Eva", "last_name": "Hansen", "sex": 2, "version": 1}
    renamed = {**person, "last_name": "Berg", "version": 2}
    notification = {
        "notification_id": 902,
        "message_id": None,
        "item": 0,
        "person_id": None,
        "source_type": "clinical",
        "topography": "C61.9",
        "diagnosis_date": "2022-02-01",
        "version": 1,
    }
    linked = {**notification, "person_id": 901, "version": 2}

    def old(entity: str, entity_id: int, action: str, at: int, before: Any, after: Any) -> dict[str, Any]:
        return {
            "entity": entity,
            "entity_id": entity_id,
            "related_id": None,
            "action": action,
            "changed_at": t0 + timedelta(seconds=at),
            "changed_by": "old",
            "reason": "written before the delta rule",
            "before": before,
            "after": after,
        }

    with registry.engine.begin() as connection:
        connection.execute(
            sa.insert(table_of(Notification)),
            [{**notification, "diagnosis_date": date(2022, 2, 1), "person_id": None, "version": 2}],
        )
        connection.execute(
            sa.insert(history.HISTORY),  # not through history_row: the rows exactly as they were stored
            [
                old("person", 901, "insert", 0, None, person),
                old("notification", 902, "insert", 1, None, notification),
                old("person", 901, "update", 2, person, renamed),
                old("notification", 902, "update", 3, notification, linked),
                old("person", 901, "delete", 4, renamed, None),
            ],
        )
    # (the notification row's person is left null: its content is what the fold lays the link over)
    with registry.engine.connect() as connection:
        for at, want_person, want_notification in [
            (-1, None, None),
            (0, person, None),
            (1, person, notification),
            (2, renamed, notification),
            (3, renamed, linked),
            (4, None, linked),
        ]:
            as_of = t0 + timedelta(seconds=at)
            assert history.state_at(connection, entity="person", entity_id=901, as_of=as_of) == want_person
            got = history.state_at(connection, entity="notification", entity_id=902, as_of=as_of)
            if want_notification is None:
                assert got is None
            else:
                assert got is not None
                assert {k: got[k] for k in want_notification} == want_notification
            frozen = _snapshot_notifications(registry, as_of, 1)
            assert (frozen[902]["person_id"] if 902 in frozen else "absent") == (
                want_notification["person_id"] if want_notification else "absent"
            )
            with registry.engine.connect() as other:
                persons = [
                    row
                    for frame in extract.person_chunks(other, as_of=as_of, chunk_size=1)
                    for row in frame.iter_rows(named=True)
                ]
            assert [p["person_id"] for p in persons if p["person_id"] == 901] == (
                [901] if want_person else []
            )


def test_a_change_of_notification_content_is_refused() -> None:
    with pytest.raises(ValueError, match=r"notification 7: only .*person_id.* not \['topography'\]"):
        history.history_row(
            entity="notification",
            entity_id=7,
            action="update",
            changed_at=FAR,
            changed_by="x",
            reason="y",
            before={"topography": "C18.7", "person_id": None, "version": 1},
            after={"topography": "C18.9", "person_id": None, "version": 2},
        )


def test_fold_is_the_last_full_state_and_the_overlay_of_deltas() -> None:
    full = [("insert", {"a": 1, "b": 2, "version": 1}), ("update", {"a": 3, "b": 2, "version": 2})]
    deltas = [("insert", {"a": 1, "b": 2, "version": 1}), ("update", {"a": 3, "version": 2})]
    assert history.fold(full) == history.fold(deltas) == {"a": 3, "b": 2, "version": 2}
    assert history.fold([*deltas, ("delete", None)]) is None
    assert history.fold([*deltas, ("delete", None), ("insert", {"a": 9})]) == {"a": 9}
    assert history.fold([]) is None
