"""The vectorised identifier classifier equals the scalar one (property test, valid and corrupted numbers)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoreg.registry.identifiers import (
    CLASSIFIED,
    classify_identifier,
    classify_identifier_frame,
    generate_identifiers,
    identifier_schemes,
)

DAYS = [date(1990, 1, 1), date(2024, 6, 1), date(2032, 1, 1)]


def _scalar(values: list[str], on: date, schemes: tuple | None = None) -> pl.DataFrame:  # type: ignore[type-arg]
    """The scalar classifier's answers as a frame (``schemes`` None: the packaged schemes)."""
    rules = identifier_schemes() if schemes is None else schemes
    rows = []
    for value in sorted(set(values)):
        info = classify_identifier(value, as_of=on, schemes=rules)
        eleven = info.value.isascii() and info.value.isdigit() and len(info.value) == 11
        rows.append(
            {
                "given_identifier": value,
                "identifier": info.value if eleven else None,
                "identifier_type": info.type,
                "identifier_valid": info.valid,
                "identifier_scheme": info.scheme,
                "birth_date": info.birth_date,
                "sex": info.sex,
            }
        )
    return pl.DataFrame(rows, schema=CLASSIFIED)


def _numbers(seed: int, kind: str, scheme: str, n: int = 40) -> list[str]:
    rng = np.random.default_rng(seed)
    births = (np.datetime64("1860-01-01") + rng.integers(0, 365 * 175, n)).astype("datetime64[D]")
    births = births[births <= np.datetime64("2024-01-01")]
    return generate_identifiers(
        birth_dates=births, sexes=rng.integers(1, 3, births.size), kind=kind, rng=rng, scheme=scheme
    )


def _corrupt(number: str, how: int, position: int, digit: int) -> str:
    """Transpose two neighbours, replace a digit, cut, pad, add separators or junk."""
    p = position % 11
    if how == 0 and p < 10:
        return number[:p] + number[p + 1] + number[p] + number[p + 2 :]
    if how == 1:
        return number[:p] + str(digit) + number[p + 1 :]
    if how == 2:
        return number[:p]
    if how == 3:
        return number + str(digit)
    if how == 4:
        return f" {number[:6]}-{number[6:]} "
    if how == 5:
        return number[:p] + "x" + number[p + 1 :]
    if how == 6:
        return f"{number[:6]}:{number[6:]}\t"
    return number


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["fnr", "dnr", "hnr"]),
    scheme=st.sampled_from(["pre2032", "pid2032"]),
    edits=st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 10), st.integers(0, 9)), min_size=1, max_size=40
    ),
    on=st.sampled_from(DAYS),
)
def test_vectorised_equals_scalar_on_valid_and_corrupted_numbers(
    seed: int, kind: str, scheme: str, edits: list[tuple[int, int, int]], on: date
) -> None:
    valid = _numbers(seed, kind, scheme)
    corrupted = [_corrupt(valid[i % len(valid)], *edit) for i, edit in enumerate(edits)] if valid else []
    values = valid + corrupted
    vectorised = classify_identifier_frame(pl.Series([*values, None], dtype=pl.String), as_of=on)
    assert vectorised.equals(_scalar(values, on))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 -:\t5a", min_size=0, max_size=14), max_size=30))
def test_vectorised_equals_scalar_on_arbitrary_digit_strings(values: list[str]) -> None:
    on = date(2024, 1, 1)
    assert classify_identifier_frame(pl.Series(values, dtype=pl.String), as_of=on).equals(_scalar(values, on))


def test_vectorised_follows_the_scheme_table() -> None:
    numbers = _numbers(5, "fnr", "pid2032", n=30)
    moved = tuple(
        replace(s, valid_from=date(2020, 1, 1)) if s.scheme == "pid2032" else s for s in identifier_schemes()
    )
    on = date(2024, 1, 1)
    frame = classify_identifier_frame(pl.Series(numbers), as_of=on, schemes=moved)
    assert frame.equals(_scalar(numbers, on, moved))
    assert frame["identifier_scheme"].unique().to_list() == ["pid2032"]
    assert not classify_identifier_frame(pl.Series(numbers), as_of=on)["identifier_valid"].any()


def test_future_birth_dates_and_impossible_dates_are_invalid() -> None:
    # right check digits: 29 Feb 1900 (no leap day), 29 Feb 1904, 30 Feb 1900, 31 Apr 1999, 1 Jan 1930,
    # 1 Jan 2030 (not born yet)
    values = ["29020010027", "29020410181", "30020010076", "31049910188", "01013010087", "01013050038"]
    frame = classify_identifier_frame(pl.Series(values), as_of=date(2024, 1, 1))
    assert frame.equals(_scalar(values, date(2024, 1, 1)))
    valid = dict(zip(frame["given_identifier"], frame["identifier_valid"], strict=True))
    assert valid == {
        "29020010027": False,
        "29020410181": True,
        "30020010076": False,
        "31049910188": False,
        "01013010087": True,
        "01013050038": False,
    }


def test_scheme_names_follow_the_table_order_and_an_empty_table_validates_nothing() -> None:
    """The vectorised classifier keeps schemes as indices into the table: reordered or no schemes still
    give the scalar classifier's names and validity."""
    numbers = _numbers(7, "fnr", "pre2032", n=30) + _numbers(8, "dnr", "pid2032", n=30) + ["123", "x1"]
    for on in DAYS:
        for schemes in (tuple(reversed(identifier_schemes())), ()):
            frame = classify_identifier_frame(pl.Series(numbers), as_of=on, schemes=schemes)
            expected = _scalar(numbers, on, schemes)
            assert frame.equals(expected)
    assert not classify_identifier_frame(pl.Series(numbers), schemes=())["identifier_valid"].any()
