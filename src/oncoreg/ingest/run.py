"""Ingest runs: every message of a directory stored verbatim with its parse result, batch by batch.

1. Files are cut into messages (:mod:`oncoreg.ingest.split`) and taken in batches of ``batch_size``
   (a batch may span files). The messages of a batch not stored yet are parsed, then stored verbatim
   with their content hash together with their notifications, quarantine entries and final status, in
   one transaction (an exact duplicate is stored once and counted as a duplicate).
2. Messages still ``received`` (left by an older or a failed run, or a correction) are parsed in
   batches; each batch's notifications, quarantine entries and status changes are committed together.
3. The run's counts are computed from the store and recorded in ``ingest_run``:
   ``received = accepted + quarantined + duplicates`` per source.

A killed run leaves its row ``running``; the next run marks it ``interrupted``, adopts the messages of it
that it meets again, and finishes its work, so the store ends as after one uninterrupted run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.errors import NotFound
from oncoreg.ingest import store
from oncoreg.ingest.model import IngestError, IngestReport, ParseOutcome, RawMessage, SourceCounts
from oncoreg.ingest.parse import parse_message
from oncoreg.ingest.split import classify, sha256, split_file
from oncoreg.registry.service import Registry

log = logging.getLogger(__name__)
BATCH_SIZE = 5000
#: ``progress(stage, count)``: after each batch, stage ``stored`` or ``processed`` and the batch size.
Progress = Callable[[str, int], None]


def _batches(messages: Iterable[RawMessage], size: int) -> Iterator[list[RawMessage]]:
    iterator = iter(messages)
    while batch := list(islice(iterator, size)):
        yield batch


def message_files(directory: Path) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """Message files under ``directory`` in path order with (source, format), and the files skipped."""
    found, skipped = [], []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        kind = classify(path.relative_to(directory))
        if kind is None:
            skipped.append(str(path.relative_to(directory)))
        else:
            found.append((path, *kind))
    return found, skipped


def _process_pending(
    registry: Registry, *, user: str, run_id: int, batch_size: int, progress: Progress | None
) -> None:
    while rows := store.pending(registry.engine, limit=batch_size):
        results: list[tuple[int, ParseOutcome]] = [
            (row.message_id, parse_message(source=row.source, format=row.format, content=bytes(row.content)))
            for row in rows
        ]
        store.commit_batch(registry.engine, results, now=registry.clock(), user=user, run_id=run_id)
        if progress is not None:
            progress("processed", len(rows))


def _parse_new(
    registry: Registry, batch: list[RawMessage], *, run_id: int, adoptable: list[int]
) -> dict[str, ParseOutcome]:
    """Parse the messages of ``batch`` not stored yet (content hash → outcome).

    Should parsing fail unexpectedly (a bug, not a bad message: those are quarantined), the batch is
    stored verbatim before the error goes on, as every message is stored before anything else happens.
    """
    known = store.stored_hashes(registry.engine, [message.content_hash for message in batch])
    outcomes: dict[str, ParseOutcome] = {}
    try:
        for message in batch:
            if message.content_hash not in known and message.content_hash not in outcomes:
                outcomes[message.content_hash] = parse_message(
                    source=message.source, format=message.format, content=message.content
                )
    except Exception:
        store.store_batch(registry.engine, batch, run_id=run_id, adoptable=adoptable, now=registry.clock())
        raise
    return outcomes


def _report(registry: Registry, *, run_id: int, received: Counter[str], skipped: list[str]) -> IngestReport:
    with registry.engine.connect() as connection:
        owned, notes = store.run_counts(connection, run_id)
    per_source: dict[str, SourceCounts] = {}
    for source in sorted(set(received) | set(owned)):
        counts = owned.get(source, Counter())
        mine = sum(counts.values())
        per_source[source] = SourceCounts(
            received=received[source],
            accepted=counts["accepted"],
            quarantined=counts["quarantined"],
            duplicates=received[source] - mine,
            notifications=notes[source],
        )
    totals = {
        name: sum(getattr(counts, name) for counts in per_source.values())
        for name in ("received", "accepted", "quarantined", "duplicates", "notifications")
    }
    finished = registry.clock()
    store.finish_run(
        registry.engine,
        run_id=run_id,
        values={
            **totals,
            "finished_at": finished,
            "per_source": {
                "sources": {k: v.model_dump() for k, v in per_source.items()},
                "skipped_files": skipped,
            },
        },
    )
    return run_report(registry, run_id=run_id)


def run_report(registry: Registry, *, run_id: int) -> IngestReport:
    """The stored report of a run."""
    with registry.engine.connect() as connection:
        row = connection.execute(sa.select(store.RUNS).where(store.RUNS.c.run_id == run_id)).one_or_none()
    if row is None:
        raise NotFound(f"ingest run {run_id} does not exist")
    extra: dict[str, Any] = row.per_source or {}
    return IngestReport(
        run_id=row.run_id,
        user=row.user_name,
        directory=row.directory,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        received=row.received,
        accepted=row.accepted,
        quarantined=row.quarantined,
        duplicates=row.duplicates,
        notifications=row.notifications,
        per_source={k: SourceCounts(**v) for k, v in extra.get("sources", {}).items()},
        skipped_files=extra.get("skipped_files", []),
    )


def _ingest(
    registry: Registry,
    *,
    files: list[tuple[Path, str, str]],
    root: Path | None,
    user: str,
    label: str,
    skipped: list[str],
    batch_size: int,
    progress: Progress | None,
) -> IngestReport:
    if not user.strip():
        raise IngestError("ingest refused: no acting user given")
    run_id, adoptable = store.start_run(registry.engine, user=user, directory=label, now=registry.clock())
    received: Counter[str] = Counter()
    messages = (
        message
        for path, source, message_format in files
        for message in split_file(path, source=source, message_format=message_format, root=root)
    )
    for batch in _batches(messages, batch_size):  # a batch may span files (fewer, larger transactions)
        outcomes = _parse_new(registry, batch, run_id=run_id, adoptable=adoptable)
        store.store_parsed(
            registry.engine,
            batch,
            outcomes,
            run_id=run_id,
            adoptable=adoptable,
            now=registry.clock(),
            user=user,
        )
        received.update(message.source for message in batch)
        if progress is not None:
            progress("stored", len(batch))
            progress("processed", len(outcomes))
    _process_pending(registry, user=user, run_id=run_id, batch_size=batch_size, progress=progress)
    store.release_cache(registry.engine)
    report = _report(registry, run_id=run_id, received=received, skipped=skipped)
    log.info(
        "ingest run %s: received %s, accepted %s, quarantined %s, duplicates %s",
        run_id,
        report.received,
        report.accepted,
        report.quarantined,
        report.duplicates,
    )
    return report


def ingest_directory(
    *,
    registry: Registry,
    directory: Path,
    user: str,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> IngestReport:
    """Ingest every message file under ``directory`` (layout of docs/formats.md); returns the run report.

    Idempotent: ingesting the same directory again stores nothing new (every message is an exact
    duplicate). Files that are not message files (e.g. ``truth/``) are listed in ``skipped_files``.
    """
    if not directory.is_dir():
        raise IngestError(f"{directory} is not a directory")
    files, skipped = message_files(directory)
    return _ingest(
        registry,
        files=files,
        root=directory,
        user=user,
        label=str(directory),
        skipped=skipped,
        batch_size=batch_size,
        progress=progress,
    )


def ingest_file(
    *,
    registry: Registry,
    path: Path,
    user: str,
    source: str | None = None,
    format: str | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> IngestReport:
    """Ingest one file; ``source`` and ``format`` default to what its folder and extension say."""
    kind = classify(path)
    source = source or (kind[0] if kind else None)
    format = format or (kind[1] if kind else None)
    if source is None or format is None:
        raise IngestError(f"cannot tell the source and format of {path}; pass source= and format=")
    return _ingest(
        registry,
        files=[(path, source, format)],
        root=None,
        user=user,
        label=str(path),
        skipped=[],
        batch_size=batch_size,
        progress=progress,
    )


def notifications_frame(
    registry: Registry, *, status: str = "all", run_id: int | None = None
) -> pl.DataFrame:
    """The stored notifications as a NOTIFICATIONS frame (for linkage): ``status`` ``all``, ``unlinked``
    (no person yet) or ``linked``; ``message_id`` is the id the message carried."""
    if status not in ("all", "unlinked", "linked"):
        raise IngestError(f"status {status!r} is not one of all, unlinked, linked")
    return store.read_notifications(registry.engine, store.notifications_query(status=status, run_id=run_id))


def quarantine_frame(registry: Registry, *, status: str | None = "open") -> pl.DataFrame:
    """Quarantine entries (all when ``status`` is None) with the message's source, id and reasons."""
    q, m, mi = store.QUARANTINE, store.MESSAGES, store.MESSAGE_INGEST
    query = (
        sa.select(
            q.c.quarantine_id,
            q.c.message_id,
            mi.c.external_id,
            m.c.source,
            m.c.stored_path,
            q.c.status,
            q.c.reasons,
            q.c.resolution,
            q.c.resolved_by,
        )
        .join(m, m.c.message_id == q.c.message_id)
        .outerjoin(mi, mi.c.message_id == q.c.message_id)
        .order_by(q.c.quarantine_id)
    )
    if status is not None:
        query = query.where(q.c.status == status)
    with registry.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "quarantine_id": pl.Int64,
        "message_id": pl.Int64,
        "external_id": pl.String,
        "source": pl.String,
        "stored_path": pl.String,
        "status": pl.String,
        "reasons": pl.List(
            pl.Struct({"field": pl.String, "value": pl.String, "rule": pl.String, "text": pl.String})
        ),
        "resolution": pl.String,
        "resolved_by": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def correct_quarantined(
    *,
    registry: Registry,
    message_id: int,
    corrected_content: bytes,
    user: str,
    reason: str,
    now: datetime | None = None,
) -> IngestReport:
    """Store ``corrected_content`` as a new message linked to quarantined message ``message_id`` (both
    kept), mark the quarantine entry ``fixed`` with ``reason``, and ingest the new message.

    The new message is accepted or quarantined on its own merits (see the returned report).
    """
    if not reason.strip():
        raise IngestError("a correction needs a reason")
    engine = registry.engine
    with engine.connect() as connection:
        original = connection.execute(
            sa.select(store.MESSAGES.c.source, store.MESSAGES.c.format, store.MESSAGES.c.stored_path).where(
                store.MESSAGES.c.message_id == message_id
            )
        ).one_or_none()
        entry = connection.execute(
            sa.select(
                store.QUARANTINE.c.quarantine_id, store.QUARANTINE.c.status, store.QUARANTINE.c.version
            ).where(store.QUARANTINE.c.message_id == message_id)
        ).one_or_none()
        digest = sha256(corrected_content)
        existing = connection.execute(
            sa.select(store.MESSAGES.c.message_id).where(store.MESSAGES.c.content_hash == digest)
        ).scalar_one_or_none()
    if original is None or entry is None:
        raise NotFound(f"message {message_id} is not in quarantine")
    if entry.status != "open":
        raise IngestError(f"quarantine entry of message {message_id} is {entry.status}, not open")
    if existing is not None:
        raise IngestError(f"the corrected content is identical to stored message {existing}")
    when = now or registry.clock()
    run_id, _ = store.start_run(engine, user=user, directory=f"correction of message {message_id}", now=when)
    message = RawMessage(original.source, original.format, corrected_content, digest, original.stored_path)
    store.store_batch(engine, [message], run_id=run_id, adoptable=[], now=when, corrected_from=message_id)
    with engine.begin() as connection:
        changed = connection.execute(
            sa.update(store.QUARANTINE)
            .where(
                store.QUARANTINE.c.quarantine_id == entry.quarantine_id,
                store.QUARANTINE.c.version == entry.version,
            )
            .values(
                status="fixed",
                resolution=reason,
                resolved_by=user,
                resolved_at=when,
                version=entry.version + 1,
            )
        ).rowcount
        if changed != 1:
            raise IngestError(f"quarantine entry of message {message_id} changed while correcting it")
    _process_pending(registry, user=user, run_id=run_id, batch_size=BATCH_SIZE, progress=None)
    return _report(registry, run_id=run_id, received=Counter({original.source: 1}), skipped=[])
