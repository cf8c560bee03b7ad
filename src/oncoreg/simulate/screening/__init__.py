"""Screening histories in the simulator: breast, cervix and colorectal programmes (screening.md §1, §4).

Runs after the population and cancer stages and before the registry messages are written, because a
screen that finds a tumour moves its incidence date to the confirming examination. See
``docs/simulate-screening.md`` for the model, the event schema and the sources of every parameter.
"""

from __future__ import annotations

from oncoreg.simulate.screening.config import ScreeningConfig
from oncoreg.simulate.screening.detection import TRUTH
from oncoreg.simulate.screening.engine import ScreeningResult, simulate_screening
from oncoreg.simulate.screening.events import EVENTS
from oncoreg.simulate.screening.realism import screening_realism
from oncoreg.simulate.screening.writer import write_screening_files

__all__ = [
    "EVENTS",
    "TRUTH",
    "ScreeningConfig",
    "ScreeningResult",
    "screening_realism",
    "simulate_screening",
    "write_screening_files",
]
