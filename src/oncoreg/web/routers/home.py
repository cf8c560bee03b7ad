"""The start page, the signed-in user (``/api/me``) and the OpenAPI documentation (signed-in users)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from oncoreg.web.charts import bar_chart
from oncoreg.web.deps import AnyUser, RegistryDep
from oncoreg.web.schemas import UserPublic
from oncoreg.web.security import csrf_token
from oncoreg.web.templating import render, templates

router = APIRouter(tags=["home"])


class Me(BaseModel):
    """The signed-in user and the CSRF token API clients send in ``X-CSRF-Token``."""

    user: UserPublic
    csrf_token: str


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, user: AnyUser, registry: RegistryDep) -> Response:
    """The start page: roles and a chart of the store's size."""
    counts = [{"table": name, "rows": rows} for name, rows in registry.summary().items() if rows]
    chart = bar_chart(counts, x="rows", y="table", title="Rows per table", x_title="rows", y_title="")
    return render(request, "home.html", {"store_chart": chart})


@router.get("/api/me", response_model=Me)
def me(request: Request, user: AnyUser) -> Me:
    """The signed-in user, their roles and the session's CSRF token."""
    return Me(user=user, csrf_token=csrf_token(request))


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: AnyUser) -> JSONResponse:
    """The OpenAPI description of the JSON API."""
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request, user: AnyUser) -> Response:
    """Swagger UI over ``/openapi.json`` (served from the package)."""
    return templates.TemplateResponse(request, "docs.html", {})
