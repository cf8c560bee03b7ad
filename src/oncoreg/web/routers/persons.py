"""The person view and the citizen's access report (identifiable; a purpose is required and logged).

Pages ask for the purpose first (GET shows the form, POST with the purpose shows the data), so nothing
identifiable is shown, cached or bookmarked without a stated reason. The API takes the purpose in the
``X-Oncoreg-Purpose`` header.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from oncoreg.web import person_view as views
from oncoreg.web.deps import PersonId, Purpose, Registrar, RegistryDep, clean_purpose, require
from oncoreg.web.roles import Role
from oncoreg.web.schemas import AccessReport, PersonView, UserPublic
from oncoreg.web.templating import render

router = APIRouter(tags=["persons"])
ReportReader = Annotated[UserPublic, Depends(require(Role.registrar, Role.admin))]
PurposeForm = Annotated[str, Form(max_length=500)]


@router.get("/persons", response_class=HTMLResponse, include_in_schema=False)
def persons(request: Request, user: Registrar) -> Response:
    """The person search form."""
    return render(request, "persons.html", {"purposes": views.PURPOSES})


@router.post("/persons/lookup", response_class=HTMLResponse, include_in_schema=False)
def lookup(
    request: Request,
    user: Registrar,
    registry: RegistryDep,
    identifier: Annotated[str, Form(max_length=20)],
    purpose: PurposeForm,
) -> Response:
    """Find a person by identifier or id and show them for the stated purpose."""
    stated = clean_purpose(purpose)
    person_id = views.find_person_id(
        registry, user=user.user_name, purpose=stated, channel="web", key=identifier
    )
    return _show(request, user, registry, person_id, stated)


@router.get("/persons/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def person_purpose(request: Request, user: Registrar, person_id: PersonId) -> Response:
    """Ask for the purpose before showing the person."""
    return render(request, "person_purpose.html", {"person_id": person_id, "purposes": views.PURPOSES})


@router.post("/persons/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def person(
    request: Request, user: Registrar, registry: RegistryDep, person_id: PersonId, purpose: PurposeForm
) -> Response:
    """The person, their tumours and notifications, for the stated purpose (logged)."""
    return _show(request, user, registry, person_id, clean_purpose(purpose))


def _show(
    request: Request, user: UserPublic, registry: RegistryDep, person_id: PersonId, purpose: str
) -> Response:
    view = views.person_view(
        registry, user=user.user_name, purpose=purpose, channel="web", person_id=person_id
    )
    return render(request, "person.html", {"view": view, "purpose": purpose})


@router.get("/persons/{person_id}/access-report", response_class=HTMLResponse, include_in_schema=False)
def access_report_form(request: Request, user: ReportReader, person_id: PersonId) -> Response:
    """Ask for the request reference before producing the access report."""
    return render(request, "access_report_form.html", {"person_id": person_id})


@router.post("/persons/{person_id}/access-report", include_in_schema=False)
def access_report(
    request: Request,
    user: ReportReader,
    registry: RegistryDep,
    person_id: PersonId,
    purpose: PurposeForm,
    format: Annotated[Literal["html", "pdf"], Form()] = "html",
) -> Response:
    """The access report as a page or a printable PDF."""
    report = views.access_report(
        registry, user=user.user_name, purpose=clean_purpose(purpose), channel="web", person_id=person_id
    )
    if format == "pdf":
        return Response(
            views.access_report_pdf(report),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="access-report-{person_id}.pdf"'},
        )
    return render(request, "access_report.html", {"report": report, "purpose": purpose})


@router.get("/api/persons/{person_id}", response_model=PersonView)
def api_person(user: Registrar, registry: RegistryDep, person_id: PersonId, purpose: Purpose) -> PersonView:
    """A person with tumours and notifications; the purpose header is required and logged."""
    return views.person_view(
        registry, user=user.user_name, purpose=purpose, channel="api", person_id=person_id
    )


@router.get("/api/persons/{person_id}/access-report", response_model=AccessReport)
def api_access_report(
    user: ReportReader, registry: RegistryDep, person_id: PersonId, purpose: Purpose
) -> AccessReport:
    """Who accessed the person's data, when and why (the citizen's right of access)."""
    return views.access_report(
        registry, user=user.user_name, purpose=purpose, channel="api", person_id=person_id
    )
