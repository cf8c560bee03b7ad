"""Tumour records for the workbench: the consolidated values next to every notification, edits with a
required reason, history with an as-of view, and overrides of query/rare check findings.

Tumour reads carry only the surrogate ``person_id`` and are not identifiable; the notifications are shown
with their coded fields only (never the names, identifiers or birth dates they were given), so this view
needs no purpose. *Where each value came from*: the consolidation's provenance is not stored yet, so a
notification is marked as a source of a field when its value equals the consolidated one (for the
incidence date: any of its dates); a field no notification supports is marked "registrar / derived".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pydantic
import sqlalchemy as sa

from oncoreg.checks import apply_overrides
from oncoreg.errors import ConflictError, NotFound, Problem, ValidationFailed
from oncoreg.registry import Registry
from oncoreg.registry.schemas import HistoryEntry, TumourPublic, TumourUpdate
from oncoreg.registry.tables import Notification, table_of
from oncoreg.web.workbench.queue import CHECKS, OVERRIDES, Finding, clean_reason, findings, tasks_of_subject

# (tumour field, label, notification fields that can support it)
COMPARED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("incidence_date", "Incidence date", ("diagnosis_date", "sample_date", "event_date", "death_date")),
    ("topography", "Topography", ("topography",)),
    ("morphology", "Morphology", ("morphology",)),
    ("behaviour", "Behaviour", ("behaviour",)),
    ("grade", "Grade", ("grade",)),
    ("laterality", "Laterality", ("laterality",)),
    ("basis", "Basis of diagnosis", ("basis",)),
    ("icd10", "ICD-10", ("icd10",)),
    ("summary_stage", "Summary stage", ("summary_stage",)),
    ("tnm_t", "TNM T", ("tnm_t",)),
    ("tnm_n", "TNM N", ("tnm_n",)),
    ("tnm_m", "TNM M", ("tnm_m",)),
)
# Fields a registrar may edit on the tumour form (others are derived or bookkeeping).
EDITABLE = (
    "incidence_date",
    "topography",
    "morphology",
    "behaviour",
    "grade",
    "laterality",
    "basis",
    "summary_stage",
    "tnm_t",
    "tnm_n",
    "tnm_m",
    "registration_status",
)
OVERRIDABLE = ("query", "rare")
NOTIFICATIONS = table_of(Notification)
# The coded (non-identifying) columns of a notification shown next to the tumour.
CODED = (
    "notification_id",
    "message_id",
    "source_type",
    "institution",
    "diagnosis_date",
    "sample_date",
    "event_date",
    "death_date",
    "received_date",
    "topography",
    "morphology",
    "behaviour",
    "grade",
    "laterality",
    "basis",
    "icd10",
    "summary_stage",
    "tnm_t",
    "tnm_n",
    "tnm_m",
    "version",
)


@dataclass(frozen=True)
class CodedNotification:
    """A notification's coded fields (never the names, identifiers or birth dates it was given)."""

    notification_id: int
    message_id: int | None
    source_type: str
    institution: str | None
    diagnosis_date: date | None
    sample_date: date | None
    event_date: date | None
    death_date: date | None
    received_date: date | None
    topography: str | None
    morphology: str | None
    behaviour: int | None
    grade: int | None
    laterality: str | None
    basis: int | None
    icd10: str | None
    summary_stage: str | None
    tnm_t: str | None
    tnm_n: str | None
    tnm_m: str | None
    version: int


def coded_notifications(registry: Registry, *, ids: list[int]) -> list[CodedNotification]:
    """The coded fields of the notifications ``ids``, by id."""
    if not ids:
        return []
    query = sa.select(*(NOTIFICATIONS.c[name] for name in CODED)).where(
        NOTIFICATIONS.c.notification_id.in_(ids)
    )
    with registry.engine.connect() as connection:
        rows = connection.execute(query.order_by(NOTIFICATIONS.c.notification_id)).all()
    return [CodedNotification(**dict(row._mapping)) for row in rows]


@dataclass(frozen=True)
class Cell:
    """One notification's value of a compared field, and whether it supports the consolidated value."""

    value: str
    source: bool


@dataclass(frozen=True)
class Row:
    """One compared field: the consolidated value, one cell per notification, who supports it."""

    field: str
    label: str
    value: str
    cells: list[Cell]
    supported_by: list[int]


