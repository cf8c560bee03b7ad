"""Screening programmes as versioned rule sets and the next-action engine (screening.md §0–§1).

>>> from oncoreg.screening import parse_history, next_action
>>> history = parse_history(data=json_text)
>>> next_action(history=history, programme="cervix")
NextAction(action='repeat_test', due_date=..., failsafe_date=..., rule='CX-HPV-1618-NORMAL', ...)

Rules live in ``oncoreg/screening/data`` (parameters per version in TOML, decision tables in CSV); the
history schema is documented in ``docs/screening-history-schema.md``.
"""

from __future__ import annotations

from collections.abc import Callable

from oncoreg.screening.breast import breast_situation
from oncoreg.screening.cervix import cervix_situation
from oncoreg.screening.colorectal import colorectal_situation
from oncoreg.screening.engine import NextAction, Situation, decide
from oncoreg.screening.errors import HistoryInvalid, RuleSetError
from oncoreg.screening.history import History, parse_history
from oncoreg.screening.rules import PROGRAMMES, Programme, RuleSet, load_rule_set

__all__ = [
    "PROGRAMMES",
    "History",
    "HistoryInvalid",
    "NextAction",
    "Programme",
    "RuleSet",
    "RuleSetError",
    "Situation",
    "load_rule_set",
    "next_action",
    "parse_history",
    "situation_of",
]

_SITUATIONS: dict[str, Callable[..., Situation]] = {
    "breast": breast_situation,
    "cervix": cervix_situation,
    "colorectal": colorectal_situation,
}


def situation_of(*, history: History, programme: Programme, rules: RuleSet | None = None) -> Situation:
    """Where the person stands in ``programme`` (state, index date, facts) as of ``history.as_of``."""
    rule_set = rules if rules is not None else load_rule_set(programme=programme)
    if programme not in _SITUATIONS:
        raise RuleSetError(f"programme {programme!r} is unknown; expected one of {', '.join(PROGRAMMES)}")
    return _SITUATIONS[programme](history=history, rules=rule_set)


def next_action(*, history: History, programme: Programme, rules: RuleSet | None = None) -> NextAction:
    """The recommended next step, its due date and failsafe date, the rule that fired and why.

    ``rules`` defaults to the packaged rule set of ``programme``; pass another :class:`RuleSet` to try
    a rule change. The version in force is chosen by the index date of the person's situation.
    """
    rule_set = rules if rules is not None else load_rule_set(programme=programme)
    situation = situation_of(history=history, programme=programme, rules=rule_set)
    return decide(rules=rule_set, situation=situation, as_of=history.as_of)
