"""A tiny simulated country (scale 0.002, 2020–2022) shared by the pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_support import YEARS
from typer.testing import CliRunner

SCALE = "0.002"


@pytest.fixture(scope="session")
def tiny_country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``oncoreg simulate`` output (messages/ and truth/) of a tiny country over three years."""
    from oncoreg.cli import app

    out = tmp_path_factory.mktemp("country") / "sim"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--scale",
            SCALE,
            "--seed",
            "1",
            "--start-year",
            str(YEARS[0]),
            "--end-year",
            str(YEARS[-1]),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out
