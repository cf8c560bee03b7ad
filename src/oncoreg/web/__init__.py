"""The web application: a JSON API (OpenAPI) and a server-rendered UI over the library (FastAPI).

``create_app(settings=..., registry=...)`` builds the app; ``oncoreg serve`` runs it under uvicorn. Every
route declares the roles that may use it (:class:`oncoreg.web.deps.require`) or that it is public
(:class:`oncoreg.web.deps.public`); ``tests/web/test_route_walk.py`` walks every route with every role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncoreg.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from oncoreg.web.app import create_app

        return create_app
    raise AttributeError(f"module 'oncoreg.web' has no attribute {name!r}")
