"""The report of one pipeline run: counts per stage and the time each stage took."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: ``progress(stage, advance, total)``: ``total`` (when known) announces a stage's size, ``advance`` is the
#: work done since the last call. Stages: ingest, persons, linkage, consolidation, checks, store.
Progress = Callable[[str, int, int | None], None]

STAGES = ("ingest", "persons", "linkage", "consolidation", "checks", "treatments", "store")


@dataclass
class PipelineReport:
    """What a run did. ``received = accepted + quarantined + duplicates`` (ingest's reconciliation)."""

    run_id: int | None = None
    rebuild: bool = False
    as_of: str = ""
    received: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    notifications_new: int = 0
    notifications_processed: int = 0
    persons_total: int = 0
    persons_created: int = 0
    persons_updated: int = 0
    persons_deleted: int = 0
    links_by_method: dict[str, int] = field(default_factory=dict)
    linkage_review: int = 0
    notifications_relinked: int = 0
    tumours_total: int = 0
    tumours_created: int = 0
    tumours_updated: int = 0
    tumours_retired: int = 0
    tumour_links_changed: int = 0
    treatments_created: int = 0
    treatments_removed: int = 0
    review_tasks_opened: dict[str, int] = field(default_factory=dict)
    review_tasks_closed: int = 0
    review_tasks_open: dict[str, int] = field(default_factory=dict)
    check_results_by_level: dict[str, int] = field(default_factory=dict)
    tumours_by_worst_check: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def changed(self) -> bool:
        """True when the run changed persons, links, tumours, treatments or review tasks."""
        return bool(
            self.persons_created
            or self.persons_updated
            or self.persons_deleted
            or self.notifications_relinked
            or self.tumours_created
            or self.tumours_updated
            or self.tumours_retired
            or self.tumour_links_changed
            or self.treatments_created
            or self.treatments_removed
            or sum(self.review_tasks_opened.values())
            or self.review_tasks_closed
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {**asdict(self), "total_seconds": round(self.total_seconds, 3)}
