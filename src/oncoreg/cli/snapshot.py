"""``oncoreg snapshot`` (freeze the registry into Parquet), ``oncoreg evaluate`` (compare with the truth)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from oncoreg.errors import Problem, ValidationFailed


def _parse_as_of(text: str | None) -> datetime | None:
    """An ISO date or date-time; without a zone it is UTC (a bare date means the end of that day)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(
            [Problem("--as-of", text, "cli.as_of", "not an ISO date or date-time (2024-12-31T23:59:59)")]
        ) from exc
    if len(text) == 10:  # a date: its end
        value = value.replace(hour=23, minute=59, second=59, microsecond=999999)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def snapshot(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the snapshot to (empty or new).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Freeze the state as of this ISO time (default: now); no zone = UTC."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Registry store URL (default: the settings').")
    ] = None,
) -> None:
    """Freeze the registry, or its state as of a past time, into Parquet tables with a manifest."""
    from rich.console import Console
    from rich.table import Table

    from oncoreg.config import get_settings
    from oncoreg.registry.service import Registry
    from oncoreg.snapshot import freeze

    when = _parse_as_of(as_of)
    registry = Registry(database_url or get_settings().store_url)
    try:
        manifest = freeze(registry=registry, out_dir=out, as_of=when)
    finally:
        registry.dispose()
    table = Table(title=f"snapshot {out} as of {manifest.as_of.isoformat()} ({manifest.state})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("sha256")
    for name, entry in manifest.tables.items():
        table.add_row(name, str(entry.rows), entry.sha256[:16])
    console = Console()
    console.print(table)
    for note in manifest.notes:
        console.print(f"note: {note}")


def evaluate(
    simdir: Annotated[Path, typer.Argument(help="Simulator output directory (with truth/).")],
    snapshotdir: Annotated[Path, typer.Argument(help="Snapshot directory (with manifest.json).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit with status 1 when a target is not met.")
    ] = False,
) -> None:
    """Compare a snapshot with the simulator's truth: linkage, tumour count, field agreement, quarantine."""
    from oncoreg.evaluate import evaluate_snapshot

    result = evaluate_snapshot(simulation_dir=simdir, snapshot_dir=snapshotdir)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"evaluate {snapshotdir} against {simdir}/truth")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("target")
        table.add_column("")
        for target in result.targets:
            mark = "[green]pass" if target.passed else "[red]FAIL"
            table.add_row(target.name, f"{target.value:.4f}", target.target, mark)
        counts = result.tumours
        table.add_row("tumours snapshot / truth", f"{counts.snapshot} / {counts.truth}", "", "")
        table.add_row(
            "missed / split / merged / unmatched",
            f"{counts.missed_truth} / {counts.split_truth} / {counts.merged_snapshot} / "
            f"{counts.unmatched_snapshot}",
            "",
            "",
        )
        table.add_row("messages compared", str(result.linkage.messages), "", "")
        Console().print(table)
    if check and not result.passed:
        raise typer.Exit(1)
