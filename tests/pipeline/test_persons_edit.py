"""Merging and splitting persons in the store (SQLite and PostgreSQL): moves, ``merged_into``,
re-consolidated tumours, history and version conflicts, on hand-built persons and notifications."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa

from oncoreg.errors import ConflictError, ValidationFailed
from oncoreg.pipeline import persons_edit, store
from oncoreg.registry import Registry
from oncoreg.registry.schemas import NotificationCreate, PersonCreate, PersonUpdate, TumourCreate

AS_OF = date(2025, 1, 1)


@dataclass(frozen=True)
class Pair:
    kept: int
    other: int
    breast_kept: int  # notification ids
    breast_other: int
    colon_other: int


def _breast(person_id: int, day: date, source: str = "pathology") -> NotificationCreate:
    return NotificationCreate(
        source_type=source,  # type: ignore[arg-type]
        person_id=person_id,
        sample_date=day,
        diagnosis_date=day,
        topography="C50.4",
        morphology="8500",
        behaviour=3,
        basis=7,
    )


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    store = Registry.create(database_url)
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture
def pair(registry: Registry) -> Pair:
    """One woman registered twice: a breast tumour on each record, a colon tumour on the second."""
    with registry.session(user="fixture", purpose="test set-up", channel="batch") as reg:
        kept, other = reg.add_persons(
            persons=[
                PersonCreate(
                    identifier="15108695088",
                    first_name="Eva",
                    last_name="Berg",
                    birth_date=date(1986, 10, 15),
                    sex=2,
                ),
                PersonCreate(first_name="Eva", last_name="Berg", birth_date=date(1986, 10, 15), sex=2),
            ],
            reason="population register",
        )
        notes = reg.add_notifications(
            notifications=[
                _breast(kept.person_id, date(2024, 2, 3)),
                _breast(other.person_id, date(2024, 2, 10), "clinical"),
                NotificationCreate(
                    source_type="pathology",
                    person_id=other.person_id,
                    sample_date=date(2024, 5, 1),
                    diagnosis_date=date(2024, 5, 1),
                    topography="C18.7",
                    morphology="8140",
                    behaviour=3,
                    basis=7,
                ),
            ],
            reason="ingest",
        )
        for note in notes:
            tumour = reg.add_tumour(
                tumour=TumourCreate(
                    person_id=note.person_id,
                    incidence_date=note.sample_date,
                    topography=note.topography,
                    morphology=note.morphology,
                    behaviour=3,
                    basis=7,
                ),
                reason="consolidation",
            )
            reg.link_tumour_notification(
                tumour_id=tumour.tumour_id, notification_id=note.notification_id, reason="consolidation"
            )
    return Pair(kept.person_id, other.person_id, *(n.notification_id for n in notes))


def _tumours(registry: Registry) -> dict[int, list[str]]:
    with registry.engine.connect() as connection:
        rows = connection.execute(sa.select(store.TUMOURS.c.person_id, store.TUMOURS.c.topography))
        out: dict[int, list[str]] = {}
        for person_id, topography in rows:
            out.setdefault(person_id, []).append(topography)
    return {k: sorted(v) for k, v in out.items()}


def _person(registry: Registry, person_id: int) -> dict[str, object]:
    with registry.engine.connect() as connection:
        row = connection.execute(sa.select(store.PERSONS).where(store.PERSONS.c.person_id == person_id)).one()
    return dict(row._mapping)


def test_merge_moves_notifications_and_reconsolidates(registry: Registry, pair: Pair) -> None:
    assert _tumours(registry) == {pair.kept: ["C50.4"], pair.other: ["C18.7", "C50.4"]}
    edit = persons_edit.merge(
        registry,
        into=pair.kept,
        merged=pair.other,
        versions={pair.kept: 1, pair.other: 1},
        user="kari",
        reason="same woman: D-number record",
        as_of=AS_OF,
    )
    assert edit.notifications_moved == 2
    assert (edit.tumours_before, edit.tumours_after) == (3, 2)  # the two breast records are one tumour
    assert _tumours(registry) == {pair.kept: ["C18.7", "C50.4"]}
    gone = _person(registry, pair.other)
    assert gone["merged_into"] == pair.kept
    assert gone["version"] == 2
    with registry.engine.connect() as connection:
        owners = set(connection.execute(sa.select(store.NOTIFICATION.c.person_id)).scalars())
    assert owners == {pair.kept}

    with registry.session(user="kari", purpose="audit of the merge", channel="batch") as reg:
        retired = reg.history(entity="person", entity_id=pair.other)
        moved = reg.history(entity="notification", entity_id=pair.breast_other)
    last = retired[-1]
    assert (last.changed_by, last.reason, last.action) == ("kari", "same woman: D-number record", "update")
    assert last.before is not None
    assert last.after is not None
    assert last.before["merged_into"] is None
    assert last.after["merged_into"] == pair.kept
    assert moved[-1].before is not None
    assert moved[-1].after is not None
    assert (moved[-1].before["person_id"], moved[-1].after["person_id"]) == (pair.other, pair.kept)
    decision = persons_edit.decisions(registry)[-1]
    assert decision["kind"] == "merge"
    # recorded by notification ids, which a rebuild re-applies (oncoreg.pipeline.decisions)
    assert decision["into_notifications"] == [pair.breast_kept]
    assert decision["notification_ids"] == sorted([pair.breast_other, pair.colon_other])


def test_merge_with_a_stale_version_is_a_conflict(registry: Registry, pair: Pair) -> None:
    with registry.session(user="anne", channel="batch") as reg:
        reg.update_person(
            pair.other, changes=PersonUpdate(last_name="Berg-Olsen"), version=1, reason="name change"
        )
    with pytest.raises(ConflictError, match="anne"):
        persons_edit.merge(
            registry,
            into=pair.kept,
            merged=pair.other,
            versions={pair.kept: 1, pair.other: 1},
            user="kari",
            reason="same woman",
            as_of=AS_OF,
        )
    assert _person(registry, pair.other)["merged_into"] is None  # nothing written
    assert _tumours(registry)[pair.other] == ["C18.7", "C50.4"]


def test_merge_needs_a_reason_and_two_live_persons(registry: Registry, pair: Pair) -> None:
    versions = {pair.kept: 1, pair.other: 1}
    with pytest.raises(ValidationFailed):
        persons_edit.merge(
            registry, into=pair.kept, merged=pair.other, versions=versions, user="k", reason=" "
        )
    persons_edit.merge(
        registry, into=pair.kept, merged=pair.other, versions=versions, user="k", reason="same"
    )
    with pytest.raises(ValidationFailed, match="already merged"):
        persons_edit.merge(
            registry,
            into=pair.kept,
            merged=pair.other,
            versions={pair.kept: 2, pair.other: 2},
            user="k",
            reason="again",
        )


def test_split_moves_chosen_notifications_to_a_new_person(registry: Registry, pair: Pair) -> None:
    edit = persons_edit.split(
        registry,
        person_id=pair.other,
        notification_ids=[pair.colon_other],
        version=1,
        user="kari",
        reason="colon report belongs to another man",
        as_of=AS_OF,
    )
    (new,) = edit.created
    assert new == pair.colon_other  # numbered like the pipeline: the lowest moved notification id
    assert _tumours(registry) == {pair.kept: ["C50.4"], pair.other: ["C50.4"], new: ["C18.7"]}
    with registry.session(user="kari", purpose="audit of the split", channel="batch") as reg:
        created = reg.history(entity="person", entity_id=new)
    assert created[0].action == "insert"
    assert created[0].reason == "colon report belongs to another man"
    decision = persons_edit.decisions(registry)[-1]
    assert (decision["kind"], decision["person_id"], decision["new_person_id"]) == ("split", pair.other, new)
    assert decision["notification_ids"] == [pair.colon_other]
    assert decision["rest_notifications"] == [pair.breast_other]
    with pytest.raises(ConflictError):
        persons_edit.split(
            registry,
            person_id=pair.other,
            notification_ids=[pair.breast_other],
            version=1,
            user="k",
            reason="x",
        )
