"""The registrar workbench: the work queue, tumour view and edits, history with as-of, check overrides,
quarantine corrections. Registrar only (DESIGN §1): admin does not imply registrar, and the workbench shows
and changes registry records. Routes are thin over ``oncoreg.web.workbench``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from oncoreg.errors import ConflictError
from oncoreg.web.deps import MAX_ID, Registrar, RegistryDep, clean_purpose
from oncoreg.web.person_view import PURPOSES
from oncoreg.web.security import flash
from oncoreg.web.templating import render
from oncoreg.web.workbench import persons, quarantine, queue, records

router = APIRouter(tags=["workbench"])
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="Review task id.")]
TumourId = Annotated[int, Path(ge=1, le=MAX_ID, description="Tumour id.")]
MessageId = Annotated[int, Path(ge=1, le=MAX_ID, description="Message id.")]
Version = Annotated[int, Form(ge=1, le=MAX_ID)]
Reason = Annotated[str, Form(max_length=2000)]
QueueName = Literal["tasks", "findings", "quarantine"]


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.get("/workbench", response_class=HTMLResponse, include_in_schema=False)
def work_queue(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    show: Annotated[QueueName, Query()] = "tasks",
    kind: Annotated[str, Query(max_length=40)] = "",
    state: Annotated[queue.TaskState, Query()] = "active",
    assignee: Annotated[Literal["anyone", "me", "unassigned"], Query()] = "anyone",
) -> Response:
    """The work queue: review tasks (filter by kind, state, assignee), check findings, quarantine."""
    who = {"anyone": None, "me": user.user_name, "unassigned": ""}[assignee]
    where = queue.TaskFilter(kind=kind or None, state=state, assignee=who)
    context = {
        "show": show,
        "counts": queue.counts(registry),
        "where": where,
        "assignee": assignee,
        "kinds": queue.KIND_LABELS,
        "tasks": queue.tasks(registry, where=where) if show == "tasks" else [],
        "findings": queue.findings(registry) if show == "findings" else [],
        "quarantine": queue.quarantine_entries(registry) if show == "quarantine" else [],
    }
    return render(request, "workbench/queue.html", context)


@router.get("/workbench/tasks/{task_id}", response_class=HTMLResponse, include_in_schema=False)
def task_page(request: Request, user: Registrar, registry: RegistryDep, task_id: TaskId) -> Response:
    """A review task: what the rules could not settle, its details, assignment and resolution."""
    task = queue.task(registry, task_id=task_id)
    return render(request, "workbench/task.html", {"task": task, "kinds": queue.KIND_LABELS})


@router.post("/workbench/tasks/{task_id}/assign", include_in_schema=False)
def assign_task(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    task_id: TaskId,
    version: Version,
    to: Annotated[Literal["me", "nobody"], Form()] = "me",
) -> Response:
    """Take a task (or give it back to the open pool)."""
    assignee = user.user_name if to == "me" else None
    queue.assign(registry, user=user.user_name, task_id=task_id, version=version, assignee=assignee)
    flash(request, f"Task {task_id} {'assigned to you' if assignee else 'returned to the queue'}.", "success")
    return _see_other(f"/workbench/tasks/{task_id}")


@router.post("/workbench/tasks/{task_id}/resolve", include_in_schema=False)
def resolve_task(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    task_id: TaskId,
    version: Version,
    reason: Reason,
    outcome: Annotated[Literal["resolved", "dismissed"], Form()] = "resolved",
) -> Response:
    """Close a task with the registrar's reason (recorded with who and when)."""
    task = queue.resolve(
        registry,
        user=user.user_name,
        task_id=task_id,
        version=version,
        reason=reason,
        dismiss=outcome == "dismissed",
    )
    flash(request, f"Task {task_id} {task.state}.", "success")
    if task.subject_type == "tumour":
        return _see_other(f"/workbench/tumours/{task.subject_id}/history")
    return _see_other(f"/workbench/tasks/{task_id}")


