"""Operational programme parameters (``data/kpi_programmes.toml``): target codes, ages, windows, links.

One validated mapping per programme; every value cites screening.md with its [V]/[P]/[U] flag in the file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from oncoreg.screening.errors import RuleSetError

OPS_PROGRAMMES = ("breast", "cervix", "colorectal")
_REQUIRED = (
    "target_icd10",
    "sexes",
    "entry_age",
    "exit_age",
    "interval_days",
    "detection_link_days",
    "findings_cancer",
    "timely_workup_days",
    "rounds_max",
    "start",
)


@cache
def _all_parameters() -> dict[str, Any]:
    text = resources.files("oncoreg.screening").joinpath("data/kpi_programmes.toml").read_text("utf-8")
    data = tomllib.loads(text)
    for programme in OPS_PROGRAMMES:
        missing = [key for key in _REQUIRED if key not in data.get(programme, {})]
        if missing:
            raise RuleSetError(
                f"kpi_programmes.toml [{programme}] lacks {', '.join(missing)}", programme=programme
            )
    return data


def programme_parameters(*, programme: str) -> dict[str, Any]:
    """The operational parameters of ``programme`` (breast, cervix or colorectal)."""
    data = _all_parameters()
    if programme not in OPS_PROGRAMMES:
        raise RuleSetError(f"programme {programme!r} is unknown; expected one of {', '.join(OPS_PROGRAMMES)}")
    return dict(data[programme])


def parameters_version() -> str:
    """The version label of the parameter file (stored with every KPI run)."""
    return str(_all_parameters()["version"])


def report_age_bands(*, programme: str) -> list[int]:
    """Lower bounds (and the upper end) of the age bands of ``programme``'s annual-report tables (§5)."""
    bands = _all_parameters().get("report_age_bands", {}).get(programme)
    if not bands:
        raise RuleSetError(f"kpi_programmes.toml [report_age_bands] lacks {programme}", programme=programme)
    return [int(age) for age in bands]
