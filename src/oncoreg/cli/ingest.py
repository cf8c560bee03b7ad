"""``oncoreg ingest DIR``: store and parse every message file under DIR (docs/ingest.md).

Prints the run report as JSON (received, accepted, quarantined, duplicates and notifications, per
source). Exit status 0 when the counts reconcile, 2 when ingest could not run (unreadable directory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def ingest(
    directory: Annotated[
        Path, typer.Argument(help="Directory laid out as in docs/formats.md (messages/...).")
    ],
    user: Annotated[str, typer.Option("--user", help="Acting user recorded with the run.")] = "batch",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Registry store URL (default: the settings').")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Messages per transaction.")] = 5000,
) -> None:
    """Ingest every message under DIRECTORY: stored verbatim, then notifications or quarantine."""
    from rich.progress import Progress

    from oncoreg.config import get_settings
    from oncoreg.errors import OncoregError
    from oncoreg.ingest import ingest_directory
    from oncoreg.registry.service import Registry

    registry = Registry.create(database_url or get_settings().store_url)
    try:
        with Progress(transient=True) as bar:
            stored = bar.add_task("stored", total=None)
            processed = bar.add_task("processed", total=None)

            def progress(stage: str, count: int) -> None:
                bar.advance(stored if stage == "stored" else processed, count)

            report = ingest_directory(
                registry=registry, directory=directory, user=user, progress=progress, batch_size=batch_size
            )
    except OncoregError as exc:
        typer.echo(f"ingest failed: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        registry.dispose()
    typer.echo(json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True))
    if not report.reconciles:
        raise typer.Exit(1)
