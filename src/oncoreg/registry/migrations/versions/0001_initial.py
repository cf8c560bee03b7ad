"""Initial registry schema: persons, messages, notifications, tumours, audit and work tables.

Generated with ``alembic revision --autogenerate`` from ``oncoreg.registry.tables`` and ``audit_tables``,
then edited: plain SQLAlchemy types (no oncoreg imports, so the revision stays frozen), append-only
triggers on ``history`` and ``access_log`` for SQLite and PostgreSQL, and the six roles of DESIGN §5.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
APPEND_ONLY = ("history", "access_log")
ROLES = (
    ("registrar", "reviews and codes notifications and tumours; sees identifiable data"),
    ("statistician", "freezes snapshots and produces statistics; no identifiable data"),
    ("screening_coordinator", "runs the screening programmes; sees identifiable screening data"),
    ("quality_registry", "quality-registry staff: indicators per hospital"),
    ("researcher", "browses the catalogue and receives approved extracts"),
    ("admin", "manages users, roles and the installation"),
)


def _append_only_triggers() -> None:
    """Reject UPDATE and DELETE on the append-only tables, whoever connects."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION oncoreg_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION oncoreg_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def _seed_roles() -> None:
    roles = sa.table("roles", sa.column("name", sa.String), sa.column("description", sa.String))
    op.bulk_insert(roles, [{"name": name, "description": text} for name, text in ROLES])


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("access_id", sa.Integer(), nullable=False),
        sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("access_id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_person_id"), "access_log", ["person_id"], unique=False)

    op.create_table(
        "history",
        sa.Column("history_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("related_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=6), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_history")),
    )
    op.create_index("ix_history_entity", "history", ["entity", "entity_id", "changed_at"], unique=False)

    op.create_table(
        "message",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("stored_path", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message")),
    )
    op.create_index(op.f("ix_message_content_hash"), "message", ["content_hash"], unique=False)

    op.create_table(
        "person",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=11), nullable=True),
        sa.Column("identifier_type", sa.String(length=8), nullable=False),
        sa.Column("identifier_scheme", sa.String(length=8), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.SmallInteger(), nullable=False),
        sa.Column("vital_status", sa.String(length=12), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("emigration_date", sa.Date(), nullable=True),
        sa.Column("reserved_screening_results", sa.Boolean(), nullable=False),
        sa.Column("reserved_risk_factors", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person")),
        sa.UniqueConstraint("identifier", name=op.f("uq_person_identifier")),
    )
    op.create_table(
        "review_task",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_review_task")),
    )
    op.create_index("ix_review_task_state", "review_task", ["state", "kind"], unique=False)

    op.create_table(
        "roles",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("role_id", name=op.f("pk_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_roles_name")),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("user_name", name=op.f("uq_users_user_name")),
    )
    op.create_table(
        "notification",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("source_type", sa.String(length=30), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=True),
        sa.Column("diagnosis_date", sa.Date(), nullable=True),
        sa.Column("sample_date", sa.Date(), nullable=True),
        sa.Column("report_date", sa.Date(), nullable=True),
        sa.Column("topography", sa.String(length=5), nullable=True),
        sa.Column("morphology", sa.String(length=4), nullable=True),
        sa.Column("behaviour", sa.SmallInteger(), nullable=True),
        sa.Column("grade", sa.SmallInteger(), nullable=True),
        sa.Column("laterality", sa.String(length=1), nullable=True),
        sa.Column("basis", sa.SmallInteger(), nullable=True),
        sa.Column("summary_stage", sa.String(length=12), nullable=True),
        sa.Column("tnm_t", sa.String(length=8), nullable=True),
        sa.Column("tnm_n", sa.String(length=8), nullable=True),
        sa.Column("tnm_m", sa.String(length=8), nullable=True),
        sa.Column("icd10", sa.String(length=6), nullable=True),
        sa.Column("free_text", sa.Text(), nullable=True),
        sa.Column("given_identifier", sa.String(length=20), nullable=True),
        sa.Column("given_first_name", sa.String(length=200), nullable=True),
        sa.Column("given_last_name", sa.String(length=200), nullable=True),
        sa.Column("given_birth_date", sa.Date(), nullable=True),
        sa.Column("given_sex", sa.SmallInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.message_id"], name=op.f("fk_notification_message_id_message")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.person_id"], name=op.f("fk_notification_person_id_person")
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notification")),
    )
    op.create_index(op.f("ix_notification_message_id"), "notification", ["message_id"], unique=False)
    op.create_index(op.f("ix_notification_person_id"), "notification", ["person_id"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("quarantine_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.message_id"], name=op.f("fk_quarantine_message_id_message")
        ),
        sa.PrimaryKeyConstraint("quarantine_id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_message_id"), "quarantine", ["message_id"], unique=False)

    op.create_table(
        "residence",
        sa.Column("residence_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("municipality", sa.String(length=4), nullable=False),
        sa.Column("county", sa.String(length=2), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.person_id"], name=op.f("fk_residence_person_id_person")
        ),
        sa.PrimaryKeyConstraint("residence_id", name=op.f("pk_residence")),
    )
    op.create_index(op.f("ix_residence_person_id"), "residence", ["person_id"], unique=False)

    op.create_table(
        "tumour",
        sa.Column("tumour_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("incidence_date", sa.Date(), nullable=False),
        sa.Column("incidence_date_basis", sa.String(length=30), nullable=True),
        sa.Column("topography", sa.String(length=5), nullable=False),
        sa.Column("morphology", sa.String(length=4), nullable=False),
        sa.Column("behaviour", sa.SmallInteger(), nullable=False),
        sa.Column("grade", sa.SmallInteger(), nullable=True),
        sa.Column("laterality", sa.String(length=1), nullable=True),
        sa.Column("basis", sa.SmallInteger(), nullable=False),
        sa.Column("basis_subcode", sa.String(length=4), nullable=True),
        sa.Column("icd10", sa.String(length=6), nullable=True),
        sa.Column("summary_stage", sa.String(length=12), nullable=True),
        sa.Column("tnm_t", sa.String(length=8), nullable=True),
        sa.Column("tnm_n", sa.String(length=8), nullable=True),
        sa.Column("tnm_m", sa.String(length=8), nullable=True),
        sa.Column("dco", sa.Boolean(), nullable=False),
        sa.Column("iarc_status", sa.String(length=14), nullable=True),
        sa.Column("registration_status", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.person_id"], name=op.f("fk_tumour_person_id_person")),
        sa.PrimaryKeyConstraint("tumour_id", name=op.f("pk_tumour")),
    )
    op.create_index(op.f("ix_tumour_person_id"), "tumour", ["person_id"], unique=False)

    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["roles.role_id"], name=op.f("fk_user_roles_role_id_roles")),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=op.f("fk_user_roles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "check_override",
        sa.Column("override_id", sa.Integer(), nullable=False),
        sa.Column("tumour_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.String(length=20), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tumour_id"], ["tumour.tumour_id"], name=op.f("fk_check_override_tumour_id_tumour")
        ),
        sa.PrimaryKeyConstraint("override_id", name=op.f("pk_check_override")),
    )
    op.create_index(op.f("ix_check_override_tumour_id"), "check_override", ["tumour_id"], unique=False)

    op.create_table(
        "check_result",
        sa.Column("check_result_id", sa.Integer(), nullable=False),
        sa.Column("tumour_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tumour_id"], ["tumour.tumour_id"], name=op.f("fk_check_result_tumour_id_tumour")
        ),
        sa.PrimaryKeyConstraint("check_result_id", name=op.f("pk_check_result")),
    )
    op.create_index(op.f("ix_check_result_tumour_id"), "check_result", ["tumour_id"], unique=False)

    op.create_table(
        "death",
        sa.Column("death_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=False),
        sa.Column("underlying_cause", sa.String(length=6), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.notification_id"],
            name=op.f("fk_death_notification_id_notification"),
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.person_id"], name=op.f("fk_death_person_id_person")),
        sa.PrimaryKeyConstraint("death_id", name=op.f("pk_death")),
        sa.UniqueConstraint("person_id", name=op.f("uq_death_person_id")),
    )
    op.create_table(
        "treatment",
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("tumour_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=14), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("institution", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.notification_id"],
            name=op.f("fk_treatment_notification_id_notification"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.person_id"], name=op.f("fk_treatment_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["tumour_id"], ["tumour.tumour_id"], name=op.f("fk_treatment_tumour_id_tumour")
        ),
        sa.PrimaryKeyConstraint("treatment_id", name=op.f("pk_treatment")),
    )
    op.create_index(op.f("ix_treatment_person_id"), "treatment", ["person_id"], unique=False)
    op.create_index(op.f("ix_treatment_tumour_id"), "treatment", ["tumour_id"], unique=False)

    op.create_table(
        "tumour_notification",
        sa.Column("tumour_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.notification_id"],
            name=op.f("fk_tumour_notification_notification_id_notification"),
        ),
        sa.ForeignKeyConstraint(
            ["tumour_id"], ["tumour.tumour_id"], name=op.f("fk_tumour_notification_tumour_id_tumour")
        ),
        sa.PrimaryKeyConstraint("tumour_id", "notification_id", name=op.f("pk_tumour_notification")),
    )
    op.create_index(
        op.f("ix_tumour_notification_notification_id"),
        "tumour_notification",
        ["notification_id"],
        unique=False,
    )

    _append_only_triggers()
    _seed_roles()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS oncoreg_append_only() CASCADE")
    op.drop_table("tumour_notification")
    op.drop_table("treatment")
    op.drop_table("death")
    op.drop_table("check_result")
    op.drop_table("check_override")
    op.drop_table("user_roles")
    op.drop_table("tumour")
    op.drop_table("residence")
    op.drop_table("quarantine")
    op.drop_table("notification")
    op.drop_table("users")
    op.drop_table("roles")
    op.drop_table("review_task")
    op.drop_table("person")
    op.drop_table("message")
    op.drop_table("history")
    op.drop_table("access_log")
