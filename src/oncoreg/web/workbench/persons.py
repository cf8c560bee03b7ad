"""Merge and split persons from the workbench: the pages' non-identifying summaries and the two actions.

The pages show persons by their surrogate id with coded facts only (sex, birth year, version, whether they
were merged) and their notifications' and tumours' coded fields; names and identifiers stay behind
``/persons/{id}``, which asks for a purpose and logs the read. The actions are
:func:`oncoreg.pipeline.persons_edit.merge` and :func:`~oncoreg.pipeline.persons_edit.split`
(one transaction each, history with the registrar's reason, ``ConflictError`` on a stale version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from oncoreg.errors import NotFound
from oncoreg.pipeline import persons_edit
from oncoreg.registry import Registry
from oncoreg.registry.tables import Person, Tumour, table_of
from oncoreg.web.workbench.queue import clean_reason
from oncoreg.web.workbench.records import NOTIFICATIONS, CodedNotification, coded_notifications

PERSONS = table_of(Person)
TUMOURS = table_of(Tumour)


@dataclass(frozen=True)
class TumourLine:
    tumour_id: int
    incidence_date: str
    topography: str
    morphology: str
    behaviour: int


@dataclass(frozen=True)
class PersonSummary:
    """A person without identifying fields: what a registrar needs to decide a merge or split."""

    person_id: int
    sex: int
    birth_year: int | None
    version: int
    merged_into: int | None
    notifications: list[CodedNotification]
    tumours: list[TumourLine]


def summary(registry: Registry, *, person_id: int) -> PersonSummary:
    """The person's coded facts, notifications and tumours (NotFound if there is no such person)."""
    with registry.engine.connect() as connection:
        row = connection.execute(
            sa.select(
                PERSONS.c.person_id,
                PERSONS.c.sex,
                PERSONS.c.birth_date,
                PERSONS.c.version,
                PERSONS.c.merged_into,
            ).where(PERSONS.c.person_id == person_id)
        ).one_or_none()
        if row is None:
            raise NotFound(f"person {person_id} does not exist")
        note_ids = list(
            connection.execute(
                sa.select(NOTIFICATIONS.c.notification_id)
                .where(NOTIFICATIONS.c.person_id == person_id)
                .order_by(NOTIFICATIONS.c.notification_id)
            ).scalars()
        )
        tumours = [
            TumourLine(int(t), str(d), str(top), str(m), int(b))
            for t, d, top, m, b in connection.execute(
                sa.select(
                    TUMOURS.c.tumour_id,
                    TUMOURS.c.incidence_date,
                    TUMOURS.c.topography,
                    TUMOURS.c.morphology,
                    TUMOURS.c.behaviour,
                )
                .where(TUMOURS.c.person_id == person_id)
                .order_by(TUMOURS.c.incidence_date, TUMOURS.c.tumour_id)
            )
        ]
    return PersonSummary(
        person_id=int(row.person_id),
        sex=int(row.sex),
        birth_year=None if row.birth_date is None else row.birth_date.year,
        version=int(row.version),
        merged_into=row.merged_into,
        notifications=coded_notifications(registry, ids=note_ids),
        tumours=tumours,
    )


def merge(
    registry: Registry, *, user: str, keep: int, retire: int, versions: dict[int, int], reason: str | None
) -> persons_edit.PersonEdit:
    """Merge ``retire`` into ``keep`` with the registrar's reason."""
    return persons_edit.merge(
        registry, into=keep, merged=retire, versions=versions, user=user, reason=clean_reason(reason)
    )


def split(
    registry: Registry,
    *,
    user: str,
    person_id: int,
    notification_ids: Sequence[int],
    version: int,
    reason: str | None,
) -> persons_edit.PersonEdit:
    """Move the chosen notifications of ``person_id`` to a new person with the registrar's reason."""
    return persons_edit.split(
        registry,
        person_id=person_id,
        notification_ids=notification_ids,
        version=version,
        user=user,
        reason=clean_reason(reason),
    )


def link(
    registry: Registry, *, user: str, task_id: int, version: int, person_id: int | None, reason: str | None
) -> persons_edit.PersonEdit:
    """Settle a linkage task: its notification goes to ``person_id`` (None: a new person)."""
    return persons_edit.link(
        registry,
        task_id=task_id,
        version=version,
        person_id=person_id,
        user=user,
        reason=clean_reason(reason),
    )
