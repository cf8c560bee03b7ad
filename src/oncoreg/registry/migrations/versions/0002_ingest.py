"""Ingest: runs, per-message ingest facts, unique content hash, quarantine resolution, notification columns.

- ``message.content_hash`` becomes unique (ingest inserts with ON CONFLICT DO NOTHING on it);
- ``ingest_run``: one row per run with its counts (received = accepted + quarantined + duplicates);
- ``message_ingest``: the identifier the message carries (MSH-10, Bundle.identifier, CSV message_id), the
  run that stored it and the message it corrects (quarantine fixes keep both versions);
- ``quarantine``: one entry per message (unique), ``resolution`` text and a ``version``;
- ``notification``: the remaining columns of the notification frame (``oncoreg.ingest.schema``) and a
  unique (message_id, item).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NOTIFICATION_COLUMNS = (
    ("received_date", sa.Date()),
    ("event_date", sa.Date()),
    ("death_date", sa.Date()),
    ("end_date", sa.Date()),
    ("basis_subcode", sa.String(length=4)),
    ("event_kind", sa.String(length=20)),
    ("secondary_codes", sa.Text()),
    ("detail", sa.Text()),
    ("given_municipality", sa.String(length=20)),
)


def upgrade() -> None:
    op.drop_index("ix_message_content_hash", table_name="message")
    op.create_index("ix_message_content_hash", "message", ["content_hash"], unique=True)
    op.create_index("ix_message_status", "message", ["status"], unique=False)

    op.create_table(
        "ingest_run",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("directory", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("per_source", JSON, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_ingest_run"),
    )
    op.create_table(
        "message_ingest",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("corrected_from", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.message_id"], name="fk_message_ingest_message_id_message"
        ),
        sa.ForeignKeyConstraint(
            ["corrected_from"], ["message.message_id"], name="fk_message_ingest_corrected_from_message"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["ingest_run.run_id"], name="fk_message_ingest_run_id_ingest_run"
        ),
        sa.PrimaryKeyConstraint("message_id", name="pk_message_ingest"),
    )
    op.create_index("ix_message_ingest_external_id", "message_ingest", ["external_id"], unique=False)
    op.create_index("ix_message_ingest_run_id", "message_ingest", ["run_id"], unique=False)
    op.create_index("ix_message_ingest_corrected_from", "message_ingest", ["corrected_from"], unique=False)

    op.drop_index("ix_quarantine_message_id", table_name="quarantine")
    op.create_index("ix_quarantine_message_id", "quarantine", ["message_id"], unique=True)
    op.add_column("quarantine", sa.Column("resolution", sa.Text(), nullable=True))
    op.add_column("quarantine", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))

    for name, type_ in NOTIFICATION_COLUMNS:
        op.add_column("notification", sa.Column(name, type_, nullable=True))
    op.create_index("uq_notification_message_id", "notification", ["message_id", "item"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_notification_message_id", table_name="notification")
    for name, _ in reversed(NOTIFICATION_COLUMNS):
        op.drop_column("notification", name)
    op.drop_column("quarantine", "version")
    op.drop_column("quarantine", "resolution")
    op.drop_index("ix_quarantine_message_id", table_name="quarantine")
    op.create_index("ix_quarantine_message_id", "quarantine", ["message_id"], unique=False)
    op.drop_table("message_ingest")
    op.drop_table("ingest_run")
    op.drop_index("ix_message_status", table_name="message")
    op.drop_index("ix_message_content_hash", table_name="message")
    op.create_index("ix_message_content_hash", "message", ["content_hash"], unique=False)
