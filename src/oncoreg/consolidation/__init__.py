"""Consolidation: notifications -> tumours (DESIGN §6).

Incidence date (ENCR hierarchy or the Norwegian "earliest of"), multiple-primary recording rules, best
information per field with provenance, ICD-10 derivation, DCO trace-back, conflicts -> review tasks. All rules
are data in ``data/``; see ``docs/consolidation.md``.
"""

from __future__ import annotations

from oncoreg.consolidation.changes import CHANGES, TUMOUR_FIELDS
from oncoreg.consolidation.consolidate import (
    ConsolidationOptions,
    ConsolidationResult,
    consolidate,
    consolidate_incremental,
    touched_persons,
)
from oncoreg.consolidation.review import REVIEW_TASKS
from oncoreg.consolidation.rules import rules_version

__all__ = [
    "CHANGES",
    "REVIEW_TASKS",
    "TUMOUR_FIELDS",
    "ConsolidationOptions",
    "ConsolidationResult",
    "consolidate",
    "consolidate_incremental",
    "rules_version",
    "touched_persons",
]
