"""Norwegian name normalisation and the contradiction rules, on hand-worked pairs."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from oncoreg.linkage.deterministic import classify_identifiers, contradictions
from oncoreg.linkage.records import normalise_name


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("Søren", "Soeren"),
        ("Ødegård", "Oedegaard"),
        ("Hanssen", "Hansen"),
        ("Christian", "Kristian"),
        ("Cathrine", "Katrine"),
        ("Thomas", "Tomas"),
        ("Carl", "Karl"),
        ("Ærlige", "aerlige"),
        ("  André ", "andre"),
    ],
)
def test_spelling_variants_normalise_alike(variant: str, canonical: str) -> None:
    names = pl.DataFrame({"name": [variant, canonical]}).select(normalise_name(pl.col("name")))["name"]
    assert names[0] == names[1]
    assert names[0] is not None
    assert names[0].isascii()


def test_different_names_stay_different() -> None:
    names = pl.DataFrame({"name": ["Ingrid", "Marit", "Kristian", "Kristin"]})
    assert names.select(normalise_name(pl.col("name")))["name"].n_unique() == 4


def test_contradiction_needs_birth_date_and_name_to_differ() -> None:
    pairs = pl.DataFrame(
        {
            "given_first_name": ["Kari", "Kari", "Jon", "Jon"],
            "given_last_name": ["Berg", "Hansen", "Kristoffersen", "Hansen"],  # 1: married name change
            "given_birth_date": [date(1962, 7, 1), date(1962, 7, 2), date(1975, 1, 1), date(1975, 1, 1)],
            "given_sex": [2, 2, 1, 1],
            "first_name": ["Kari"] * 4,
            "last_name": ["Hansen"] * 4,
            "birth_date": [date(1962, 7, 1)] * 4,
            "sex": [2] * 4,
        }
    )
    fired = contradictions(pairs)["contradiction"].to_list()
    assert fired == [
        None,  # new last name, same birth date: a name change, not a contradiction
        None,  # birth date one day off, same names
        "identifier.contradiction.birth_last",
        "identifier.contradiction.birth_first_sex",  # last name agrees; birth date, sex, first name do not
    ]


def test_identifiers_are_classified_once_per_value() -> None:
    values = pl.Series(["14035096702", "14035096702", "23117103351", "12528092576", None, "abc"])
    table = classify_identifiers(values, as_of=date(2024, 1, 1))
    assert table.height == 4
    kinds = dict(zip(table["given_identifier"], table["identifier_type"], strict=True))
    assert kinds == {"14035096702": "fnr", "23117103351": "invalid", "12528092576": "hnr", "abc": "invalid"}
