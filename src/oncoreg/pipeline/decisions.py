"""Registrars' person decisions as data, and their re-application to the persons a rebuild derives.

A registrar's merge, split or linkage-task decision (``oncoreg.pipeline.persons_edit``) is applied to the
store at once and appended to the ``pipeline_state`` document :data:`DECISIONS` (a JSON list, oldest
first). Person ids are not stable across a rebuild, notification ids are (notifications are never
re-created), so every decision names the notifications it is about:

``merge``  ``into_notifications`` (A) and ``notification_ids`` (B): the persons holding A and B are one
           person (whole persons: every notification the rules put with A or B joins too);
``split``  ``notification_ids`` (S) and ``rest_notifications`` (R): S form a person of their own, apart
           from R (nothing to do when the rebuilt persons already keep S together and apart from R);
``link``   ``notification_id`` (n) and ``with_notifications`` (W): n goes with the person holding most of
           W; with ``person_id`` null, n is a person of its own.

Each also keeps the person ids of the decision (``into``, ``person_id``, ``new_person_id``): a rebuilt
person a decision produced gets that id back when it is free, so a rebuild right after a decision
reproduces the store. :func:`apply_decisions` is a pure function over the linkage frames of a run; it
replays the decisions in order (a newer decision overrides an older one about the same notifications) and
numbers the persons (``derive.final_person_ids``). The pipeline calls it in every run (``pipeline/run.py``)
with the decisions in a rebuild and none in an incremental run (the store already holds them).

Limits (logged and counted in ``Applied.skipped``): a merge that would join two persons that both hold
population-register events, or a split that would move register events, is not re-applied (the persons
stage derives register persons before linkage); a ``link`` to a person whose notifications are all gone
is skipped.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.pipeline import derive, store

log = logging.getLogger(__name__)

#: The ``pipeline_state`` document holding every person decision (JSON list, oldest first).
DECISIONS = "person_decisions"
#: The decision format written now; entries without ``format`` are the first format (persons only).
FORMAT = 2
#: Temporary ids of persons a decision creates in a run (linkage's are -1, -2, ...; register's -10**12 ...).
FRESH_ID_BASE = -(5 * 10**11)
REGISTER = "population_register"
#: ``method`` of a link a registrar's decision placed.
REGISTRAR = "registrar"


# -- the records ------------------------------------------------------------------------------------


def merge_record(
    *,
    into: int,
    merged: int,
    into_notifications: Iterable[int],
    merged_notifications: Iterable[int],
    reason: str,
    user: str,
    at: datetime,
) -> dict[str, Any]:
    """The decision "person ``merged`` (holding B) is person ``into`` (holding A)"."""
    return {
        "format": FORMAT,
        "kind": "merge",
        "into": into,
        "merged": [merged],
        "into_notifications": sorted(into_notifications),
        "notification_ids": sorted(merged_notifications),
        "reason": reason,
        "user": user,
        "at": at.isoformat(),
    }


def split_record(
    *,
    person_id: int,
    new_person_id: int,
    moved: Iterable[int],
    rest: Iterable[int],
    reason: str,
    user: str,
    at: datetime,
) -> dict[str, Any]:
    """The decision "notifications ``moved`` of ``person_id`` are a person of their own"."""
    return {
        "format": FORMAT,
        "kind": "split",
        "person_id": person_id,
        "new_person_id": new_person_id,
        "notification_ids": sorted(moved),
        "rest_notifications": sorted(rest),
        "reason": reason,
        "user": user,
        "at": at.isoformat(),
    }


def link_record(
    *,
    notification_id: int,
    person_id: int | None,
    with_notifications: Iterable[int],
    new_person_id: int | None,
    task_id: int | None,
    reason: str,
    user: str,
    at: datetime,
) -> dict[str, Any]:
    """The decision of a linkage task: the notification goes with ``person_id`` (who held
    ``with_notifications``), or is a new person (``person_id`` None, ``new_person_id`` its id)."""
    return {
        "format": FORMAT,
        "kind": "link",
        "notification_id": notification_id,
        "person_id": person_id,
        "with_notifications": sorted(with_notifications),
        "new_person_id": new_person_id,
        "task_id": task_id,
        "reason": reason,
        "user": user,
        "at": at.isoformat(),
    }


def upgrade(
    decisions: Sequence[Mapping[str, Any]], *, held: Mapping[int, Sequence[int]]
) -> list[dict[str, Any]]:
    """Decisions in the current format. First-format entries (persons and moved notifications only) take
    the notifications their persons hold in ``held`` (the store when first read): a merge's A is what
    ``into`` holds besides the moved B, a split's R what the person holds besides S."""
    out = []
    for decision in decisions:
        entry = dict(decision)
        if entry.get("format", 1) < FORMAT:
            moved = [int(n) for n in entry.get("notification_ids", [])]
            if entry["kind"] == "merge":
                entry["into_notifications"] = sorted(set(held.get(int(entry["into"]), [])) - set(moved))
            elif entry["kind"] == "split":
                entry["rest_notifications"] = sorted(set(held.get(int(entry["person_id"]), [])) - set(moved))
            entry["format"] = FORMAT
            entry["upgraded"] = "format 1: notification sets taken from the store when first read"
        out.append(entry)
    return out


