"""``oncoreg screening ...``: the screening programmes' next-action engine on one person's history.

``screening next-action --programme breast|cervix|colorectal HISTORY.json`` prints JSON
``{"action", "due_date", "failsafe_date", "rule", "explanation"}``. A bad history (unknown event type,
bad date, score out of range) ends in one line naming the field and value (exit 2).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from oncoreg.cli import screening_ops
from oncoreg.errors import Problem, ValidationFailed

app = typer.Typer(
    help="Screening programmes: next actions, indicators, interval cancers, invitations, failsafe.",
    no_args_is_help=True,
)


@app.callback()
def screening() -> None:
    """Screening programmes: next actions, indicators, interval cancers, invitations, failsafe."""


# The operational commands live in their own module; they are verbs of the same group.
app.command("kpi")(screening_ops.kpi_command)
app.command("interval-cancers")(screening_ops.interval_cancers_command)
app.command("invite")(screening_ops.invite_command)
app.command("overdue")(screening_ops.overdue_command)
app.command("nightly")(screening_ops.nightly_command)


class ProgrammeName(StrEnum):
    """The three national programmes."""

    breast = "breast"
    cervix = "cervix"
    colorectal = "colorectal"


@app.command("next-action")
def next_action_command(
    history_file: Annotated[
        Path,
        typer.Argument(help="HISTORY.json: person, as_of and events (docs/screening-history-schema.md)."),
    ],
    programme: Annotated[
        ProgrammeName, typer.Option("--programme", "-p", help="Programme: breast, cervix or colorectal.")
    ],
) -> None:
    """Print the next recommended action, its due date and failsafe date as JSON."""
    from oncoreg.screening import next_action, parse_history

    try:
        text = history_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(
            [
                Problem(
                    field="file", value=str(history_file), rule="readable", text=exc.strerror or "unreadable"
                )
            ]
        ) from None
    history = parse_history(data=text)
    decision = next_action(history=history, programme=programme.value)
    typer.echo(json.dumps(decision.model_dump(mode="json"), ensure_ascii=False, indent=2))
