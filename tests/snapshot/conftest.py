"""Snapshot fixtures: a registry on every backend, filled through the service at controlled clock times."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from oncoreg.registry import Registry
from oncoreg.registry.schemas import (
    MessageCreate,
    NotificationCreate,
    PersonCreate,
    PersonUpdate,
    TumourCreate,
    TumourUpdate,
)
from oncoreg.registry.tables import Death, Residence, Treatment, table_of

IDENTIFIERS = ("15108695088", "01018012371")
NAMES = ("Eva", "Hansen", "Ola", "Nordmann")


class StepClock:
    """Advances one second per reading, so history timestamps are predictable."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Filled:
    registry: Registry
    before_edits: datetime  # after the first load, before the edits
    tumour_ids: list[int]  # 0 edited, 1 unchanged, 2 deleted later, 3 added later
    notification_ids: list[int]
    person_ids: list[int]
    forbidden: tuple[str, ...] = (*IDENTIFIERS, *NAMES)  # must appear in no snapshot file


def _tumour(person_id: int, **fields: object) -> TumourCreate:
    base: dict[str, object] = {
        "person_id": person_id,
        "incidence_date": date(2020, 3, 1),
        "topography": "C50.9",
        "morphology": "8500",
        "behaviour": 3,
        "basis": 7,
        "laterality": "L",
    }
    return TumourCreate.model_validate(base | fields)


@pytest.fixture
def filled(database_url: str) -> Iterator[Filled]:
    clock = StepClock(datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
    registry = Registry.create(database_url, clock=clock)
    with registry.session(user="kari", purpose="registration", channel="batch") as reg:
        eva, ola = reg.add_persons(
            persons=[
                PersonCreate(identifier=IDENTIFIERS[0], first_name="Eva", last_name="Hansen",
                             birth_date=date(1950, 6, 15), sex=2),
                PersonCreate(identifier=IDENTIFIERS[1], first_name="Ola", last_name="Nordmann",
                             birth_date=date(1940, 1, 1), sex=1),
            ],
            reason="population register feed",
        )  # fmt: skip
        with registry.engine.begin() as connection:
            connection.execute(
                sa.insert(table_of(Residence)),
                [
                    {"person_id": eva.person_id, "municipality": "0301", "county": "03",
                     "valid_from": date(1950, 6, 15), "valid_to": date(2021, 1, 1)},
                    {"person_id": eva.person_id, "municipality": "4601", "county": "46",
                     "valid_from": date(2021, 1, 1), "valid_to": None},
                    {"person_id": ola.person_id, "municipality": "5001", "county": "50",
                     "valid_from": date(1940, 1, 1), "valid_to": None},
                ],
            )  # fmt: skip
        message_ids = [
            reg.add_message(
                message=MessageCreate(source="pathology", format="hl7v2", content=f"m{i}".encode())
            )
            for i in range(4)
        ]
        notifications = reg.add_notifications(
            notifications=[
                NotificationCreate(source_type="pathology", message_id=message_ids[0].message_id,
                                   person_id=eva.person_id, given_identifier=IDENTIFIERS[0],
                                   given_first_name="Eva", free_text="Eva Hansen duktalt karsinom"),
                NotificationCreate(source_type="clinical", message_id=message_ids[1].message_id,
                                   person_id=eva.person_id),
                NotificationCreate(source_type="pathology", message_id=message_ids[2].message_id,
                                   person_id=ola.person_id, given_last_name="Nordmann"),
            ],
            reason="ingest",
        )  # fmt: skip
        t0, t1, t2 = reg.add_tumours(
            tumours=[
                _tumour(eva.person_id),
                _tumour(ola.person_id, incidence_date=date(2019, 12, 31), topography="C34.1",
                        morphology="8140", basis=5, laterality="R", icd10="C34.1"),
                _tumour(eva.person_id, incidence_date=date(2021, 6, 1), topography="C18.7", morphology="8140",
                        laterality=None, sequence=2),
            ],
            reason="consolidation",
        )  # fmt: skip
        links = [
            (t0, notifications[0]),
            (t0, notifications[1]),
            (t1, notifications[2]),
            (t2, notifications[1]),
        ]
        for tumour, notification in links:
            reg.link_tumour_notification(
                tumour_id=tumour.tumour_id,
                notification_id=notification.notification_id,
                reason="consolidation",
            )
        before_edits = clock.now
        clock.now += timedelta(days=30)
        reg.update_tumour(t0.tumour_id, changes=TumourUpdate(basis=6, summary_stage="regional"), version=1,
                          reason="coding review")  # fmt: skip
        reg.delete_tumour(t2.tumour_id, version=1, reason="duplicate registration")
        (t3,) = reg.add_tumours(
            tumours=[_tumour(ola.person_id, incidence_date=date(2023, 2, 1))], reason="new"
        )
        died = PersonUpdate(vital_status="dead", death_date=date(2023, 5, 1))
        reg.update_person(ola.person_id, changes=died, version=1, reason="death register")
        reg.quarantine(
            message_id=message_ids[3].message_id, reasons=[{"code": "hl7.msh", "field": "MSH", "text": "x"}]
        )
        with registry.engine.begin() as connection:
            connection.execute(
                sa.insert(table_of(Death)),
                [{"person_id": ola.person_id, "death_date": date(2023, 5, 1), "underlying_cause": "C34.1"}],
            )
            connection.execute(
                sa.insert(table_of(Treatment)),
                [{"tumour_id": t0.tumour_id, "person_id": eva.person_id, "kind": "surgery",
                  "start_date": date(2020, 4, 1), "detail": "Eva Hansen"}],
            )  # fmt: skip
    try:
        yield Filled(
            registry=registry,
            before_edits=before_edits,
            tumour_ids=[t0.tumour_id, t1.tumour_id, t2.tumour_id, t3.tumour_id],
            notification_ids=[n.notification_id for n in notifications],
            person_ids=[eva.person_id, ola.person_id],
        )
    finally:
        registry.dispose()
