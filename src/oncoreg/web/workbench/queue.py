"""The work queue: open review tasks (linkage, consolidation conflicts, DCO trace-back, ICD-10 errors),
check findings still to review and quarantined messages, with filters and assignment.

Review tasks hold no identifiable data (subjects are surrogate ids; details are codes, dates and ids), so
listing them is not an access to a person. Assigning and resolving carry the version read: a task that
someone else changed in between raises ``ConflictError`` naming who.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from oncoreg.errors import ConflictError, NotFound, Problem, ValidationFailed
from oncoreg.registry import Registry
from oncoreg.registry.audit_tables import CheckOverride, CheckResult, ReviewTask
from oncoreg.registry.schemas import ReviewTaskPublic
from oncoreg.registry.tables import Message, Quarantine, table_of

TASKS = table_of(ReviewTask)
CHECKS = table_of(CheckResult)
OVERRIDES = table_of(CheckOverride)
QUARANTINE = table_of(Quarantine)
MESSAGES = table_of(Message)
TaskState = Literal["open", "assigned", "resolved", "dismissed", "active", "all"]
ACTIVE_STATES = ("open", "assigned")
QUEUE_LIMIT = 500
# Kinds named in the issue; other kinds found in the store are offered as filters too.
KIND_LABELS = {
    "linkage": "linkage",
    "topography_conflict": "consolidation conflict: topography",
    "subsite_conflict": "consolidation conflict: subsite",
    "laterality_conflict": "consolidation conflict: laterality",
    "behaviour_conflict": "consolidation conflict: behaviour",
    "unknown_primary": "consolidation: unknown primary",
    "date_contradiction": "consolidation: date contradiction",
    "icd10_error": "ICD-10 conversion error",
    "dco_traceback": "DCO trace-back",
}
MAX_REASON = 2000


@dataclass(frozen=True)
class TaskFilter:
    """What the queue shows: kind (None = all), state, assignee (None = anyone, "" = unassigned)."""

    kind: str | None = None
    state: TaskState = "active"
    assignee: str | None = None


@dataclass(frozen=True)
class QueueCounts:
    """How much work waits, per queue."""

    tasks_by_kind: dict[str, int]
    findings: int
    quarantine: int


@dataclass(frozen=True)
class Finding:
    """A stored check result of a tumour, with the override if one was given."""

    tumour_id: int
    rule_id: str
    rule_version: str
    result: str
    message: str | None
    overridden_by: str | None = None
    override_reason: str | None = None


@dataclass(frozen=True)
class QuarantineEntry:
    """A quarantined message (no content: that needs a purpose, see ``quarantine.py``)."""

    quarantine_id: int
    message_id: int
    source: str
    format: str
    received_at: datetime
    status: str
    reasons: list[dict[str, Any]]
    resolved_by: str | None
    resolution: str | None


def clean_reason(reason: str | None, *, field: str = "reason") -> str:
    """A trimmed reason; an empty one is refused (every change needs a why)."""
    text = " ".join((reason or "").split())[:MAX_REASON]
    if not text:
        raise ValidationFailed([Problem(field, "", "history.reason", "state the reason for this change")])
    return text


def counts(registry: Registry) -> QueueCounts:
    """Open work per queue."""
    with registry.engine.connect() as connection:
        kinds = connection.execute(
            sa.select(TASKS.c.kind, sa.func.count())
            .where(TASKS.c.state.in_(ACTIVE_STATES))
            .group_by(TASKS.c.kind)
            .order_by(TASKS.c.kind)
        ).all()
        findings = connection.execute(
            sa.select(sa.func.count())
            .select_from(CHECKS)
            .where(CHECKS.c.result.in_(["query", "rare", "invalid"]))
        ).scalar_one()
        quarantined = connection.execute(
            sa.select(sa.func.count()).select_from(QUARANTINE).where(QUARANTINE.c.status == "open")
        ).scalar_one()
    return QueueCounts({str(k): int(n) for k, n in kinds}, int(findings), int(quarantined))


def tasks(registry: Registry, *, where: TaskFilter) -> list[ReviewTaskPublic]:
    """Review tasks matching the filter, oldest first (at most ``QUEUE_LIMIT``)."""
    query = sa.select(TASKS)
    if where.state == "active":
        query = query.where(TASKS.c.state.in_(ACTIVE_STATES))
    elif where.state != "all":
        query = query.where(TASKS.c.state == where.state)
    if where.kind:
        query = query.where(TASKS.c.kind == where.kind)
    if where.assignee == "":
        query = query.where(TASKS.c.assignee.is_(None))
    elif where.assignee is not None:
        query = query.where(TASKS.c.assignee == where.assignee)
    with registry.engine.connect() as connection:
        rows = connection.execute(query.order_by(TASKS.c.task_id).limit(QUEUE_LIMIT)).all()
    return [ReviewTaskPublic.model_validate(dict(row._mapping)) for row in rows]


def task(registry: Registry, *, task_id: int) -> ReviewTaskPublic:
    """One review task (NotFound if absent)."""
    with registry.engine.connect() as connection:
        row = connection.execute(sa.select(TASKS).where(TASKS.c.task_id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"review task {task_id} does not exist")
    return ReviewTaskPublic.model_validate(dict(row._mapping))


def tasks_of_subject(registry: Registry, *, subject_type: str, subject_id: int) -> list[ReviewTaskPublic]:
    """Every review task (any state) about one subject, oldest first."""
    with registry.engine.connect() as connection:
        rows = connection.execute(
            sa.select(TASKS)
            .where(TASKS.c.subject_type == subject_type, TASKS.c.subject_id == subject_id)
            .order_by(TASKS.c.task_id)
        ).all()
    return [ReviewTaskPublic.model_validate(dict(row._mapping)) for row in rows]


def _stale(connection: sa.Connection, task_id: int, version: int) -> ConflictError:
    current = connection.execute(
        sa.select(TASKS.c.version, TASKS.c.state, TASKS.c.assignee, TASKS.c.resolved_at).where(
            TASKS.c.task_id == task_id
        )
    ).one_or_none()
    if current is None:
        raise NotFound(f"review task {task_id} does not exist")
    who = f"; it is now {current.state}" + (f" by {current.assignee}" if current.assignee else "")
    return ConflictError(
        f"review task {task_id} was changed by someone else since you opened it (your version {version}, "
        f"current version {current.version}{who}). Reload the task and decide again."
    )


def assign(
    registry: Registry, *, user: str, task_id: int, version: int, assignee: str | None
) -> ReviewTaskPublic:
    """Assign an active task to ``assignee`` (None: back to the open pool) if ``version`` is current."""
    values: dict[str, Any] = {
        "assignee": assignee,
        "state": "assigned" if assignee else "open",
        "version": version + 1,
    }
    with registry.engine.begin() as connection:
        row = connection.execute(
            sa.update(TASKS)
            .where(TASKS.c.task_id == task_id, TASKS.c.version == version, TASKS.c.state.in_(ACTIVE_STATES))
            .values(**values)
            .returning(*TASKS.c)
        ).one_or_none()
        if row is None:
            raise _stale(connection, task_id, version)
    _ = user  # the acting user is recorded by the request log; assignment is not a registry change
    return ReviewTaskPublic.model_validate(dict(row._mapping))


def resolve(
    registry: Registry, *, user: str, task_id: int, version: int, reason: str, dismiss: bool = False
) -> ReviewTaskPublic:
    """Close an active task with the registrar's reason (resolved, or dismissed as not a problem)."""
    text = clean_reason(reason)
    current = task(registry, task_id=task_id)
    if current.state not in ACTIVE_STATES:
        raise ConflictError(
            f"review task {task_id} is already {current.state}"
            + (f" by {current.assignee}" if current.assignee else "")
            + (f": {current.resolution}" if current.resolution else "")
        )
    with registry.session(user=user, channel="web") as reg:
        try:
            return reg.resolve_review_task(task_id, resolution=text, version=version, dismissed=dismiss)
        except ConflictError:
            with registry.engine.connect() as connection:
                raise _stale(connection, task_id, version) from None


