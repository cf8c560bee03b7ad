"""Registrars' person decisions survive a rebuild: the pure replay (hand-made frames) and the store (a tiny
simulated country: merge, split and linkage-task decisions made in the workbench, then rebuilds and an
incremental run)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from pipeline_support import YEARS, year_directory

from oncoreg.config import Settings, get_settings
from oncoreg.errors import ConflictError, ValidationFailed
from oncoreg.linkage.link import IDENTIFIERS, LINKS, NEW_PERSONS, REVIEW
from oncoreg.pipeline import PipelineReport, decisions, persons_edit, run_pipeline, store
from oncoreg.registry import Registry
from oncoreg.registry.schemas import ReviewTaskCreate

AS_OF = date(2026, 1, 1)
AT = datetime(2025, 3, 1, tzinfo=UTC)
REGISTER_PERSON = -(10**12)


# -- the pure replay ----------------------------------------------------------------------------------


def _links(rows: dict[int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "notification_id": list(rows),
            "person_id": list(rows.values()),
            "method": ["new"] * len(rows),
            "match_probability": [None] * len(rows),
        },
        schema=LINKS,
    )


def _notes(ids: list[int], *, register: tuple[int, ...] = ()) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "notification_id": ids,
            "source_type": ["population_register" if n in register else "pathology" for n in ids],
            "given_identifier": [None] * len(ids),
            "given_first_name": [f"Name{n}" for n in ids],
            "given_last_name": ["Berg"] * len(ids),
            "given_birth_date": [date(1950, 1, 1)] * len(ids),
            "given_sex": [2] * len(ids),
            "given_municipality": ["0301"] * len(ids),
        }
    )


def _new_persons(rows: dict[int, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": list(rows),
            "identifier": list(rows.values()),
            "identifier_type": ["fnr" if v else None for v in rows.values()],
            "first_name": ["Eva"] * len(rows),
            "last_name": ["Berg"] * len(rows),
            "birth_date": [date(1950, 1, 1)] * len(rows),
            "sex": [2] * len(rows),
            "municipality": ["0301"] * len(rows),
            "provisional": [True] * len(rows),
        },
        schema=NEW_PERSONS,
    )


def _apply(
    links: dict[int, int],
    records: list[dict[str, Any]],
    *,
    review: list[int] = (),  # type: ignore[assignment]
    persons: dict[int, str | None] | None = None,
    register: tuple[int, ...] = (),
    taken: tuple[int, ...] = (),
) -> decisions.Applied:
    review_frame = pl.DataFrame(
        {
            "notification_id": list(review),
            "kind": ["linkage"] * len(review),
            "reason": ["best candidate between the review and match thresholds"] * len(review),
            "candidates": ['[{"person_id":-1,"match_probability":0.9}]'] * len(review),
        },
        schema=REVIEW,
    )
    groups = {g for g in links.values() if -(10**11) < g < 0}
    return decisions.apply_decisions(
        links=_links(links),
        review=review_frame,
        new_persons=_new_persons(persons if persons is not None else dict.fromkeys(sorted(groups))),
        learned=pl.DataFrame(schema=IDENTIFIERS),
        notifications=_notes(sorted({*links, *review}), register=register),
        decisions=records,
        taken=pl.Series("person_id", list(taken), dtype=pl.Int64),
    )


def _persons(applied: decisions.Applied) -> dict[int, list[int]]:
    """Final person id → its notifications."""
    final = applied.links.join(
        applied.ids.rename({"temporary_id": "person_id", "person_id": "final"}), on="person_id", how="left"
    ).with_columns(pl.coalesce("final", "person_id").alias("person_id"))
    grouped = final.group_by("person_id").agg(pl.col("notification_id").sort())
    return {int(p): list(n) for p, n in grouped.sort("person_id").iter_rows()}


def _merge(into: int, a: list[int], merged: int, b: list[int]) -> dict[str, Any]:
    return decisions.merge_record(
        into=into,
        merged=merged,
        into_notifications=a,
        merged_notifications=b,
        reason="same woman",
        user="kari",
        at=AT,
    )


def _split(person: int, new: int, moved: list[int], rest: list[int]) -> dict[str, Any]:
    return decisions.split_record(
        person_id=person, new_person_id=new, moved=moved, rest=rest, reason="two men", user="kari", at=AT
    )


def test_without_decisions_persons_are_numbered_as_before() -> None:
    applied = _apply({1: -1, 2: -1, 3: -2}, [])
    assert _persons(applied) == {1: [1, 2], 3: [3]}
    assert applied.applied == 0


def test_a_merge_joins_the_persons_and_keeps_the_kept_id() -> None:
    rules = {1: -1, 2: -1, 3: -2, 4: -2, 5: -3}
    persons = {-1: None, -2: "15108695088", -3: None}
    applied = _apply(rules, [_merge(3, [3, 4], 1, [1, 2])], persons=persons)
    assert _persons(applied) == {3: [1, 2, 3, 4], 5: [5]}  # the registrar kept person 3, not 1
    assert set(applied.new_persons["person_id"]) == {-2, -3}  # the merged-away person's row is gone
    assert applied.links.filter(pl.col("notification_id") == 1)["method"][0] == "new"  # whole persons


def test_a_merged_persons_identifier_is_remembered() -> None:
    applied = _apply({1: -1, 2: -2}, [_merge(1, [1], 2, [2])], persons={-1: None, -2: "15108695088"})
    assert _persons(applied) == {1: [1, 2]}
    assert applied.learned.select("person_id", "identifier").rows() == [(-1, "15108695088")]


def test_a_split_makes_a_person_of_its_own_from_the_moved_identity() -> None:
    applied = _apply({1: -1, 2: -1, 3: -1}, [_split(1, 3, [3], [1, 2])])
    assert _persons(applied) == {1: [1, 2], 3: [3]}
    created = applied.new_persons.filter(pl.col("person_id") <= decisions.FRESH_ID_BASE)
    assert created["first_name"].to_list() == ["Name3"]
    assert applied.links.filter(pl.col("notification_id") == 3)["method"][0] == "registrar"


def test_a_split_the_rules_already_make_changes_nothing() -> None:
    applied = _apply({1: -1, 2: -1, 3: -2, 4: -2}, [_split(1, 3, [3, 4], [1, 2])])
    assert _persons(applied) == {1: [1, 2], 3: [3, 4]}
    assert set(applied.links["method"]) == {"new"}


def test_the_newest_decision_wins() -> None:
    rules = {1: -1, 2: -1, 3: -2}
    merge_then_split = _apply(rules, [_merge(1, [1, 2], 3, [3]), _split(1, 3, [3], [1, 2])])
    assert _persons(merge_then_split) == {1: [1, 2], 3: [3]}
    split_then_merge = _apply(rules, [_split(1, 3, [3], [1, 2]), _merge(1, [1, 2], 3, [3])])
    assert _persons(split_then_merge) == {1: [1, 2, 3]}
    # a split of notifications the rules keep together, then a merge back, then a split again
    together = {1: -1, 2: -1, 3: -1}
    thrice = _apply(
        together, [_split(1, 3, [3], [1, 2]), _merge(1, [1, 2], 3, [3]), _split(1, 3, [3], [1, 2])]
    )
    assert _persons(thrice) == {1: [1, 2], 3: [3]}


def test_link_decisions_place_the_notification_and_close_its_review() -> None:
    chosen = decisions.link_record(
        notification_id=5,
        person_id=3,
        with_notifications=[3, 4],
        new_person_id=None,
        task_id=7,
        reason="same birth date and address",
        user="kari",
        at=AT,
    )
    alone = decisions.link_record(
        notification_id=6,
        person_id=None,
        with_notifications=[],
        new_person_id=6,
        task_id=8,
        reason="another woman",
        user="kari",
        at=AT,
    )
    applied = _apply({1: -1, 2: -1, 3: -2, 4: -2}, [chosen, alone], review=[5, 6])
    assert _persons(applied) == {1: [1, 2], 3: [3, 4, 5], 6: [6]}
    assert applied.review.height == 0
    assert set(applied.links.filter(pl.col("notification_id") >= 5)["method"]) == {"registrar"}


def test_a_link_to_a_kept_person_without_notifications() -> None:
    record = decisions.link_record(
        notification_id=2,
        person_id=99,
        with_notifications=[],
        new_person_id=None,
        task_id=1,
        reason="known person",
        user="kari",
        at=AT,
    )
    applied = _apply({1: -1}, [record], review=[2], taken=(99,))
    assert _persons(applied) == {1: [1], 99: [2]}
    skipped = _apply({1: -1}, [record], review=[2])
    assert skipped.applied == 0
    assert skipped.review["notification_id"].to_list() == [2]


def test_register_persons_are_not_joined_or_split() -> None:
    rules = {1: REGISTER_PERSON, 2: REGISTER_PERSON - 1, 3: -1}
    applied = _apply(
        rules,
        [_merge(1, [1], 2, [2]), _merge(1, [1], 3, [3]), _split(1, 4, [1], [3])],
        persons={-1: None},
        register=(1, 2),
    )
    assert applied.applied == 1  # only the register person + provisional person merge
    assert len(applied.skipped) == 2
    assert _persons(applied) == {1: [1, 3], 2: [2]}


def test_review_candidates_get_their_final_ids() -> None:
    applied = _apply({1: -1, 2: -1}, [], review=[3])
    (candidates,) = applied.review["candidates"].to_list()
    assert json.loads(candidates)[0]["person_id"] == 1


def test_first_format_entries_take_the_notifications_their_persons_hold() -> None:
    old = [
        {"kind": "merge", "into": 10, "merged": [20], "notification_ids": [21, 22], "user": "k"},
        {"kind": "split", "person_id": 10, "new_person_id": 11, "notification_ids": [11], "user": "k"},
    ]
    upgraded = decisions.upgrade(old, held={10: [10, 11, 12, 21, 22]})
    assert upgraded[0]["into_notifications"] == [10, 11, 12]
    assert upgraded[1]["rest_notifications"] == [10, 12, 21, 22]
    assert all(entry["format"] == decisions.FORMAT for entry in upgraded)


# -- the store ------------------------------------------------------------------------------------------


def _settings() -> Settings:
    """A high match threshold, so that the tiny country has linkage review tasks."""
    return get_settings().model_copy(update={"linkage_match_threshold": 0.999999})


def _run(registry: Registry, directory: Path | None, *, rebuild: bool = False) -> PipelineReport:
    return run_pipeline(
        registry=registry,
        directory=directory,
        user="tester",
        rebuild=rebuild,
        as_of=AS_OF,
        settings=_settings(),
    )


@pytest.fixture(scope="module")
def built(tiny_country: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store after incremental runs of the first two years and a rebuild, so that a rebuild
    without decisions changes nothing (copied by each test)."""
    folder = tmp_path_factory.mktemp("decisions")
    registry = Registry.create(f"sqlite:///{folder / 'registry.sqlite'}")
    try:
        for year in YEARS[:2]:
            _run(registry, year_directory(tiny_country, year, folder / str(year)))
        _run(registry, None, rebuild=True)
    finally:
        registry.dispose()
    return folder / "registry.sqlite"


