"""Ingest runs on SQLite and PostgreSQL: nothing lost, counts reconcile, re-sends change nothing, fixes."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from ingest_support import canonical_dump

from oncoreg.ingest import (
    IngestError,
    correct_quarantined,
    ingest_directory,
    notifications_frame,
    quarantine_frame,
    run_report,
    store,
)
from oncoreg.ingest.schema import NOTIFICATIONS
from oncoreg.registry import Registry

Simulated = tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]]


def test_every_message_is_stored_and_counts_reconcile(
    registry: Registry, simulated: Simulated, message_dir: Path
) -> None:
    _, truth, _ = simulated
    (message_dir / "notes.txt").write_text("not a message")
    report = ingest_directory(registry=registry, directory=message_dir, user="kari", batch_size=150)
    assert report.reconciles
    assert report.received == truth.height
    assert report.duplicates == 0  # the simulator's resends carry a new id: separate messages here
    assert report.quarantined == truth.filter(pl.col("malformed")).height
    assert report.accepted == report.notifications == truth.height - report.quarantined
    assert report.skipped_files == ["notes.txt"]
    for source, counts in report.per_source.items():
        assert counts.received == truth.filter(pl.col("source") == source).height
        assert counts.received == counts.accepted + counts.quarantined + counts.duplicates
    assert run_report(registry, run_id=report.run_id) == report
    with registry.engine.connect() as connection:
        statuses = dict(
            connection.execute(
                sa.select(store.MESSAGES.c.status, sa.func.count()).group_by(store.MESSAGES.c.status)
            ).all()
        )
    assert statuses == {"accepted": report.accepted, "quarantined": report.quarantined}
    quarantined = quarantine_frame(registry)
    expected = set(
        truth.filter(pl.col("malformed"), ~pl.col("errors").str.contains("invalid_json"))["message_id"]
    )
    assert set(quarantined["external_id"].drop_nulls()) == expected
    assert quarantined["reasons"].list.len().min() >= 1  # type: ignore[operator]
    frame = notifications_frame(registry)
    assert frame.schema == pl.Schema(NOTIFICATIONS)
    assert set(frame["message_id"]) == set(truth.filter(~pl.col("malformed"))["message_id"])
    assert frame["message_hash"].str.len_chars().eq(64).all()
    assert notifications_frame(registry, status="linked").height == 0


def test_ingesting_again_changes_nothing_and_counts_exact_duplicates(
    registry: Registry, message_dir: Path
) -> None:
    first = ingest_directory(registry=registry, directory=message_dir, user="kari", batch_size=200)
    before = canonical_dump(registry.engine)
    copy = message_dir / "messages" / "pathology" / "resent"
    shutil.copytree(message_dir / "messages" / "pathology" / "2021", copy)
    second = ingest_directory(registry=registry, directory=message_dir, user="kari", batch_size=200)
    copied = first.per_source["pathology"].received
    assert second.received == first.received + copied
    assert second.duplicates == second.received
    assert (second.accepted, second.quarantined, second.notifications) == (0, 0, 0)
    assert second.reconciles
    after = canonical_dump(registry.engine)
    assert after["notifications"] == before["notifications"]
    assert after["quarantine"] == before["quarantine"]
    assert [m[:1] + m[2:5] for m in after["messages"]] == [m[:1] + m[2:5] for m in before["messages"]]


def test_a_corrected_message_is_ingested_and_both_versions_kept(
    registry: Registry, message_dir: Path
) -> None:
    ingest_directory(registry=registry, directory=message_dir, user="kari", batch_size=500)
    entries = quarantine_frame(registry).filter(pl.col("source") == "pathology")
    entry = entries.row(0, named=True)
    with registry.engine.connect() as connection:
        content = connection.execute(
            sa.select(store.MESSAGES.c.content).where(store.MESSAGES.c.message_id == entry["message_id"])
        ).scalar_one()
    text = bytes(content).decode()
    lines = text.split("\r")
    if entry["reasons"][0]["field"] == "PID":  # add the missing patient segment
        lines.insert(1, "PID|1||13030378509^^^FNR&2.16.578.1.12.4.1.4.1&ISO^FNR||Nordmann^Kari||20030313|F")
    else:  # restore the message type
        fields = lines[0].split("|")
        fields[8] = "ORU^R01^ORU_R01"
        lines[0] = "|".join(fields)
    report = correct_quarantined(
        registry=registry,
        message_id=entry["message_id"],
        corrected_content="\r".join(lines).encode(),
        user="registrar",
        reason="segment restored after call to the lab",
    )
    assert (report.received, report.accepted, report.notifications) == (1, 1, 1)
    fixed = quarantine_frame(registry, status="fixed").row(0, named=True)
    assert fixed["message_id"] == entry["message_id"]
    assert fixed["resolved_by"] == "registrar"
    with registry.engine.connect() as connection:
        versions = connection.execute(
            sa.select(store.MESSAGES.c.status, store.MESSAGE_INGEST.c.corrected_from)
            .join(store.MESSAGE_INGEST, store.MESSAGE_INGEST.c.message_id == store.MESSAGES.c.message_id)
            .where(
                sa.or_(
                    store.MESSAGES.c.message_id == entry["message_id"],
                    store.MESSAGE_INGEST.c.corrected_from == entry["message_id"],
                )
            )
            .order_by(store.MESSAGES.c.message_id)
        ).all()
    assert [tuple(v) for v in versions] == [("quarantined", None), ("accepted", entry["message_id"])]
    with pytest.raises(IngestError, match="fixed, not open"):
        correct_quarantined(
            registry=registry,
            message_id=entry["message_id"],
            corrected_content=b"x",
            user="r",
            reason="again",
        )
