"""Web sign-in: login attempts (throttling, security log) and the history of user accounts.

- ``login_attempt``: every sign-in attempt through the web (account name as typed, client address,
  outcome); the throttle counts recent failures per account and per address from it;
- ``user_event``: every change of a user account (created, roles set, disabled, enabled, password reset)
  with who did it, when and what changed (never a password or hash); append-only like ``history``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _append_only(table: str) -> None:
    """Reject UPDATE and DELETE on ``table`` (the function ``oncoreg_append_only`` comes from 0001)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION oncoreg_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
        )


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name="pk_login_attempt"),
    )
    op.create_index("ix_login_attempt_user_name", "login_attempt", ["user_name", "attempted_at"])
    op.create_index("ix_login_attempt_client_ip", "login_attempt", ["client_ip", "attempted_at"])
    op.create_table(
        "user_event",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("detail", JSON, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name="fk_user_event_user_id_users"),
        sa.PrimaryKeyConstraint("event_id", name="pk_user_event"),
    )
    op.create_index("ix_user_event_user_id", "user_event", ["user_id"])
    _append_only("user_event")


def downgrade() -> None:
    op.drop_table("user_event")
    op.drop_table("login_attempt")
