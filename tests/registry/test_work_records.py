"""Messages, quarantine and review tasks on every backend."""

from __future__ import annotations

import hashlib

import pytest

from oncoreg.errors import ConflictError
from oncoreg.registry import Registry
from oncoreg.registry.schemas import MessageCreate, ReviewTaskCreate


def test_message_is_stored_verbatim_with_its_hash_and_can_be_quarantined(registry: Registry) -> None:
    content = b"MSH|^~\\&|LAB|OUS|||20240101||ORU^R01|1|P|2.5\r"
    with registry.session(user="ingest", channel="batch") as reg:
        stored = reg.add_message(message=MessageCreate(source="pathology", format="hl7v2", content=content))
        assert stored.content_hash == hashlib.sha256(content).hexdigest()
        assert reg.message_content(stored.message_id) == content
        assert reg.message_by_hash(stored.content_hash) == stored
        assert reg.message_by_hash("0" * 64) is None
        reg.quarantine(
            message_id=stored.message_id, reasons=[{"code": "E1", "field": "PID-3", "text": "no id"}]
        )
        again = reg.message_by_hash(stored.content_hash)
    assert again is not None
    assert again.status == "quarantined"
    assert registry.summary()["quarantine"] == 1


def test_review_task_resolution_is_guarded_by_version(registry: Registry) -> None:
    task = ReviewTaskCreate(
        kind="linkage", subject_type="notification", subject_id=7, reason="two candidates"
    )
    with registry.session(user="kari") as kari, registry.session(user="ola") as ola:
        opened = kari.add_review_task(task=task)
        assert [t.task_id for t in kari.review_tasks(state="open")] == [opened.task_id]
        done = kari.resolve_review_task(
            opened.task_id, resolution="linked to person 3", version=opened.version
        )
        assert (done.state, done.assignee, done.version) == ("resolved", "kari", 2)
        with pytest.raises(ConflictError, match=r"review task \d+: version 1 is stale; current version 2"):
            ola.resolve_review_task(opened.task_id, resolution="other", version=opened.version)
        assert kari.review_tasks(state="open") == []
