"""The nightly run over a simulated country (population update, next letters, batch, overdue list)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from oncoreg.screening.invitations import Pause
from oncoreg.screening.nightly import nightly_run
from oncoreg.simulate.screening import simulate_screening
from oncoreg.simulate.screening.synthetic import synthetic_population


def test_nightly_run_and_pause() -> None:
    rng = np.random.default_rng(9)
    persons, tumours = synthetic_population(n_persons=30_000, start_year=2010, end_year=2024, rng=rng)
    result = simulate_screening(persons=persons, tumours=tumours, start_year=2010, end_year=2024, rng=rng)
    events = result.events.drop("tumour_id")
    run = nightly_run(persons=persons, events=events, tumours=result.tumours, as_of=date(2024, 9, 2))
    summary = run.summary()
    assert summary["programme"].to_list() == ["breast", "cervix", "colorectal"]
    assert (summary["in_target"] > 0).all()
    assert (summary["letters"] > 0).all()
    # everyone due tonight is in a target group, and nothing due after tonight is sent
    assert (
        run.batch.join(
            run.target.filter(pl.col("in_target")), on=["person_id", "programme"], how="anti"
        ).height
        == 0
    )
    assert (run.batch["due_date"] <= date(2024, 9, 2)).all()
    paused = nightly_run(
        persons=persons,
        events=events,
        tumours=result.tumours,
        as_of=date(2024, 9, 2),
        pause=Pause(paused_from=date(2024, 8, 1)),
    )
    assert paused.batch.height == 0
    assert paused.due.height == run.due.height
