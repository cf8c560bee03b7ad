"""``oncoreg run DIR`` (or ``oncoreg run --rebuild``): ingest, persons, linkage, consolidation, checks,
with a summary (docs/pipeline.md).

Rich progress per stage while it runs, then a summary table (or the report as JSON with ``--json``).
Exit status 0 on success, 1 when ingest's counts do not reconcile, 2 when the run could not run.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from oncoreg.pipeline import PipelineReport


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of {text!r} is not a date (YYYY-MM-DD)") from exc


def summary_table(report: PipelineReport) -> Table:
    """The run's summary as a Rich table: messages, persons, links, tumours, treatments, tasks, checks,
    seconds."""
    from rich.table import Table

    table = Table(title=f"oncoreg run {report.run_id}" + (" (rebuild)" if report.rebuild else ""))
    table.add_column("section")
    table.add_column("what")
    table.add_column("count", justify="right")

    def rows(section: str, items: list[tuple[str, object]]) -> None:
        for i, (name, value) in enumerate(items):
            table.add_row(section if i == 0 else "", name, str(value))

    rows(
        "messages",
        [
            ("received", report.received),
            ("accepted", report.accepted),
            ("quarantined", report.quarantined),
            ("exact duplicates", report.duplicates),
            ("notifications processed", report.notifications_processed),
        ],
    )
    rows(
        "persons",
        [
            ("total", report.persons_total),
            ("created", report.persons_created),
            ("updated", report.persons_updated),
            ("retired", report.persons_deleted),
        ],
    )
    rows("links", [*report.links_by_method.items(), ("to review", report.linkage_review)])
    rows(
        "tumours",
        [
            ("total", report.tumours_total),
            ("created", report.tumours_created),
            ("updated", report.tumours_updated),
            ("retired", report.tumours_retired),
        ],
    )
    rows("treatments", [("created", report.treatments_created), ("removed", report.treatments_removed)])
    rows(
        "review tasks",
        [
            *((f"open: {k}", v) for k, v in report.review_tasks_open.items()),
            ("closed by run", report.review_tasks_closed),
        ],
    )
    rows("check results", [*report.check_results_by_level.items()] or [("none", 0)])
    rows("seconds", [*report.seconds.items(), ("total", round(report.total_seconds, 1))])
    return table


def run(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Directory laid out as in docs/formats.md (messages/...); may be left out with --rebuild "
            "(re-derive from the stored messages without ingesting anything)."
        ),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Re-derive persons, links, tumours, tasks and check results from the stored messages.",
        ),
    ] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Registry store URL (default: the settings').")
    ] = None,
    user: Annotated[str, typer.Option("--user", help="Acting user recorded with every change.")] = "batch",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Day the rules judge by (DCO trace-back, future dates); default today."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of a table.")
    ] = False,
) -> None:
    """Run the registration pipeline on DIRECTORY: ingest, persons, linkage, consolidation, checks.

    With --rebuild and no DIRECTORY, nothing is ingested: persons, links, tumours, tasks and check results
    are re-derived from the messages already stored, and only the differences are written.

    Loading a whole history (millions of messages) into a new store: `oncoreg ingest DIRECTORY`, then
    `oncoreg run --rebuild`. A rebuild consolidates range of persons by range in bounded memory (a
    simulated Norway, 24 M notifications: 15 GiB); a run of DIRECTORY consolidates all it brings at once
    (fine for a month's or a year's intake, not for decades). See docs/operations.md, "Sizing"."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from oncoreg.config import get_settings
    from oncoreg.errors import OncoregError
    from oncoreg.pipeline import STAGES, run_pipeline
    from oncoreg.registry.service import Registry

    day = _parse_day(as_of)
    if directory is None and not rebuild:
        typer.echo("oncoreg: error: give a DIRECTORY to ingest (only --rebuild runs without one)", err=True)
        raise typer.Exit(2)
    if directory is not None and not directory.is_dir():
        typer.echo(f"oncoreg: error: {directory} is not a directory", err=True)
        raise typer.Exit(2)
    console = Console(stderr=True)
    try:
        registry = Registry.create(database_url or get_settings().store_url)
    except OncoregError as exc:
        typer.echo(f"oncoreg: error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        with Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {
                stage: bar.add_task(stage, total=None, start=False) for stage in STAGES
            }

            def progress(stage: str, advance: int, total: int | None) -> None:
                task = tasks[stage]
                if total is not None:
                    bar.start_task(task)
                    bar.update(task, total=max(total, 1))
                else:
                    bar.advance(task, advance)

            report = run_pipeline(
                registry=registry,
                directory=directory,
                user=user,
                rebuild=rebuild,
                as_of=day,
                progress=progress,
            )
    except OncoregError as exc:
        typer.echo(f"oncoreg: error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        registry.dispose()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        Console().print(summary_table(report))
    if report.received != report.accepted + report.quarantined + report.duplicates:
        raise typer.Exit(1)
