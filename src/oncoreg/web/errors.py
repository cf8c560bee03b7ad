"""Errors of the web layer and the one place where every ``OncoregError`` becomes an HTTP response.

Pages (anything not under ``/api`` or the JSON operations endpoints) get an HTML error page, or for a
missing sign-in a redirect to ``/login``; the API gets JSON ``{"detail": ...}``. htmx requests that need
a sign-in get ``HX-Redirect`` so the whole page moves to the login form.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from oncoreg.errors import (
    CodeError,
    ConfigError,
    ConflictError,
    NotFound,
    OncoregError,
    PermissionDenied,
    ValidationFailed,
)

logger = logging.getLogger("oncoreg.web")


class SignInRequired(PermissionDenied):
    """No valid session: the request needs a signed-in user (401, or a redirect to the login page)."""


class RoleRequired(PermissionDenied):
    """The signed-in user holds none of the roles the route allows (403)."""


class CsrfRejected(PermissionDenied):
    """A state-changing request without the session's CSRF token (403)."""


class SignInFailed(PermissionDenied):
    """Wrong user name or password, or a disabled account (the message never says which)."""


class SignInLocked(PermissionDenied):
    """Too many failed sign-ins for the account or the client address; retry after ``retry_after`` s."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# Most specific first: the first matching class decides the status.
STATUS_OF: tuple[tuple[type[OncoregError], int], ...] = (
    (SignInRequired, 401),
    (SignInFailed, 401),
    (SignInLocked, 429),
    (RoleRequired, 403),
    (CsrfRejected, 403),
    (PermissionDenied, 403),
    (NotFound, 404),
    (ConflictError, 409),
    (ValidationFailed, 422),
    (CodeError, 422),
    (ConfigError, 500),
    (OncoregError, 400),
)


def status_of(exc: OncoregError) -> int:
    """The HTTP status for an oncoreg error."""
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            return status
    return 400  # pragma: no cover - OncoregError is last in STATUS_OF


def wants_json(request: Request) -> bool:
    """API and operations endpoints answer JSON; pages answer HTML."""
    path = request.url.path
    return path.startswith("/api/") or path in ("/health", "/ready", "/openapi.json")


async def handle_oncoreg_error(request: Request, exc: Exception) -> Response:
    """Map an ``OncoregError`` to its HTTP response (registered once in the app factory)."""
    assert isinstance(exc, OncoregError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, SignInLocked):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, SignInRequired) and not wants_json(request):
        target = "/login?next=" + quote(request.url.path, safe="/")
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    logger.info("request refused", extra={"status": status, "error": type(exc).__name__})
    if wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)
    from oncoreg.web.templating import render

    return render(
        request, "error.html", {"status": status, "message": str(exc)}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping of every ``OncoregError`` to HTTP on ``app``."""
    app.add_exception_handler(OncoregError, handle_oncoreg_error)
