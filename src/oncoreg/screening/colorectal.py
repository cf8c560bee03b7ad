"""ColorectalScreen Norway (screening.md §1.3): a person's history → situation in the programme.

States (index date in brackets), decided by ``data/colorectal_rules.csv``:

- ``not_target`` (born before the first cohort, 1967); ``not_invited`` (1 January of the year of turning
  55, or the programme start): first invitation;
- ``invited`` (letter date): kit about 2 weeks later, reminder about 6 weeks later; ``lapsed`` after the
  reminder's wait: new kit two years later, or exit when the rounds are used up;
- ``fit_positive`` (value ≥ the cut-off in force at the sample date, or above the upper limit):
  refer to colonoscopy; ``fit_negative`` (below the cut-off or the lower limit): next round two years
  after the round's invitation, or exit after ``max_rounds``; ``fit_not_analysable``: repeat test;
- ``colonoscopy_done`` (a completed colonoscopy after a positive FIT): exit; ``colonoscopy_incomplete``;
- plus the states of :mod:`.common` and ``aged_out`` (no round at 65 or later).

Facts: ``rounds_left`` = yes/no (rounds = invitations registered, at least one if a FIT is registered).
"""

from __future__ import annotations

from datetime import date

from oncoreg.screening.common import exit_situation, latest_of, reminders_after
from oncoreg.screening.engine import Situation
from oncoreg.screening.history import Colonoscopy, Fit, History, Invitation
from oncoreg.screening.rules import RuleSet


def fit_result(*, fit: Fit, cutoff: float) -> str:
    """positive / negative / not_analysable for a FIT under ``cutoff`` µg Hb/g (≥ cut-off: positive, §1.3)."""
    if not fit.analysable:
        return "not_analysable"
    if fit.above_limit:
        return "positive"
    if fit.below_limit or fit.value is None:
        return "negative"
    return "positive" if fit.value >= cutoff else "negative"


def _fit_text(fit: Fit) -> str:
    if fit.above_limit:
        return "above the upper quantitation limit"
    if fit.below_limit:
        return "below the lower quantitation limit"
    if fit.value is None:
        return "not analysable"
    return f"{fit.value:g} ug Hb/g"


def colorectal_situation(*, history: History, rules: RuleSet) -> Situation:
    """Where a person stands in ColorectalScreen Norway as of ``history.as_of`` (states: module docstring)."""
    parameters = rules.parameters_at(history.as_of)
    leaving = exit_situation(history=history, parameters=parameters)
    if leaving is not None:
        return leaving
    events, birth = history.events, history.person.birth_date
    invitations = [e for e in events if isinstance(e, Invitation)]
    fits = [e for e in events if isinstance(e, Fit)]
    rounds = max(len(invitations), 1 if fits else 0)
    max_rounds = int(parameters["max_rounds"])
    words = {
        "round": str(rounds),
        "max_rounds": str(max_rounds),
        "first_cohort": str(parameters["first_cohort"]),
    }
    facts = {"rounds_left": "yes" if rounds < max_rounds else "no"}

    def at(state: str, day: date, **more: str) -> Situation:
        return Situation(
            state=state,
            index_date=day,
            birth_date=birth,
            facts=facts,
            letters=reminders_after(history, day),
            words={**words, **more},
        )

    if birth.year < int(parameters["first_cohort"]):
        return at("not_target", history.as_of)
    colonoscopy = latest_of(events, (Colonoscopy,))
    invitation = invitations[-1] if invitations else None
    fit = fits[-1] if fits else None
    if colonoscopy is not None and (fit is None or colonoscopy.date >= fit.date):
        positive_before = any(
            fit_result(fit=f, cutoff=float(rules.parameters_at(f.date)["fit_cutoff_ug_per_g"])) == "positive"
            for f in fits
            if f.date <= colonoscopy.date
        )
        if positive_before:
            return at(
                "colonoscopy_done" if colonoscopy.completed else "colonoscopy_incomplete", colonoscopy.date
            )
    if invitation is not None and (fit is None or invitation.date > fit.date):
        return at("invited", invitation.date)
    if fit is None:
        year = birth.year + int(parameters["entry_age"])
        return at("not_invited", max(date(year, 1, 1), rules.start))
    cutoff = float(rules.parameters_at(fit.date)["fit_cutoff_ug_per_g"])
    result = fit_result(fit=fit, cutoff=cutoff)
    text = {"fit": _fit_text(fit), "cutoff": f"{cutoff:g}", "fit_date": fit.date.isoformat()}
    if result == "negative":
        round_date = invitation.date if invitation is not None else fit.date
        return at("fit_negative", round_date, round_date=round_date.isoformat(), **text)
    return at(f"fit_{result}", fit.date, **text)
