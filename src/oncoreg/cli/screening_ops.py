"""``oncoreg screening kpi | interval-cancers | invite | overdue | nightly``: the operations commands.

Thin shells over :mod:`oncoreg.screening` (the lead registers these functions under ``oncoreg screening``).
Inputs are files: ``--data-dir`` is a simulator output directory (``truth/screening_events.parquet``,
``truth/persons.parquet``, ``truth/tumours.parquet``); ``--events``, ``--persons`` and ``--tumours`` (e.g. a
snapshot's ``tumours.parquet``) override its parts and take Parquet or CSV. Errors are one line (exit 2).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import polars as pl

app = typer.Typer(help="Screening operations: indicators, interval cancers, letters, failsafe.")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Simulator output directory (truth/*.parquet).")
]
EventsOpt = Annotated[Path | None, typer.Option("--events", help="Screening events (Parquet or CSV).")]
PersonsOpt = Annotated[Path | None, typer.Option("--persons", help="Population register (Parquet or CSV).")]
TumoursOpt = Annotated[
    Path | None, typer.Option("--tumours", help="Registry tumours, e.g. a snapshot's tumours.parquet.")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write CSV here instead of printing a table.")]
AsOfOpt = Annotated[str, typer.Option("--as-of", help="Run date, YYYY-MM-DD.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _read(path: Path) -> pl.DataFrame:
    import polars as pl

    if not path.exists():
        raise _fail(f"{path}: no such file")
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix == ".csv":
        return pl.read_csv(path, try_parse_dates=True)
    raise _fail(f"{path}: expected a .parquet or .csv file")


def _input(
    name: str, given: Path | None, data_dir: Path | None, *, required: bool = True
) -> pl.DataFrame | None:
    path = given
    if path is None and data_dir is not None:
        path = data_dir / "truth" / f"{name}.parquet"
        if not path.exists() and not required:
            return None
    if path is None:
        if required:
            raise _fail(
                f"no {name.replace('screening_', '')} given: use --{name.split('_')[-1]} or --data-dir"
            )
        return None
    return _read(path)


def _events(events: Path | None, data_dir: Path | None) -> pl.DataFrame:
    frame = _input("screening_events", events, data_dir)
    assert frame is not None
    return frame.drop("tumour_id", strict=False)  # the simulator's truth column


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def _output(frame: pl.DataFrame, out: Path | None, title: str) -> None:
    if out is not None:
        frame.write_csv(out)
        typer.echo(f"{frame.height} rows written to {out}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column)
    for row in frame.head(50).iter_rows():
        table.add_row(*("" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    Console().print(table)
    if frame.height > 50:
        typer.echo(f"... {frame.height - 50} more rows (use --out)")


@app.command("kpi")
def kpi_command(
    data_dir: DataDir = None,
    events: EventsOpt = None,
    persons: PersonsOpt = None,
    tumours: TumoursOpt = None,
    freeze_time: Annotated[
        str | None, typer.Option("--freeze-time", help="Data-freeze time of the inputs (ISO, with zone).")
    ] = None,
    rows: Annotated[
        str, typer.Option("--rows", help="Report rows: county, age_band, year or sex.")
    ] = "county",
    out: OutOpt = None,
    store: Annotated[
        str | None, typer.Option("--store", help="Database URL: also store the KPI run.")
    ] = None,
) -> None:
    """The indicator report (§2): counties × indicators, initial/subsequent screens, with a national row."""
    from oncoreg.screening.episodes import episodes
    from oncoreg.screening.interval import classify_cancers
    from oncoreg.screening.kpi import kpi_run, report_table

    frozen = datetime.now(UTC)
    if freeze_time is not None:
        try:
            frozen = datetime.fromisoformat(freeze_time)
        except ValueError:
            raise _fail(f"--freeze-time {freeze_time!r} is not an ISO date-time") from None
        if frozen.tzinfo is None:
            raise _fail(f"--freeze-time {freeze_time!r} has no time zone (add e.g. +00:00)")
    if rows not in ("county", "age_band", "year", "sex"):
        raise _fail(f"--rows {rows!r}: expected county, age_band, year or sex")
    event_frame = _events(events, data_dir)
    person_frame = _input("persons", persons, data_dir, required=False)
    tumour_frame = _input("tumours", tumours, data_dir, required=False)
    episode_frame = episodes(events=event_frame)
    classification = None
    if tumour_frame is not None:
        classification = classify_cancers(tumours=tumour_frame, events=event_frame, persons=person_frame)
    strata = ((), (rows,), ("screen_kind",), (rows, "screen_kind"))
    run = kpi_run(
        freeze_time=frozen,
        computed_at=datetime.now(UTC),
        episodes=episode_frame,
        classification=classification,
        persons=person_frame,
        strata=strata,
    )
    kpi_ids = run.values["kpi_id"].unique(maintain_order=True).to_list()
    table = report_table(values=run.values, kpi_ids=kpi_ids, rows=rows)
    if store is not None:
        import sqlalchemy as sa

        from oncoreg.screening.store import save_kpi_run

        run_id = save_kpi_run(engine=sa.create_engine(store), run=run, user_name="cli")
        typer.echo(f"KPI run {run_id} stored (data frozen {frozen.isoformat()})")
    _output(table, out, f"Screening indicators, data frozen {frozen.isoformat(timespec='minutes')}")


@app.command("interval-cancers")
def interval_cancers_command(
    data_dir: DataDir = None,
    events: EventsOpt = None,
    persons: PersonsOpt = None,
    tumours: TumoursOpt = None,
    out: OutOpt = None,
) -> None:
    """Classify every target cancer (§4): screen-detected, interval, after a missed round, never screened."""
    from oncoreg.screening.interval import classify_cancers

    tumour_frame = _input("tumours", tumours, data_dir)
    assert tumour_frame is not None
    classification = classify_cancers(
        tumours=tumour_frame,
        events=_events(events, data_dir),
        persons=_input("persons", persons, data_dir, required=False),
    )
    if out is None:
        summary = classification.group_by("programme", "classification").len("tumours")
        _output(summary.sort("programme", "classification"), None, "Target cancers by detection mode")
    else:
        _output(classification, out, "")


@app.command("invite")
def invite_command(
    as_of: AsOfOpt,
    data_dir: DataDir = None,
    events: EventsOpt = None,
    persons: PersonsOpt = None,
    tumours: TumoursOpt = None,
    pause: Annotated[str | None, typer.Option("--pause", help="Letters paused from this date.")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Letters resumed on this date.")] = None,
    catch_up_per_day: Annotated[int, typer.Option(help="Backlog letters a day after resuming.")] = 10_000,
    letters_dir: Annotated[
        Path | None, typer.Option("--letters-dir", help="Also render the letters here (HTML or PDF).")
    ] = None,
    out: OutOpt = None,
) -> None:
    """The invitation batch for a date: invitations, reminders and information letters due tonight."""
    from oncoreg.screening.invitations import Pause
    from oncoreg.screening.nightly import nightly_run

    day = _date(as_of, "--as-of")
    if resume is not None and pause is None:
        raise _fail("--resume needs --pause (the date the letters were paused from)")
    pause_spec = None
    if pause is not None:
        resumed = _date(resume, "--resume") if resume is not None else None
        pause_spec = Pause(
            paused_from=_date(pause, "--pause"), resumed_on=resumed, catch_up_per_day=catch_up_per_day
        )
        if resumed is not None and resumed <= pause_spec.paused_from:
            raise _fail(f"--resume {resume} is not after --pause {pause}")
        if catch_up_per_day < 1:
            raise _fail(f"--catch-up-per-day must be at least 1, got {catch_up_per_day}")
    person_frame = _input("persons", persons, data_dir)
    assert person_frame is not None
    run = nightly_run(
        persons=person_frame,
        events=_events(events, data_dir),
        tumours=_input("tumours", tumours, data_dir, required=False),
        as_of=day,
        pause=pause_spec,
    )
    batch = run.batch.sort("programme", "due_date", "person_id")
    if letters_dir is not None:
        from oncoreg.screening.letters import write_letters

        written = write_letters(batch=batch, persons=person_frame, letter_date=day, out_dir=letters_dir)
        typer.echo(f"{written} letters written to {letters_dir}")
    _output(batch, out, f"Letters to send on {day.isoformat()}")


@app.command("overdue")
def overdue_command(
    as_of: AsOfOpt,
    data_dir: DataDir = None,
    events: EventsOpt = None,
    grace_days: Annotated[int, typer.Option(help="Days after the due date before it is overdue.")] = 183,
    out: OutOpt = None,
) -> None:
    """The failsafe list: positive screens whose recommended work-up is overdue."""
    from oncoreg.screening.followup import overdue_followups

    if grace_days < 0:
        raise _fail(f"--grace-days must not be negative, got {grace_days}")
    frame = overdue_followups(
        events=_events(events, data_dir), as_of=_date(as_of, "--as-of"), grace_days=grace_days
    )
    _output(frame, out, f"Overdue follow-up on {as_of}")


@app.command("nightly")
def nightly_command(
    as_of: AsOfOpt,
    data_dir: DataDir = None,
    events: EventsOpt = None,
    persons: PersonsOpt = None,
    tumours: TumoursOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Write batch.csv, overdue.csv and summary.csv here.")
    ] = None,
) -> None:
    """The nightly run: target population, next letters, tonight's batch and the overdue list."""
    from oncoreg.screening.nightly import nightly_run

    person_frame = _input("persons", persons, data_dir)
    assert person_frame is not None
    run = nightly_run(
        persons=person_frame,
        events=_events(events, data_dir),
        tumours=_input("tumours", tumours, data_dir, required=False),
        as_of=_date(as_of, "--as-of"),
    )
    summary = run.summary()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        run.batch.write_csv(out_dir / "batch.csv")
        run.overdue.write_csv(out_dir / "overdue.csv")
        summary.write_csv(out_dir / "summary.csv")
    seconds = ", ".join(f"{step} {value:.1f} s" for step, value in run.seconds.items())
    _output(summary, None, f"Nightly run {as_of} ({seconds})")
