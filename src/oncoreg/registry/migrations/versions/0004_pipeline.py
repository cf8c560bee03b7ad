"""Pipeline: store gaps of linkage and the orchestrator (``oncoreg run``).

- ``person_identifier``: identifiers a person is known by besides ``person.identifier`` (H-numbers
  remembered from linkage), with the notification that taught them;
- ``person.merged_into``: a person retired by a merge points to the person it was merged into;
- ``review_task.details``: JSON with what a registrar needs to decide (linkage candidates and their
  probabilities, the values in conflict, the notifications behind them);
- ``pipeline_run``: one row per ``oncoreg run`` with its report (counts per stage, timings);
- ``pipeline_state``: small named documents of the pipeline (the trained linkage model);
- ``message.external_id``: the identifier the message carries (a copy of ``message_ingest.external_id``,
  which ingest writes to both), where the snapshot reads it; filled for messages already stored.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "person_identifier",
        sa.Column("person_identifier_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=20), nullable=False),
        sa.Column("identifier_type", sa.String(length=8), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.person_id"], name="fk_person_identifier_person_id_person"
        ),
        sa.PrimaryKeyConstraint("person_identifier_id", name="pk_person_identifier"),
    )
    op.create_index("ix_person_identifier_person_id", "person_identifier", ["person_id"])
    op.create_index("ix_person_identifier_identifier", "person_identifier", ["identifier"])
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
    with op.batch_alter_table("review_task") as batch:
        batch.add_column(sa.Column("details", JSON, nullable=True))
    op.create_index("ix_review_task_subject", "review_task", ["subject_type", "subject_id"])
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE message SET external_id = (SELECT mi.external_id FROM message_ingest mi "
        "WHERE mi.message_id = message.message_id)"
    )
    op.create_table(
        "pipeline_run",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("directory", sa.String(length=500), nullable=True),
        sa.Column("rebuild", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("report", JSON, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_pipeline_run"),
    )
    op.create_table(
        "pipeline_state",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_pipeline_state"),
    )


def downgrade() -> None:
    op.drop_table("pipeline_state")
    op.drop_table("pipeline_run")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("external_id")
    op.drop_index("ix_review_task_subject", table_name="review_task")
    with op.batch_alter_table("review_task") as batch:
        batch.drop_column("details")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("merged_into")
    op.drop_index("ix_person_identifier_identifier", table_name="person_identifier")
    op.drop_index("ix_person_identifier_person_id", table_name="person_identifier")
    op.drop_table("person_identifier")
