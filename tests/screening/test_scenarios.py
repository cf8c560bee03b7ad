"""Scenario tests: each programme's algorithm walked through realistic histories (screening.md §6).

Cases live in ``tests/data/screening/*_scenarios.json`` (README there); each was written from the rules of
screening.md §1.1–§1.3 and asserts the action, due date, failsafe date and the rule that fired.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oncoreg.screening import next_action, parse_history

DATA = Path(__file__).parents[1] / "data" / "screening"
CASES = [case for path in sorted(DATA.glob("*_scenarios.json")) for case in json.loads(path.read_text())]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_scenario(case: dict[str, Any]) -> None:
    history = parse_history(data={k: case[k] for k in ("person", "as_of", "events")})
    decision = next_action(history=history, programme=case["programme"])
    got = decision.model_dump(mode="json")
    expected = case["expect"]
    assert {key: got[key] for key in expected} == expected, decision.explanation
    assert f"(rule {expected['rule']})" in decision.explanation


def test_every_programme_has_scenarios() -> None:
    assert {case["programme"] for case in CASES} == {"breast", "cervix", "colorectal"}
