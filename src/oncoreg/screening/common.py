"""Situations shared by every programme: death, emigration, reservation, decline, cancer, sex.

These come before any programme state (screening.md §1.1 cancer → exit; §1.3 exclusions: previous
colorectal cancer, reservation). The cancer codes and eligible sexes are programme parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from oncoreg.screening.engine import Situation
from oncoreg.screening.history import Cancer, Death, Decline, Emigration, History

LETTER_TYPES = frozenset({"invitation", "reminder", "letter"})


def latest_of(events: Sequence[Any], kinds: tuple[type, ...]) -> Any | None:
    """The latest event of one of ``kinds`` (events are in date order), or None."""
    found = [event for event in events if isinstance(event, kinds)]
    return found[-1] if found else None


def reminders_after(history: History, day: date) -> tuple[date, ...]:
    """Dates of ``reminder`` events strictly after ``day`` (the failsafe letters already sent)."""
    return tuple(event.date for event in history.events if event.type == "reminder" and event.date > day)


def exit_situation(*, history: History, parameters: Mapping[str, Any]) -> Situation | None:
    """The situation that takes a person out of the programme, if any (checked in this order)."""
    person, events = history.person, history.events
    birth = person.birth_date

    def situation(state: str, day: date) -> Situation:
        return Situation(state=state, index_date=day, birth_date=birth)

    death = latest_of(events, (Death,))
    if death is not None:
        return situation("dead", death.date)
    prefixes = tuple(parameters["exit_icd10"])
    cancers = [e for e in events if isinstance(e, Cancer) and e.icd10.replace(".", "").startswith(prefixes)]
    if cancers:
        return situation("cancer", cancers[0].date)
    if person.sex not in parameters["sexes"]:
        return situation("not_eligible", history.as_of)
    moved = latest_of(events, (Emigration,))
    others = [e for e in events if e.type not in LETTER_TYPES]
    if not person.resident or (moved is not None and others[-1] is moved):
        return situation("emigrated", moved.date if moved is not None else history.as_of)
    if person.reserved:
        return situation("reserved", history.as_of)
    declined = latest_of(events, (Decline,))
    if declined is not None and others[-1] is declined:
        return situation("declined", declined.date)
    return None
