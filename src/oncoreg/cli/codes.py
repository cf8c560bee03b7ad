"""``oncoreg codes ...``: work with the classifications (ICD-O-3, ICD-10, conversions)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Classifications: look up codes and convert ICD-O-3 to ICD-10.", no_args_is_help=True)
