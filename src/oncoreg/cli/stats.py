
from __future__ import annotations

import typer

from oncoreg.cli.stats_rates import projection_command, rates_command

app.command("rates")(rates_command)
app.command("projection")(projection_command)
