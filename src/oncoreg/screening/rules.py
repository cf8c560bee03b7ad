"""Programme rule sets as versioned data: parameters (TOML) and decision tables (CSV) with validity dates.

Each programme has ``data/<programme>.toml`` (parameters, one ``[[versions]]`` entry per period of
validity) and ``data/<programme>_rules.csv`` (the decision table). A decision row has the fixed columns
``rule_id, valid_from, valid_to, state, age_min, age_max, action, due, grace, overdue_action,
letter_every, letters_max, then, source, explanation``; every other column is a condition on the fact of
that name (``*`` or empty = any value, ``a|b`` = either). The row in force is the **first** row, in file
order, whose validity covers the index date (screening.md §1.2: "the algorithm version is chosen by the
index sample date") and whose state, age and conditions match. Durations are ``14d``, ``6w``, ``12m``,
``5y``.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from oncoreg.screening.dates import is_duration
from oncoreg.screening.errors import RuleSetError

Programme = Literal["breast", "cervix", "colorectal"]
PROGRAMMES: tuple[Programme, ...] = ("breast", "cervix", "colorectal")
ACTIONS = frozenset(
    [
        "invite",
        "remind",
        "information_letter",
        "routine_screening",
        "repeat_test",
        "consensus_review",
        "recall_assessment",
        "refer_colposcopy",
        "refer_colonoscopy",
        "await_result",
        "exit_programme",
        "none",
    ]
)
FIXED_COLUMNS = [
    "rule_id",
    "valid_from",
    "valid_to",
    "state",
    "age_min",
    "age_max",
    "action",
    "due",
    "grace",
    "overdue_action",
    "letter_every",
    "letters_max",
    "then",
    "source",
    "explanation",
]


@dataclass(frozen=True)
class DecisionRow:
    """One row of a decision table: when it applies, what it recommends and how failsafe chases it."""

    rule_id: str
    valid_from: date
    valid_to: date
    state: str
    age_min: int
    age_max: int
    conditions: Mapping[str, frozenset[str]]
    action: str
    due: str
    grace: str
    overdue_action: str
    letter_every: str
    letters_max: int
    then: str
    source: str
    explanation: str

    def matches(self, *, state: str, day: date, age: int, facts: Mapping[str, str]) -> bool:
        """True if this row is in force on ``day`` and its state, age band and conditions match."""
        if self.state != state or not (self.valid_from <= day <= self.valid_to):
            return False
        if not (self.age_min <= age <= self.age_max):
            return False
        return all(facts.get(name, "none") in allowed for name, allowed in self.conditions.items())


@dataclass(frozen=True)
class Version:
    """A parameter set of a programme and the dates it is in force."""

    version_id: str
    valid_from: date
    valid_to: date
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class RuleSet:
    """A programme's versioned parameters, its decision table and unversioned lookup tables."""

    programme: Programme
    versions: tuple[Version, ...]
    rows: tuple[DecisionRow, ...]
    tables: Mapping[str, Any]

    def parameters_at(self, day: date) -> Mapping[str, Any]:
        """The parameters of the version in force on ``day`` (the earliest version before it starts)."""
        for version in self.versions:
            if version.valid_from <= day <= version.valid_to:
                return version.parameters
        return (
            self.versions[0].parameters if day < self.versions[0].valid_from else self.versions[-1].parameters
        )

    @property
    def start(self) -> date:
        """The date the programme's first version comes into force."""
        return self.versions[0].valid_from

    def find(self, *, state: str, day: date, age: int, facts: Mapping[str, str]) -> DecisionRow:
        """The first row in force on ``day`` matching the situation; :class:`RuleSetError` if none."""
        for row in self.rows:
            if row.matches(state=state, day=day, age=age, facts=facts):
                return row
        shown = ", ".join(f"{k}={v}" for k, v in sorted(facts.items()))
        raise RuleSetError(
            f"no {self.programme} rule for state {state!r} (age {age}{', ' + shown if shown else ''}) "
            f"in force at {day}",
            programme=self.programme,
        )


def _date(text: str, *, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RuleSetError(f"{where}: {text!r} is not a date YYYY-MM-DD") from None


def _row(raw: Mapping[str, str], *, programme: Programme, line: int) -> DecisionRow:
    where = f"{programme}_rules.csv line {line}"
    rule_id = raw["rule_id"].strip()
    action = raw["action"].strip()
    if action not in ACTIONS:
        raise RuleSetError(f"{where} rule {rule_id}: action {action!r} is unknown", rule=rule_id)
    overdue = raw["overdue_action"].strip()
    if overdue and overdue not in ACTIONS:
        raise RuleSetError(f"{where} rule {rule_id}: overdue_action {overdue!r} is unknown", rule=rule_id)
    for column in ("due", "grace", "letter_every"):
        value = raw[column].strip()
        if value and not is_duration(value):
            raise RuleSetError(f"{where} rule {rule_id}: {column} {value!r} is not a duration", rule=rule_id)
    conditions = {
        name: frozenset(part.strip() for part in value.split("|"))
        for name, value in raw.items()
        if name not in FIXED_COLUMNS and value.strip() not in ("", "*")
    }
    return DecisionRow(
        rule_id=rule_id,
        valid_from=_date(raw["valid_from"], where=where),
        valid_to=_date(raw["valid_to"], where=where),
        state=raw["state"].strip(),
        age_min=int(raw["age_min"] or 0),
        age_max=int(raw["age_max"] or 200),
        conditions=conditions,
        action=action,
        due=raw["due"].strip(),
        grace=raw["grace"].strip(),
        overdue_action=overdue,
        letter_every=raw["letter_every"].strip(),
        letters_max=int(raw["letters_max"] or 0),
        then=raw["then"].strip(),
        source=raw["source"].strip(),
        explanation=raw["explanation"].strip(),
    )


@lru_cache(maxsize=8)
def load_rule_set(*, programme: Programme) -> RuleSet:
    """Read the packaged rule set of ``programme`` (breast, cervix or colorectal)."""
    if programme not in PROGRAMMES:
        raise RuleSetError(f"programme {programme!r} is unknown; expected one of {', '.join(PROGRAMMES)}")
    folder = resources.files("oncoreg.screening") / "data"
    settings = tomllib.loads((folder / f"{programme}.toml").read_text(encoding="utf-8"))
    versions = tuple(
        Version(
            version_id=str(entry["id"]),
            valid_from=entry["valid_from"],
            valid_to=entry["valid_to"],
            parameters={k: v for k, v in entry.items() if k not in ("id", "valid_from", "valid_to")},
        )
        for entry in settings["versions"]
    )
    with (folder / f"{programme}_rules.csv").open("r", encoding="utf-8") as handle:
        reader = csv.DictReader(line for line in handle if not line.startswith("#"))
        missing = [c for c in FIXED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RuleSetError(f"{programme}_rules.csv lacks columns {', '.join(missing)}")
        rows = tuple(_row(raw, programme=programme, line=n) for n, raw in enumerate(reader, start=2))
    seen: set[str] = set()
    for row in rows:
        if row.rule_id in seen:
            raise RuleSetError(f"{programme}_rules.csv: rule_id {row.rule_id} is repeated", rule=row.rule_id)
        seen.add(row.rule_id)
    tables = {k: v for k, v in settings.items() if isinstance(v, dict)}
    return RuleSet(programme=programme, versions=versions, rows=rows, tables=tables)
