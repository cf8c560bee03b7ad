"""The next-action engine: a situation (state, index date, facts) in, a decision from the rule data out.

Each programme module (:mod:`.breast`, :mod:`.cervix`, :mod:`.colorectal`) reads a history into a
:class:`Situation`; :func:`decide` looks up the decision row in force at the index date and computes

- ``due_date`` = index date + the row's ``due``;
- ``failsafe_date`` = due date + the row's ``grace`` (the programme's grace period for that step): the
  date by which something new must be registered, or the registry acts;
- past the failsafe date with nothing registered, the row's ``overdue_action`` (a reminder or letter)
  is due at the failsafe date; each further letter ``letter_every`` after the last one, at most
  ``letters_max``; when they are used up the row's ``then`` state is decided instead (e.g. a new round);
- a routine step (invite, routine screening, information letter, reminder) falling at or after the
  programme's ``exit_age`` is replaced by the ``aged_out`` state's decision (exit at the end of the round).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict

from oncoreg.screening.dates import add_duration, age_at, birthday
from oncoreg.screening.rules import DecisionRow, RuleSet

ROUTINE_ACTIONS = frozenset({"invite", "routine_screening", "information_letter", "remind"})


class NextAction(BaseModel):
    """The recommended next step for a person, the rule that fired and why."""

    model_config = ConfigDict(frozen=True)
    action: str
    due_date: date | None
    failsafe_date: date | None
    rule: str
    explanation: str


@dataclass(frozen=True)
class Situation:
    """Where a person stands: a state of the programme, the date it refers to, and the facts that matter.

    ``letters`` are the dates of reminders registered after the index date (used by failsafe).
    ``words`` fill the explanation templates (e.g. ``{genotype}``), in addition to the facts.
    """

    state: str
    index_date: date
    birth_date: date
    facts: Mapping[str, str] = field(default_factory=dict)
    letters: tuple[date, ...] = ()
    words: Mapping[str, str] = field(default_factory=dict)


class _Template(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _explain(row: DecisionRow, situation: Situation, **more: str) -> str:
    values = _Template(situation.facts)
    values.update(situation.words)
    values.update(index_date=situation.index_date.isoformat(), rule=row.rule_id, **more)
    values.setdefault("age", str(age_at(birth_date=situation.birth_date, day=situation.index_date)))
    return row.explanation.format_map(values) + f" (rule {row.rule_id})"


def _row(rules: RuleSet, situation: Situation) -> DecisionRow:
    age = age_at(birth_date=situation.birth_date, day=situation.index_date)
    return rules.find(state=situation.state, day=situation.index_date, age=age, facts=situation.facts)


def decide(*, rules: RuleSet, situation: Situation, as_of: date) -> NextAction:
    """The decision for ``situation`` as of ``as_of`` under ``rules`` (see the module docstring)."""
    row = _row(rules, situation)
    due = add_duration(situation.index_date, row.due) if row.due else None
    failsafe = add_duration(due, row.grace) if due is not None and row.grace else due
    if due is not None and row.action in ROUTINE_ACTIONS:
        exit_age = int(rules.parameters_at(due)["exit_age"])
        if due >= birthday(birth_date=situation.birth_date, age=exit_age):
            aged_out = Situation(
                state="aged_out", index_date=due, birth_date=situation.birth_date, words=situation.words
            )
            return decide(rules=rules, situation=aged_out, as_of=as_of)
    dated = {"due_date": str(due), "failsafe_date": str(failsafe)}
    base = NextAction(
        action=row.action,
        due_date=due,
        failsafe_date=failsafe,
        rule=row.rule_id,
        explanation=_explain(row, situation, **dated),
    )
    if not row.overdue_action or failsafe is None:
        return base
    letters = sorted(situation.letters)
    if not letters:
        if as_of < failsafe:
            return base
        next_letter, sent = failsafe, 0
    else:
        next_letter, sent = add_duration(letters[-1], row.letter_every), len(letters)
    if sent >= row.letters_max:
        if row.then and as_of >= next_letter:
            lapsed = Situation(
                state=row.then,
                index_date=situation.index_date,
                birth_date=situation.birth_date,
                facts=situation.facts,
                words=situation.words,
            )
            return decide(rules=rules, situation=lapsed, as_of=as_of)
        return base.model_copy(update={"failsafe_date": next_letter if row.then else None})
    if as_of < next_letter:
        return base.model_copy(update={"failsafe_date": next_letter})
    chase = (
        f"; nothing registered by {next_letter}: {row.overdue_action.replace('_', ' ')} "
        f"(letter {sent + 1} of {row.letters_max})"
    )
    return NextAction(
        action=row.overdue_action,
        due_date=next_letter,
        failsafe_date=add_duration(next_letter, row.letter_every),
        rule=row.rule_id,
        explanation=base.explanation.removesuffix(f" (rule {row.rule_id})")
        + chase
        + f" (rule {row.rule_id})",
    )