@pytest.fixture
def registry(built: Path, tmp_path: Path) -> Iterator[Registry]:
    shutil.copy(built, tmp_path / "registry.sqlite")
    opened = Registry.create(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        yield opened
    finally:
        opened.dispose()


def _owners(registry: Registry) -> dict[int, int | None]:
    """notification id → person id."""
    with registry.engine.connect() as connection:
        table = store.NOTIFICATION
        rows = connection.execute(sa.select(table.c.notification_id, table.c.person_id))
        return {int(n): p for n, p in rows}


def _together(owners: dict[int, int | None], notes: list[int]) -> set[int | None]:
    return {owners[n] for n in notes}


def _derived(registry: Registry) -> dict[str, Any]:
    """Everything a rebuild derives, without versions and times."""
    with registry.engine.connect() as connection:
        persons = [
            tuple(r)
            for r in connection.execute(
                sa.select(*(c for c in store.PERSONS.c if c.key not in ("version", "updated_at"))).order_by(
                    store.PERSONS.c.person_id
                )
            )
        ]
        tumours = [
            tuple(r)
            for r in connection.execute(
                sa.select(*(c for c in store.TUMOURS.c if c.key not in ("version", "updated_at"))).order_by(
                    store.TUMOURS.c.tumour_id
                )
            )
        ]
        links = sorted(
            tuple(r)
            for r in connection.execute(sa.select(store.LINKS.c.tumour_id, store.LINKS.c.notification_id))
        )
    return {"persons": persons, "tumours": tumours, "links": links, "owners": _owners(registry)}


def _tumour_persons(registry: Registry, notes: list[int]) -> set[int]:
    """The persons of the tumours the notifications are linked to."""
    with registry.engine.connect() as connection:
        query = (
            sa.select(store.TUMOURS.c.person_id)
            .join(store.LINKS, store.LINKS.c.tumour_id == store.TUMOURS.c.tumour_id)
            .where(store.LINKS.c.notification_id.in_(notes))
        )
        return set(connection.execute(query).scalars())


@dataclass(frozen=True)
class Held:
    person_id: int
    sex: int
    notes: list[int]  # every notification of the person
    reports: list[int]  # those that are not population-register events


def _persons_with_tumours(registry: Registry) -> list[Held]:
    """The persons that have a tumour, with their notifications (lowest id first)."""
    with registry.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT p.person_id, p.sex, n.notification_id, n.source_type FROM person p "
                "JOIN notification n ON n.person_id = p.person_id "
                "WHERE p.person_id IN (SELECT person_id FROM tumour) ORDER BY p.person_id, n.notification_id"
            )
        ).all()
    persons: dict[int, Held] = {}
    for person_id, sex, note, source in rows:
        held = persons.setdefault(person_id, Held(person_id, sex, [], []))
        held.notes.append(note)
        if source != "population_register":
            held.reports.append(note)
    return list(persons.values())