@router.post("/workbench/tasks/{task_id}/link", include_in_schema=False)
def link_task(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    task_id: TaskId,
    version: Version,
    reason: Reason,
    person: Annotated[str, Form(max_length=20, pattern=r"^(new|\d{1,15})$")],
) -> Response:
    """Settle a linkage task: the notification goes to the chosen person, or to a new person."""
    chosen = None if person == "new" else int(person)
    edit = persons.link(
        registry, user=user.user_name, task_id=task_id, version=version, person_id=chosen, reason=reason
    )
    target = edit.created[0] if edit.created else edit.persons[0]
    flash(request, f"Task {task_id} resolved: the notification is now person {target}'s.", "success")
    return _see_other(f"/workbench/tasks/{task_id}")


@router.get("/workbench/tumours/{tumour_id}", response_class=HTMLResponse, include_in_schema=False)
def tumour_page(request: Request, user: Registrar, registry: RegistryDep, tumour_id: TumourId) -> Response:
    """The tumour's consolidated values next to every notification, with provenance, findings and tasks."""
    view = records.tumour_view(registry, user=user.user_name, tumour_id=tumour_id)
    return render(request, "workbench/tumour.html", {"view": view, "editable": records.EDITABLE})


@router.post("/workbench/tumours/{tumour_id}", response_class=HTMLResponse, include_in_schema=False)
async def edit_tumour(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    tumour_id: TumourId,
    version: Version,
    reason: Reason,
) -> Response:
    """Save the registrar's changes with the reason; a stale version answers 409 naming who changed it."""
    form = await request.form()
    values = {name: str(form[name]) for name in records.EDITABLE if isinstance(form.get(name), str)}
    try:
        saved = records.edit_tumour(
            registry, user=user.user_name, tumour_id=tumour_id, version=version, form=values, reason=reason
        )
    except ConflictError as exc:
        view = records.tumour_view(registry, user=user.user_name, tumour_id=tumour_id)
        context = {"view": view, "editable": records.EDITABLE, "conflict": str(exc), "attempt": values}
        return render(request, "workbench/tumour.html", context, status_code=409)
    flash(request, f"Tumour {tumour_id} saved (version {saved.version}).", "success")
    return _see_other(f"/workbench/tumours/{tumour_id}")


@router.post("/workbench/tumours/{tumour_id}/override", include_in_schema=False)
def override_finding(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    tumour_id: TumourId,
    rule_id: Annotated[str, Form(max_length=40)],
    reason: Reason,
) -> Response:
    """Accept a query or rare finding with the reason (an invalid one is refused)."""
    records.override_finding(
        registry, user=user.user_name, tumour_id=tumour_id, rule_id=rule_id, reason=reason
    )
    flash(request, f"Finding {rule_id} of tumour {tumour_id} overridden.", "success")
    return _see_other(f"/workbench/tumours/{tumour_id}")


