"""Only persons a blocking rule can pair go to DuckDB: the scores are the same as with every person."""

from __future__ import annotations

import polars as pl
import pytest
from linkage_synthetic import Synthetic

from oncoreg.config import load_settings
from oncoreg.linkage import LinkageModel, probabilistic
from oncoreg.linkage.records import comparison_records


def _records(frame: pl.DataFrame, *, persons: bool) -> pl.DataFrame:
    prefix = "" if persons else "given_"
    return comparison_records(
        frame,
        unique_id=pl.col("person_id" if persons else "notification_id"),
        first_name=f"{prefix}first_name",
        last_name=f"{prefix}last_name",
        birth_date=f"{prefix}birth_date",
        sex=f"{prefix}sex",
        municipality=f"{prefix}municipality",
        identifier=pl.col("identifier" if persons else "given_identifier").cast(pl.String),
    )


def test_scores_equal_those_over_every_person(
    synthetic: Synthetic, model: LinkageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    persons = _records(synthetic.persons, persons=True)
    notifications = _records(synthetic.notifications, persons=False)
    floor = load_settings().linkage_review_threshold
    rules = model.with_prior(prior=0.5, link_type="link_only")["blocking_rules_to_generate_predictions"]
    kept = probabilistic.blockable(persons, notifications.head(200), rules=rules)
    assert 0 < kept.height < persons.height  # the filter does drop persons here

    filtered = probabilistic.score_pairs(
        person_records=persons, notification_records=notifications.head(200), model=model, floor=floor
    )
    monkeypatch.setattr(probabilistic, "blockable", lambda records, others, rules: records)
    everything = probabilistic.score_pairs(
        person_records=persons, notification_records=notifications.head(200), model=model, floor=floor
    )
    assert filtered.height > 0
    assert filtered.equals(everything)


def test_a_person_paired_only_by_transposed_day_and_month_is_kept() -> None:
    columns = ["first_name", "last_name", "birth_year", "birth_month", "birth_day"]
    person = pl.DataFrame([["ola", "nordmann", 1950, 3, 7]], schema=columns, orient="row")
    notification = pl.DataFrame([["ola", "nordmann", 1950, 7, 3]], schema=columns, orient="row")
    rule = (
        "l.first_name = r.first_name AND l.last_name = r.last_name AND l.birth_year = r.birth_year "
        "AND l.birth_month = r.birth_day AND l.birth_day = r.birth_month"
    )
    assert probabilistic.blockable(person, notification, rules=[rule]).height == 1
    unpaired = rule.replace("r.birth_day", "r.birth_year")
    assert probabilistic.blockable(person, notification, rules=[unpaired]).height == 0
    # a null key pairs nothing, an unparsed rule keeps everyone
    nulled = person.with_columns(pl.lit(None, pl.String).alias("first_name"))
    assert probabilistic.blockable(nulled, notification, rules=[rule]).height == 0
    assert probabilistic.blockable(nulled, notification, rules=["levenshtein(l.a, r.a) < 2"]).height == 1