@dataclass(frozen=True)
class TumourView:
    """A tumour, its notifications side by side, its findings and its review tasks."""

    tumour: TumourPublic
    notifications: list[CodedNotification]
    rows: list[Row]
    findings: list[Finding]
    tasks: list[Any] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def compare(tumour: TumourPublic, notifications: list[CodedNotification]) -> list[Row]:
    """The consolidated values next to each notification's, marking the notifications that support them."""
    rows = []
    for name, label, sources in COMPARED:
        consolidated = _text(getattr(tumour, name))
        cells = []
        for note in notifications:
            values = [_text(getattr(note, source, None)) for source in sources]
            given = next((v for v in values if v), "")
            supports = bool(consolidated) and consolidated in values
            cells.append(Cell(consolidated if supports and name == "incidence_date" else given, supports))
        supported = [n.notification_id for n, c in zip(notifications, cells, strict=True) if c.source]
        rows.append(Row(name, label, consolidated, cells, supported))
    return rows


def tumour_view(registry: Registry, *, user: str, tumour_id: int) -> TumourView:
    """The tumour now, with its notifications (coded fields), findings and review tasks."""
    with registry.session(user=user, channel="web") as reg:
        tumour = reg.tumour(tumour_id)
        assert tumour is not None  # a current read raises NotFound
        linked = reg.tumour_notifications(tumour_id)
    notifications = coded_notifications(registry, ids=linked)
    return TumourView(
        tumour=tumour,
        notifications=notifications,
        rows=compare(tumour, notifications),
        findings=findings(registry, tumour_id=tumour_id, include_ok=True),
        tasks=tasks_of_subject(registry, subject_type="tumour", subject_id=tumour_id),
    )


def _icd10(topography: str, morphology: str, behaviour: int) -> str | None:
    from oncoreg.codes import convert_frame

    frame = pl.DataFrame(
        {"topography": [topography], "morphology": [morphology], "behaviour": [str(behaviour)]}
    )
    result = convert_frame(frame).row(0, named=True)
    if result["status"] == "error":
        raise ValidationFailed(
            [Problem("morphology", f"{topography} {morphology}/{behaviour}", "icd10", str(result["message"]))]
        )
    return None if result["icd10"] is None else str(result["icd10"])


def parse_changes(form: dict[str, str], current: TumourPublic) -> TumourUpdate:
    """The fields of the edit form that differ from the stored tumour, validated (every problem at once)."""
    wanted: dict[str, Any] = {}
    for name in EDITABLE:
        if name not in form:
            continue
        raw = form[name].strip()
        if raw != _text(getattr(current, name)):
            wanted[name] = raw or None
    if not wanted:
        raise ValidationFailed([Problem("tumour", "", "edit.nothing", "nothing was changed")])
    try:
        changes = TumourUpdate.model_validate(wanted)
    except pydantic.ValidationError as exc:
        raise ValidationFailed(
            [
                Problem(
                    ".".join(str(p) for p in error["loc"]),
                    str(wanted.get(str(error["loc"][0]), "")) if error["loc"] else "",
                    "tumour." + str(error["type"]),
                    str(error["msg"]),
                )
                for error in exc.errors()
            ]
        ) from None
    if {"topography", "morphology", "behaviour"} & changes.model_fields_set:
        merged = current.model_copy(update=changes.model_dump(exclude_unset=True))
        icd10 = _icd10(merged.topography, merged.morphology, merged.behaviour)
        if icd10 != current.icd10:
            changes = TumourUpdate.model_validate({**changes.model_dump(exclude_unset=True), "icd10": icd10})
    return changes


def edit_tumour(
    registry: Registry, *, user: str, tumour_id: int, version: int, form: dict[str, str], reason: str
) -> TumourPublic:
    """Apply the registrar's changes if ``version`` is still the tumour's (else ``ConflictError`` naming
    who changed it, when and why); history records who, when, why, before and after."""
    text = clean_reason(reason)
    with registry.session(user=user, channel="web") as reg:
        current = reg.tumour(tumour_id)
        assert current is not None
        if current.version != version:
            # Say who changed it, as the service does, before comparing the form with newer values.
            try:
                reg.update_tumour(tumour_id, changes=TumourUpdate(), version=version, reason=text)
            except ConflictError as exc:
                raise ConflictError(f"{exc}. Your changes were not saved: reload the tumour.") from None
        changes = parse_changes(form, current)
        try:
            return reg.update_tumour(tumour_id, changes=changes, version=version, reason=text)
        except ConflictError as exc:
            raise ConflictError(f"{exc}. Your changes were not saved: reload the tumour.") from None


