"""Jinja2 templates: the base layout, navigation by role, flash messages, CSRF in every form.

``render(request, "page.html", context)`` gives every template ``user`` (or None), ``nav`` (the entries
the user's roles allow), ``flashes``, ``csrf_token`` and the ``chart`` macro. An htmx request for a page
gets the page's ``content`` block only when the template is rendered with ``partial=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from oncoreg.web.roles import ALL_ROLES, Role
from oncoreg.web.schemas import UserPublic
from oncoreg.web.security import csrf_token, pop_flashes


@dataclass(frozen=True)
class NavItem:
    """A navigation entry shown to users holding any of ``roles``."""

    label: str
    href: str
    roles: frozenset[Role]


# Colleagues add their area's entry here (the route itself declares the same roles with require()).
NAV: list[NavItem] = [
    NavItem("Home", "/", ALL_ROLES),
    NavItem("Persons", "/persons", frozenset({Role.registrar})),
    NavItem("Workbench", "/workbench", frozenset({Role.registrar})),
    NavItem("Explorer", "/explorer", frozenset({Role.statistician, Role.researcher})),
    NavItem("Data quality", "/quality", frozenset({Role.statistician, Role.researcher, Role.registrar})),
    NavItem("Screening", "/screening", frozenset({Role.screening_coordinator})),
    NavItem("Users", "/admin/users", frozenset({Role.admin})),
    NavItem("API", "/docs", ALL_ROLES),
]

templates = Jinja2Templates(directory=str(resources.files("oncoreg.web") / "templates"))
templates.env.autoescape = True


def nav_for(user: UserPublic | None) -> list[NavItem]:
    """The navigation entries ``user`` may follow."""
    if user is None:
        return []
    return [item for item in NAV if item.roles & user.roles]


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The template ``name`` rendered for ``request`` with the common context."""
    user = getattr(request.state, "user", None)
    full = {
        "user": user,
        "nav": nav_for(user),
        "flashes": pop_flashes(request),
        "csrf_token": csrf_token(request),
        "htmx": request.headers.get("HX-Request") == "true",
        **(context or {}),
    }
    return templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=dict(headers or {})
    )
