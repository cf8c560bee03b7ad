"""``oncoreg simulate``: write a synthetic Norway (source messages and ground truth) to a directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def simulate(
    out: Annotated[
        Path, typer.Option("--out", help="Output directory (truth/, messages/, report/ go here).")
    ],
    scale: Annotated[
        float, typer.Option("--scale", help="Share of the country; 1.0 = all of Norway.")
    ] = 0.01,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; same seed and arguments, same bytes.")
    ] = 1,
    start_year: Annotated[
        int, typer.Option("--start-year", help="First calendar year (population tables from 1986).")
    ] = 2015,
    end_year: Annotated[int, typer.Option("--end-year", help="Last calendar year (at most 2025).")] = 2024,
    report: Annotated[
        bool,
        typer.Option(
            "--report", help="Write report/realism.csv and .md (simulated vs published) and print it."
        ),
    ] = False,
    messages: Annotated[
        bool, typer.Option("--messages/--no-messages", help="Also write the source messages.")
    ] = True,
    screening: Annotated[
        bool,
        typer.Option(
            "--screening/--no-screening",
            help="Simulate the breast, cervix and colorectal screening programmes (screen-detected cancers).",
        ),
    ] = True,
) -> None:
    """Simulate a synthetic Norway with ground truth: persons, tumours, deaths, treatments, messages."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from oncoreg.simulate.realism import realism_report, write_report
    from oncoreg.simulate.run import simulate as run_simulation

    console = Console(stderr=True)
    columns = (TextColumn("[bold]simulate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, TextColumn("{task.description}"), console=console) as progress:
        task = progress.add_task("starting", total=end_year - start_year + 1)

        def advance(done: int, total: int, text: str) -> None:
            progress.update(task, completed=done, total=total, description=text)

        summary = run_simulation(
            out_dir=out,
            scale=scale,
            seed=seed,
            start_year=start_year,
            end_year=end_year,
            progress=advance,
            write_messages=messages,
            screening=screening,
        )
    console.print(
        f"wrote {summary.persons} persons, {summary.tumours} tumours, {summary.deaths} deaths, "
        f"{summary.messages} messages (message writers: {summary.messages_hook}) to {out}"
    )
    if report:
        table = realism_report(truth_dir=out / "truth", scale=scale)
        csv_path, _ = write_report(report=table, out_dir=out / "report")
        shown = ["measure", "period", "sex", "site", "published", "simulated", "ratio", "events"]
        shown += ["judged_by", "within"]
        rich_table = Table(title=f"Realism: {int(table['within'].sum())} of {table.height} within")
        for column in shown:
            rich_table.add_column(column)
        for row in table.iter_rows(named=True):
            rich_table.add_row(*(str(row[c]) for c in shown))
        Console().print(rich_table)
        console.print(f"report written to {csv_path.parent}")
