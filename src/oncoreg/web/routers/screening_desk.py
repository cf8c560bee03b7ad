"""The screening desk (screening coordinators): programme indicators against the EU levels by county,
overdue follow-ups, invitation and letter batches, and a person's timeline with the next action and why.

Frames come from ``settings.data_dir / "screening"`` (:mod:`oncoreg.web.screening_desk.data`). Lists show
surrogate person ids only; a person's timeline is identifiable and goes through the registry session with
a stated purpose (logged in the access log), asked for first and shown only in the POST answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from oncoreg.config import Settings
from oncoreg.errors import NotFound
from oncoreg.screening.rules import PROGRAMMES
from oncoreg.web.charts import vega_lite
from oncoreg.web.deps import PersonId, RegistryDep, clean_purpose, require
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserPublic
from oncoreg.web.screening_desk import (
    ScreeningCache,
    ScreeningData,
    batches,
    county_chart,
    dashboard,
    overdue_counts,
    overdue_list,
    timeline,
)
from oncoreg.web.screening_desk.data import screening_dir
from oncoreg.web.screening_desk.desk import LEVEL_CLASS, PROGRAMME_NAMES
from oncoreg.web.templating import render

router = APIRouter(tags=["screening"])
Coordinator = Annotated[UserPublic, Depends(require(Role.screening_coordinator))]
ProgrammeQuery = Annotated[str, Query(max_length=20, pattern="^(|breast|cervix|colorectal)$")]
AsOfQuery = Annotated[date | None, Query(description="Run date (default: the latest event date).")]
CACHE = ScreeningCache()
PURPOSES = (
    "failsafe: following up an overdue positive screen",
    "answering the person's question about an invitation",
    "checking a letter before it is sent",
    "interval cancer review",
)


def _data(request: Request) -> tuple[Settings, ScreeningData | None]:
    settings: Settings = request.app.state.settings
    return settings, CACHE.get(settings.data_dir)


def _missing(request: Request, settings: Settings, title: str) -> Response:
    folder = screening_dir(settings.data_dir)
    return render(request, "screening/missing.html", {"title": title, "folder": str(folder)})


@router.get("/screening", response_class=HTMLResponse, include_in_schema=False)
def screening_dashboard(
    request: Request,
    user: Coordinator,
    programme: ProgrammeQuery = "breast",
    kpi: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """A programme's indicators against the EU levels, nationally and by county."""
    settings, data = _data(request)
    if data is None:
        return _missing(request, settings, "Screening programmes")
    board = dashboard(data=data, programme=programme or "breast", kpi_id=kpi or None)
    context = {
        "board": board,
        "chart_spec": vega_lite(county_chart(board), element_id="kpi-county-chart"),
        "programmes": PROGRAMME_NAMES,
        "level_class": LEVEL_CLASS,
        "as_of": data.last_event_date,
    }
    return render(request, "screening/dashboard.html", context)


@router.get("/screening/overdue", response_class=HTMLResponse, include_in_schema=False)
def screening_overdue(
    request: Request, user: Coordinator, as_of: AsOfQuery = None, programme: ProgrammeQuery = ""
) -> Response:
    """Positive screens whose recommended work-up is overdue (the failsafe list)."""
    settings, data = _data(request)
    if data is None:
        return _missing(request, settings, "Overdue follow-ups")
    day = as_of or data.last_event_date
    context = {
        "as_of": day,
        "programme": programme,
        "programmes": PROGRAMME_NAMES,
        "counts": overdue_counts(data=data, as_of=day).to_dicts(),
        "rows": overdue_list(data=data, as_of=day, programme=programme).to_dicts(),
    }
    return render(request, "screening/overdue.html", context)


@router.get("/screening/overdue.csv", include_in_schema=False)
def screening_overdue_csv(
    request: Request, user: Coordinator, as_of: AsOfQuery = None, programme: ProgrammeQuery = ""
) -> Response:
    """The overdue list as CSV (surrogate person ids)."""
    _, data = _data(request)
    if data is None:
        raise NotFound("no screening data in the data directory")
    day = as_of or data.last_event_date
    frame = overdue_list(data=data, as_of=day, programme=programme, limit=1_000_000)
    return Response(
        frame.write_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="overdue-{day.isoformat()}.csv"'},
    )


@router.get("/screening/batches", response_class=HTMLResponse, include_in_schema=False)
def screening_batches(
    request: Request, user: Coordinator, registry: RegistryDep, as_of: AsOfQuery = None
) -> Response:
    """Tonight's invitation and letter batch per programme, and the batches stored before."""
    settings, data = _data(request)
    if data is None:
        return _missing(request, settings, "Invitations and letters")
    day = as_of or data.last_event_date
    from oncoreg.screening.store import load_invitations

    stored = load_invitations(engine=registry.engine)
    return render(
        request, "screening/batches.html", {"batches": batches(data=data, as_of=day, stored=stored)}
    )


@router.get("/screening/persons/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def screening_person_purpose(request: Request, user: Coordinator, person_id: PersonId) -> Response:
    """Ask for the purpose before showing a person's screening timeline."""
    return render(request, "screening/person_purpose.html", {"person_id": person_id, "purposes": PURPOSES})


@router.post("/screening/persons/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def screening_person(
    request: Request,
    user: Coordinator,
    registry: RegistryDep,
    person_id: PersonId,
    purpose: Annotated[str, Form(max_length=500)],
) -> Response:
    """The person's screening events and the next action per programme, for the stated purpose (logged)."""
    stated = clean_purpose(purpose)
    settings, data = _data(request)
    if data is None:
        return _missing(request, settings, f"Screening timeline of person {person_id}")
    with registry.session(user=user.user_name, purpose=stated, channel="web") as reg:
        person = reg.person(person_id)
        if person is None:  # pragma: no cover - person() raises NotFound for a current read
            raise NotFound(f"person {person_id} does not exist")
        tumours = reg.tumours_of_person(person_id)
    cancers = [
        (t.incidence_date, t.icd10 or t.topography)
        for t in tumours
        if t.behaviour == 3 and (t.icd10 or t.topography)
    ]
    view = timeline(
        data=data,
        person_id=person_id,
        birth_date=person.birth_date,
        sex=int(person.sex),
        cancers=cancers,
        death_date=person.death_date,
        emigration_date=person.emigration_date,
        as_of=data.last_event_date,
    )
    context = {"view": view, "person": person, "purpose": stated, "programmes": PROGRAMME_NAMES}
    return render(request, "screening/person.html", context)


__all__ = ["PROGRAMMES", "router"]
