"""``oncoreg codes ...``: work with the classifications (ICD-O-3, ICD-10, conversions).

``codes icd10 FILE.csv`` converts rows ``id, sex, topography, morphology, behaviour`` to
``id, icd10, status, message``. A missing column, an unreadable file or a malformed code (a value not
shaped like a code, e.g. topography ``X12``) aborts the whole file with one line naming the row and field
(exit 2); ``--keep-going`` turns malformed rows into ``status=error`` rows instead. Well-formed codes that
are unknown, impossible or contradict the sex never abort: their row gets ``status=error`` and a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oncoreg.errors import Problem, ValidationFailed

app = typer.Typer(help="Classifications: look up codes and convert ICD-O-3 to ICD-10.", no_args_is_help=True)

REQUIRED = ("id", "sex", "topography", "morphology", "behaviour")


@app.command("icd10")
def icd10(
    file: Annotated[
        Path, typer.Argument(help="CSV with columns id, sex, topography, morphology, behaviour.")
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the result CSV here instead of stdout.")
    ] = None,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="Give malformed rows status=error instead of aborting.")
    ] = False,
) -> None:
    """Convert ICD-O-3 topography/morphology/behaviour (+ sex) to ICD-10 (IARCcrgTools rules).

    Topography as C34.1 or C341; morphology 8140 (or 8140/3 with an empty behaviour); sex 1/2/9 or M/F.
    Output columns: id, icd10, status (ok | warning | error), message.
    """
    import polars as pl

    from oncoreg.codes.icdo3_to_icd10 import convert_frame, input_problems

    try:
        frame = pl.read_csv(file, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationFailed(
            [Problem(field="file", value=str(file), rule="readable-csv", text=f"cannot read CSV: {reason}")]
        ) from None
    missing = [
        Problem(field=name, value="", rule="input-columns", text=f"required column {name!r} is missing")
        for name in REQUIRED
        if name not in frame.columns
    ]
    if missing:
        raise ValidationFailed(missing)
    if not keep_going:
        problems = input_problems(frame)
        if problems:
            raise ValidationFailed(problems)
    result = convert_frame(frame).select("id", "icd10", "status", "message")
    if output is None:
        typer.echo(result.write_csv(), nl=False)
    else:
        result.write_csv(output)


@app.command("lookup")
def lookup(
    code: Annotated[str, typer.Argument(help="C34.1 (topography and ICD-10), 8140/3 or C34 etc.")],
) -> None:
    """Show the label of an ICD-O-3 topography or morphology code and of an ICD-10 chapter II code."""
    from oncoreg.codes import icd10_label, morphology_label, topography_label
    from oncoreg.errors import CodeError

    found = []
    for system, label_of in (
        ("ICD-O-3 topography", topography_label),
        ("ICD-O-3 morphology", morphology_label),
        ("ICD-10", icd10_label),
    ):
        try:
            found.append(f"{system}\t{label_of(code)}")
        except CodeError:
            continue
    if not found:
        raise ValidationFailed(
            [
                Problem(
                    field="code",
                    value=code,
                    rule="known-code",
                    text="not an ICD-O-3 or ICD-10 chapter II code",
                )
            ]
        )
    typer.echo("\n".join(found))


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="Words to find in labels and synonyms (all must occur).")],
    kind: Annotated[str, typer.Option(help="topography or morphology.")] = "topography",
) -> None:
    """Find ICD-O-3 codes whose label, inclusion terms or synonyms contain the text; prints CSV."""
    from oncoreg.codes import search_morphology, search_topography

    if kind not in ("topography", "morphology"):
        raise ValidationFailed(
            [Problem(field="--kind", value=kind, rule="search-kind", text="must be topography or morphology")]
        )
    found = search_topography(text) if kind == "topography" else search_morphology(text)
    typer.echo(found.write_csv(), nl=False)
