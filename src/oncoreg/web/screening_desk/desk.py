"""The screening desk's views, thin over :mod:`oncoreg.screening`: programme indicators against the EU
levels (national and by county), the overdue follow-up (failsafe) list, tonight's invitation and letter
batch, and one person's timeline with the next action and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from oncoreg.screening import next_action, parse_history
from oncoreg.screening.episodes import episodes
from oncoreg.screening.errors import HistoryInvalid
from oncoreg.screening.followup import overdue_followups
from oncoreg.screening.kpi import kpi_run, load_kpi_definitions
from oncoreg.screening.rules import PROGRAMMES
from oncoreg.web.screening_desk.data import ScreeningData

PROGRAMME_NAMES = {"breast": "Breast (BreastScreen Norway)", "cervix": "Cervix", "colorectal": "Colorectal"}
LEVEL_CLASS = {"desirable": "ok", "acceptable": "warn", "below acceptable": "bad"}


@dataclass(frozen=True)
class Dashboard:
    """A programme's indicators: national rows with levels, and one indicator by county (for the chart)."""

    programme: str
    national: list[dict[str, Any]]
    by_county: list[dict[str, Any]]
    kpi_id: str
    kpi_ids: list[str]
    freeze_time: datetime


def _kpi_values(data: ScreeningData) -> pl.DataFrame:
    with data.lock:
        values = data.memo.get("kpi")
        if values is None:
            classification = None
            if data.tumours is not None:
                from oncoreg.screening.interval import classify_cancers

                classification = classify_cancers(
                    tumours=data.tumours, events=data.events, persons=data.persons
                )
            run = kpi_run(
                freeze_time=data.freeze_time,
                computed_at=datetime.now(UTC),
                episodes=episodes(events=data.events),
                classification=classification,
                persons=data.persons,
                strata=((), ("county",)),
            )
            values = run.values
            data.memo["kpi"] = values
        return values


def dashboard(*, data: ScreeningData, programme: str, kpi_id: str | None = None) -> Dashboard:
    """Indicators of ``programme``: every KPI nationally, and ``kpi_id`` (default the first) by county."""
    definitions = load_kpi_definitions().filter(pl.col("programme") == programme)
    values = _kpi_values(data).filter(pl.col("programme") == programme)
    names = definitions.select("kpi_id", "unit", "better")
    national = (
        values.filter(pl.col("stratified_by") == "")
        .join(names, on="kpi_id", how="left", suffix="_definition")
        .select(
            "kpi_id", "name", "numerator", "denominator", "value", "unit", "acceptable", "desirable", "level"
        )
    )
    ids = [str(k) for k in definitions["kpi_id"]]
    chosen = kpi_id if kpi_id in ids else (ids[0] if ids else "")
    county = (
        values.filter((pl.col("stratified_by") == "county") & (pl.col("kpi_id") == chosen))
        .select("county", "numerator", "denominator", "value", "acceptable", "desirable", "level")
        .sort("county")
    )
    return Dashboard(
        programme=programme,
        national=national.to_dicts(),
        by_county=county.to_dicts(),
        kpi_id=chosen,
        kpi_ids=ids,
        freeze_time=data.freeze_time,
    )


def county_chart(board: Dashboard) -> dict[str, Any]:
    """Vega-Lite: the chosen indicator by county, bars coloured by level, the EU levels as rules."""
    head = next((row for row in board.national if row["kpi_id"] == board.kpi_id), None)
    name = head["name"] if head else board.kpi_id
    unit = head["unit"] if head else ""
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "county", "type": "nominal", "title": "County"},
                "y": {"field": "value", "type": "quantitative", "title": unit},
                "color": {
                    "field": "level",
                    "type": "nominal",
                    "title": "Level",
                    "scale": {
                        "domain": ["desirable", "acceptable", "below acceptable", "no standard", "no data"],
                        "range": ["#1e7a46", "#d49a00", "#a52828", "#6b8fb3", "#bbbbbb"],
                    },
                },
            },
        }
    ]
    for level, colour in (("acceptable", "#d49a00"), ("desirable", "#1e7a46")):
        if head and head.get(level) is not None:
            layers.append(
                {
                    "mark": {"type": "rule", "strokeDash": [4, 3], "color": colour},
                    "encoding": {"y": {"datum": head[level]}},
                }
            )
    return {
        "title": f"{name} by county",
        "width": "container",
        "height": 280,
        "data": {"values": board.by_county},
        "layer": layers,
    }


