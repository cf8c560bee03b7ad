"""``oncoreg serve``: run the web application under uvicorn (JSON logs, no identifiable data in them)."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0 for all).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.", min=1, max=65535)] = 8000,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Registry store URL (default: the settings').")
    ] = None,
    create_demo_users: Annotated[
        bool,
        typer.Option(
            "--create-demo-users",
            help="Create (or reset) one demo user per role and print their generated passwords once.",
        ),
    ] = False,
    create_admin: Annotated[
        str | None,
        typer.Option(
            "--create-admin", help="Create an administrator with this user name; prints its password."
        ),
    ] = None,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips (behind a reverse proxy).",
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option("--forwarded-allow-ips", help="Proxy addresses whose forwarded headers are trusted."),
    ] = "127.0.0.1",
) -> None:
    """Serve the web application (UI, JSON API, OpenAPI at /docs for signed-in users)."""
    import uvicorn

    from oncoreg.config import get_settings
    from oncoreg.registry import Registry
    from oncoreg.web import users
    from oncoreg.web.app import create_app
    from oncoreg.web.logs import configure_logging
    from oncoreg.web.roles import Role
    from oncoreg.web.schemas import UserCreate

    settings = get_settings()
    configure_logging(settings.log_level)
    registry = Registry.create(database_url, settings=settings)
    if create_admin:
        created = users.create_user(
            registry,
            actor="oncoreg serve",
            user=UserCreate(user_name=create_admin, roles=frozenset({Role.admin})),
        )
        typer.echo(f"administrator {created.user.user_name}: password {created.password}")
    if create_demo_users:
        for name, password in users.create_demo_users(registry, actor="oncoreg serve").items():
            typer.echo(f"demo user {name}: password {password}")
    typer.echo(f"oncoreg: serving on http://{host}:{port}/ (Ctrl+C to stop)")
    app = create_app(settings=settings, registry=registry)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,  # keep configure_logging's JSON handlers
            access_log=False,  # the request log of oncoreg.web.logs names route templates, not raw paths
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
        )
    finally:
        registry.dispose()
