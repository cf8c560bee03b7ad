"""``oncoreg mp ...``: multiple primaries.

``mp report FILE.csv [-o OUT]`` reads rows ``person_id, tumour_id, incidence_date, sequence, topography,
morphology, behaviour`` and writes the IARC/IACR 2004 reporting status ``tumour_id, status
(primary/duplicate/insitu), primary_tumour_id, morphology``. Dates are ``YYYY-MM-DD`` (``YYYY``, ``YYYY-MM``
or 99/9999 parts when unknown). A missing column, unreadable file or malformed value aborts with one line
naming the row (tumour id) and field (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oncoreg.errors import Problem, ValidationFailed

app = typer.Typer(help="Multiple primaries: IARC/IACR 2004 reporting status.", no_args_is_help=True)


@app.command("report")
def report(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns person_id, tumour_id, incidence_date, sequence, topography, "
            "morphology, behaviour."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the result CSV here instead of stdout.")
    ] = None,
) -> None:
    """IARC/IACR 2004 reporting status per tumour; print tumour_id, status, primary_tumour_id, morphology."""
    import polars as pl

    from oncoreg.consolidation.mp_reporting import iarc_reporting

    try:
        frame = pl.read_csv(file, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationFailed(
            [Problem(field="file", value=str(file), rule="readable-csv", text=f"cannot read CSV: {reason}")]
        ) from None
    result = iarc_reporting(frame)
    if output is None:
        typer.echo(result.write_csv(), nl=False)
    else:
        result.write_csv(output)
