"""``contradictions`` evaluates the rules only on the pairs whose birth date and sex can meet one, and
normalises each distinct name once: it must give exactly what evaluating every rule on every pair gives
(the reference below is the former implementation), for the packaged rules and for rules that fire on
equal values, with nulls, duplicates, equal and unequal names."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest

from oncoreg.linkage.deterministic import (
    ContradictionRule,
    _rule_condition,
    contradiction_rules,
    contradictions,
)
from oncoreg.linkage.records import normalise_name


def _every_pair(pairs: pl.DataFrame, rules: tuple[ContradictionRule, ...]) -> list[str | None]:
    """The former implementation: every pair normalised and put through the rules in DuckDB (no rules:
    nothing fires; the former code raised a syntax error there)."""
    if not rules:
        return [None] * pairs.height
    view = pairs.with_row_index("_row").select(
        "_row",
        normalise_name(pl.col("given_first_name")).alias("n_first"),
        normalise_name(pl.col("given_last_name")).alias("n_last"),
        pl.col("given_birth_date").alias("n_birth"),
        pl.col("given_sex").cast(pl.Int32).alias("n_sex"),
        normalise_name(pl.col("first_name")).alias("p_first"),
        normalise_name(pl.col("last_name")).alias("p_last"),
        pl.col("birth_date").alias("p_birth"),
        pl.col("sex").cast(pl.Int32).alias("p_sex"),
    )
    cases = " ".join(f"WHEN {_rule_condition(rule)} THEN '{rule.rule_id}'" for rule in rules)
    connection = duckdb.connect()
    try:
        connection.register("view", view.to_arrow())
        rows = connection.sql(f"SELECT CASE {cases} ELSE NULL END FROM view ORDER BY _row").fetchall()
    finally:
        connection.close()
    return [row[0] for row in rows]


def _rule(
    rule_id: str,
    *,
    birth: bool | None = None,
    sex: bool | None = None,
    last: float | None = None,
    first: float | None = None,
) -> ContradictionRule:
    return ContradictionRule(rule_id, 1, birth, last, first, sex, rule_id)


RULE_SETS = {
    "packaged": contradiction_rules(),
    # fire on equal values: same birth date, any sex, names "below" 1.01 (always)
    "equal_values": (_rule("same_birth", birth=False, last=1.01), *contradiction_rules()),
    "names_only": (_rule("first_name_only", first=0.9), _rule("sex_same", sex=False, last=0.95)),
    "no_condition": (_rule("empty"), _rule("sex_differs", sex=True)),
    "none": (),
}


def _pairs(seed: int, n: int = 400) -> pl.DataFrame:
    """Small value sets (many equal values, duplicates) with nulls and spelling variants in every column."""
    rng = np.random.default_rng(seed)
    firsts = ["Kari", "Karí", "Cathrine", "Katrine", "Jon", "John", "Ås", "", "  ", None]
    lasts = ["Hansen", "Hanssen", "Berg", "Kristoffersen", "Ødegård", "Oedegaard", "--", None]
    births = [date(1962, 7, 1), date(1962, 7, 2), date(1975, 1, 1), None]
    sexes = [1, 2, None]

    def pick(values: list, size: int) -> list:  # type: ignore[type-arg]
        return [values[i] for i in rng.integers(0, len(values), size)]

    return pl.DataFrame(
        {
            "given_first_name": pick(firsts, n),
            "given_last_name": pick(lasts, n),
            "given_birth_date": pick(births, n),
            "given_sex": pick(sexes, n),
            "first_name": pick(firsts, n),
            "last_name": pick(lasts, n),
            "birth_date": pick(births, n),
            "sex": pick(sexes, n),
            "notification_id": range(n),
        },
        schema_overrides={"given_sex": pl.Int8, "sex": pl.Int8},
    )


@pytest.mark.parametrize("rules", list(RULE_SETS), ids=list(RULE_SETS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_as_every_pair(rules: str, seed: int) -> None:
    pairs = _pairs(seed)
    expected = _every_pair(pairs, RULE_SETS[rules])
    out = contradictions(pairs, rules=RULE_SETS[rules])
    assert out["contradiction"].dtype == pl.String
    assert out["contradiction"].to_list() == expected
    assert out.drop("contradiction").equals(pairs)
    if rules == "equal_values":
        assert "same_birth" in expected  # the guard is exercised: a rule firing on equal birth dates


def test_equal_pairs_are_not_compared_but_still_fire_a_rule_for_equal_values() -> None:
    row = {
        "given_first_name": "Kari",
        "given_last_name": "Berg",
        "given_birth_date": date(1962, 7, 1),
        "given_sex": 2,
        "first_name": "Kari",
        "last_name": "Berg",
        "birth_date": date(1962, 7, 1),
        "sex": 2,
    }
    pairs = pl.DataFrame([row, row])
    assert contradictions(pairs)["contradiction"].to_list() == [None, None]
    fired = contradictions(pairs, rules=RULE_SETS["equal_values"])["contradiction"].to_list()
    assert fired == ["same_birth", "same_birth"]


def test_no_pairs() -> None:
    pairs = _pairs(1).head(0)
    out = contradictions(pairs)
    assert out.height == 0
    assert out["contradiction"].dtype == pl.String
