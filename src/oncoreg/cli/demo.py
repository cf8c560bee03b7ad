"""``oncoreg demo``: the main job on the embedded default, then the web application on its data."""

from __future__ import annotations

from typing import Annotated

import typer

from oncoreg.demo import DEFAULT_END_YEAR, DEFAULT_SCALE, DEFAULT_SEED, DEFAULT_START_YEAR


def demo(
    scale: Annotated[
        float, typer.Option("--scale", help="Share of Norway's population to simulate (1.0 = all).", min=1e-4)
    ] = DEFAULT_SCALE,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the simulated country.")] = DEFAULT_SEED,
    start_year: Annotated[int, typer.Option("--start-year", help="First year.")] = DEFAULT_START_YEAR,
    end_year: Annotated[int, typer.Option("--end-year", help="Last simulated year.")] = DEFAULT_END_YEAR,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh/--reuse",
            help="Start from nothing (delete the earlier demo country, SQLite store, snapshots) or reuse.",
        ),
    ] = True,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="End by serving the web application on the demo data.")
    ] = True,
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Web port.", min=1, max=65535)] = 8000,
) -> None:
    """Simulate a small country, run the whole registration pipeline, freeze, compute the statistics.

    Then compare the registry with the simulator's truth, print what the registry holds, create one demo
    user per role and serve the web application (Ctrl+C stops it). Data: the settings' data directory.
    """
    from rich.console import Console
    from rich.table import Table

    from oncoreg.cli.run import summary_table
    from oncoreg.config import get_settings
    from oncoreg.demo import demo_registry, run_demo

    console = Console()
    settings = get_settings()
    with console.status("starting") as status:
        summary = run_demo(
            settings=settings,
            scale=scale,
            seed=seed,
            start_year=start_year,
            end_year=end_year,
            fresh=fresh,
            step=lambda name: status.update(name),
        )
    console.print(summary_table(summary.pipeline))

    held = Table(title=f"the registry store ({summary.store_url})")
    held.add_column("table")
    held.add_column("rows", justify="right")
    for name, rows in sorted(summary.store_counts.items()):
        held.add_row(name, f"{rows:,}")
    console.print(held)

    figures = Table(title="registry vs the simulator's truth (oncoreg evaluate)")
    figures.add_column("measure")
    figures.add_column("value", justify="right")
    figures.add_column("target")
    figures.add_column("met")
    for target in summary.evaluation.targets:
        figures.add_row(target.name, f"{target.value:.4f}", target.target, "yes" if target.passed else "NO")
    console.print(figures)

    timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.seconds.items())
    console.print(f"time: {timing}")
    console.print(f"simulated country: {summary.simulation_dir}")
    console.print(f"snapshot: {summary.snapshot_dir}")
    console.print(f"standard statistics tables: {summary.tables_dir}")
    if not serve:
        return

    import uvicorn

    from oncoreg.web import users
    from oncoreg.web.app import create_app
    from oncoreg.web.logs import configure_logging

    configure_logging(settings.log_level)
    registry = demo_registry(settings)
    logins = users.create_demo_users(registry, actor="oncoreg demo")
    console.print(f"\nweb application: http://{host}:{port}/  (Ctrl+C stops it)")
    console.print("demo logins (one per role; passwords are new on every run):")
    for name, password in logins.items():
        console.print(f"  {name:<22} {password}")
    try:
        uvicorn.run(
            create_app(settings=settings, registry=registry),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            server_header=False,
        )
    finally:
        registry.dispose()