def _pair(registry: Registry) -> tuple[Held, Held]:
    """A person with a tumour and no register events (linkage made it) and a registered person of the same
    sex with a tumour: what a registrar merges when an H-number record is someone known to the register."""
    persons = _persons_with_tumours(registry)
    loose = next(p for p in persons if p.notes == p.reports)
    registered = next(p for p in persons if p.notes != p.reports and p.sex == loose.sex)
    return loose, registered


def _version(registry: Registry, person_id: int) -> int:
    with registry.engine.connect() as connection:
        query = sa.select(store.PERSONS.c.version).where(store.PERSONS.c.person_id == person_id)
        return int(connection.execute(query).scalar_one())


def _linkage_tasks(registry: Registry) -> list[dict[str, Any]]:
    with registry.engine.connect() as connection:
        rows = connection.execute(
            sa.select(store.TASKS).where(store.TASKS.c.kind == "linkage").order_by(store.TASKS.c.task_id)
        )
        return [dict(r._mapping) for r in rows]


def _merge_two(registry: Registry, *, into_registered: bool = True) -> tuple[int, int, list[int]]:
    """Merge the linkage-made person into the registered one (or the other way round); (kept, merged,
    all their notifications)."""
    loose, registered = _pair(registry)
    into, merged = (registered, loose) if into_registered else (loose, registered)
    persons_edit.merge(
        registry,
        into=into.person_id,
        merged=merged.person_id,
        versions={p.person_id: _version(registry, p.person_id) for p in (into, merged)},
        user="kari",
        reason="one woman, two records",
        as_of=AS_OF,
    )
    return into.person_id, merged.person_id, [*into.notes, *merged.notes]


