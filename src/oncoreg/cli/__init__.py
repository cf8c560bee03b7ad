"""The ``oncoreg`` command line: a thin shell over the library.

Each area has its own sub-command module here; heavy libraries are imported inside the commands that need
them so that ``oncoreg --help`` answers at once. Errors a user can cause end in one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from oncoreg.cli import checks, codes, demo, ingest, mp, run, screening, serve, simulate, snapshot, stats
from oncoreg.errors import OncoregError

app = typer.Typer(
    name="oncoreg",
    help="oncoreg: information system for a population-based cancer registry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("demo")(demo.demo)
app.add_typer(codes.app, name="codes")
app.add_typer(stats.app, name="stats")
app.add_typer(checks.app, name="checks")
app.add_typer(mp.app, name="mp")
app.add_typer(screening.app, name="screening")
app.command("simulate")(simulate.simulate)
app.command("ingest")(ingest.ingest)
app.command("run")(run.run)
app.command("snapshot")(snapshot.snapshot)
app.command("evaluate")(snapshot.evaluate)
app.command("serve")(serve.serve)


def main() -> None:
    """Entry point of the ``oncoreg`` script."""
    try:
        app()
    except OncoregError as exc:
        print(f"oncoreg: error: {exc}", file=sys.stderr)
        sys.exit(2)
