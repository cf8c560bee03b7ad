"""A person's screening history (HISTORY.json) as validated pydantic models.

Schema: ``docs/screening-history-schema.md``. Validation happens once, here; every problem of a
history is reported at once as a :class:`~oncoreg.screening.errors.HistoryInvalid` whose lines name the
field (``events[2].reader1``), the value and the rule broken.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from oncoreg.errors import Problem
from oncoreg.screening.errors import HistoryInvalid

_STRICT = ConfigDict(extra="forbid", frozen=True)
Score = Annotated[int, Field(ge=1, le=5)]


class Person(BaseModel):
    """The person: birth date, sex (female/male/unknown or 2/1/9), residence and reservation."""

    model_config = _STRICT
    birth_date: date
    sex: Literal["female", "male", "unknown"]
    resident: bool = True
    reserved: bool = Field(False, description="Has asked for no more invitations or reminders.")

    @field_validator("sex", mode="before")
    @classmethod
    def _sex_codes(cls, value: object) -> object:
        codes = {"1": "male", "2": "female", "9": "unknown", "m": "male", "f": "female", "k": "female"}
        text = str(value).strip().lower()
        return codes.get(text, text)


class _Event(BaseModel):
    model_config = _STRICT
    date: date


class Invitation(_Event):
    type: Literal["invitation"]
    appointment_date: date | None = None


class Reminder(_Event):
    type: Literal["reminder"]


class Letter(_Event):
    type: Literal["letter"]
    kind: str | None = None


class Attendance(_Event):
    type: Literal["attendance"]


class Mammogram(_Event):
    type: Literal["mammogram"]
    reader1: Score | None = None
    reader2: Score | None = None
    consensus: Literal["recall", "dismiss"] | None = None


class Assessment(_Event):
    type: Literal["assessment"]
    outcome: Literal["normal", "benign", "dcis", "invasive"]


class Cytology(_Event):
    type: Literal["cytology"]
    result: Literal["normal", "ascus", "lsil", "asch", "hsil", "agc", "ais", "scc", "unsatisfactory"]


class Hpv(_Event):
    type: Literal["hpv"]
    result: Literal["negative", "positive"]
    genotypes: list[str] = Field(default_factory=list)
    lab_genotyping: Literal["extended", "standard"] = "standard"

    @field_validator("genotypes", mode="after")
    @classmethod
    def _genotype_names(cls, value: list[str]) -> list[str]:
        return [g.strip().lower().removeprefix("hpv") for g in value]


class Histology(_Event):
    type: Literal["histology"]
    result: Literal["normal", "cin1", "cin2", "cin3", "ais", "cancer"]


class Fit(_Event):
    type: Literal["fit"]
    value: float | None = Field(None, ge=0)
    below_limit: bool = False
    above_limit: bool = False
    analysable: bool = True

    @model_validator(mode="after")
    def _one_reading(self) -> Fit:
        if self.analysable and self.value is None and not (self.below_limit or self.above_limit):
            raise ValueError("an analysable FIT needs value, below_limit or above_limit")
        if self.below_limit and self.above_limit:
            raise ValueError("below_limit and above_limit cannot both be true")
        return self


class Colonoscopy(_Event):
    type: Literal["colonoscopy"]
    completed: bool = True
    findings: str | list[str] | None = None


class Cancer(_Event):
    type: Literal["cancer"]
    icd10: str = Field(pattern=r"^[A-Z]\d{2}(\.?\d{0,2})?$")


class Decline(_Event):
    type: Literal["decline"]


class Emigration(_Event):
    type: Literal["emigration"]


class Death(_Event):
    type: Literal["death"]


Event = Annotated[
    Invitation
    | Reminder
    | Letter
    | Attendance
    | Mammogram
    | Assessment
    | Cytology
    | Hpv
    | Histology
    | Fit
    | Colonoscopy
    | Cancer
    | Decline
    | Emigration
    | Death,
    Field(discriminator="type"),
]
EVENT_TYPES = [
    "invitation",
    "reminder",
    "letter",
    "attendance",
    "mammogram",
    "assessment",
    "cytology",
    "hpv",
    "histology",
    "fit",
    "colonoscopy",
    "cancer",
    "decline",
    "emigration",
    "death",
]


class History(BaseModel):
    """One person's history as of a date; events are kept in date order (stable for equal dates)."""

    model_config = _STRICT
    person: Person
    as_of: date
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates_in_order(self) -> History:
        for number, event in enumerate(self.events):
            if event.date > self.as_of:
                raise ValueError(f"events[{number}].date {event.date} is after as_of {self.as_of}")
            if event.date < self.person.birth_date:
                raise ValueError(f"events[{number}].date {event.date} is before birth_date")
        ordered = sorted(self.events, key=lambda event: event.date)
        object.__setattr__(self, "events", ordered)
        return self


def _where(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in EVENT_TYPES or part.startswith("function-"):
            continue  # pydantic's union branch names add nothing for the reader
        else:
            text += f".{part}" if text else part
    return text or "history"


def _problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        value: Any = error.get("input")
        if error["type"] == "union_tag_invalid":
            value = error.get("ctx", {}).get("tag", value)
            text = f"unknown event type; expected one of {', '.join(EVENT_TYPES)}"
        else:
            text = error["msg"].removeprefix("Value error, ")
        shown = value if isinstance(value, str | int | float | bool) or value is None else "..."
        problems.append(Problem(field=_where(error["loc"]), value=str(shown), rule=error["type"], text=text))
    return problems


def parse_history(*, data: Mapping[str, Any] | str | bytes) -> History:
    """Validate a history (a mapping or JSON text); raise :class:`HistoryInvalid` naming every problem."""
    try:
        if isinstance(data, str | bytes):
            return History.model_validate_json(data)
        return History.model_validate(data)
    except ValidationError as exc:
        raise HistoryInvalid(_problems(exc)) from None
    except json.JSONDecodeError as exc:  # pragma: no cover - pydantic reports JSON errors itself
        raise HistoryInvalid([Problem(field="history", value="", rule="json", text=str(exc))]) from None