def _persons_named(decisions: Sequence[Mapping[str, Any]]) -> set[int]:
    named = set()
    for decision in decisions:
        if decision.get("format", 1) < FORMAT:
            named.add(int(decision["into"] if decision["kind"] == "merge" else decision["person_id"]))
    return named


def read_decisions(connection: sa.Connection, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every decision, oldest first, in the current format; with ``now``, first-format entries are
    upgraded in the store too (so a later rebuild, which renumbers persons, does not read them again)."""
    document = store.read_state(connection, DECISIONS)
    decisions: list[dict[str, Any]] = [] if document is None else list(json.loads(document))
    named = _persons_named(decisions)
    if not named:
        return decisions
    table = store.NOTIFICATION
    held: dict[int, list[int]] = {}
    rows = connection.execute(
        sa.select(table.c.person_id, table.c.notification_id).where(table.c.person_id.in_(sorted(named)))
    )
    for person_id, notification_id in rows:
        held.setdefault(int(person_id), []).append(int(notification_id))
    upgraded = upgrade(decisions, held=held)
    if now is not None:
        store.write_state(connection, DECISIONS, json.dumps(upgraded), now=now)
    return upgraded


def append_decision(connection: sa.Connection, decision: Mapping[str, Any], *, now: datetime) -> None:
    """Append one decision to the document (first upgrading older entries while the store still shows
    the persons they name)."""
    decisions = read_decisions(connection)
    decisions.append(dict(decision))
    store.write_state(connection, DECISIONS, json.dumps(decisions), now=now)


# -- re-application -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """The linkage frames of a run with the decisions applied, and the final person ids.

    ``links``/``review``/``new_persons``/``learned`` keep linkage's schemas; ``ids`` is
    ``temporary_id, person_id`` for every temporary person (``derive.final_person_ids``)."""

    links: pl.DataFrame
    review: pl.DataFrame
    new_persons: pl.DataFrame
    learned: pl.DataFrame
    ids: pl.DataFrame
    applied: int = 0
    skipped: list[str] = field(default_factory=list)


class _Groups:
    """Which person (group) each mentioned notification is in while the decisions are replayed."""

    def __init__(self, original: dict[int, int], sources: dict[int, str], fresh_start: int) -> None:
        self.original = original
        self.sources = sources
        self.moved: dict[int, int] = {}
        self.parent: dict[int, int] = {}
        self.fresh: dict[int, tuple[list[int], int | None]] = {}  # id -> (notifications, came from)
        self.next_fresh = fresh_start
        self.preferred: list[tuple[int, int]] = []  # (group, person id), oldest first

    def find(self, group: int) -> int:
        while group in self.parent:
            group = self.parent[group]
        return group

    def of(self, notification_id: int) -> int | None:
        group = self.moved.get(notification_id, self.original.get(notification_id))
        return None if group is None else self.find(group)

    def most_common(self, notifications: Iterable[int]) -> int | None:
        counts = Counter(g for g in (self.of(n) for n in sorted(notifications)) if g is not None)
        return counts.most_common(1)[0][0] if counts else None

    def new_group(self, notifications: list[int], came_from: int | None) -> int:
        group = self.next_fresh
        self.next_fresh -= 1
        self.fresh[group] = (sorted(notifications), came_from)
        for notification_id in notifications:
            self.moved[notification_id] = group
        return group

    def prefer(self, group: int | None, person_id: Any) -> None:
        if group is not None and person_id is not None:
            self.preferred.append((group, int(person_id)))


def _register_group(group: int) -> bool:
    return group <= derive.REGISTER_ID_BASE


def _merge(groups: _Groups, decision: Mapping[str, Any]) -> str | None:
    into_notes = [int(n) for n in decision.get("into_notifications", [])]
    notes = sorted({*into_notes, *(int(n) for n in decision.get("notification_ids", []))} & _known(groups))
    if not notes:
        return "names no notification of this run"
    held = {g for g in (groups.of(n) for n in notes) if g is not None}
    anchored = [g for g in held if g > 0 or _register_group(g)]
    if any(_register_group(g) for g in anchored) and len(anchored) > 1:
        return "would join two persons that both hold population-register events (or a kept person)"
    if held:
        share = Counter(groups.of(n) for n in into_notes)
        survivor = min(
            held,
            key=lambda g: (not _register_group(g), g < 0, -share.get(g, 0), min(_members(groups, g, notes))),
        )
    else:
        survivor = groups.new_group([], None)
    for group in held - {survivor}:
        groups.parent[group] = survivor
    for notification_id in notes:
        if groups.of(notification_id) is None:
            groups.moved[notification_id] = survivor
    if survivor in groups.fresh and not groups.fresh[survivor][0]:
        groups.fresh[survivor] = (notes, None)
    groups.prefer(survivor, decision.get("into"))
    return None


def _members(groups: _Groups, group: int, notes: Sequence[int]) -> list[int]:
    return [n for n in notes if groups.of(n) == group] or [0]


def _known(groups: _Groups) -> set[int]:
    return set(groups.sources)


def _split(groups: _Groups, decision: Mapping[str, Any]) -> str | None:
    known = _known(groups)
    moved = sorted({int(n) for n in decision.get("notification_ids", [])} & known)
    rest = sorted({int(n) for n in decision.get("rest_notifications", [])} & known)
    if not moved:
        return "names no notification of this run"
    if any(groups.sources[n] == REGISTER for n in moved):
        return "would move population-register events"
    held = {groups.of(n) for n in moved}
    rest_groups = {groups.of(n) for n in rest} - {None}
    if len(held) == 1 and None not in held and held.isdisjoint(rest_groups):
        (target,) = held
    else:
        target = groups.new_group(moved, groups.most_common(moved))
    groups.prefer(target, decision.get("new_person_id"))
    remainder = groups.most_common(rest)
    if remainder is not None and remainder != target:
        groups.prefer(remainder, decision.get("person_id"))
    return None


def _link(groups: _Groups, decision: Mapping[str, Any], *, taken: set[int]) -> str | None:
    notification_id = int(decision["notification_id"])
    if notification_id not in groups.sources:
        return "names no notification of this run"
    person_id = decision.get("person_id")
    if person_id is None:
        target = groups.new_group([notification_id], groups.of(notification_id))
        groups.prefer(target, decision.get("new_person_id"))
        return None
    with_notes = set(int(n) for n in decision.get("with_notifications", [])) - {notification_id}
    chosen = groups.most_common(with_notes & _known(groups))
    if chosen is None and int(person_id) in taken:
        chosen = int(person_id)  # a kept person that held no notification when the registrar chose it
    if chosen is None:
        return f"person {person_id} holds none of the notifications it held at the decision"
    groups.moved[notification_id] = chosen
    groups.prefer(chosen, person_id)
    return None


def _fresh_rows(
    groups: _Groups, *, alive: set[int], notifications: pl.DataFrame, new_persons: pl.DataFrame
) -> pl.DataFrame:
    """New-person rows of the persons decisions created: identity from their notifications' given identity
    (first given value by notification id, as ``persons_edit.split``), falling back to the person they
    came from for birth date and sex."""
    from oncoreg.linkage.link import NEW_PERSONS

    rows = []
    by_id = {int(r["person_id"]): r for r in new_persons.to_dicts()}
    for group, (members, came_from) in sorted(groups.fresh.items(), reverse=True):
        if group not in alive:
            continue
        notes = notifications.filter(pl.col("notification_id").is_in(members)).sort("notification_id")
        like = by_id.get(groups.find(came_from)) if came_from is not None else None

        def first(
            column: str, fallback: str | None = None, *, notes: pl.DataFrame = notes, like: Any = like
        ) -> Any:
            values = notes[column].drop_nulls() if column in notes.columns else pl.Series([])
            if values.len():
                return values[0]
            return None if like is None or fallback is None else like.get(fallback)

        rows.append(
            {
                "person_id": group,
                "identifier": first("given_identifier"),
                "identifier_type": None,
                "first_name": first("given_first_name"),
                "last_name": first("given_last_name"),
                "birth_date": first("given_birth_date", "birth_date"),
                "sex": first("given_sex", "sex"),
                "municipality": first("given_municipality"),
                "provisional": True,
            }
        )
    return pl.DataFrame(rows, schema=NEW_PERSONS)


def _final_ids(groups: _Groups, *, links: pl.DataFrame, taken: set[int]) -> pl.DataFrame:
    """Final ids: a group a decision named gets the decision's person id when free (newest decision
    first), the others the lowest notification id (``derive.final_person_ids``)."""
    temporary = set(links.filter(pl.col("person_id") < 0)["person_id"].unique().to_list())
    assigned: dict[int, int] = {}
    for group, person_id in reversed(groups.preferred):
        root = groups.find(group)
        free = person_id not in taken and person_id not in assigned.values()
        if root in temporary and root not in assigned and free:
            assigned[root] = person_id
    rest = links.filter((pl.col("person_id") < 0) & ~pl.col("person_id").is_in(list(assigned)))
    natural = derive.final_person_ids(
        links=rest, taken=pl.Series("person_id", sorted(taken | set(assigned.values())), dtype=pl.Int64)
    )
    chosen = pl.DataFrame(
        {"temporary_id": list(assigned), "person_id": list(assigned.values())},
        schema={"temporary_id": pl.Int64, "person_id": pl.Int64},
    )
    return pl.concat([natural, chosen]).sort("person_id")


def relabel_candidates(review: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """Review rows with the candidates' temporary person ids replaced by their final ids."""
    if review.height == 0:
        return review
    mapping = dict(ids.select("temporary_id", "person_id").iter_rows())

    def final(text: str | None) -> str | None:
        if text is None:
            return None
        candidates = json.loads(text)
        for candidate in candidates:
            candidate["person_id"] = mapping.get(candidate["person_id"], candidate["person_id"])
        return json.dumps(candidates, separators=(",", ":"))

    needs = review["candidates"].fill_null("").str.contains('"person_id":-')
    if not needs.any():
        return review
    return review.with_columns(
        pl.when(needs)
        .then(pl.col("candidates").map_elements(final, return_dtype=pl.String))
        .otherwise(pl.col("candidates"))
        .alias("candidates")
    )


