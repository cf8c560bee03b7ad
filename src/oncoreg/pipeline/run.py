"""The registration pipeline: ingest → persons → linkage → consolidation → checks (DESIGN §2).

:func:`run_pipeline` is thin glue over the areas' pure functions:

1. **ingest** (``oncoreg.ingest.ingest_directory``): messages stored verbatim, notifications or quarantine;
2. **persons**: population-register events link by identifier or create the person; every person they touch
   is re-derived from all their register events (names, birth date, sex, vital status, residence, deaths;
   :mod:`oncoreg.pipeline.population`);
3. **linkage** (``oncoreg.linkage.link_notifications``) of the other notifications, with the model trained
   once and kept in the store (``pipeline_state``), remembered H-numbers and review tasks with candidates;
4. **consolidation** (``oncoreg.consolidation.consolidate_incremental``) of the persons the run touched;
5. **checks** (``oncoreg.checks.run_checks`` with the stored overrides) on the tumours of those persons.

Steps 2–5 run in one transaction: a run killed half-way leaves the store as it was, and the next run
redoes the work. *Incremental* (default) works on the notifications no person holds yet; *rebuild*
re-derives everything from the stored notifications (derived persons, links, tumours, review tasks and
check results) and writes only the differences, so rebuilding twice changes nothing. Messages, quarantine,
check overrides and closed review tasks (registrars' decisions) are never touched.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.config import Settings, get_settings
from oncoreg.pipeline import derive, population, store, treatments
from oncoreg.pipeline.report import PipelineReport, Progress
from oncoreg.registry import bulk
from oncoreg.registry.service import Registry
from oncoreg.registry.tables import PipelineRun, table_of

log = logging.getLogger(__name__)
RUNS = table_of(PipelineRun)
MODEL_STATE = "linkage_model"
#: Tumours per chunk of the edit checks (their findings are a row per tumour and rule, ~6 KiB a tumour).
CHECK_CHUNK = 20_000
#: Notifications (not the register's) per range of persons a rebuild consolidates at a time.
CONSOLIDATION_CHUNK = 250_000
PERSON_COMPARED = (
    "identifier",
    "identifier_type",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "vital_status",
    "death_date",
    "emigration_date",
)
TUMOUR_COMPARED = tuple(name for name in store.TUMOUR_FRAME if name not in ("tumour_id", "version"))
#: Review-task kinds the pipeline raises (linkage, consolidation); it never touches other kinds.
PIPELINE_TASK_KINDS = (
    "linkage",
    "topography_conflict",
    "subsite_conflict",
    "laterality_conflict",
    "behaviour_conflict",
    "unknown_primary",
    "date_contradiction",
    "icd10_error",
    "dco_traceback",
)


class _Clock:
    """Seconds per stage for the report."""

    def __init__(self, report: PipelineReport, progress: Progress | None) -> None:
        self.report = report
        self.progress = progress

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name, 0, total if total is not None else 1)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.report.seconds[name] = round(
                self.report.seconds.get(name, 0.0) + time.perf_counter() - started, 3
            )
            if self.progress is not None:
                self.progress(name, total if total is not None else 1, None)


def run_pipeline(
    *,
    registry: Registry,
    directory: Path | None,
    user: str,
    rebuild: bool = False,
    as_of: date | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> PipelineReport:
    """Ingest ``directory`` (None: ingest nothing) and register what it brings; see the module docstring.

    ``as_of`` is the day the rules judge by (DCO trace-back, dates in the future); default today.
    """
    from oncoreg.ingest import IngestError, ingest_directory

    if not user.strip():
        raise IngestError("pipeline refused: no acting user given")
    config = settings or get_settings()
    report = PipelineReport(rebuild=rebuild)
    clock = _Clock(report, progress)
    day = derive.as_date(as_of, today=registry.clock().date())
    report.as_of = day.isoformat()
    with registry.engine.begin() as connection:
        run_id = connection.execute(
            sa.insert(RUNS).returning(RUNS.c.run_id),
            [
                {
                    "started_at": registry.clock(),
                    "user_name": user,
                    "directory": None if directory is None else str(directory),
                    "rebuild": rebuild,
                    "status": "running",
                }
            ],
        ).scalar_one()
    report.run_id = int(run_id)
    try:
        if directory is not None:
            with clock.stage("ingest"):

                def ingest_progress(_stage: str, count: int) -> None:
                    if progress is not None:
                        progress("ingest", 0, None)
                    _ = count

                ingested = ingest_directory(
                    registry=registry, directory=directory, user=user, progress=ingest_progress
                )
            report.received = ingested.received
            report.accepted = ingested.accepted
            report.quarantined = ingested.quarantined
            report.duplicates = ingested.duplicates
            report.notifications_new = ingested.notifications
        with registry.engine.begin() as connection:
            _register(
                connection,
                registry=registry,
                user=user,
                rebuild=rebuild,
                day=day,
                config=config,
                report=report,
                clock=clock,
            )
            with clock.stage("store"):
                _totals(connection, report)
                connection.execute(
                    sa.update(RUNS)
                    .where(RUNS.c.run_id == report.run_id)
                    .values(status="finished", finished_at=registry.clock(), report=report.to_dict())
                )
    except BaseException:
        with registry.engine.begin() as connection:
            connection.execute(
                sa.update(RUNS)
                .where(RUNS.c.run_id == report.run_id)
                .values(status="failed", finished_at=registry.clock(), report=report.to_dict())
            )
        raise
    log.info("pipeline run %s: %s", report.run_id, report.to_dict())
    return report


def _totals(connection: sa.Connection, report: PipelineReport) -> None:
    """Open review tasks and check results by level (the person and tumour totals come from
    :func:`_register`'s frames: a ``count(*)`` walks a whole index, scattered pages from a cold cache)."""
    tasks = connection.execute(
        sa.select(store.TASKS.c.kind, sa.func.count())
        .where(store.TASKS.c.state.in_(["open", "assigned"]))
        .group_by(store.TASKS.c.kind)
    )
    report.review_tasks_open = {str(kind): int(n) for kind, n in sorted(tasks)}
    levels = connection.execute(
        sa.select(store.CHECKS.c.result, sa.func.count()).group_by(store.CHECKS.c.result)
    )
    report.check_results_by_level = {str(level): int(n) for level, n in sorted(levels)}


def _linkage_model(
    connection: sa.Connection, *, persons: pl.DataFrame, notifications: pl.DataFrame, registry: Registry
) -> Any:
    """The stored linkage model; trained (seeded) and stored on first need."""
    from oncoreg.linkage import LinkageModel, train_linkage_model
    from oncoreg.linkage.deterministic import classify_identifiers

    document = store.read_state(connection, MODEL_STATE)
    if document is not None:
        return LinkageModel.from_json(document)
    training_persons = persons
    if training_persons.height < 1000:
        # Bootstrap: notifications sharing a valid identifier stand for the persons not known yet.
        classified = classify_identifiers(notifications["given_identifier"].cast(pl.String))
        valid = notifications.join(
            classified.filter(pl.col("identifier_valid")), on="given_identifier", how="inner"
        )
        pseudo = (
            valid.sort("notification_id")
            .group_by("identifier", maintain_order=True)
            .agg(
                pl.col("identifier_type").first(),
                pl.col("given_first_name").drop_nulls().first().alias("first_name"),
                pl.col("given_last_name").drop_nulls().first().alias("last_name"),
                pl.col("given_birth_date").drop_nulls().first().alias("birth_date"),
                pl.col("given_sex").drop_nulls().first().alias("sex"),
                pl.col("given_municipality").drop_nulls().first().alias("municipality"),
            )
            .join(training_persons.select("identifier"), on="identifier", how="anti")
            .with_row_index("person_id", offset=1)
            .with_columns((-pl.col("person_id").cast(pl.Int64) - 10**13).alias("person_id"))
        )
        training_persons = pl.concat(
            [training_persons.select(pseudo.columns), pseudo], how="vertical_relaxed"
        )
    model = train_linkage_model(notifications=notifications, persons=training_persons)
    store.write_state(connection, MODEL_STATE, model.to_json(), now=registry.clock())
    return model


def _register(
    connection: sa.Connection,
    *,
    registry: Registry,
    user: str,
    rebuild: bool,
    day: date,
    config: Settings,
    report: PipelineReport,
    clock: _Clock,
) -> None:
    from oncoreg.checks import apply_overrides, run_checks
    from oncoreg.consolidation import ConsolidationOptions, consolidate_incremental
    from oncoreg.linkage import link_notifications

    now = registry.clock()
    reason = f"pipeline run {report.run_id}" + (" (rebuild)" if rebuild else "")

    # -- read the store --------------------------------------------------------------------------------
    with clock.stage("persons"):
        stored_persons = store.read_persons(connection)
        # identity columns only (store.IDENTITY_COLUMNS): the whole rows are read for consolidation
        if rebuild:
            everything = store.read_identities(connection, status="all")
            stored_links = everything.select("notification_id", "person_id")  # (as the run found them)
            derived_ids = everything["person_id"].drop_nulls().unique()
            todo = everything.with_columns(pl.lit(None, pl.Int64).alias("person_id"))
            del everything
            stored_linked = todo.clear()
            aliases = store.read_aliases(connection).filter(~pl.col("person_id").is_in(derived_ids.implode()))
            base_persons = stored_persons.filter(~pl.col("person_id").is_in(derived_ids.implode()))
        else:
            todo = store.read_identities(connection, status="unlinked")
            stored_links = todo.select("notification_id", "person_id")
            stored_linked = store.read_identities(connection, status="linked").filter(
                pl.col("source_type") == population.REGISTER
            )
            derived_ids = pl.Series("person_id", [], dtype=pl.Int64)
            aliases = store.read_aliases(connection)
            base_persons = stored_persons
        report.notifications_processed = todo.height

        # -- population register: link by identifier, create unknown persons -------------------------------
        from oncoreg.registry.identifiers import classify_identifier_frame

        register_todo = todo.filter(pl.col("source_type") == population.REGISTER)
        classified = classify_identifier_frame(
            register_todo["given_identifier"].cast(pl.String), as_of=date.today()
        ).select(derive.CLASSIFICATION)
        register_todo = register_todo.join(
            classified.select("given_identifier", "identifier"), on="given_identifier", how="left"
        )
        # the new register persons' identifiers, as given (so classified as they are): kept for
        # ``derive.identifier_columns`` below
        register_kinds = classified.filter(pl.col("given_identifier") == pl.col("identifier"))
        known = pl.concat(
            [
                base_persons.select("identifier", "person_id").drop_nulls(),
                aliases.select("identifier", "person_id"),
            ]
        ).unique("identifier", keep="first")
        unknown = (
            register_todo.filter(pl.col("identifier").is_not_null())
            .join(known, on="identifier", how="anti")
            .group_by("identifier")
            .agg(pl.col("notification_id").min().alias("_first"))
            .sort("_first")
            .with_columns(
                (derive.REGISTER_ID_BASE - pl.int_range(pl.len(), dtype=pl.Int64)).alias("person_id")
            )
            .select("identifier", "person_id")
        )
        register_links = register_todo.drop("person_id").join(
            pl.concat([known, unknown]), on="identifier", how="inner"
        )
        del register_todo, classified  # not needed any more (memory)
        register_touched = register_links["person_id"].unique()
        events = pl.concat(
            [
                register_links.select(stored_linked.columns),
                stored_linked.filter(
                    (pl.col("source_type") == population.REGISTER)
                    & pl.col("person_id").is_in(register_touched.implode())
                ),
            ]
        )
        states = population.person_states(events)
        residences = population.residence_periods(events)
        deaths_of_register = population.register_deaths(events)
        del events, stored_linked  # (memory)
        register_links = register_links.select("notification_id", "person_id")
        current_municipality = (
            residences.sort("person_id", "valid_from")
            .group_by("person_id")
            .agg(pl.col("municipality").last())
        )

    # -- linkage ---------------------------------------------------------------------------------------
    others = todo.filter(pl.col("source_type") != population.REGISTER)
    # registrars' merges, splits and linkage decisions: a rebuild re-applies them (docs/pipeline.md); they
    # read only the notifications they name, so the run's notifications shrink to their ids here (memory)
    from oncoreg.pipeline.decisions import apply_decisions, mentioned_notifications, read_decisions

    decisions = read_decisions(connection, now=now) if rebuild else []
    decision_notes = todo.filter(pl.col("notification_id").is_in(sorted(mentioned_notifications(decisions))))
    todo = todo.select("notification_id")
    with clock.stage("linkage", total=others.height):
        # a person merged into another (workbench) is no linkage candidate any more
        merged_away = stored_persons.filter(pl.col("merged_into").is_not_null())["person_id"]
        linkage_persons = _linkage_persons(
            base_persons=base_persons.filter(~pl.col("person_id").is_in(merged_away.implode())),
            aliases=aliases,
            states=states,
            municipality=current_municipality,
            unknown=unknown,
        )
        if others.height:
            model = _linkage_model(
                connection, persons=linkage_persons, notifications=others, registry=registry
            )
            linked = link_notifications(
                notifications=others, persons=linkage_persons, settings=config, model=model
            )
            links, review, new_persons, learned = (
                linked.links,
                linked.review,
                linked.new_persons,
                linked.identifiers,
            )
        else:
            from oncoreg.linkage.link import IDENTIFIERS, LINKS, NEW_PERSONS, REVIEW

            links, review = pl.DataFrame(schema=LINKS), pl.DataFrame(schema=REVIEW)
            new_persons, learned = pl.DataFrame(schema=NEW_PERSONS), pl.DataFrame(schema=IDENTIFIERS)
        all_links = pl.concat(
            [
                register_links.select(
                    "notification_id",
                    "person_id",
                    pl.lit("register").alias("method"),
                    pl.lit(None, pl.Float64).alias("match_probability"),
                ),
                links,
            ]
        )
        applied = apply_decisions(
            links=all_links,
            review=review,
            new_persons=new_persons,
            learned=learned,
            notifications=decision_notes,
            decisions=decisions,
            taken=base_persons["person_id"],
        )
        all_links, review, new_persons, learned = (
            applied.links,
            applied.review,
            applied.new_persons,
            applied.learned,
        )
        ids = applied.ids
        all_links = derive.relabel(all_links, ids)
        report.links_by_method = dict(sorted(Counter(all_links["method"].to_list()).items()))
        report.linkage_review = review.height
        del register_links, others, linkage_persons, decision_notes  # not needed any more (memory)

    # -- persons: desired rows ---------------------------------------------------------------------------
    with clock.stage("persons"):
        new_linkage = derive.relabel(new_persons, ids).filter(
            ~pl.col("person_id").is_in(derive.relabel(states, ids)["person_id"].implode())
        )
        identifiers = pl.concat(
            [
                derive.relabel(unknown, ids).select("person_id", "identifier"),
                new_linkage.select("person_id", "identifier"),
            ]
        )
        identifiers = derive.identifier_columns(
            identifiers, taken=base_persons["identifier"].drop_nulls(), known=register_kinds
        )
        del register_kinds
        final_states = derive.relabel(states, ids)
        new_ids = ids["person_id"]
        register_new = final_states.filter(pl.col("person_id").is_in(new_ids.implode()))
        linkage_new = new_linkage.select(
            "person_id",
            "first_name",
            "last_name",
            "birth_date",
            pl.col("sex").fill_null(9).cast(pl.Int8),
            pl.lit("alive").alias("vital_status"),
            pl.lit(None, pl.Date).alias("death_date"),
            pl.lit(None, pl.Date).alias("emigration_date"),
        )
        created = pl.concat([register_new, linkage_new], how="vertical_relaxed").join(
            identifiers.select("person_id", "identifier", "identifier_type", "identifier_scheme"),
            on="person_id",
            how="left",
        )
        created = created.with_columns(
            pl.col("identifier_type").fill_null("none"),
            pl.lit(False).alias("reserved_screening_results"),
            pl.lit(False).alias("reserved_risk_factors"),
        )
        existing_updates = final_states.filter(~pl.col("person_id").is_in(new_ids.implode())).join(
            stored_persons.select(
                "person_id",
                "identifier",
                "identifier_type",
                "identifier_scheme",
                "reserved_screening_results",
                "reserved_risk_factors",
            ),
            on="person_id",
            how="inner",
        )
        desired_persons = pl.concat([created, existing_updates], how="diagonal_relaxed").select(
            [pl.col(name).cast(dtype) for name, dtype in store.PERSON_FRAME.items() if name != "version"]
        )
        # A rebuilt person whose id a stored derived person holds updates it; the others are retired.
        person_changes = store.diff_entities(
            desired=desired_persons,
            stored=stored_persons,
            key="person_id",
            compared=PERSON_COMPARED,
            state_fields=store.PERSON_STATE_FIELDS,
            scope=derived_ids if rebuild else pl.Series("person_id", [], dtype=pl.Int64),
        )
        retired = person_changes.deletes
        kept_changes = store.EntityChanges(
            inserts=person_changes.inserts,
            updates=person_changes.updates,
            deletes=[],
            before=person_changes.before,
        )
        _free_identifiers(connection, changes=person_changes, stored=stored_persons)
        store.apply_entity_changes(
            connection,
            entity="person",
            table=store.PERSONS,
            key="person_id",
            state_fields=store.PERSON_STATE_FIELDS,
            changes=kept_changes,
            now=now,
            user=user,
            reason=reason,
        )
        report.persons_created = person_changes.inserts.height
        report.persons_updated = person_changes.updates.height

        # notifications → persons
        report.notifications_relinked = _link_notifications_to_persons(
            connection,
            stored=stored_links,
            links=all_links,
            now=now,
            user=user,
            reason=reason,
        )
        del stored_links  # (memory)
        # remembered identifiers, residence, deaths
        # (written as differences: rows a rebuild derives unchanged are not touched)
        learned_rows = derive.relabel(learned, ids).join(
            aliases.select("person_id", "identifier"), on=["person_id", "identifier"], how="anti"
        )
        learned_rows = learned_rows.select(
            pl.col("person_id").cast(pl.Int64),
            pl.col("identifier").cast(pl.String),
            pl.col("identifier_type").cast(pl.String),
            pl.col("notification_id").cast(pl.Int64),
        )
        if rebuild and derived_ids.len():
            store.sync_rows(
                connection,
                store.ALIASES,
                key="person_identifier_id",
                desired=learned_rows,
                scope=derived_ids,
                extra={"created_at": now},
            )
        elif learned_rows.height:
            connection.execute(
                sa.insert(store.ALIASES), [{**row, "created_at": now} for row in learned_rows.to_dicts()]
            )
        final_residence = derive.relabel(residences, ids)
        touched_register = final_states["person_id"]
        residence_scope = pl.concat([touched_register, derived_ids]).unique() if rebuild else touched_register
        store.sync_rows(
            connection,
            store.RESIDENCE,
            key="residence_id",
            desired=final_residence.select(*population.RESIDENCE.names()).cast(population.RESIDENCE),
            scope=residence_scope,
        )
        register_deaths = derive.relabel(deaths_of_register, ids)
        persons_now = store.person_facts_after(stored_persons, kept_changes)
        persons_total = stored_persons.height + person_changes.inserts.height
        # not needed any more (memory)
        del stored_persons, base_persons, states, residences, final_residence, final_states

    # -- consolidation ---------------------------------------------------------------------------------
    # whole rows now; in a rebuild without the population-register events (they describe no tumour and
    # carry no death cause: consolidation's tumours, links and tasks are the same without them)
    with clock.stage("consolidation", total=all_links.height):
        stored_tumours = store.read_tumours(connection)
        options = ConsolidationOptions(dco_traceback_days=config.dco_traceback_days)
        if rebuild:
            # every notification's person is written already: person range by range (bounded memory)
            result, certificates = _consolidate_in_chunks(
                connection,
                links=all_links,
                persons=persons_now.select("person_id", "sex", "birth_date", "death_date"),
                existing_tumours=stored_tumours,
                as_of=day,
                options=options,
            )
        else:
            # (read after the links were written: "the run's notifications" by id, not by link status)
            rows = store.read_notifications(connection, status="all", register=True)
            in_todo = pl.col("notification_id").is_in(todo["notification_id"].implode())
            todo_rows = rows.filter(in_todo)
            stored_rows = rows.filter(~in_todo & pl.col("person_id").is_not_null())
            stored_rows = stored_rows.filter(pl.col("source_type") != population.REGISTER)
            del rows
            new_linked = derive.relabel(
                todo_rows.drop("person_id").join(
                    all_links.select("notification_id", "person_id"), on="notification_id"
                ),
                ids,
            ).select(todo_rows.columns)
            del todo_rows
            certificates = pl.concat([stored_rows, new_linked])
            result = consolidate_incremental(
                new_notifications=new_linked,
                stored_notifications=stored_rows,
                persons=persons_now.select("person_id", "sex", "birth_date", "death_date"),
                existing_tumours=stored_tumours,
                as_of=day,
                options=options,
            )
        deaths = derive.death_rows(register_deaths=register_deaths, notifications=certificates)
        del certificates
        death_scope = pl.concat([touched_register, derived_ids]).unique() if rebuild else touched_register
        store.sync_rows(
            connection,
            store.DEATHS,
            key="death_id",
            desired=deaths.select(
                pl.col("person_id").cast(pl.Int64),
                pl.col("death_date").cast(pl.Date),
                pl.col("underlying_cause").cast(pl.String),
                pl.col("notification_id").cast(pl.Int64),
            ),
            scope=death_scope,
        )
        touched = pl.concat([result.tumours["person_id"], all_links["person_id"]]).unique()
        if rebuild:
            scope = stored_tumours["tumour_id"]
        else:
            from oncoreg.consolidation import touched_persons

            touched = pl.concat(
                [touched, touched_persons(new_notifications=new_linked, stored_notifications=stored_rows)]
            ).unique()
            scope = stored_tumours.filter(pl.col("person_id").is_in(touched.implode()))["tumour_id"]
        desired_tumours = result.tumours.select(
            [pl.col(name).cast(dtype) for name, dtype in store.TUMOUR_FRAME.items() if name != "version"]
        )
        tumour_changes = store.diff_entities(
            desired=desired_tumours,
            stored=stored_tumours,
            key="tumour_id",
            compared=TUMOUR_COMPARED,
            state_fields=store.TUMOUR_STATE_FIELDS,
            scope=scope,
        )
        _write_tumours(
            connection,
            changes=tumour_changes,
            links=result.links,
            scope=pl.concat([scope, desired_tumours["tumour_id"]]).unique(),
            now=now,
            user=user,
            reason=reason,
            report=report,
        )
        report.tumours_created = tumour_changes.inserts.height
        report.tumours_updated = tumour_changes.updates.height
        report.tumours_retired = len(tumour_changes.deletes)

        # retired persons (rebuild): nothing refers to them any more
        if retired:
            _delete_in(connection, store.RESIDENCE, "person_id", retired)
            _delete_in(connection, store.DEATHS, "person_id", retired)
            _delete_in(connection, treatments.TREATMENTS, "person_id", retired)
            store.apply_entity_changes(
                connection,
                entity="person",
                table=store.PERSONS,
                key="person_id",
                state_fields=store.PERSON_STATE_FIELDS,
                changes=store.EntityChanges(
                    inserts=desired_persons.clear(),
                    updates=desired_persons.clear(),
                    deletes=retired,
                    before=person_changes.before,
                ),
                now=now,
                user=user,
                reason=reason,
            )
        report.persons_deleted = len(retired)
        report.persons_total = persons_total - len(retired)
        report.tumours_total = (
            stored_tumours.height + tumour_changes.inserts.height - len(tumour_changes.deletes)
        )

        # review tasks of linkage and consolidation
        tasks = pl.concat(
            [
                review.select(
                    "kind",
                    pl.lit("notification").alias("subject_type"),
                    pl.col("notification_id").alias("subject_id"),
                    "reason",
                    pl.format('{{"candidates":{}}}', pl.col("candidates")).alias("details"),
                ),
                result.review_tasks.select("kind", "subject_type", "subject_id", "reason", "details"),
            ]
        )
        tumour_scope = pl.concat([scope, desired_tumours["tumour_id"]]).unique()
        _sync_tasks(
            connection,
            tasks=tasks,
            rebuild=rebuild,
            linkage_scope=todo["notification_id"],
            tumour_scope=tumour_scope,
            person_scope=touched,
            now=now,
            run_id=report.run_id or 0,
            report=report,
        )

    # -- checks ----------------------------------------------------------------------------------------
    with clock.stage("checks", total=desired_tumours.height):
        checked = desired_tumours
        if checked.height:
            from oncoreg.checks import summarise

            frame = derive.checks_input(tumours=checked, persons=persons_now)
            overrides = store.read_overrides(connection).with_columns(pl.col("id").cast(pl.String))
            # the findings are long (a row per tumour and rule): checked per chunk of tumours, which gives
            # the same results (every check, override and summary is per tumour) in bounded memory
            worst_counts: Counter[str] = Counter()
            kept_parts = []
            for start in range(0, frame.height, CHECK_CHUNK):
                findings = run_checks(frame.slice(start, CHECK_CHUNK), on=day)
                applicable = overrides.join(
                    findings.filter(pl.col("result") == "invalid").select("id", "rule_id"),
                    on=["id", "rule_id"],
                    how="anti",
                )
                findings = apply_overrides(findings, applicable)
                worst_counts.update(summarise(findings)["result"].to_list())
                kept_parts.append(
                    findings.filter(
                        (pl.col("result") != "ok") | pl.col("overridden_result").is_not_null()
                    ).select(pl.col("id").cast(pl.Int64), "rule_id", "rule_version", "result", "message")
                )
                del findings
            report.tumours_by_worst_check = dict(sorted(worst_counts.items()))
            kept = pl.concat(kept_parts)
        else:
            kept = pl.DataFrame(
                schema={
                    "id": pl.Int64,
                    "rule_id": pl.String,
                    "rule_version": pl.String,
                    "result": pl.String,
                    "message": pl.String,
                }
            )
        _sync_checks(connection, kept=kept, scope=tumour_scope, now=now)

    # -- treatments (radiotherapy, systemic therapy) of the persons in scope -------------------------------
    with clock.stage("treatments"):
        changed = treatments.sync_treatments(connection, persons=None if rebuild else touched.to_list())
        report.treatments_created, report.treatments_removed = changed.inserted, changed.deleted


def _person_ranges(links: pl.DataFrame, size: int) -> list[tuple[int | None, int | None]]:
    """Contiguous ``person_id`` ranges ``[low, high)`` holding about ``size`` of the links other than the
    register's each; the first is open below and the last above, so together they cover every person."""
    counts = (
        links.filter(pl.col("method") != "register")
        .group_by("person_id")
        .agg(pl.len().alias("n"))
        .sort("person_id")
    )
    starts = counts.filter((pl.col("n").cum_sum() // size).diff().fill_null(0) > 0)["person_id"]
    bounds: list[int | None] = [None, *(int(i) for i in starts.to_list()), None]
    return list(pairwise(bounds))


def _consolidate_in_chunks(
    connection: sa.Connection,
    *,
    links: pl.DataFrame,
    persons: pl.DataFrame,
    existing_tumours: pl.DataFrame,
    as_of: date,
    options: Any,
) -> tuple[Any, pl.DataFrame]:
    """A rebuild's consolidation, one range of persons at a time (:data:`CONSOLIDATION_CHUNK` notifications):
    the notifications (not the register's) are read from the store, where the run wrote their persons
    already, in one scan in table order; each range's are consolidated in turn. Consolidation is per
    person, so the result equals one call over all of them. Returns it with the death certificates (for
    the causes of death).

    (One scan, not a read per range through the ``person_id`` index: that index leads to rows scattered
    over the whole file, which from a cold page cache took 76 s at scale 1.0, the scan 29 s; its frame,
    ~3 GB there, is what the ranges bound: consolidation's intermediate frames are many times larger.)"""
    from oncoreg.consolidation import ConsolidationResult, consolidate_incremental

    notes = store.read_notifications(connection, status="all", register=False)
    notes = notes.filter(pl.col("person_id").is_not_null())
    certificates = notes.filter(pl.col("source_type") == "death_certificate")
    parts: list[Any] = []
    for low, high in _person_ranges(links, CONSOLIDATION_CHUNK):
        in_range = pl.lit(True)
        if low is not None:
            in_range = in_range & (pl.col("person_id") >= low)
        if high is not None:
            in_range = in_range & (pl.col("person_id") < high)
        in_notes = notes.filter(in_range)
        parts.append(
            consolidate_incremental(
                new_notifications=in_notes,
                stored_notifications=in_notes.clear(),
                persons=persons.filter(in_range),
                existing_tumours=existing_tumours.filter(in_range),
                as_of=as_of,
                options=options,
            )
        )
        del in_notes
    del notes
    result = ConsolidationResult(
        tumours=pl.concat([p.tumours for p in parts], how="vertical_relaxed").sort("tumour_id"),
        links=pl.concat([p.links for p in parts], how="vertical_relaxed").sort(
            "tumour_id", "notification_id"
        ),
        provenance=pl.concat([p.provenance for p in parts], how="diagonal_relaxed"),
        review_tasks=pl.concat([p.review_tasks for p in parts], how="vertical_relaxed").sort(
            "kind", "subject_type", "subject_id", "details"
        ),
        changes=pl.concat([p.changes for p in parts], how="diagonal_relaxed"),
    )
    return result, certificates


def _linkage_persons(
    *,
    base_persons: pl.DataFrame,
    aliases: pl.DataFrame,
    states: pl.DataFrame,
    municipality: pl.DataFrame,
    unknown: pl.DataFrame,
) -> pl.DataFrame:
    """Persons as linkage wants them: stored persons updated by this run's register events, the persons the
    register events create (temporary ids) and one extra row per remembered identifier."""
    from oncoreg.linkage.link import PERSON_COLUMNS

    columns = ["first_name", "last_name", "birth_date", "sex"]
    updated = (
        base_persons.select(*PERSON_COLUMNS)
        .join(states.select("person_id", *columns), on="person_id", how="left", suffix="_new")
        .join(municipality, on="person_id", how="left", suffix="_new")
        .with_columns([pl.coalesce(f"{c}_new", c).alias(c) for c in [*columns, "municipality"]])
        .select(*PERSON_COLUMNS)
    )
    created = (
        unknown.join(states, on="person_id", how="inner")
        .join(municipality, on="person_id", how="left")
        .with_columns(pl.lit("fnr").alias("identifier_type"))
        .select(*PERSON_COLUMNS)
    )
    persons = pl.concat([updated, created], how="vertical_relaxed")
    alias_rows = aliases.join(
        persons.select("person_id", "first_name", "last_name", "birth_date", "sex", "municipality"),
        on="person_id",
        how="inner",
    ).select(*PERSON_COLUMNS)
    return pl.concat([persons, alias_rows], how="vertical_relaxed")


def _free_identifiers(
    connection: sa.Connection, *, changes: store.EntityChanges, stored: pl.DataFrame
) -> None:
    """Clear the stored identifier of persons about to be retired or to change theirs, before any person
    is inserted or updated: ``person.identifier`` is unique and a rebuild may move an identifier from one
    person to another. (History keeps the stored states: ``changes.before`` was taken already.)"""
    changing = (
        changes.updates.select("person_id", "identifier")
        .join(stored.select("person_id", pl.col("identifier").alias("_stored")), on="person_id")
        .filter(pl.col("_stored").is_not_null() & pl.col("identifier").ne_missing(pl.col("_stored")))
    )["person_id"].to_list()
    ids = [*changing, *changes.deletes]
    for start in range(0, len(ids), store.BATCH):
        connection.execute(
            sa.update(store.PERSONS)
            .where(store.PERSONS.c.person_id.in_(ids[start : start + store.BATCH]))
            .values(identifier=None)
        )


def _delete_in(connection: sa.Connection, table: sa.Table, column: str, values: list[Any]) -> None:
    for start in range(0, len(values), store.BATCH):
        connection.execute(sa.delete(table).where(table.c[column].in_(values[start : start + store.BATCH])))


def _link_notifications_to_persons(
    connection: sa.Connection,
    *,
    stored: pl.DataFrame,
    links: pl.DataFrame,
    now: Any,
    user: str,
    reason: str,
) -> int:
    """Set ``notification.person_id`` where it changes (with the notification's history); how many.

    ``stored`` holds ``notification_id, person_id`` of the run's notifications as the run read them (no
    step of the run moves a notification before this one). Only the changed notifications'
    ``notification_id, person_id, version`` are read again (a notification's history keeps only those
    fields, ``history.CONTENT_IN_ROW``): by id, or the whole table when many change."""
    changed = stored.join(
        links.select("notification_id", pl.col("person_id").alias("wanted")), on="notification_id", how="left"
    ).filter(pl.col("wanted").ne_missing(pl.col("person_id")))
    if changed.height == 0:
        return 0
    table = store.NOTIFICATION
    schema = {"notification_id": pl.Int64, "person_id": pl.Int64, "version": pl.Int64}
    query = sa.select(table.c.notification_id, table.c.person_id, table.c.version)
    if changed.height <= 10 * store.BATCH:
        ids = changed["notification_id"].sort().to_list()
        batches = [ids[i : i + store.BATCH] for i in range(0, len(ids), store.BATCH)]
        current = pl.concat(
            [
                store.read_frame(connection, query.where(table.c.notification_id.in_(b)), schema)
                for b in batches
            ]
        )
    else:
        current = store.read_frame(connection, query, schema)
    moves = current.join(
        changed.select("notification_id", pl.col("wanted").alias("to_person_id")), on="notification_id"
    ).sort("notification_id")
    params = moves.select("to_person_id", (pl.col("version") + 1), "notification_id")
    # chunk by chunk, value tuples straight to the driver (millions of rows on a rebuild)
    for start in range(0, params.height, store.WRITE_CHUNK):
        bulk.update_rows(
            connection,
            table,
            "notification_id",
            ["person_id", "version"],
            params.slice(start, store.WRITE_CHUNK).iter_rows(),
        )
    del params
    store.record_notification_moves(connection, moves=moves, now=now, user=user, reason=reason)
    return moves.height


def _write_tumours(
    connection: sa.Connection,
    *,
    changes: store.EntityChanges,
    links: pl.DataFrame,
    scope: pl.Series,
    now: Any,
    user: str,
    reason: str,
    report: PipelineReport,
) -> None:
    """Tumours and their notification links: inserts, updates, link changes, then retirements."""
    from oncoreg.registry import history

    store.apply_entity_changes(
        connection,
        entity="tumour",
        table=store.TUMOURS,
        key="tumour_id",
        state_fields=store.TUMOUR_STATE_FIELDS,
        changes=store.EntityChanges(
            inserts=changes.inserts, updates=changes.updates, deletes=[], before=changes.before
        ),
        now=now,
        user=user,
        reason=reason,
    )
    stored = store.read_links(connection).filter(pl.col("tumour_id").is_in(scope.implode()))
    wanted = links.select(
        pl.col("tumour_id").cast(pl.Int64), pl.col("notification_id").cast(pl.Int64)
    ).unique()
    # (sorted: the history rows come in a fixed order, not in the hash order of ``unique``)
    pair = ["tumour_id", "notification_id"]
    removed = stored.join(wanted, on=pair, how="anti").sort(pair)
    added = wanted.join(stored, on=pair, how="anti").sort(pair)
    for tumour_id, notification_id in removed.iter_rows():
        connection.execute(
            sa.delete(store.LINKS).where(
                store.LINKS.c.tumour_id == tumour_id, store.LINKS.c.notification_id == notification_id
            )
        )
    for start in range(0, added.height, store.WRITE_CHUNK):
        part = added.slice(start, store.WRITE_CHUNK)
        bulk.insert_rows(
            connection,
            store.LINKS,
            [*part.columns, "linked_at"],
            ((*row, now) for row in part.iter_rows()),
        )

    def state(t: int, n: int) -> dict[str, Any]:
        return {"tumour_id": t, "notification_id": n}

    history.record_changes(
        connection,
        entity="tumour_notification",
        changes=chain(  # a generator: history is written a batch at a time
            ((t, state(t, n), None, n) for t, n in removed.iter_rows()),
            ((t, None, state(t, n), n) for t, n in added.iter_rows()),
        ),
        changed_at=now,
        changed_by=user,
        reason=reason,
    )
    report.tumour_links_changed = removed.height + added.height
    if changes.deletes:
        _delete_in(connection, store.CHECKS, "tumour_id", changes.deletes)
        _delete_in(connection, store.OVERRIDES, "tumour_id", changes.deletes)
        _delete_in(connection, treatments.TREATMENTS, "tumour_id", changes.deletes)
        store.apply_entity_changes(
            connection,
            entity="tumour",
            table=store.TUMOURS,
            key="tumour_id",
            state_fields=store.TUMOUR_STATE_FIELDS,
            changes=store.EntityChanges(
                inserts=changes.inserts.clear(),
                updates=changes.updates.clear(),
                deletes=changes.deletes,
                before=changes.before,
            ),
            now=now,
            user=user,
            reason=reason,
        )


def _sync_tasks(
    connection: sa.Connection,
    *,
    tasks: pl.DataFrame,
    rebuild: bool,
    linkage_scope: pl.Series,
    tumour_scope: pl.Series,
    person_scope: pl.Series,
    now: Any,
    run_id: int,
    report: PipelineReport,
) -> None:
    """Open the tasks not open yet; dismiss open pipeline tasks in scope that the run no longer raises.

    A task is the same task when kind, subject and reason agree; closed tasks (registrars' decisions) and
    tasks of kinds other areas raise are never reopened or changed."""
    key = ["kind", "subject_type", "subject_id", "reason"]
    wanted = tasks.unique(key, keep="first", maintain_order=True)
    open_tasks = store.read_open_tasks(connection)
    in_scope = open_tasks.filter(
        pl.col("kind").is_in(PIPELINE_TASK_KINDS)
        & (
            ((pl.col("subject_type") == "notification") & pl.col("subject_id").is_in(linkage_scope.implode()))
            | ((pl.col("subject_type") == "tumour") & pl.col("subject_id").is_in(tumour_scope.implode()))
            | ((pl.col("subject_type") == "person") & pl.col("subject_id").is_in(person_scope.implode()))
            | pl.lit(rebuild)
        )
    )
    new = wanted.join(open_tasks.select(key), on=key, how="anti")
    stale = in_scope.join(wanted.select(key), on=key, how="anti")
    if new.height:
        rows = [
            {
                **{k: row[k] for k in key},
                "details": None if row["details"] is None else json.loads(row["details"]),
                "state": "open",
                "created_at": now,
                "version": 1,
            }
            for row in new.to_dicts()
        ]
        for chunk in store._chunks(rows):
            connection.execute(sa.insert(store.TASKS), chunk)
    if stale.height:
        statement = (
            sa.update(store.TASKS)
            .where(store.TASKS.c.task_id == sa.bindparam("b_id"))
            .values(
                state="dismissed",
                resolution=f"no longer raised by pipeline run {run_id}",
                resolved_at=now,
                version=sa.bindparam("b_version"),
            )
        )
        connection.execute(
            statement,
            [{"b_id": t, "b_version": v + 1} for t, v in stale.select("task_id", "version").iter_rows()],
        )
    report.review_tasks_opened = dict(sorted(Counter(new["kind"].to_list()).items()))
    report.review_tasks_closed = stale.height


def _sync_checks(connection: sa.Connection, *, kept: pl.DataFrame, scope: pl.Series, now: Any) -> None:
    """Replace the check results of the tumours in ``scope`` whose findings changed."""
    stored = store.read_check_results(connection).filter(pl.col("id").is_in(scope.implode()))
    columns = ["id", "rule_id", "rule_version", "result", "message"]

    def signature(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.sort(columns)
            .group_by("id")
            .agg(
                pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in columns[1:]], separator="|")
                .str.join("\n")
                .alias("sig")
            )
        )

    both = signature(kept).join(signature(stored), on="id", how="full", suffix="_stored", coalesce=True)
    changed = both.filter(pl.col("sig").ne_missing(pl.col("sig_stored")))["id"]
    if changed.len() == 0:
        return
    _delete_in(connection, store.CHECKS, "tumour_id", changed.to_list())
    rows = kept.filter(pl.col("id").is_in(changed.implode())).rename({"id": "tumour_id"})
    if rows.height:
        for chunk in store._chunks([{**row, "checked_at": now} for row in rows.to_dicts()]):
            connection.execute(sa.insert(store.CHECKS), chunk)
