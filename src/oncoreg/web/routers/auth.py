"""Sign-in and sign-out with local accounts (argon2 hashes, throttled; see ``oncoreg.web.users``).

OIDC (e.g. HelseID) plugs in here: a ``/login/oidc`` route that redirects to the provider and a callback
that maps the verified ``sub``/HPR number to a local user, then calls ``start_session`` like the form
login does (docs/web.md, "Single sign-on").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from oncoreg.config import Settings
from oncoreg.errors import NotFound
from oncoreg.web import oidc, users
from oncoreg.web.deps import RegistryDep, optional_user, public
from oncoreg.web.errors import SignInFailed, SignInLocked
from oncoreg.web.schemas import UserPublic
from oncoreg.web.security import client_ip, end_session, flash, start_session
from oncoreg.web.templating import render

router = APIRouter(tags=["sign-in"], include_in_schema=False)
oidc_router = APIRouter(tags=["sign-in"], include_in_schema=False)  # included by create_app when configured
Public = Annotated[None, Depends(public())]


def _safe_next(target: str | None) -> str:
    """A local path to go to after sign-in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    _: Public,
    user: Annotated[UserPublic | None, Depends(optional_user)],
    next: str = "/",
) -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    oidc_label = "OIDC" if oidc.configured(request.app.state.settings) else None
    return render(request, "login.html", {"next": _safe_next(next), "oidc": oidc_label})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    _: Public,
    registry: RegistryDep,
    user_name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (throttled) and start a session."""
    context = {"next": _safe_next(next), "user_name": user_name}
    try:
        user = users.authenticate(
            registry,
            user_name=user_name,
            password=password,
            client_ip=client_ip(request),
            policy=request.app.state.login_policy,
        )
    except SignInLocked as exc:
        return render(
            request,
            "login.html",
            {**context, "error": str(exc)},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except SignInFailed as exc:
        return render(request, "login.html", {**context, "error": str(exc)}, status_code=401)
    start_session(request, user_id=user.user_id, stamp=users.session_stamp(registry, user_id=user.user_id))
    request.state.user = user
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, _: Public) -> Response:
    """End the session."""
    end_session(request)
    flash(request, "You are signed out.", "success")
    return RedirectResponse("/login", status_code=303)


OIDC_SESSION_KEY = "oidc_pending"


def _oidc_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not oidc.configured(settings):
        raise NotFound("OIDC sign-in is not configured")
    return settings


def _oidc_refused(request: Request, message: str) -> Response:
    return render(request, "login.html", {"next": "/", "error": message}, status_code=403)


@oidc_router.get("/login/oidc")
def login_oidc(request: Request, _: Public, next: str = "/") -> Response:
    """Send the browser to the OIDC provider (state, nonce and PKCE kept in the session)."""
    settings = _oidc_settings(request)
    try:
        url, pending = oidc.begin(
            settings, redirect_uri=str(request.url_for("login_oidc_callback")), next=_safe_next(next)
        )
    except oidc.OidcError:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "The sign-in service did not answer."},
            status_code=502,
        )
    request.session[OIDC_SESSION_KEY] = pending.as_dict()
    return RedirectResponse(url, status_code=303)


@oidc_router.get("/login/oidc/callback")
def login_oidc_callback(
    request: Request, _: Public, registry: RegistryDep, code: str = "", state: str = ""
) -> Response:
    """Verify the provider's answer and sign in the local user named by the configured claim."""
    settings = _oidc_settings(request)
    pending = oidc.Pending.from_dict(request.session.pop(OIDC_SESSION_KEY, None))
    if pending is None or not code or not state:
        return _oidc_refused(request, "The sign-in was not started here or has expired.")
    try:
        claims = oidc.finish(
            settings,
            pending=pending,
            state=state,
            code=code,
            redirect_uri=str(request.url_for("login_oidc_callback")),
        )
    except oidc.OidcError:
        return _oidc_refused(request, "The sign-in could not be verified.")
    user_name = claims.get(settings.oidc_username_claim)
    user = users.user_by_name(registry, user_name=user_name) if isinstance(user_name, str) else None
    if user is None or not user.active:
        return _oidc_refused(request, "No active account here matches this sign-in.")
    start_session(request, user_id=user.user_id, stamp=users.session_stamp(registry, user_id=user.user_id))
    request.state.user = user
    return RedirectResponse(pending.next, status_code=303)