def mentioned_notifications(decisions: Sequence[Mapping[str, Any]]) -> set[int]:
    """The notifications ``decisions`` name: all that :func:`apply_decisions` reads of the run's
    notifications (so a caller may pass only these)."""
    mentioned: set[int] = set()
    for decision in decisions:
        for key in ("into_notifications", "notification_ids", "rest_notifications", "with_notifications"):
            mentioned.update(int(n) for n in decision.get(key) or [])
        if decision.get("kind") == "link":
            mentioned.add(int(decision["notification_id"]))
    return mentioned


def apply_decisions(
    *,
    links: pl.DataFrame,
    review: pl.DataFrame,
    new_persons: pl.DataFrame,
    learned: pl.DataFrame,
    notifications: pl.DataFrame,
    decisions: Sequence[Mapping[str, Any]],
    taken: pl.Series,
) -> Applied:
    """Replay ``decisions`` (oldest first) on a run's linkage result and number its persons.

    ``links``: notification_id, person_id (temporary ids negative), method, match_probability — every
    notification of the run that linkage or the register placed; ``review``: the ones linkage left for a
    registrar; ``new_persons``/``learned``: linkage's persons to create and H-numbers learned (temporary
    ids); ``notifications``: the run's notifications (``given_*`` identity for persons a decision creates,
    ``source_type``); ``taken``: ids of stored persons the run does not re-derive.

    A notification a decision placed is linked with method ``registrar`` and leaves ``review``; persons
    joined by a merge become one (the others' identifiers are remembered, as the workbench's merge does);
    persons left without notifications are dropped from ``new_persons``."""
    if not decisions:
        ids = derive.final_person_ids(links=links, taken=taken)
        return Applied(
            links=links,
            review=relabel_candidates(review, ids),
            new_persons=new_persons,
            learned=learned,
            ids=ids,
        )
    taken_ids = set(taken.drop_nulls().to_list())
    mentioned = mentioned_notifications(decisions)
    known = notifications.filter(pl.col("notification_id").is_in(sorted(mentioned)))
    placed = links.filter(pl.col("notification_id").is_in(sorted(mentioned)))
    groups = _Groups(
        original=dict(placed.select("notification_id", "person_id").iter_rows()),
        sources=dict(known.select("notification_id", "source_type").iter_rows()),
        fresh_start=FRESH_ID_BASE,
    )
    applied, skipped = 0, []
    for number, decision in enumerate(decisions, start=1):
        kind = decision.get("kind")
        if kind == "merge":
            problem = _merge(groups, decision)
        elif kind == "split":
            problem = _split(groups, decision)
        elif kind == "link":
            problem = _link(groups, decision, taken=taken_ids)
        else:
            problem = f"unknown kind {kind!r}"
        if problem is None:
            applied += 1
        else:
            skipped.append(f"decision {number} ({kind} by {decision.get('user')}): {problem}")
            log.warning("person decision not re-applied: %s", skipped[-1])

    moved = pl.DataFrame(
        {
            "notification_id": list(groups.moved),
            "_moved": [groups.find(g) for g in groups.moved.values()],
        },
        schema={"notification_id": pl.Int64, "_moved": pl.Int64},
    )
    roots = pl.DataFrame(
        {"person_id": list(groups.parent), "_root": [groups.find(g) for g in groups.parent]},
        schema={"person_id": pl.Int64, "_root": pl.Int64},
    )
    schema = links.schema
    from_review = review.join(moved, on="notification_id", how="semi").select(
        "notification_id",
        pl.lit(None, pl.Int64).alias("person_id"),
        pl.lit(REGISTRAR).alias("method"),
        pl.lit(None, pl.Float64).alias("match_probability"),
    )
    final_links = (
        pl.concat([links, from_review.cast(schema)])
        .join(moved, on="notification_id", how="left")
        .join(roots, on="person_id", how="left")
        .with_columns(
            pl.coalesce("_moved", "_root", "person_id").alias("person_id"),
            pl.when(pl.col("_moved").is_not_null())
            .then(pl.lit(REGISTRAR))
            .otherwise(pl.col("method"))
            .alias("method"),
            pl.when(pl.col("_moved").is_not_null())
            .then(None)
            .otherwise(pl.col("match_probability"))
            .alias("match_probability"),
        )
        .select(schema.names())
        .cast(schema)
        .sort("notification_id")
    )
    alive = set(final_links["person_id"].unique().to_list())

    # new persons: decisions' own, linkage's still holding notifications; a merged one's identifier is
    # remembered by the person it went into
    gone = new_persons.join(roots, on="person_id", how="inner").filter(pl.col("identifier").is_not_null())
    remembered = gone.filter(pl.col("identifier_type").is_in(["fnr", "dnr", "hnr"])).select(
        pl.col("_root").alias("person_id"),
        "identifier",
        "identifier_type",
        pl.lit(None, pl.Int64).alias("notification_id"),
    )
    fresh = _fresh_rows(groups, alive=alive, notifications=known, new_persons=new_persons)
    persons = pl.concat([new_persons.cast(fresh.schema), fresh]).filter(
        pl.col("person_id").is_in(list(alive))
    )
    final_learned = (
        pl.concat([learned, remembered.cast(learned.schema)])
        .join(moved, on="notification_id", how="left")
        .join(roots, on="person_id", how="left")
        .with_columns(pl.coalesce("_moved", "_root", "person_id").alias("person_id"))
        .select(learned.columns)
        .unique(["person_id", "identifier"], keep="first", maintain_order=True)
    )
    ids = _final_ids(groups, links=final_links, taken=taken_ids)
    final_review = relabel_candidates(
        review.join(moved, on="notification_id", how="anti"),
        pl.concat([roots.rename({"person_id": "temporary_id", "_root": "person_id"}), ids]).pipe(_chain, ids),
    )
    return Applied(
        links=final_links,
        review=final_review,
        new_persons=persons.sort("person_id", descending=True),
        learned=final_learned,
        ids=ids,
        applied=applied,
        skipped=skipped,
    )


def _chain(mapping: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """``temporary_id → person_id`` through a merge's survivor to its final id."""
    final = dict(ids.iter_rows())
    return mapping.with_columns(
        pl.col("person_id").replace_strict(final, default=pl.col("person_id"), return_dtype=pl.Int64)
    ).unique("temporary_id", keep="last")
