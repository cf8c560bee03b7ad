"""Person linkage: notifications to persons, deterministic by identifier, probabilistic with Splink.

See ``docs/linkage.md``. Public API: :func:`link_notifications` (→ :class:`LinkageResult`),
:func:`train_linkage_model` (→ :class:`LinkageModel`, saved and loaded as JSON), :func:`merge_persons`
and :func:`split_person` (→ :class:`PersonChanges`).
"""

from __future__ import annotations

from oncoreg.linkage.changes import PersonChanges, merge_persons, split_person
from oncoreg.linkage.link import LinkageResult, link_notifications, train_linkage_model
from oncoreg.linkage.model import LinkageError, LinkageModel

__all__ = [
    "LinkageError",
    "LinkageModel",
    "LinkageResult",
    "PersonChanges",
    "link_notifications",
    "merge_persons",
    "split_person",
    "train_linkage_model",
]
