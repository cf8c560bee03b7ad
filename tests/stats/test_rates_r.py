"""Re-run the R reference script (popEpi, Epi) and check the stored output is what R gives today."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

DATA = Path(__file__).parents[1] / "data" / "stats" / "rates"


@pytest.mark.r
@pytest.mark.slow
def test_stored_reference_is_reproduced_by_r(tmp_path: Path) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    probe = subprocess.run(
        ["Rscript", "-e", "library(popEpi); library(Epi)"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("R packages popEpi/Epi not installed")
    out = tmp_path / "ref.csv"
    subprocess.run(
        ["Rscript", str(DATA / "rates_reference.R"), str(out), str(DATA)], check=True, capture_output=True
    )
    fresh = pl.read_csv(out).sort("period")
    stored = pl.read_csv(DATA / "rates_reference_r.csv").sort("period")
    assert fresh.columns == stored.columns
    for col in stored.columns:
        np.testing.assert_allclose(fresh[col].to_numpy(), stored[col].to_numpy(), rtol=1e-12, err_msg=col)
