"""The registry's domain tables (DESIGN §5): persons, residence, messages, notifications, tumours.

Typed SQLAlchemy 2 declarative models. The service writes through SQLAlchemy Core on ``Model.__table__``
(no per-row ORM overhead, bulk-friendly); the models define the schema and the Alembic migrations mirror
them. Codes follow DESIGN §5: sex 1 male / 2 female / 9 unknown, topography ``C50.9``, morphology the four
ICD-O-3 histology digits as text (``8500``) with behaviour separately, basis of diagnosis the ENCR code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oncoreg.registry.types import UtcDateTime

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every registry table; its metadata is what the migrations create."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


def table_of(model: type[Base]) -> sa.Table:
    """The Core table of a declarative model (typed, for Core statements)."""
    return cast(sa.Table, model.__table__)


class Person(Base):
    """A person known to the registry; sex and birth date come from the population register."""

    __tablename__ = "person"

    person_id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    identifier_type: Mapped[str] = mapped_column(sa.String(8))  # fnr | dnr | hnr | none
    identifier_scheme: Mapped[str | None] = mapped_column(sa.String(8))  # pre2032 | pid2032
    first_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_name: Mapped[str | None] = mapped_column(sa.String(200))
    birth_date: Mapped[date | None]
    sex: Mapped[int] = mapped_column(sa.SmallInteger)
    vital_status: Mapped[str] = mapped_column(sa.String(12))  # alive | dead | emigrated | unknown
    death_date: Mapped[date | None]
    emigration_date: Mapped[date | None]
    reserved_screening_results: Mapped[bool] = mapped_column(default=False)
    reserved_risk_factors: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]
    merged_into: Mapped[int | None]  # migration 0004: the person a merged (retired) person went into


class PersonIdentifier(Base):
    """An identifier a person is also known by (migration 0004): H-numbers remembered from linkage."""

    __tablename__ = "person_identifier"

    person_identifier_id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    identifier: Mapped[str] = mapped_column(sa.String(20), index=True)
    identifier_type: Mapped[str] = mapped_column(sa.String(8))  # hnr | fnr | dnr
    notification_id: Mapped[int | None]  # the notification that taught it
    created_at: Mapped[datetime]


class PipelineRun(Base):
    """One run of the registration pipeline (migration 0004): who, when, what and its report."""

    __tablename__ = "pipeline_run"

    run_id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    user_name: Mapped[str] = mapped_column(sa.String(100))
    directory: Mapped[str | None] = mapped_column(sa.String(500))
    rebuild: Mapped[bool]
    status: Mapped[str] = mapped_column(sa.String(12))  # running | finished | failed
    report: Mapped[dict[str, Any] | None]


class PipelineState(Base):
    """A named document the pipeline keeps between runs (migration 0004), e.g. the linkage model."""

    __tablename__ = "pipeline_state"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    document: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class Residence(Base):
    """One period of residence in a municipality (population register moves)."""

    __tablename__ = "residence"

    residence_id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    municipality: Mapped[str] = mapped_column(sa.String(4))
    county: Mapped[str] = mapped_column(sa.String(2))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]


class Message(Base):
    """An inbound message stored verbatim with its content hash before anything else happens."""

    __tablename__ = "message"

    message_id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(40))
    format: Mapped[str] = mapped_column(sa.String(20))
    sender: Mapped[str | None] = mapped_column(sa.String(200))
    received_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(sa.String(64), index=True, unique=True)  # sha256 hex
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    stored_path: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(
        sa.String(12), index=True
    )  # received | accepted | quarantined | duplicate
    external_id: Mapped[str | None] = mapped_column(sa.String(100))  # migration 0004: the message's own id


class IngestRun(Base):
    """One ingest run (oncoreg.ingest): who, when, what, and its counts (received = accepted + ...)."""

    __tablename__ = "ingest_run"

    run_id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    user_name: Mapped[str] = mapped_column(sa.String(100))
    directory: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(12))  # running | finished | interrupted
    received: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    notifications: Mapped[int] = mapped_column(default=0)
    per_source: Mapped[dict[str, Any] | None]


class MessageIngest(Base):
    """Ingest facts of a stored message: the id it carries, the run that stored it, what it corrects."""

    __tablename__ = "message_ingest"

    message_id: Mapped[int] = mapped_column(sa.ForeignKey("message.message_id"), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ingest_run.run_id"), index=True)
    corrected_from: Mapped[int | None] = mapped_column(sa.ForeignKey("message.message_id"), index=True)


class Quarantine(Base):
    """A message that could not be accepted, with machine-readable reasons."""

    __tablename__ = "quarantine"

    quarantine_id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("message.message_id"), index=True, unique=True)
    reasons: Mapped[list[Any]]  # [{"field", "value", "rule", "text"}]
    status: Mapped[str] = mapped_column(sa.String(12))  # open | fixed | rejected
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(100))
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class Notification(Base):
    """One accepted notification, fields as the source gave them, linked to a person."""

    __tablename__ = "notification"

    notification_id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("message.message_id"), index=True)
    item: Mapped[int] = mapped_column(default=0)  # position within the message
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    source_type: Mapped[str] = mapped_column(sa.String(30))
    institution: Mapped[str | None] = mapped_column(sa.String(200))
    diagnosis_date: Mapped[date | None]
    sample_date: Mapped[date | None]
    report_date: Mapped[date | None]
    topography: Mapped[str | None] = mapped_column(sa.String(5))
    morphology: Mapped[str | None] = mapped_column(sa.String(4))
    behaviour: Mapped[int | None] = mapped_column(sa.SmallInteger)
    grade: Mapped[int | None] = mapped_column(sa.SmallInteger)
    laterality: Mapped[str | None] = mapped_column(sa.String(1))
    basis: Mapped[int | None] = mapped_column(sa.SmallInteger)
    summary_stage: Mapped[str | None] = mapped_column(sa.String(12))
    tnm_t: Mapped[str | None] = mapped_column(sa.String(8))
    tnm_n: Mapped[str | None] = mapped_column(sa.String(8))
    tnm_m: Mapped[str | None] = mapped_column(sa.String(8))
    icd10: Mapped[str | None] = mapped_column(sa.String(6))
    free_text: Mapped[str | None] = mapped_column(sa.Text)
    given_identifier: Mapped[str | None] = mapped_column(sa.String(20))
    given_first_name: Mapped[str | None] = mapped_column(sa.String(200))
    given_last_name: Mapped[str | None] = mapped_column(sa.String(200))
    given_birth_date: Mapped[date | None]
    given_sex: Mapped[int | None] = mapped_column(sa.SmallInteger)
    version: Mapped[int] = mapped_column(default=1)
    # added by migration 0002 (ingest): the notification frame's remaining columns
    received_date: Mapped[date | None]
    event_date: Mapped[date | None]
    death_date: Mapped[date | None]
    end_date: Mapped[date | None]
    basis_subcode: Mapped[str | None] = mapped_column(sa.String(4))
    event_kind: Mapped[str | None] = mapped_column(sa.String(20))
    secondary_codes: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    given_municipality: Mapped[str | None] = mapped_column(sa.String(20))

    __table_args__ = (sa.Index("uq_notification_message_id", "message_id", "item", unique=True),)


class Tumour(Base):
    """A quality-assured tumour record built from notifications."""

    __tablename__ = "tumour"

    tumour_id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    sequence: Mapped[int] = mapped_column(default=1)
    incidence_date: Mapped[date]
    incidence_date_basis: Mapped[str | None] = mapped_column(sa.String(30))
    topography: Mapped[str] = mapped_column(sa.String(5))
    morphology: Mapped[str] = mapped_column(sa.String(4))
    behaviour: Mapped[int] = mapped_column(sa.SmallInteger)
    grade: Mapped[int | None] = mapped_column(sa.SmallInteger)
    laterality: Mapped[str | None] = mapped_column(sa.String(1))
    basis: Mapped[int] = mapped_column(sa.SmallInteger)
    basis_subcode: Mapped[str | None] = mapped_column(sa.String(4))
    icd10: Mapped[str | None] = mapped_column(sa.String(6))
    summary_stage: Mapped[str | None] = mapped_column(sa.String(12))
    tnm_t: Mapped[str | None] = mapped_column(sa.String(8))
    tnm_n: Mapped[str | None] = mapped_column(sa.String(8))
    tnm_m: Mapped[str | None] = mapped_column(sa.String(8))
    dco: Mapped[bool] = mapped_column(default=False)
    iarc_status: Mapped[str | None] = mapped_column(sa.String(14))  # primary | duplicate | insitu | ...
    registration_status: Mapped[str] = mapped_column(sa.String(12))  # provisional | confirmed
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]


class TumourNotification(Base):
    """The notifications a tumour was built from."""

    __tablename__ = "tumour_notification"

    tumour_id: Mapped[int] = mapped_column(sa.ForeignKey("tumour.tumour_id"), primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notification.notification_id"), primary_key=True, index=True
    )
    linked_at: Mapped[datetime]


class Treatment(Base):
    """Surgery, radiotherapy or systemic therapy given for a tumour."""

    __tablename__ = "treatment"

    treatment_id: Mapped[int] = mapped_column(primary_key=True)
    tumour_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tumour.tumour_id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    notification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notification.notification_id"))
    kind: Mapped[str] = mapped_column(sa.String(14))  # surgery | radiotherapy | systemic
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    institution: Mapped[str | None] = mapped_column(sa.String(200))
    detail: Mapped[str | None] = mapped_column(sa.String(200))


class Death(Base):
    """A death with its underlying cause (ICD-10) from the cause-of-death register."""

    __tablename__ = "death"

    death_id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), unique=True)
    death_date: Mapped[date]
    underlying_cause: Mapped[str | None] = mapped_column(sa.String(6))
    notification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notification.notification_id"))
