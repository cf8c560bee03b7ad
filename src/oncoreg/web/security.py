"""Session cookie contents and CSRF tokens.

The session is Starlette's signed cookie (itsdangerous, key derived from ``settings.secret_key``; HttpOnly,
SameSite=Lax, Secure outside development; see ``app.py``). It holds the user id, a stamp of the password
hash (a password reset or a disabled account ends every session at its next request), the CSRF token and
pending flash messages; nothing identifiable about registered persons ever goes into it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Literal

from fastapi import Request

SESSION_COOKIE = "oncoreg_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FlashKind = Literal["info", "success", "warning", "error"]


def derive_key(secret: str, purpose: str) -> str:
    """A key for one purpose derived from the installation secret (HMAC-SHA256)."""
    return hmac.new(secret.encode(), f"oncoreg:{purpose}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def csrf_matches(request: Request, given: str | None) -> bool:
    """Whether ``given`` is the session's CSRF token (constant-time)."""
    expected = request.session.get(CSRF_FIELD)
    return isinstance(expected, str) and given is not None and hmac.compare_digest(expected, given)


def start_session(request: Request, *, user_id: int, stamp: str) -> None:
    """A fresh session for a user who just signed in (a new CSRF token too)."""
    request.session.clear()
    request.session.update({"uid": user_id, "stamp": stamp})
    csrf_token(request)


def end_session(request: Request) -> None:
    """Forget everything in the session (sign-out)."""
    request.session.clear()


def session_identity(request: Request) -> tuple[int, str] | None:
    """The user id and password stamp of the session, if signed in."""
    uid, stamp = request.session.get("uid"), request.session.get("stamp")
    if isinstance(uid, int) and isinstance(stamp, str):
        return uid, stamp
    return None


def flash(request: Request, message: str, kind: FlashKind = "info") -> None:
    """A message shown on the next page rendered."""
    pending: list[dict[str, Any]] = list(request.session.get("flash", []))
    pending.append({"kind": kind, "message": message})
    request.session["flash"] = pending


def pop_flashes(request: Request) -> list[dict[str, Any]]:
    """The pending flash messages, removed from the session."""
    pending = request.session.pop("flash", [])
    return list(pending) if isinstance(pending, list) else []


def client_ip(request: Request) -> str:
    """The client's address as the server sees it (configure the proxy's forwarded-for in uvicorn)."""
    return request.client.host if request.client is not None else "unknown"
