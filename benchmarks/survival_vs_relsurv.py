"""Pohar Perme net survival on 60 000 simulated patients: oncoreg vs R relsurv ``rs.surv`` in the same run.

The patients are relsurv's ``rdata`` resampled with replacement and jittered (age by up to a year, diagnosis
date by ±60 days, follow-up by up to 30 days) so that they are not copies; seed 2024. Both programs read the
same CSV and slopop; the estimates at 1, 3, 5 and 10 years must agree to 1e-6. oncoreg is timed after a
warm-up call (numba import and kernel load, reported apart); the NumPy engine is timed too. Writes
``benchmarks/results/survival_vs_relsurv.json``. Run: ``.venv/bin/python benchmarks/survival_vs_relsurv.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.stats.ratetable import read_rate_table
from oncoreg.stats.survival import net_survival
from oncoreg.stats.survival_continuous import continuous_survival
from oncoreg.stats.survival_data import survival_data

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "stats" / "survival"
N = 60_000
YEARS = [1, 3, 5, 10]

R_SCRIPT = """
suppressMessages(library(relsurv)); data(slopop)
d <- read.csv(commandArgs(TRUE)[1]); d$date <- as.Date(d$date)
t0 <- proc.time()[["elapsed"]]
fit <- rs.surv(Surv(time, cens) ~ 1, rmap = list(age = age_days, year = date), ratetable = slopop,
               data = d, method = "pohar-perme")
el <- proc.time()[["elapsed"]] - t0
s <- summary(fit, times = c(1, 3, 5, 10) * 365.241, extend = TRUE)
options(digits = 15)
out <- data.frame(seconds = el, surv = s$surv, std_err = s$std.err)
write.csv(out, commandArgs(TRUE)[2], row.names = FALSE)
"""


def simulate(path: Path) -> None:
    rdata = pl.read_csv(DATA / "rdata.csv")
    rng = np.random.default_rng(2024)
    pick = rng.integers(0, len(rdata), N)
    base = rdata[pick.tolist()]
    days = base["year"].str.to_date().cast(pl.Int32).to_numpy() + rng.integers(-60, 61, N)
    dates = pl.Series(days.astype(np.int32)).cast(pl.Date)
    frame = pl.DataFrame(
        {
            "time": base["time"].to_numpy() + rng.integers(0, 31, N),
            "cens": base["cens"],
            "age_days": base["age"].to_numpy() * 365.241 + rng.uniform(0, 365.0, N),
            "sex": base["sex"],
            "date": dates.dt.strftime("%Y-%m-%d"),
        }
    )
    frame.write_csv(path)


def main() -> None:
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as tmp:
        patients = Path(tmp) / "patients.csv"
        simulate(patients)
        table = read_rate_table(DATA / "slopop_long.csv")
        frame = pl.read_csv(patients, infer_schema_length=0)
        data = survival_data(
            frame,
            rate_table=table,
            time="time",
            status="cens",
            age="age_days",
            age_unit="days",
            sex="sex",
            sex_labels={"1": "male", "2": "female"},
            diagnosis_date="date",
        )
        # first call in the process: imports numba and loads (or compiles) the cached kernel; timed apart
        start = time.perf_counter()
        net_survival(data.subset(np.arange(len(data)) < 500), rate_table=table, times_years=YEARS)
        warm_up_seconds = time.perf_counter() - start
        start = time.perf_counter()
        ours = net_survival(data, rate_table=table, method="pohar-perme", times_years=YEARS)
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        ours_numpy = continuous_survival(data, rate_table=table, engine="numpy")
        numpy_seconds = time.perf_counter() - start
        numpy_difference = float(
            np.max(
                np.abs(
                    ours["estimate"].to_numpy()
                    - ours_numpy.estimate[ours_numpy.at(np.asarray(YEARS) * 365.241)]
                )
            )
        )
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        out = Path(tmp) / "relsurv.csv"
        subprocess.run(["Rscript", str(script), str(patients), str(out)], check=True, capture_output=True)
        theirs = pl.read_csv(out)
    difference = float(np.max(np.abs(ours["estimate"].to_numpy() - theirs["surv"].to_numpy())))
    se_difference = float(np.max(np.abs(ours["std_err"].to_numpy() - theirs["std_err"].to_numpy())))
    relsurv_seconds = float(theirs["seconds"][0])
    result = {
        "benchmark": "Pohar Perme rs.surv, 60 000 jittered resamples of relsurv rdata, slopop",
        "patients": N,
        "oncoreg_seconds": round(ours_seconds, 4),
        "relsurv_seconds": round(relsurv_seconds, 3),
        "oncoreg_patients_per_second": round(N / ours_seconds),
        "relsurv_patients_per_second": round(N / relsurv_seconds),
        "speed_ratio": round(relsurv_seconds / ours_seconds, 1),
        "max_abs_difference_estimate": difference,
        "max_abs_difference_std_err": se_difference,
        "agree_within_1e-6": difference < 1e-6 and se_difference < 1e-6,
        "relsurv_timing": "R proc.time around rs.surv only (excludes R start-up and CSV reading)",
        "oncoreg_timing": "perf_counter around net_survival only (excludes CSV reading), numba engine, "
        "after a warm-up call on 500 patients in the same process (numba import + cached-kernel load)",
        "oncoreg_warm_up_seconds": round(warm_up_seconds, 3),
        "oncoreg_numpy_engine_seconds": round(numpy_seconds, 3),
        "numpy_vs_numba_max_abs_difference": numpy_difference,
        "cpu_count": os.cpu_count(),
        "load_average_1min_before_run": load_before,
    }
    target = ROOT / "benchmarks" / "results" / "survival_vs_relsurv.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
