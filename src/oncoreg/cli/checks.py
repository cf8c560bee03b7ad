"""``oncoreg checks ...``: the edit checks over a CSV of tumours.

``checks run FILE.csv [-o OUT]`` reads rows ``id, sex, birth_date, incidence_date, age, topography,
morphology, behaviour, grade, basis`` (optional ``death_date``) and writes ``id, result, findings``
(result = worst of ok < query < rare < invalid; findings = ``rule=result`` of every non-ok finding joined by
``;``). ``--long`` writes every finding with its message instead. A missing column, an unreadable file, a bad
date or age aborts with one line naming the row and field (exit 2); invalid codes are findings, not errors.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from oncoreg.errors import Problem, ValidationFailed

app = typer.Typer(
    help="Edit checks (IARC/IACR content): validity and consistency of tumour records.", no_args_is_help=True
)


@app.command("run")
def run(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns id, sex, birth_date, incidence_date, age, topography, morphology, "
            "behaviour, grade, basis."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the result CSV here instead of stdout.")
    ] = None,
    on: Annotated[
        str | None,
        typer.Option("--on", help="Day of checking YYYY-MM-DD (dates after it are invalid); default today."),
    ] = None,
    long: Annotated[
        bool, typer.Option("--long", help="Write every finding (id, rule_id, rule_version, result, message).")
    ] = False,
) -> None:
    """Run every edit check on each tumour; print id, result, findings as CSV."""
    import polars as pl

    from oncoreg.checks import run_checks, summarise

    day = None
    if on is not None:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            raise ValidationFailed(
                [Problem(field="--on", value=on, rule="iso-date", text="not a date YYYY-MM-DD")]
            ) from None
    try:
        frame = pl.read_csv(file, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationFailed(
            [Problem(field="file", value=str(file), rule="readable-csv", text=f"cannot read CSV: {reason}")]
        ) from None
    findings = run_checks(frame, on=day)
    result = findings if long else summarise(findings)
    if output is None:
        typer.echo(result.write_csv(), nl=False)
    else:
        result.write_csv(output)
