"""The screening coordinator's desk: data from ``data_dir/screening``, views over the screening library."""

from __future__ import annotations

from oncoreg.web.screening_desk.data import ScreeningCache, ScreeningData, read_screening
from oncoreg.web.screening_desk.desk import (
    Batches,
    Dashboard,
    Decision,
    Timeline,
    batches,
    county_chart,
    dashboard,
    history_events,
    overdue_counts,
    overdue_list,
    timeline,
)

__all__ = [
    "Batches",
    "Dashboard",
    "Decision",
    "ScreeningCache",
    "ScreeningData",
    "Timeline",
    "batches",
    "county_chart",
    "dashboard",
    "history_events",
    "overdue_counts",
    "overdue_list",
    "read_screening",
    "timeline",
]
