"""Screening tables of the operational store (DESIGN §5; migration 0004): programme, rule-set version,
invitation, letter, screening test, follow-up recommendation, examination (assessment, colonoscopy,
colposcopy, histology), global pause, and KPI runs with their data-freeze time (screening.md §5)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oncoreg.registry.tables import Base


class ScreeningProgramme(Base):
    """A programme: breast, cervix, colorectal."""

    __tablename__ = "screening_programme"

    programme: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    started_on: Mapped[date | None]


class ScreeningRuleSetVersion(Base):
    """A rule-set or parameter version in force (its id, validity and the SHA-256 of the data file)."""

    __tablename__ = "screening_rule_set_version"

    rule_set_version_id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(sa.ForeignKey("screening_programme.programme"), index=True)
    version: Mapped[str] = mapped_column(sa.String(40))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    loaded_at: Mapped[datetime]


class ScreeningInvitation(Base):
    """An invitation, kit or reminder round the Registry sent (or scheduled)."""

    __tablename__ = "screening_invitation"

    invitation_id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    programme: Mapped[str] = mapped_column(sa.ForeignKey("screening_programme.programme"), index=True)
    round: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(20))  # invitation | information_letter | reminder | kit
    due_date: Mapped[date]
    sent_date: Mapped[date | None]
    appointment_at: Mapped[datetime | None]
    unit: Mapped[str | None] = mapped_column(sa.String(100))  # breast centre / screening unit
    status: Mapped[str] = mapped_column(sa.String(12))  # scheduled | sent | cancelled | backlog
    backlog: Mapped[bool] = mapped_column(default=False)


class ScreeningLetter(Base):
    """A rendered letter: kind, channel (digital or paper), template and content hash."""

    __tablename__ = "screening_letter"

    letter_id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    programme: Mapped[str] = mapped_column(sa.ForeignKey("screening_programme.programme"))
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("screening_invitation.invitation_id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    channel: Mapped[str] = mapped_column(sa.String(10))  # digital | paper
    template: Mapped[str] = mapped_column(sa.String(100))
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    sent_date: Mapped[date | None]


class ScreeningTest(Base):
    """A registered primary or follow-up test (mammography screen, cervical sample, FIT)."""

    __tablename__ = "screening_test"

    test_id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    programme: Mapped[str] = mapped_column(sa.ForeignKey("screening_programme.programme"), index=True)
    episode: Mapped[int | None]
    sample_date: Mapped[date] = mapped_column(index=True)
    test: Mapped[str] = mapped_column(sa.String(20))
    indication: Mapped[str | None] = mapped_column(sa.String(12))
    result: Mapped[str | None] = mapped_column(sa.String(30))
    value: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(sa.String(60))
    hpv_genotype: Mapped[str | None] = mapped_column(sa.String(20))
    reflex_cytology: Mapped[str | None] = mapped_column(sa.String(20))
    reader1_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    reader2_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    consensus: Mapped[bool | None]
    recall: Mapped[bool | None]
    laboratory: Mapped[str | None] = mapped_column(sa.String(100))
    county: Mapped[str | None] = mapped_column(sa.String(2))
    registered_at: Mapped[datetime]


class ScreeningRecommendation(Base):
    """A follow-up recommendation (lab's or the next-action engine's) with its due and failsafe dates."""

    __tablename__ = "screening_recommendation"

    recommendation_id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    programme: Mapped[str] = mapped_column(sa.ForeignKey("screening_programme.programme"))
    test_id: Mapped[int | None] = mapped_column(sa.ForeignKey("screening_test.test_id"))
    action: Mapped[str] = mapped_column(sa.String(30))
    due_date: Mapped[date | None]
    failsafe_date: Mapped[date | None]
    rule_id: Mapped[str | None] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(12))  # open | done | overdue | closed
    created_at: Mapped[datetime]


class ScreeningExamination(Base):
    """A work-up examination: breast assessment, colonoscopy, colposcopy, histology."""

    __tablename__ = "screening_examination"

    examination_id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.person_id"), index=True)
    programme: Mapped[str] = mapped_column(sa.ForeignKey("screening_programme.programme"))
    episode: Mapped[int | None]
    kind: Mapped[str] = mapped_column(sa.String(20))  # assessment | colonoscopy | colposcopy | histology
    examination_date: Mapped[date]
    result: Mapped[str | None] = mapped_column(sa.String(30))
    caecum_intubated: Mapped[bool | None]
    complication: Mapped[bool | None]
    icd10: Mapped[str | None] = mapped_column(sa.String(60))
    registered_at: Mapped[datetime]


class ScreeningPause(Base):
    """A global pause of outbound letters and its resumption (backlog catch-up per day)."""

    __tablename__ = "screening_pause"

    pause_id: Mapped[int] = mapped_column(primary_key=True)
    paused_from: Mapped[date]
    resumed_on: Mapped[date | None]
    catch_up_per_day: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.Text)
    user_name: Mapped[str] = mapped_column(sa.String(100))


class ScreeningKpiRun(Base):
    """An indicator run: the data-freeze time of its inputs, when it ran, definitions and parameters."""

    __tablename__ = "screening_kpi_run"

    run_id: Mapped[int] = mapped_column(primary_key=True)
    freeze_time: Mapped[datetime]
    computed_at: Mapped[datetime]
    definitions_sha256: Mapped[str] = mapped_column(sa.String(64))
    parameters_version: Mapped[str] = mapped_column(sa.String(40))
    user_name: Mapped[str] = mapped_column(sa.String(100))
    note: Mapped[str | None] = mapped_column(sa.Text)


class ScreeningKpiValue(Base):
    """One indicator value of a run, for one stratum."""

    __tablename__ = "screening_kpi_value"

    kpi_value_id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("screening_kpi_run.run_id"), index=True)
    kpi_id: Mapped[str] = mapped_column(sa.String(30))
    programme: Mapped[str] = mapped_column(sa.String(20))
    stratified_by: Mapped[str] = mapped_column(sa.String(100))
    stratum: Mapped[dict[str, Any]]
    numerator: Mapped[int]
    denominator: Mapped[int]
    expected: Mapped[float | None]
    value: Mapped[float | None]
    level: Mapped[str] = mapped_column(sa.String(20))
