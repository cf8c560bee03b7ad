"""Screening operations (DESIGN §5): programme, rule-set version, invitation, letter, screening test,
follow-up recommendation, examination, pause, KPI runs (with data-freeze time) and KPI values.

Mirrors ``oncoreg.registry.screening_tables`` with plain SQLAlchemy types (frozen revision).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _person() -> sa.Column[int]:
    return sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.person_id", name=None), nullable=False)


def _programme(nullable: bool = False) -> sa.Column[str]:
    return sa.Column(
        "programme", sa.String(20), sa.ForeignKey("screening_programme.programme"), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "screening_programme",
        sa.Column("programme", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("programme", name="pk_screening_programme"),
    )
    op.bulk_insert(
        sa.table("screening_programme", sa.column("programme"), sa.column("name"), sa.column("started_on")),
        [
            {"programme": "breast", "name": "BreastScreen Norway (Mammografiprogrammet)", "started_on": None},
            {
                "programme": "cervix",
                "name": "CervicalScreen Norway (Livmorhalsprogrammet)",
                "started_on": None,
            },
            {
                "programme": "colorectal",
                "name": "ColorectalScreen Norway (Tarmscreeningprogrammet)",
                "started_on": None,
            },
        ],
    )
    op.create_table(
        "screening_rule_set_version",
        sa.Column("rule_set_version_id", sa.Integer(), nullable=False),
        _programme(),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("loaded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("rule_set_version_id", name="pk_screening_rule_set_version"),
    )
    op.create_table(
        "screening_invitation",
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        _person(),
        _programme(),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("sent_date", sa.Date(), nullable=True),
        sa.Column("appointment_at", TS, nullable=True),
        sa.Column("unit", sa.String(100), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("backlog", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("invitation_id", name="pk_screening_invitation"),
    )
    op.create_table(
        "screening_letter",
        sa.Column("letter_id", sa.Integer(), nullable=False),
        _person(),
        _programme(),
        sa.Column(
            "invitation_id", sa.Integer(), sa.ForeignKey("screening_invitation.invitation_id"), nullable=True
        ),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("letter_id", name="pk_screening_letter"),
    )
    op.create_table(
        "screening_test",
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        _person(),
        _programme(),
        sa.Column("episode", sa.Integer(), nullable=True),
        sa.Column("sample_date", sa.Date(), nullable=False),
        sa.Column("test", sa.String(20), nullable=False),
        sa.Column("indication", sa.String(12), nullable=True),
        sa.Column("result", sa.String(30), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("value_text", sa.String(60), nullable=True),
        sa.Column("hpv_genotype", sa.String(20), nullable=True),
        sa.Column("reflex_cytology", sa.String(20), nullable=True),
        sa.Column("reader1_score", sa.SmallInteger(), nullable=True),
        sa.Column("reader2_score", sa.SmallInteger(), nullable=True),
        sa.Column("consensus", sa.Boolean(), nullable=True),
        sa.Column("recall", sa.Boolean(), nullable=True),
        sa.Column("laboratory", sa.String(100), nullable=True),
        sa.Column("county", sa.String(2), nullable=True),
        sa.Column("registered_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("test_id", name="pk_screening_test"),
        sa.UniqueConstraint("message_id", name="uq_screening_test_message_id"),
    )
    op.create_table(
        "screening_recommendation",
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        _person(),
        _programme(),
        sa.Column("test_id", sa.Integer(), sa.ForeignKey("screening_test.test_id"), nullable=True),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("failsafe_date", sa.Date(), nullable=True),
        sa.Column("rule_id", sa.String(60), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("recommendation_id", name="pk_screening_recommendation"),
    )
    op.create_table(
        "screening_examination",
        sa.Column("examination_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        _person(),
        _programme(),
        sa.Column("episode", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("examination_date", sa.Date(), nullable=False),
        sa.Column("result", sa.String(30), nullable=True),
        sa.Column("caecum_intubated", sa.Boolean(), nullable=True),
        sa.Column("complication", sa.Boolean(), nullable=True),
        sa.Column("icd10", sa.String(60), nullable=True),
        sa.Column("registered_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("examination_id", name="pk_screening_examination"),
        sa.UniqueConstraint("message_id", name="uq_screening_examination_message_id"),
    )
    op.create_table(
        "screening_pause",
        sa.Column("pause_id", sa.Integer(), nullable=False),
        sa.Column("paused_from", sa.Date(), nullable=False),
        sa.Column("resumed_on", sa.Date(), nullable=True),
        sa.Column("catch_up_per_day", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("pause_id", name="pk_screening_pause"),
    )
    op.create_table(
        "screening_kpi_run",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("freeze_time", TS, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        sa.Column("definitions_sha256", sa.String(64), nullable=False),
        sa.Column("parameters_version", sa.String(40), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_screening_kpi_run"),
    )
    op.create_table(
        "screening_kpi_value",
        sa.Column("kpi_value_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("screening_kpi_run.run_id"), nullable=False),
        sa.Column("kpi_id", sa.String(30), nullable=False),
        sa.Column("programme", sa.String(20), nullable=False),
        sa.Column("stratified_by", sa.String(100), nullable=False),
        sa.Column("stratum", JSON, nullable=False),
        sa.Column("numerator", sa.Integer(), nullable=False),
        sa.Column("denominator", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("level", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("kpi_value_id", name="pk_screening_kpi_value"),
    )
    for table, columns in (
        ("screening_rule_set_version", ["programme"]),
        ("screening_invitation", ["person_id"]),
        ("screening_invitation", ["programme"]),
        ("screening_letter", ["person_id"]),
        ("screening_test", ["person_id"]),
        ("screening_test", ["programme"]),
        ("screening_test", ["sample_date"]),
        ("screening_recommendation", ["person_id"]),
        ("screening_examination", ["person_id"]),
        ("screening_kpi_value", ["run_id"]),
    ):
        op.create_index(f"ix_{table}_{columns[0]}", table, columns, unique=False)


def downgrade() -> None:
    for table in (
        "screening_kpi_value",
        "screening_kpi_run",
        "screening_pause",
        "screening_examination",
        "screening_recommendation",
        "screening_test",
        "screening_letter",
        "screening_invitation",
        "screening_rule_set_version",
        "screening_programme",
    ):
        op.drop_table(table)
