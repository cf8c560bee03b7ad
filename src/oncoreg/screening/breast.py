"""BreastScreen Norway (screening.md §1.1): a woman's history → her situation in the programme.

States (index date in brackets), decided by ``data/breast_rules.csv``:

- ``not_invited`` (50th birthday, or the programme start): first invitation;
- ``invited`` (appointment: ``appointment_date`` or the letter date + a parameter): attend; a new offer
  letter ('nytt tilbud') if no attendance is registered by the failsafe date; ``lapsed`` when she has not
  booked within four months of it (next invitation two years after the previous one);
- ``attended`` / ``awaiting_reading`` (attendance / mammogram without both reader scores): await result;
- ``needs_consensus`` (either reader score ≥ ``consensus_min_score``): consensus meeting;
- ``consensus_recall``: further assessment; ``screen_negative`` (both scores below the threshold, or
  consensus dismissed): next invitation two years after the screen;
- ``assessment_negative`` (normal/benign) → next invitation; ``assessment_cancer`` (DCIS/invasive) → exit;
- plus the states of :mod:`.common` and ``aged_out`` (no round at 70 or later).
"""

from __future__ import annotations

from datetime import date, timedelta

from oncoreg.screening.common import exit_situation, latest_of, reminders_after
from oncoreg.screening.dates import birthday
from oncoreg.screening.engine import Situation
from oncoreg.screening.history import Assessment, Attendance, History, Invitation, Mammogram
from oncoreg.screening.rules import RuleSet


def _at(history: History, state: str, day: date, **words: str) -> Situation:
    return Situation(
        state=state,
        index_date=day,
        birth_date=history.person.birth_date,
        letters=reminders_after(history, day),
        words=words,
    )


def breast_situation(*, history: History, rules: RuleSet) -> Situation:
    """Where a woman stands in BreastScreen Norway as of ``history.as_of`` (states: module docstring)."""
    leaving = exit_situation(history=history, parameters=rules.parameters_at(history.as_of))
    if leaving is not None:
        return leaving
    events, birth = history.events, history.person.birth_date
    mammogram = latest_of(events, (Mammogram,))
    invitation = latest_of(events, (Invitation,))
    attendance = latest_of(events, (Attendance,))
    screen_day = mammogram.date if mammogram is not None else None
    if invitation is not None and (screen_day is None or invitation.date > screen_day):
        if attendance is not None and attendance.date >= invitation.date:
            return _at(history, "attended", attendance.date)
        lead = int(rules.parameters_at(invitation.date)["appointment_after_letter_days"])
        appointment = invitation.appointment_date or invitation.date + timedelta(days=lead)
        return _at(history, "invited", appointment)
    if attendance is not None and (screen_day is None or attendance.date > screen_day):
        return _at(history, "attended", attendance.date)
    if mammogram is None:
        entry_age = int(rules.parameters_at(history.as_of)["entry_age"])
        return _at(history, "not_invited", max(birthday(birth_date=birth, age=entry_age), rules.start))
    return _after_screen(history=history, mammogram=mammogram, rules=rules)


def _after_screen(*, history: History, mammogram: Mammogram, rules: RuleSet) -> Situation:
    assessment = latest_of([e for e in history.events if e.date >= mammogram.date], (Assessment,))
    scores = {"reader1": str(mammogram.reader1), "reader2": str(mammogram.reader2)}
    if assessment is not None:
        if assessment.outcome in ("dcis", "invasive"):
            return _at(history, "assessment_cancer", assessment.date, outcome=assessment.outcome)
        return _at(history, "assessment_negative", mammogram.date, outcome=assessment.outcome)
    if mammogram.consensus == "recall":
        return _at(history, "consensus_recall", mammogram.date, **scores)
    if mammogram.consensus == "dismiss":
        return _at(history, "screen_negative", mammogram.date, reading="dismissed at consensus", **scores)
    if mammogram.reader1 is None or mammogram.reader2 is None:
        return _at(history, "awaiting_reading", mammogram.date, **scores)
    threshold = int(rules.parameters_at(mammogram.date)["consensus_min_score"])
    if max(mammogram.reader1, mammogram.reader2) >= threshold:
        return _at(history, "needs_consensus", mammogram.date, threshold=str(threshold), **scores)
    reading = f"reader scores {mammogram.reader1}/{mammogram.reader2}, both below {threshold}"
    return _at(history, "screen_negative", mammogram.date, reading=reading, **scores)
