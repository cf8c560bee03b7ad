"""Rule family ``dates``: birth <= incidence <= day of checking, incidence <= death, and age against dates.

* ``date-birth-incidence``: incidence before birth is invalid;
* ``date-incidence-future`` / ``date-birth-future``: a date after the check date ``on`` is invalid;
* ``date-incidence-death``: incidence after death is invalid (only when ``death_date`` is given);
* ``age-range``: a stated age outside 0-``age_max`` that is not the unknown code (``data/params.toml``);
* ``age-dates``: the stated age must equal the completed years ``year(i) - year(b) - [(m,d)(i) < (m,d)(b)]``
  (tolerance 0: dates are full ISO dates);
* ``age-unknown-dates``: age coded unknown although both dates are known is a query.
Reference: CanReg5 age/date checks (``reference/registration.md`` §1.5), EUROCARE date consistency (§3.4).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from oncoreg.checks.rules import params

__all__ = ["date_findings"]


def date_findings(frame: pl.DataFrame, *, on: date) -> pl.DataFrame:
    """Findings of the date rules (``_row, rule_id, fired``) for a prepared frame, checked on day ``on``."""
    birth, incidence, death = pl.col("_birth"), pl.col("_incidence"), pl.col("_death")
    age = pl.col("_age")
    unknown = int(params()["age_unknown_code"])
    both = birth.is_not_null() & incidence.is_not_null()
    ordered = both & (birth <= incidence)
    rules: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("date-birth-incidence", both, incidence < birth),
        ("date-incidence-future", incidence.is_not_null(), incidence > pl.lit(on)),
        ("date-birth-future", birth.is_not_null(), birth > pl.lit(on)),
        ("date-incidence-death", incidence.is_not_null() & death.is_not_null(), incidence > death),
        ("age-range", age.is_not_null(), ~(age.is_between(0, int(params()["age_max"])) | (age == unknown))),
        ("age-dates", ordered & ~pl.col("_age_unknown"), age != pl.col("_computed_age")),
        ("age-unknown-dates", ordered, pl.col("_age_unknown")),
    ]
    return pl.concat(
        frame.filter(judged).select("_row", pl.lit(rule_id).alias("rule_id"), fired.alias("fired"))
        for rule_id, judged, fired in rules
    )
