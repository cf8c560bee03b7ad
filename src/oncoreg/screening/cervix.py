"""CervicalScreen Norway (screening.md §1.2): a woman's history → her situation in the programme.

The index event is the latest sample (cytology and/or HPV results on the same date form one sample) or
the latest histology if it is later. The parameters and rows in force are those of the index sample
date. States, decided by ``data/cervix_rules.csv``:

- ``information_letter`` (25th birthday; no sample, younger than 26): information letter (since 2005);
- ``never_screened`` (25th birthday or programme start): first sample, reminders from 26;
- ``histology`` (histology date) with fact ``histology``;
- ``sample`` (sample date) with facts:

  - ``kind``: ``control`` if a positive cytology, HPV test or relevant histology (CIN1+) lies within
    ``control_lookback_years`` before the sample (2 years, 3 from November 2020), else ``screening``;
  - ``arm``: ``hpv`` or ``cytology``: the programme's primary test for the age at the sample date;
    where it is ``lab`` (roll-out per laboratory), or the primary test is missing, the test done decides;
  - ``hpv``: ``none``, ``negative`` or the genotype group: standard chart ``hpv16_18`` / ``other``;
    extended chart (``extended_chart`` in force and the lab genotypes extended) ``hpv16`` / ``medium`` /
    ``non_urgent`` / ``other`` (highest priority group of the genotypes; no genotype → ``other`` [U]);
  - ``cytology``: ``none``, ``normal``, ``low`` (ASC-US, LSIL), ``high`` (ASC-H, HSIL, AGC, AIS, SCC),
    ``unsatisfactory``;
  - ``prior_low_grade``: consecutive low-grade smears just before (``0``, ``1``, ``2+``);
  - ``hpv_history``: ``only_negative`` if the previous 5 years hold HPV tests, all negative, and no
    abnormal cytology, else ``other`` (the HPV16 exception of the 2024 chart).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from oncoreg.screening.common import exit_situation, reminders_after
from oncoreg.screening.dates import add_months, age_at, birthday
from oncoreg.screening.engine import Situation
from oncoreg.screening.history import Cytology, Histology, History, Hpv, Letter
from oncoreg.screening.rules import RuleSet

LOW_GRADE = frozenset({"ascus", "lsil"})
HIGH_GRADE = frozenset({"asch", "hsil", "agc", "ais", "scc"})
_CYTOLOGY_TEXT = {
    "normal": "normal",
    "ascus": "ASC-US",
    "lsil": "LSIL",
    "asch": "ASC-H",
    "hsil": "HSIL",
    "agc": "AGC",
    "ais": "AIS",
    "scc": "squamous cell carcinoma",
    "unsatisfactory": "unsatisfactory",
}


def cytology_group(result: str | None) -> str:
    """none / normal / low / high / unsatisfactory for a cytology result (§1.2 triage groups)."""
    if result is None:
        return "none"
    if result in LOW_GRADE:
        return "low"
    if result in HIGH_GRADE:
        return "high"
    return result


def genotype_group(*, hpv: Hpv | None, extended_chart: bool, groups: Mapping[str, Any]) -> str:
    """The HPV fact of a sample: none, negative or its genotype group under the chart in force (§1.2)."""
    if hpv is None:
        return "none"
    if hpv.result == "negative":
        return "negative"
    types = set(hpv.genotypes)
    if extended_chart and hpv.lab_genotyping == "extended":
        for name in ("hpv16", "medium"):
            if types & set(groups[f"extended_{name}"]):
                return name
        known = types - {"other"}
        if known and known <= set(groups["extended_non_urgent"]) and "other" not in types:
            return "non_urgent"
        return "other"
    return "hpv16_18" if types & set(groups["standard_hpv16_18"]) else "other"


def _positive(event: Cytology | Hpv | Histology) -> bool:
    if isinstance(event, Cytology):
        return event.result in LOW_GRADE | HIGH_GRADE
    if isinstance(event, Hpv):
        return event.result == "positive"
    return event.result != "normal"


def _primary_test(parameters: Mapping[str, Any], age: int) -> str:
    for band in parameters["primary_test"]:
        if int(band["age_min"]) <= age <= int(band["age_max"]):
            return str(band["test"])
    return "lab"


def _hpv_history(history: History, day: date) -> str:
    since = add_months(day, -60)
    earlier = [e for e in history.events if since <= e.date < day]
    tests = [e for e in earlier if isinstance(e, Hpv)]
    abnormal = any(isinstance(e, Cytology) and e.result in LOW_GRADE | HIGH_GRADE for e in earlier)
    return (
        "only_negative" if tests and not abnormal and all(t.result == "negative" for t in tests) else "other"
    )


def _prior_low_grade(history: History, day: date) -> str:
    run = 0
    for event in reversed([e for e in history.events if isinstance(e, Cytology) and e.date < day]):
        if event.result not in LOW_GRADE:
            break
        run += 1
    return "2+" if run >= 2 else str(run)


def cervix_situation(*, history: History, rules: RuleSet) -> Situation:
    """Where a woman stands in CervicalScreen Norway as of ``history.as_of`` (states: module docstring)."""
    leaving = exit_situation(history=history, parameters=rules.parameters_at(history.as_of))
    if leaving is not None:
        return leaving
    events, birth = history.events, history.person.birth_date
    samples = [e for e in events if isinstance(e, Cytology | Hpv)]
    histology = [e for e in events if isinstance(e, Histology)]
    if histology and (not samples or histology[-1].date >= samples[-1].date):
        last = histology[-1]
        return Situation(
            state="histology",
            index_date=last.date,
            birth_date=birth,
            facts={"histology": last.result},
            letters=reminders_after(history, last.date),
            words={"histology": last.result.upper()},
        )
    if not samples:
        return _no_sample(history=history, rules=rules)
    day = samples[-1].date
    cytology = next((e for e in reversed(samples) if e.date == day and isinstance(e, Cytology)), None)
    hpv = next((e for e in reversed(samples) if e.date == day and isinstance(e, Hpv)), None)
    parameters = rules.parameters_at(day)
    age = age_at(birth_date=birth, day=day)
    lookback = add_months(day, -12 * int(parameters["control_lookback_years"]))
    earlier = [e for e in events if isinstance(e, Cytology | Hpv | Histology) and lookback <= e.date < day]
    primary = _primary_test(parameters, age)
    hpv_fact = genotype_group(
        hpv=hpv, extended_chart=bool(parameters["extended_chart"]), groups=rules.tables["genotype_groups"]
    )
    arm = "hpv" if hpv is not None and (primary in ("hpv", "lab") or cytology is None) else "cytology"
    facts = {
        "kind": "control" if any(_positive(e) for e in earlier) else "screening",
        "arm": arm,
        "hpv": hpv_fact,
        "cytology": cytology_group(cytology.result if cytology is not None else None),
        "prior_low_grade": _prior_low_grade(history, day),
        "hpv_history": _hpv_history(history, day),
    }
    genotype_text = "HPV " + "/".join(hpv.genotypes) if hpv is not None and hpv.genotypes else "hrHPV"
    words = {
        "genotype_text": genotype_text,
        "cytology_text": _CYTOLOGY_TEXT[cytology.result] if cytology is not None else "no",
        "age": str(age),
    }
    return Situation(
        state="sample",
        index_date=day,
        birth_date=birth,
        facts=facts,
        letters=reminders_after(history, day),
        words=words,
    )


def _no_sample(*, history: History, rules: RuleSet) -> Situation:
    birth = history.person.birth_date
    entry_age = int(rules.parameters_at(history.as_of)["entry_age"])
    day25 = max(birthday(birth_date=birth, age=entry_age), rules.start)
    informed = any(isinstance(e, Letter) and e.date >= add_months(day25, -3) for e in history.events)
    young = age_at(birth_date=birth, day=history.as_of) <= entry_age
    state = "information_letter" if young and not informed else "never_screened"
    return Situation(state=state, index_date=day25, birth_date=birth, letters=reminders_after(history, day25))
