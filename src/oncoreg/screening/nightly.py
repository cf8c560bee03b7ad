"""The nightly run: population update, next actions (due letters) and the invitation batch, all programmes.

Pure over frames: the population register (persons with reservations), the registered screening events
(results plus the Registry's own letters) and the registry's tumours in; per programme the target group,
the letters due and the batch to send tonight out, with timings. The CLI and the store choose where the
frames come from and where the batch goes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from oncoreg.screening.followup import overdue_followups
from oncoreg.screening.invitations import Pause, due_letters, invitation_batch, letter_history
from oncoreg.screening.parameters import OPS_PROGRAMMES
from oncoreg.screening.population import target_population


@dataclass(frozen=True)
class NightlyResult:
    """What a nightly run produced, with the seconds each step took."""

    as_of: date
    target: pl.DataFrame  # TARGET rows of every programme
    due: pl.DataFrame  # BATCH rows: the next letter of everyone in a target group
    batch: pl.DataFrame  # the letters to send tonight (BATCH + send_date, backlog)
    overdue: pl.DataFrame  # OVERDUE rows
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> pl.DataFrame:
        """Counts per programme: in target group, letters due tonight, backlog share, overdue follow-ups."""
        target = self.target.group_by("programme").agg(pl.col("in_target").sum().alias("in_target"))
        batch = self.batch.group_by("programme").agg(
            pl.len().alias("letters"), pl.col("backlog").sum().alias("backlog")
        )
        overdue = self.overdue.group_by("programme").len("overdue_followups")
        return (
            target.join(batch, on="programme", how="left")
            .join(overdue, on="programme", how="left")
            .fill_null(0)
            .sort("programme")
        )


def nightly_run(
    *,
    persons: pl.DataFrame,
    events: pl.DataFrame,
    as_of: date,
    tumours: pl.DataFrame | None = None,
    pause: Pause | None = None,
    programmes: tuple[str, ...] = OPS_PROGRAMMES,
) -> NightlyResult:
    """Run the three steps for ``programmes`` on ``as_of``."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    target = pl.concat(
        [
            target_population(persons=persons, as_of=as_of, programme=programme, tumours=tumours)
            for programme in programmes
        ]
    )
    seconds["population"] = time.perf_counter() - clock
    clock = time.perf_counter()
    history = letter_history(events=events, as_of=as_of)
    due = pl.concat(
        [
            due_letters(target=target.filter(pl.col("programme") == p), history=history, programme=p)
            for p in programmes
        ]
    )
    seconds["next_actions"] = time.perf_counter() - clock
    clock = time.perf_counter()
    batch = invitation_batch(due=due, as_of=as_of, pause=pause)
    seconds["invitation_batch"] = time.perf_counter() - clock
    clock = time.perf_counter()
    residents = target.select("person_id").unique()  # resident and of eligible sex in some programme
    overdue = overdue_followups(events=events, as_of=as_of).join(residents, on="person_id", how="semi")
    seconds["overdue"] = time.perf_counter() - clock
    return NightlyResult(as_of=as_of, target=target, due=due, batch=batch, overdue=overdue, seconds=seconds)
