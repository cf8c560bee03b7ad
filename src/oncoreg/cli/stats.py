"""``oncoreg stats ...``: incidence, survival and projections from CSV files or a snapshot."""

from __future__ import annotations

import typer

from oncoreg.cli.stats_rates import projection_command, rates_command
from oncoreg.cli.stats_survival import survival_command
from oncoreg.cli.stats_tables import tables_command

app = typer.Typer(help="Statistics: rates, survival, projections.", no_args_is_help=True)
app.command("rates")(rates_command)
app.command("projection")(projection_command)
app.command("survival")(survival_command)
app.command("tables")(tables_command)