def override_finding(registry: Registry, *, user: str, tumour_id: int, rule_id: str, reason: str) -> Finding:
    """Accept a query or rare finding of a tumour with the reviewer and reason (an invalid one is refused:
    correct the data instead). The stored result becomes ok with the override noted, as the pipeline's
    next run would store it; the override itself is kept for every later run."""
    text = clean_reason(reason)
    now = registry.clock()
    with registry.engine.begin() as connection:
        row = connection.execute(
            sa.select(CHECKS).where(CHECKS.c.tumour_id == tumour_id, CHECKS.c.rule_id == rule_id)
        ).first()
        if row is None:
            raise NotFound(f"tumour {tumour_id} has no stored finding of rule {rule_id}")
        existing = connection.execute(
            sa.select(OVERRIDES.c.reviewer).where(
                OVERRIDES.c.tumour_id == tumour_id,
                OVERRIDES.c.rule_id == rule_id,
                OVERRIDES.c.rule_version == row.rule_version,
            )
        ).first()
        if existing is not None:
            raise ConflictError(
                f"finding {rule_id} of tumour {tumour_id} was already overridden by {existing.reviewer}"
            )
        finding = pl.DataFrame(
            {
                "id": [str(tumour_id)],
                "rule_id": [rule_id],
                "rule_version": [row.rule_version],
                "result": [row.result],
                "message": [row.message],
            }
        )
        override = pl.DataFrame(
            {
                "id": [str(tumour_id)],
                "rule_id": [rule_id],
                "rule_version": [row.rule_version],
                "reviewer": [user],
                "reason": [text],
            }
        )
        applied = apply_overrides(finding, override).row(0, named=True)  # refuses invalid findings
        if applied["overridden_result"] is None:
            raise ValidationFailed(
                [Problem("rule_id", rule_id, "override-result", f"a {row.result} finding needs no override")]
            )
        connection.execute(
            sa.insert(OVERRIDES),
            [
                {
                    "tumour_id": tumour_id,
                    "rule_id": rule_id,
                    "rule_version": row.rule_version,
                    "reviewer": user,
                    "reason": text,
                    "created_at": now,
                }
            ],
        )
        connection.execute(
            sa.update(CHECKS)
            .where(CHECKS.c.check_result_id == row.check_result_id)
            .values(result="ok", message=applied["message"], checked_at=now)
        )
    return Finding(tumour_id, rule_id, row.rule_version, "ok", applied["message"], user, text)


@dataclass(frozen=True)
class HistoryView:
    """A tumour's changes, review decisions and check overrides, and its state as of a time."""

    tumour_id: int
    entries: list[HistoryEntry]
    events: list[dict[str, Any]]
    as_of: datetime | None
    state: TumourPublic | None
    links_as_of: list[int]


def parse_as_of(text: str | None) -> datetime | None:
    """A time typed as ``YYYY-MM-DDTHH:MM[:SS]`` or a date (end of that day), read as UTC; blank = none."""
    if not text or not text.strip():
        return None
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            [Problem("as_of", raw, "date.format", "give a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM)")]
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def tumour_history(registry: Registry, *, user: str, tumour_id: int, as_of: datetime | None) -> HistoryView:
    """Every recorded change of the tumour and its links, the review decisions and overrides about it,
    and (given ``as_of``) its state and notification links then."""
    with registry.session(user=user, channel="web") as reg:
        entries = reg.history(entity="tumour", entity_id=tumour_id)
        entries += reg.history(entity="tumour_notification", entity_id=tumour_id)
        if not entries and not _exists(registry, tumour_id):
            raise NotFound(f"tumour {tumour_id} does not exist")
        state = reg.tumour(tumour_id, as_of=as_of) if as_of is not None else None
        links = reg.tumour_notifications(tumour_id, as_of=as_of) if as_of is not None else []
    entries.sort(key=lambda e: (e.changed_at, e.history_id))
    events: list[dict[str, Any]] = [
        {
            "when": t.resolved_at,
            "who": t.assignee,
            "what": f"review task {t.task_id} ({t.kind}) {t.state}",
            "why": t.resolution,
        }
        for t in tasks_of_subject(registry, subject_type="tumour", subject_id=tumour_id)
        if t.resolved_at is not None
    ]
    with registry.engine.connect() as connection:
        events += [
            {
                "when": o.created_at,
                "who": o.reviewer,
                "what": f"finding {o.rule_id} overridden",
                "why": o.reason,
            }
            for o in connection.execute(sa.select(OVERRIDES).where(OVERRIDES.c.tumour_id == tumour_id))
        ]
    events.sort(key=lambda e: e["when"])
    return HistoryView(tumour_id, entries, events, as_of, state, links)


def _exists(registry: Registry, tumour_id: int) -> bool:
    from oncoreg.registry.tables import Tumour, table_of

    table = table_of(Tumour)
    with registry.engine.connect() as connection:
        return (
            connection.execute(sa.select(table.c.tumour_id).where(table.c.tumour_id == tumour_id)).first()
            is not None
        )


def changed_fields(entry: HistoryEntry) -> list[tuple[str, str, str]]:
    """(field, before, after) of the fields an update changed (bookkeeping fields left out)."""
    before, after = entry.before or {}, entry.after or {}
    names = [k for k in (after or before) if k not in ("version",)]
    return [(k, _text(before.get(k)), _text(after.get(k))) for k in names if before.get(k) != after.get(k)]