def test_merge_then_rebuild_keeps_one_person(registry: Registry) -> None:
    kept, merged, notes = _merge_two(registry)
    after_merge = _derived(registry)
    assert _together(after_merge["owners"], notes) == {kept}
    assert _tumour_persons(registry, notes) == {kept}

    report = _run(registry, None, rebuild=True)
    assert _together(_owners(registry), notes) == {kept}
    assert _tumour_persons(registry, notes) == {kept}
    with registry.engine.connect() as connection:
        row = connection.execute(sa.select(store.PERSONS).where(store.PERSONS.c.person_id == merged)).one()
    assert row.merged_into == kept
    assert report.persons_deleted == 0
    assert _derived(registry) == after_merge  # the rebuild reproduces what the merge left

    again = _run(registry, None, rebuild=True)
    assert not again.changed


def test_merge_into_the_person_without_register_events_then_rebuild(registry: Registry) -> None:
    kept, merged, notes = _merge_two(registry, into_registered=False)
    _run(registry, None, rebuild=True)
    assert _together(_owners(registry), notes) == {kept}  # the id the registrar kept
    assert _tumour_persons(registry, notes) == {kept}
    with registry.engine.connect() as connection:
        rows = connection.execute(
            sa.select(store.PERSONS.c.person_id, store.PERSONS.c.merged_into).where(
                store.PERSONS.c.person_id.in_([kept, merged])
            )
        )
        assert dict(rows.all()) == {kept: None, merged: kept}
    assert not _run(registry, None, rebuild=True).changed