def overdue_list(*, data: ScreeningData, as_of: date, programme: str = "", limit: int = 500) -> pl.DataFrame:
    """Overdue follow-ups on ``as_of`` (most overdue first), optionally of one programme."""
    frame = overdue_followups(events=data.events, as_of=as_of)
    if programme:
        frame = frame.filter(pl.col("programme") == programme)
    return frame.sort("days_overdue", descending=True).head(limit)


def overdue_counts(*, data: ScreeningData, as_of: date) -> pl.DataFrame:
    """Overdue follow-ups per programme and recommendation."""
    frame = overdue_followups(events=data.events, as_of=as_of)
    return frame.group_by("programme", "recommendation").len("overdue").sort("programme", "recommendation")


@dataclass(frozen=True)
class Batches:
    """Tonight's letters per programme and kind, and the summary of the nightly run."""

    as_of: date
    letters: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    stored: list[dict[str, Any]]


def batches(*, data: ScreeningData, as_of: date, stored: pl.DataFrame | None = None) -> Batches:
    """The invitation batch for ``as_of`` (needs the population register), and stored batches by month."""
    from oncoreg.screening.nightly import nightly_run

    letters: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    if data.persons is not None:
        key = ("nightly", as_of)
        with data.lock:
            run = data.memo.get(key)
            if run is None:
                run = nightly_run(persons=data.persons, events=data.events, as_of=as_of, tumours=data.tumours)
                data.memo[key] = run
        letters = (
            run.batch.group_by("programme", "letter")
            .agg(pl.len().alias("letters"), pl.col("backlog").sum().alias("backlog"))
            .sort("programme", "letter")
            .to_dicts()
        )
        summary = run.summary().to_dicts()
    stored_rows: list[dict[str, Any]] = []
    if stored is not None and stored.height:
        stored_rows = (
            stored.with_columns(pl.col("due_date").dt.strftime("%Y-%m").alias("month"))
            .group_by("month", "programme", "kind", "status")
            .len("letters")
            .sort("month", "programme", "kind", descending=[True, False, False])
            .head(60)
            .to_dicts()
        )
    return Batches(as_of=as_of, letters=letters, summary=summary, stored=stored_rows)


# ---- one person's timeline -------------------------------------------------------------------------

_CYTOLOGY = {"asc_us": "ascus", "asc_h": "asch"}
_GENOTYPES = {"hpv16_18": ["16"], "other": ["other"]}


def _hpv(day: str, result: str | None, genotype: str | None) -> dict[str, Any] | None:
    if result is None:
        return None
    positive = result in ("hpv_positive", "positive")
    event: dict[str, Any] = {"date": day, "type": "hpv", "result": "positive" if positive else "negative"}
    if positive and genotype in _GENOTYPES:
        event["genotypes"] = _GENOTYPES[genotype]
    return event


def _cytology(day: str, result: str | None) -> dict[str, Any] | None:
    if result is None or result.startswith("hpv"):
        return None
    return {"date": day, "type": "cytology", "result": _CYTOLOGY.get(result, result)}