@router.get("/workbench/tumours/{tumour_id}/history", response_class=HTMLResponse, include_in_schema=False)
def tumour_history(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    tumour_id: TumourId,
    as_of: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Every change of the tumour (who, when, why, before, after), decisions about it, state as of T."""
    view = records.tumour_history(
        registry, user=user.user_name, tumour_id=tumour_id, as_of=records.parse_as_of(as_of)
    )
    return render(
        request,
        "workbench/history.html",
        {"view": view, "as_of_text": as_of, "changed_fields": records.changed_fields},
    )


@router.get("/workbench/quarantine/{message_id}", response_class=HTMLResponse, include_in_schema=False)
def quarantine_purpose(
    request: Request, user: Registrar, registry: RegistryDep, message_id: MessageId
) -> Response:
    """A quarantined message's reasons; its content is shown after a purpose is stated."""
    entry = quarantine.entry(registry, message_id=message_id)
    return render(request, "workbench/quarantine.html", {"entry": entry, "purposes": PURPOSES})


@router.post("/workbench/quarantine/{message_id}", response_class=HTMLResponse, include_in_schema=False)
def quarantine_show(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    message_id: MessageId,
    purpose: Annotated[str, Form(max_length=500)],
) -> Response:
    """The message's verbatim content with the correction form."""
    stated = clean_purpose(purpose)
    message = quarantine.show(registry, user=user.user_name, purpose=stated, message_id=message_id)
    return render(
        request,
        "workbench/quarantine.html",
        {"entry": message.entry, "message": message, "purpose": stated, "purposes": PURPOSES},
    )


@router.post("/workbench/quarantine/{message_id}/fix", include_in_schema=False)
def quarantine_fix(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    message_id: MessageId,
    content: Annotated[str, Form(max_length=quarantine.MAX_CONTENT)],
    reason: Reason,
) -> Response:
    """Store the corrected message, mark the entry fixed and ingest it; report the outcome."""
    report = quarantine.fix(
        registry, user=user.user_name, message_id=message_id, corrected=content, reason=reason
    )
    if report.accepted:
        flash(
            request,
            f"Message {message_id} corrected and re-ingested: accepted, {report.notifications} "
            "notification(s) waiting for the next pipeline run.",
            "success",
        )
    else:
        flash(
            request, f"Message {message_id} corrected, but the new version is quarantined again.", "warning"
        )
    return _see_other("/workbench?show=quarantine")


# -- merge and split persons ----------------------------------------------------------------------------
PersonRef = Annotated[int, Path(ge=1, le=MAX_ID, description="Registry person id.")]
FormPerson = Annotated[int, Form(ge=1, le=MAX_ID)]


def _merge_context(
    registry: RegistryDep, keep: int | None, retire: int | None, **extra: object
) -> dict[str, object]:
    chosen = [p for p in (keep, retire) if p is not None]
    return {
        "keep": keep,
        "retire": retire,
        "summaries": [persons.summary(registry, person_id=p) for p in chosen],
        **extra,
    }


@router.get("/workbench/persons/merge", response_class=HTMLResponse, include_in_schema=False)
def merge_page(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    keep: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    retire: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Choose two persons (e.g. a linkage task's candidates) and see their coded facts side by side."""
    return render(request, "workbench/merge.html", _merge_context(registry, keep, retire))


@router.post("/workbench/persons/merge", response_class=HTMLResponse, include_in_schema=False)
def merge_persons(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    keep: FormPerson,
    retire: FormPerson,
    keep_version: Version,
    retire_version: Version,
    reason: Reason,
) -> Response:
    """Merge ``retire`` into ``keep`` with the reason; a stale version answers 409 naming who changed it."""
    try:
        edit = persons.merge(
            registry,
            user=user.user_name,
            keep=keep,
            retire=retire,
            versions={keep: keep_version, retire: retire_version},
            reason=reason,
        )
    except ConflictError as exc:
        context = _merge_context(registry, keep, retire, conflict=str(exc))
        return render(request, "workbench/merge.html", context, status_code=409)
    flash(
        request,
        f"Person {retire} merged into person {keep}: {edit.notifications_moved} notification(s) moved, "
        f"tumours {edit.tumours_before} → {edit.tumours_after}.",
        "success",
    )
    return _see_other(f"/workbench/persons/merge?keep={keep}")


@router.get("/workbench/persons/{person_id}/split", response_class=HTMLResponse, include_in_schema=False)
def split_page(request: Request, user: Registrar, registry: RegistryDep, person_id: PersonRef) -> Response:
    """The person's notifications (coded fields) to choose the ones that belong to someone else."""
    summary = persons.summary(registry, person_id=person_id)
    return render(request, "workbench/split.html", {"person": summary})


@router.post("/workbench/persons/{person_id}/split", response_class=HTMLResponse, include_in_schema=False)
async def split_person(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    person_id: PersonRef,
    version: Version,
    reason: Reason,
) -> Response:
    """Move the ticked notifications to a new person with the reason; 409 on a stale version."""
    form = await request.form()
    chosen = [int(v) for v in form.getlist("notification_id") if isinstance(v, str) and v.isdigit()]
    try:
        edit = persons.split(
            registry,
            user=user.user_name,
            person_id=person_id,
            notification_ids=chosen,
            version=version,
            reason=reason,
        )
    except ConflictError as exc:
        summary = persons.summary(registry, person_id=person_id)
        context = {"person": summary, "conflict": str(exc)}
        return render(request, "workbench/split.html", context, status_code=409)
    (created,) = edit.created
    flash(
        request,
        f"{edit.notifications_moved} notification(s) of person {person_id} moved to new person {created}; "
        f"tumours {edit.tumours_before} → {edit.tumours_after}.",
        "success",
    )
    return _see_other(f"/workbench/persons/{created}/split")