def findings(registry: Registry, *, tumour_id: int | None = None, include_ok: bool = False) -> list[Finding]:
    """Stored check results (of one tumour, or every tumour's to review), with their overrides."""
    query = sa.select(CHECKS)
    if tumour_id is not None:
        query = query.where(CHECKS.c.tumour_id == tumour_id)
    if not include_ok:
        query = query.where(CHECKS.c.result.in_(["query", "rare", "invalid"]))
    with registry.engine.connect() as connection:
        rows = connection.execute(
            query.order_by(CHECKS.c.tumour_id, CHECKS.c.rule_id).limit(QUEUE_LIMIT)
        ).all()
        override_query = sa.select(OVERRIDES).order_by(OVERRIDES.c.override_id)
        if tumour_id is not None:
            override_query = override_query.where(OVERRIDES.c.tumour_id == tumour_id)
        overrides = {
            (o.tumour_id, o.rule_id, o.rule_version): o for o in connection.execute(override_query).all()
        }
    found = []
    for row in rows:
        override = overrides.get((row.tumour_id, row.rule_id, row.rule_version))
        found.append(
            Finding(
                tumour_id=row.tumour_id,
                rule_id=row.rule_id,
                rule_version=row.rule_version,
                result=row.result,
                message=row.message,
                overridden_by=None if override is None else override.reviewer,
                override_reason=None if override is None else override.reason,
            )
        )
    return found


def quarantine_entries(registry: Registry, *, status: str = "open") -> list[QuarantineEntry]:
    """Quarantined messages in a status (open / fixed / rejected / all), oldest first; no content."""
    query = sa.select(
        QUARANTINE.c.quarantine_id,
        QUARANTINE.c.message_id,
        MESSAGES.c.source,
        MESSAGES.c.format,
        MESSAGES.c.received_at,
        QUARANTINE.c.status,
        QUARANTINE.c.reasons,
        QUARANTINE.c.resolved_by,
        QUARANTINE.c.resolution,
    ).join(MESSAGES, MESSAGES.c.message_id == QUARANTINE.c.message_id)
    if status != "all":
        query = query.where(QUARANTINE.c.status == status)
    with registry.engine.connect() as connection:
        rows = connection.execute(query.order_by(QUARANTINE.c.quarantine_id).limit(QUEUE_LIMIT)).all()
    return [QuarantineEntry(**dict(row._mapping)) for row in rows]