def history_events(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Registered screening events (SCREENING_EVENTS rows) as history events of the next-action engine."""
    out: list[dict[str, Any]] = []
    for row in rows:
        day = row["date"].isoformat()
        kind, result = row["type"], row.get("result")
        events: list[dict[str, Any] | None] = []
        if kind == "invitation":
            invitation: dict[str, Any] = {"date": day, "type": "invitation"}
            if row["programme"] == "breast" and row.get("due_date") is not None:
                invitation["appointment_date"] = row["due_date"].isoformat()
            events.append(invitation)
        elif kind == "reminder":
            events.append({"date": day, "type": "reminder"})
        elif kind == "screen":
            mammogram: dict[str, Any] = {"date": day, "type": "mammogram"}
            for reader in ("reader1", "reader2"):
                if row.get(f"{reader}_score") is not None:
                    mammogram[reader] = int(row[f"{reader}_score"])
            if row.get("consensus"):
                mammogram["consensus"] = "recall" if row.get("recall") else "dismiss"
            events.append(mammogram)
        elif kind == "assessment" and result in ("normal", "benign", "dcis", "invasive"):
            events.append({"date": day, "type": "assessment", "outcome": result})
        elif kind == "sample":
            test, reflex = row.get("test"), row.get("reflex_cytology")
            if test in ("hpv", "hpv_cytology"):
                events += [_hpv(day, result, row.get("hpv_genotype")), _cytology(day, reflex)]
            else:
                events += [_cytology(day, result), _hpv(day, reflex, row.get("hpv_genotype"))]
        elif kind == "histology" and result in ("normal", "cin1", "cin2", "cin3", "ais", "cancer"):
            events.append({"date": day, "type": "histology", "result": result})
        elif kind == "fit_result":
            fit: dict[str, Any] = {"date": day, "type": "fit"}
            if result == "not_analysable":
                fit["analysable"] = False
            elif row.get("value") is not None:
                fit["value"] = float(row["value"])
            else:
                fit["above_limit" if result == "positive" else "below_limit"] = True
            events.append(fit)
        elif kind == "colonoscopy":
            events.append({"date": day, "type": "colonoscopy", "completed": True, "findings": result})
        out.extend(event for event in events if event is not None)
    return out


@dataclass(frozen=True)
class Decision:
    """The next action of one programme, or why there is none."""

    programme: str
    action: str | None
    due_date: date | None
    failsafe_date: date | None
    rule: str | None
    explanation: str


@dataclass(frozen=True)
class Timeline:
    """A person's screening events (newest first) and the next action per programme."""

    person_id: int
    as_of: date
    events: list[dict[str, Any]]
    decisions: list[Decision]


def timeline(
    *,
    data: ScreeningData,
    person_id: int,
    birth_date: date | None,
    sex: int,
    cancers: Sequence[tuple[date, str]] = (),
    death_date: date | None = None,
    emigration_date: date | None = None,
    reserved: bool = False,
    as_of: date,
) -> Timeline:
    """The person's events and, per programme, ``next_action`` on their history as of ``as_of``."""
    rows = data.events.filter(pl.col("person_id") == person_id).sort("date").to_dicts()
    last = max([as_of, *(row["date"] for row in rows)])
    decisions = []
    for programme in PROGRAMMES:
        mine = [row for row in rows if row["programme"] == programme]
        if birth_date is None:
            decisions.append(Decision(programme, None, None, None, None, "birth date unknown"))
            continue
        events = history_events(mine)
        events += [
            {"date": d.isoformat(), "type": "cancer", "icd10": code} for d, code in cancers if d <= last
        ]
        if emigration_date is not None and emigration_date <= last:
            events.append({"date": emigration_date.isoformat(), "type": "emigration"})
        if death_date is not None and death_date <= last:
            events.append({"date": death_date.isoformat(), "type": "death"})
        history = {
            "person": {
                "birth_date": birth_date.isoformat(),
                "sex": {1: "male", 2: "female"}.get(sex, "unknown"),
                "reserved": reserved,
            },
            "as_of": last.isoformat(),
            "events": events,
        }
        try:
            decision = next_action(history=parse_history(data=history), programme=programme)
        except HistoryInvalid as exc:
            decisions.append(Decision(programme, None, None, None, None, f"history not usable: {exc}"))
            continue
        decisions.append(
            Decision(
                programme,
                decision.action,
                decision.due_date,
                decision.failsafe_date,
                decision.rule,
                decision.explanation,
            )
        )
    shown = [
        {
            key: row.get(key)
            for key in (
                "date",
                "programme",
                "episode",
                "type",
                "test",
                "result",
                "recommendation",
                "due_date",
            )
        }
        for row in reversed(rows)
    ]
    return Timeline(person_id=person_id, as_of=last, events=shown, decisions=decisions)
