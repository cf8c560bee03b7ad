"""``oncoreg stats ...``: incidence, survival and projections from CSV files or a snapshot."""

from __future__ import annotations

import typer

app = typer.Typer(help="Statistics: rates, survival, projections.", no_args_is_help=True)