def test_split_then_rebuild_keeps_two_persons(registry: Registry) -> None:
    held = next(p for p in _persons_with_tumours(registry) if len(p.reports) >= 2)
    person, moved = held.person_id, held.reports[-1:]
    rest = [n for n in held.notes if n not in moved]
    edit = persons_edit.split(
        registry,
        person_id=person,
        notification_ids=moved,
        version=_version(registry, person),
        user="kari",
        reason="the last report is another woman's",
        as_of=AS_OF,
    )
    (created,) = edit.created
    after_split = _derived(registry)
    _run(registry, None, rebuild=True)
    owners = _owners(registry)
    assert _together(owners, moved) == {created}
    assert _together(owners, rest) == {person}
    assert _derived(registry) == after_split
    assert not _run(registry, None, rebuild=True).changed


def test_merge_then_split_of_the_same_notifications_ends_apart(registry: Registry) -> None:
    kept, _merged, notes = _merge_two(registry)
    (_, low_notes), (_, high_notes) = _recorded_merge(kept, registry)
    # the split takes the merged person's notifications and one of the kept person's: no rule does that
    moved = sorted([*low_notes, high_notes[0]])
    edit = persons_edit.split(
        registry,
        person_id=kept,
        notification_ids=moved,
        version=_version(registry, kept),
        user="anne",
        reason="the merge was wrong",
        as_of=AS_OF,
    )
    (created,) = edit.created
    state = _derived(registry)
    _run(registry, None, rebuild=True)
    owners = _owners(registry)
    assert _together(owners, moved) == {created}
    assert _together(owners, [n for n in notes if n not in moved]) == {kept}
    assert _derived(registry) == state
    assert not _run(registry, None, rebuild=True).changed


def _recorded_merge(kept: int, registry: Registry) -> tuple[tuple[int, list[int]], tuple[int, list[int]]]:
    """The merged person's notifications, as recorded by the merge decision."""
    merge = persons_edit.decisions(registry)[-1]
    assert merge["kind"] == "merge"
    assert merge["into"] == kept
    return (merge["merged"][0], merge["notification_ids"]), (kept, merge["into_notifications"])


