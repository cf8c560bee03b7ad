"""The app factory: ``create_app(settings=, registry=, login_policy=)``.

Builds FastAPI with the session cookie (signed with a key derived from ``settings.secret_key``; HttpOnly,
SameSite=Lax, Secure outside development, 8 hours sliding), CSRF checking on every state-changing request
(an app-wide dependency), the security headers and JSON request log, the error mapping, the static files
served from the package, and one router per area.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from oncoreg.config import Settings, get_settings
from oncoreg.registry import Registry
from oncoreg.web.deps import csrf_protect
from oncoreg.web.errors import install_error_handlers
from oncoreg.web.logs import RequestLogMiddleware
from oncoreg.web.routers import admin, auth, home, ops, persons
from oncoreg.web.routers import explorer as explorer_router
from oncoreg.web.routers import quality as quality_router
from oncoreg.web.routers import screening_desk as screening_desk_router
from oncoreg.web.routers import workbench as workbench_router
from oncoreg.web.security import SESSION_COOKIE, derive_key
from oncoreg.web.users import LoginPolicy

ROUTERS = (
    ops.router,
    auth.router,
    home.router,
    persons.router,
    admin.router,
    workbench_router.router,
    explorer_router.router,
    quality_router.router,
    screening_desk_router.router,
)
SESSION_MAX_AGE = 8 * 60 * 60  # seconds; renewed by every response, so an idle session ends after 8 h
STATIC_PATH = "/static"  # public: vendored scripts and styles, no data


def _version() -> str:
    try:
        return version("oncoreg")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0"


def create_app(
    *,
    settings: Settings | None = None,
    registry: Registry | None = None,
    login_policy: LoginPolicy | None = None,
) -> FastAPI:
    """The web application over ``registry`` (default: the settings' store, migrated on open)."""
    settings = settings or get_settings()
    owns_registry = registry is None
    store = registry if registry is not None else Registry.create(settings=settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_registry:
            store.dispose()

    app = FastAPI(
        title="oncoreg",
        version=_version(),
        description="API of the oncoreg cancer registry. Sign in at /login; send X-CSRF-Token on writes.",
        docs_url=None,  # served by routers/home.py for signed-in users, from the package
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_protect)],
        lifespan=lifespan,
    )
    app.state.registry = store
    app.state.settings = settings
    app.state.login_policy = login_policy or LoginPolicy()
    install_error_handlers(app)
    secure = settings.environment != "development"
    app.add_middleware(
        SessionMiddleware,
        secret_key=derive_key(settings.secret_key.get_secret_value(), "web-session"),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=secure,
    )
    app.add_middleware(RequestLogMiddleware, hsts=secure)
    app.mount(STATIC_PATH, StaticFiles(packages=[("oncoreg.web", "static")]), name="static")
    for router in ROUTERS:
        app.include_router(router)
    if settings.oidc_issuer:
        app.include_router(auth.oidc_router)  # OIDC sign-in only when configured (docs/web.md)
    return app
