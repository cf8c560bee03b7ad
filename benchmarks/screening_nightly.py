"""Benchmark: the screening nightly run (population update, next letters, invitation batch, overdue list)
for a Norwegian-sized target population (about 3 million people across the programmes).

Population: ``synthetic_population`` with 5.5 million people born 1935-2005 (so about 3 million are in
some programme's target group on the run date), and a screening history of ``EVENTS_PER_TARGET`` events
per person in a target group, generated directly (the simulator's full 30-year histories for 5.5 million
people take minutes and are not what the nightly run reads differently). Physical reference in the same
run: one Polars group-by over the event table (the floor of any history-driven scheduler).
Writes ``benchmarks/results/screening_nightly.json``.
Run: ``.venv/bin/python benchmarks/screening_nightly.py``.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.screening.nightly import nightly_run
from oncoreg.simulate.screening.synthetic import synthetic_population

N_PERSONS = 5_500_000
EVENTS_PER_TARGET = 4
AS_OF = date(2025, 3, 3)


def _history(persons: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A few letters and tests per person over the last 6 years: invitations and screens (breast, colorectal)
    and samples (cervix); positives with and without follow-up."""
    n = persons.height * EVENTS_PER_TARGET
    person = np.repeat(persons["person_id"].to_numpy(), EVENTS_PER_TARGET)
    sex = np.repeat(persons["sex"].to_numpy(), EVENTS_PER_TARGET)
    programme = np.where(sex == 1, "colorectal", np.array(["breast", "cervix"])[rng.integers(0, 2, n)])
    kinds = {
        "breast": ("invitation", "screen"),
        "cervix": ("sample", "sample"),
        "colorectal": ("invitation", "fit_result"),
    }
    pick = rng.integers(0, 2, n)
    kind = np.where(pick == 0, next(kinds[p][0] for p in ("breast",)), "screen")
    kind = np.select(
        [programme == "breast", programme == "cervix"],
        [np.where(pick == 0, "invitation", "screen"), "sample"],
        np.where(pick == 0, "invitation", "fit_result"),
    )
    day = pl.Series(np.datetime64("2019-01-01") + rng.integers(0, 6 * 365, n).astype("timedelta64[D]"))
    positive = rng.random(n) < 0.05
    return pl.DataFrame(
        {
            "person_id": person,
            "programme": programme,
            "episode": rng.integers(1, 4, n).astype(np.int32),
            "date": day.cast(pl.Date),
            "type": kind,
            "test": np.select([programme == "breast", programme == "cervix"], ["mammography", "hpv"], "fit"),
            "indication": "screening",
            "result": np.where(positive, np.where(programme == "colorectal", "positive", "recall"), "normal"),
            "recall": positive & (programme == "breast"),
            "recommendation": np.where(positive & (programme == "cervix"), "colposcopy", "routine"),
        }
    )


def main() -> None:
    rng = np.random.default_rng(2025)
    clock = time.perf_counter()
    persons, _ = synthetic_population(
        n_persons=N_PERSONS, start_year=2019, end_year=2025, rng=rng, birth_years=(1935, 2005)
    )
    persons = persons.with_columns(pl.Series("reserved", rng.random(persons.height) < 0.01))
    events = _history(persons, rng)
    setup = time.perf_counter() - clock
    clock = time.perf_counter()
    events.group_by("person_id", "programme").agg(pl.col("date").max())
    floor = time.perf_counter() - clock
    clock = time.perf_counter()
    run = nightly_run(persons=persons, events=events, as_of=AS_OF)
    total = time.perf_counter() - clock
    in_target = int(run.target["in_target"].sum())
    figures = {
        "persons": persons.height,
        "in_target": in_target,
        "events": events.height,
        "letters_due_tonight": run.batch.height,
        "overdue_followups": run.overdue.height,
        "seconds_total": round(total, 2),
        "seconds_by_step": {k: round(v, 2) for k, v in run.seconds.items()},
        "seconds_group_by_floor": round(floor, 2),
        "seconds_setup": round(setup, 1),
        "target_seconds": 60,
    }
    out = Path(__file__).parent / "results" / "screening_nightly.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