def _decide_linkage_tasks(registry: Registry) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resolve two linkage tasks: the first to its best candidate, the second as a new person."""
    first, second = _linkage_tasks(registry)[:2]
    candidate = first["details"]["candidates"][0]["person_id"]
    assert candidate > 0  # candidates carry the store's person ids
    persons_edit.link(
        registry,
        task_id=first["task_id"],
        version=first["version"],
        person_id=candidate,
        user="kari",
        reason="same name, birth date and address",
        as_of=AS_OF,
    )
    persons_edit.link(
        registry,
        task_id=second["task_id"],
        version=second["version"],
        person_id=None,
        user="kari",
        reason="another person of the same name",
        as_of=AS_OF,
    )
    return {**first, "chosen": candidate}, second


def test_linkage_task_decisions_survive_a_rebuild_and_the_tasks_stay_closed(registry: Registry) -> None:
    first, second = _decide_linkage_tasks(registry)
    owners = _owners(registry)
    assert owners[first["subject_id"]] == first["chosen"]
    alone = owners[second["subject_id"]]
    assert alone is not None
    assert [n for n, p in owners.items() if p == alone] == [second["subject_id"]]
    closed = {t["task_id"]: t for t in _linkage_tasks(registry)}
    assert closed[first["task_id"]]["state"] == closed[second["task_id"]]["state"] == "resolved"
    state = _derived(registry)

    report = _run(registry, None, rebuild=True)
    assert report.links_by_method.get("registrar") == 2
    owners = _owners(registry)
    assert owners[first["subject_id"]] == first["chosen"]
    assert owners[second["subject_id"]] == alone
    tasks = _linkage_tasks(registry)
    about = [t for t in tasks if t["subject_id"] in (first["subject_id"], second["subject_id"])]
    assert [t["state"] for t in about] == ["resolved", "resolved"]  # closed, and no new task raised
    assert _derived(registry) == state
    assert not _run(registry, None, rebuild=True).changed


def test_a_linkage_task_is_decided_once(registry: Registry) -> None:
    task = _linkage_tasks(registry)[0]
    with pytest.raises(ConflictError, match="stale"):
        persons_edit.link(
            registry,
            task_id=task["task_id"],
            version=task["version"] + 1,
            person_id=None,
            user="k",
            reason="x",
        )
    persons_edit.link(
        registry, task_id=task["task_id"], version=task["version"], person_id=None, user="k", reason="x"
    )
    with pytest.raises(ConflictError, match="already resolved"):
        persons_edit.link(
            registry,
            task_id=task["task_id"],
            version=task["version"] + 1,
            person_id=None,
            user="k",
            reason="y",
        )
    with registry.session(user="k", channel="batch") as session:
        other = session.add_review_task(
            task=ReviewTaskCreate(kind="dco_traceback", subject_type="person", subject_id=1, reason="x")
        )
    with pytest.raises(ValidationFailed, match="not linkage"):
        persons_edit.link(
            registry, task_id=other.task_id, version=other.version, person_id=None, user="k", reason="x"
        )


def test_an_incremental_run_after_decisions_keeps_them(
    registry: Registry, tiny_country: Path, tmp_path: Path
) -> None:
    kept, merged, notes = _merge_two(registry)
    first, second = _decide_linkage_tasks(registry)
    report = _run(registry, year_directory(tiny_country, YEARS[2], tmp_path / "last"))
    assert report.notifications_processed > 0
    owners = _owners(registry)
    assert _together(owners, notes) == {kept}
    assert owners[first["subject_id"]] == first["chosen"]
    assert merged not in set(owners.values())  # nothing new went to the merged-away person
    _run(registry, None, rebuild=True)
    owners = _owners(registry)
    assert _together(owners, notes) == {kept}
    assert owners[first["subject_id"]] == first["chosen"]
    assert [n for n, p in owners.items() if p == owners[second["subject_id"]]] == [second["subject_id"]]
    assert _tumour_persons(registry, notes) == {kept}
    rebuilt = _derived(registry)
    assert not _run(registry, None, rebuild=True).changed
    assert _derived(registry) == rebuilt


def test_first_format_decisions_are_upgraded_once_and_re_applied(registry: Registry) -> None:
    kept, _merged, notes = _merge_two(registry)
    with registry.engine.begin() as connection:
        (entry,) = decisions.read_decisions(connection)
        old = {k: entry[k] for k in ("kind", "into", "merged", "notification_ids", "reason", "user", "at")}
        store.write_state(connection, decisions.DECISIONS, json.dumps([old]), now=AT)
    _run(registry, None, rebuild=True)
    assert _together(_owners(registry), notes) == {kept}
    with registry.engine.connect() as connection:
        (stored,) = json.loads(store.read_state(connection, decisions.DECISIONS) or "[]")
    assert stored["format"] == decisions.FORMAT
    assert sorted(stored["into_notifications"] + stored["notification_ids"]) == sorted(notes)


def test_decisions_on_every_backend(database_url: str, tiny_country: Path, tmp_path: Path) -> None:
    registry = Registry.create(database_url)
    try:
        for year in YEARS[:2]:
            _run(registry, year_directory(tiny_country, year, tmp_path / str(year)))
        _run(registry, None, rebuild=True)
        kept, _merged, notes = _merge_two(registry)
        first, _second = _decide_linkage_tasks(registry)
        state = _derived(registry)
        _run(registry, None, rebuild=True)
        assert _together(_owners(registry), notes) == {kept}
        assert _owners(registry)[first["subject_id"]] == first["chosen"]
        assert _derived(registry) == state
        assert not _run(registry, None, rebuild=True).changed
    finally:
        registry.dispose()
