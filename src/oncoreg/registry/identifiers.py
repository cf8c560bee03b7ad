"""Norwegian personal identifiers: fødselsnummer, D-number, H-number and the 2032 scheme.

Layout (reference/norway.md §4.1): ``DDMMYY`` + three individual digits ``III`` + two check digits
``K1 K2``. A D-number adds 40 to the day, an H-number adds 40 to the month. The ninth digit is odd for men
and even for women. The century follows from the individual digits (000–499 → 1900s; 500–749 with
YY ≥ 54 → 1800s; 500–999 with YY < 40 → 2000s; 900–999 with YY ≥ 40 → 1900s).

Check digits (mod 11)::

    K1 = 11 − (3·d1 + 7·d2 + 6·d3 + 1·d4 + 8·d5 + 9·d6 + 4·d7 + 5·d8 + 2·d9) mod 11      (11 → 0)
    K2 = 11 − (5·d1 + 4·d2 + 3·d3 + 2·d4 + 7·d5 + 6·d6 + 5·d7 + 4·d8 + 3·d9 + 2·K1) mod 11 (11 → 0)

equivalently, the weighted sums *including* the check digit (weight 1) have remainder 0 mod 11. A result
of 10 cannot be issued. Numbers of the classic scheme are validated by python-stdnum
(``stdnum.no.fodselsnummer``).

From 1 January 2032 new numbers carry no sex and the check calculation changes: it "will accept 0, 1, 2
and 3" (Skatteetaten [S45]). The schemes are rule data (``data/identifier_schemes.csv``, date-effective).
Assumption, documented there: the new calculation accepts remainders 0–3 for the first check digit and 0
for the second. A number that fails the classic check but passes an effective new scheme is a
``pid2032`` number; birth date and sex are never read from it. Before the scheme's ``valid_from`` such a
number is invalid.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from stdnum import exceptions as stdnum_exceptions
from stdnum.no import fodselsnummer

from oncoreg.errors import Problem, ValidationFailed

IdentifierType = Literal["fnr", "dnr", "hnr", "invalid"]
Scheme = Literal["pre2032", "pid2032"]

K1_WEIGHTS = np.array([3, 7, 6, 1, 8, 9, 4, 5, 2], dtype=np.int64)
K2_WEIGHTS = np.array([5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_SEPARATORS = str.maketrans("", "", " -:")
_MAX_DRAWS = 200


@dataclass(frozen=True)
class IdentifierScheme:
    """One check-digit scheme of the rule table ``identifier_schemes.csv``."""

    scheme: Scheme
    version: int
    valid_from: date
    valid_to: date | None
    k1_remainders: frozenset[int]
    k2_remainders: frozenset[int]
    encodes_birth_date: bool
    encodes_sex: bool
    source: str

    def in_effect(self, on: date) -> bool:
        """Whether numbers of this scheme can have been issued on ``on``."""
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


@dataclass(frozen=True)
class IdentifierInfo:
    """What a national identifier says: its type, validity and (classic scheme only) birth date and sex."""

    value: str
    type: IdentifierType
    valid: bool
    reason: str
    birth_date: date | None = None
    sex: int | None = None  # 1 male, 2 female
    scheme: Scheme | None = None


@lru_cache(maxsize=1)
def identifier_schemes() -> tuple[IdentifierScheme, ...]:
    """The check-digit schemes of ``data/identifier_schemes.csv`` (rule data with version and source)."""
    text = resources.files("oncoreg.registry").joinpath("data/identifier_schemes.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return tuple(
        IdentifierScheme(
            scheme=row["scheme"],  # type: ignore[arg-type]
            version=int(row["version"]),
            valid_from=date.fromisoformat(row["valid_from"]),
            valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
            k1_remainders=frozenset(int(r) for r in row["k1_remainders"].split()),
            k2_remainders=frozenset(int(r) for r in row["k2_remainders"].split()),
            encodes_birth_date=row["encodes_birth_date"] == "true",
            encodes_sex=row["encodes_sex"] == "true",
            source=row["source"],
        )
        for row in rows
    )


def _type_of(number: str) -> IdentifierType | None:
    """fnr/dnr/hnr from the day and month fields, or None when they fit no kind."""
    day, month = int(number[0:2]), int(number[2:4])
    if day > 40 and month > 40:
        return None
    if 41 <= day <= 71 and 1 <= month <= 12:
        return "dnr"
    if 1 <= day <= 31 and 41 <= month <= 52:
        return "hnr"
    if 1 <= day <= 31 and 1 <= month <= 12:
        return "fnr"
    return None


def _remainders(number: str) -> tuple[int, int]:
    digits = np.frombuffer(number.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    r1 = int(digits[:9] @ K1_WEIGHTS + digits[9]) % 11
    r2 = int(digits[:10] @ K2_WEIGHTS + digits[10]) % 11
    return r1, r2


def classify_identifier(
    value: str, *, as_of: date | None = None, schemes: tuple[IdentifierScheme, ...] | None = None
) -> IdentifierInfo:
    """Classify a national identifier as fnr, dnr, hnr or invalid, with the reason.

    ``as_of`` (default today) selects the schemes in effect; ``schemes`` defaults to the packaged rule
    table. Birth date and sex are given only for numbers of a scheme that encodes them (the classic one).
    """
    on = as_of or date.today()
    rules = schemes if schemes is not None else identifier_schemes()
    number = value.strip().translate(_SEPARATORS)
    if len(number) != 11 or not number.isascii() or not number.isdigit():
        return IdentifierInfo(value, "invalid", False, f"{value!r} is not 11 digits")
    kind = _type_of(number)
    if kind is None:
        return IdentifierInfo(number, "invalid", False, f"day/month {number[:4]} fit no fnr, D- or H-number")
    try:
        fodselsnummer.validate(number)
        classic_reason = ""
    except stdnum_exceptions.ValidationError as exc:
        classic_reason = str(exc) or type(exc).__name__
    r1, r2 = _remainders(number)
    for rule in rules:
        if not rule.in_effect(on) or r1 not in rule.k1_remainders or r2 not in rule.k2_remainders:
            continue
        if rule.encodes_birth_date:
            if classic_reason:  # classic check digits right, but the date is not (stdnum's rules)
                return IdentifierInfo(number, "invalid", False, classic_reason)
            birth = fodselsnummer.get_birth_date(number)
            sex = (1 if int(number[8]) % 2 else 2) if rule.encodes_sex else None
            return IdentifierInfo(number, kind, True, "", birth, sex, rule.scheme)
        return IdentifierInfo(number, kind, True, "", None, None, rule.scheme)
    later = [r.scheme for r in rules if on < r.valid_from and r1 in r.k1_remainders and r2 in r.k2_remainders]
    if later:
        reason = f"passes only the {later[0]} check calculation, not in effect on {on.isoformat()}"
    else:
        reason = f"check digits wrong (remainders {r1}, {r2})"
    return IdentifierInfo(number, "invalid", False, reason)


def is_valid_identifier(value: str, *, as_of: date | None = None) -> bool:
    """Whether ``value`` is a valid fødselsnummer, D-number or H-number on ``as_of`` (default today)."""
    return classify_identifier(value, as_of=as_of).valid


#: Columns of :func:`classify_identifier_frame`.
CLASSIFIED = {
    "given_identifier": pl.String,
    "identifier": pl.String,
    "identifier_type": pl.String,
    "identifier_valid": pl.Boolean,
    "identifier_scheme": pl.String,
    "birth_date": pl.Date,
    "sex": pl.Int8,
}
_PLAIN = r"^[0-9 :\-]+$"  # digits and separators only: strip + translate = removing the separators
_KIND_CODES = {"invalid": 0, "fnr": 1, "dnr": 2, "hnr": 3}  # identifier_type as small integers, vectorised
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _dates(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.datetime64]:
    months = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1).astype(
        "timedelta64[M]"
    )
    days: npt.NDArray[np.datetime64] = months.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    return days


def _scalar_rows(values: list[str], on: date, rules: tuple[IdentifierScheme, ...]) -> pl.DataFrame:
    infos = [classify_identifier(value, as_of=on, schemes=rules) for value in values]
    return pl.DataFrame(
        {
            "given_identifier": values,
            "identifier": [
                i.value if i.value.isascii() and i.value.isdigit() and len(i.value) == 11 else None
                for i in infos
            ],
            "identifier_type": [i.type for i in infos],
            "identifier_valid": [i.valid for i in infos],
            "identifier_scheme": [i.scheme for i in infos],
            "birth_date": [i.birth_date for i in infos],
            "sex": [i.sex for i in infos],
        },
        schema=CLASSIFIED,
    )


def classify_identifier_frame(
    values: pl.Series, *, as_of: date | None = None, schemes: tuple[IdentifierScheme, ...] | None = None
) -> pl.DataFrame:
    """:func:`classify_identifier` for every distinct non-null value of ``values``, vectorised.

    Columns :data:`CLASSIFIED` (sorted by ``given_identifier``): ``identifier`` is the cleaned 11-digit
    string (null when the value is not 11 digits), ``identifier_type`` fnr/dnr/hnr/invalid,
    ``identifier_valid``, ``identifier_scheme``, and the ``birth_date`` and ``sex`` a classic number
    encodes. The results equal the scalar function's (tested property); values holding anything but
    digits and the separators `` -:`` (rare) are classified by the scalar function itself. The date
    checks are python-stdnum's: century from the individual digits, a real calendar date, not after
    today.
    """
    on = as_of or date.today()
    rules = schemes if schemes is not None else identifier_schemes()
    distinct = values.cast(pl.String).drop_nulls().unique().sort()
    plain_mask = distinct.str.contains(_PLAIN)
    other = distinct.filter(~plain_mask)
    plain = distinct.filter(plain_mask)
    cleaned = plain.str.replace_all(r"[ :\-]", "")
    eleven = (cleaned.str.len_bytes() == 11).to_numpy()
    number = cleaned.str.to_integer(strict=False).fill_null(0).to_numpy().astype(np.int64)
    # the number's parts by integer division (one 1-D array each: no (n, 11) digit matrix)
    day = number // 10**9 % 100
    month = number // 10**7 % 100
    yy = number // 10**5 % 100
    individual = number // 10**2 % 1000
    digits = [number // 10 ** (10 - i) % 10 for i in range(11)]
    is_dnr = (day >= 41) & (day <= 71) & (month >= 1) & (month <= 12)
    is_hnr = (day >= 1) & (day <= 31) & (month >= 41) & (month <= 52)
    is_fnr = (day >= 1) & (day <= 31) & (month >= 1) & (month <= 12)
    codes = _KIND_CODES
    kind = np.select([is_dnr, is_hnr, is_fnr], [codes["dnr"], codes["hnr"], codes["fnr"]], codes["invalid"])
    has_kind = eleven & (kind != 0)
    r1 = (sum(int(w) * d for w, d in zip(K1_WEIGHTS, digits[:9], strict=True)) + digits[9]) % 11
    r2 = (sum(int(w) * d for w, d in zip(K2_WEIGHTS, digits[:10], strict=True)) + digits[10]) % 11
    # stdnum.no.fodselsnummer.get_birth_date and validate's "not born yet"
    birth_day = np.where(day > 40, day - 40, day)
    birth_month = np.where(month > 40, month - 40, month)
    century = np.select(
        [
            individual < 500,
            (individual < 750) & (yy >= 54),
            (individual < 1000) & (yy < 40),
            (individual >= 900) & (individual < 1000) & (yy >= 40),
        ],
        [1900, 1800, 2000, 1900],
        default=-1,
    )
    year = century + yy
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (birth_month >= 1) & (birth_month <= 12)
    longest = _DAYS_IN_MONTH[np.where(month_ok, birth_month, 0)] + ((birth_month == 2) & leap)
    date_ok = (day < 80) & (century > 0) & month_ok & (birth_day >= 1) & (birth_day <= longest)
    born = _dates(
        np.where(date_ok, year, 1970), np.where(date_ok, birth_month, 1), np.where(date_ok, birth_day, 1)
    )
    date_ok &= born <= np.datetime64(date.today(), "D")
    classic_ok = (r1 == 0) & (r2 == 0) & date_ok
    valid = np.zeros(number.shape, dtype=bool)
    decided = ~has_kind
    scheme = np.full(number.shape, -1, dtype=np.int64)  # index into ``rules``; -1: none
    encodes_date = np.zeros(number.shape, dtype=bool)
    encodes_sex = np.zeros(number.shape, dtype=bool)
    for index, rule in enumerate(rules):
        if not rule.in_effect(on):
            continue
        fits = ~decided & np.isin(r1, list(rule.k1_remainders)) & np.isin(r2, list(rule.k2_remainders))
        ok = fits & (classic_ok if rule.encodes_birth_date else True)
        valid |= ok
        scheme[ok] = index
        encodes_date[ok] = rule.encodes_birth_date
        encodes_sex[ok] = rule.encodes_birth_date and rule.encodes_sex
        decided |= fits
    kind_out = np.where(valid, kind, 0)
    # (strings built by Polars from small integer codes: numpy string/object arrays are slow to convert)
    frame = pl.DataFrame(
        {
            "given_identifier": plain,
            "identifier": cleaned.zip_with(pl.Series(eleven), pl.Series([None], dtype=pl.String)),
            "identifier_type": pl.Series(kind_out).replace_strict(
                list(_KIND_CODES.values()), list(_KIND_CODES), return_dtype=pl.String
            ),
            "identifier_valid": valid,
            "identifier_scheme": pl.Series(scheme).replace_strict(
                list(range(len(rules))), [rule.scheme for rule in rules], default=None, return_dtype=pl.String
            ),
            "birth_date": pl.Series(born).zip_with(pl.Series(encodes_date), pl.Series([None], dtype=pl.Date)),
            "sex": pl.Series(np.where(digits[8] % 2 == 1, 1, 2).astype(np.int8)).zip_with(
                pl.Series(encodes_sex), pl.Series([None], dtype=pl.Int8)
            ),
        },
        schema=CLASSIFIED,
    )
    if other.len():
        frame = pl.concat([frame, _scalar_rows(other.to_list(), on, rules)]).sort("given_identifier")
    return frame


def _individual_ranges(years: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per birth year: the lowest individual number and the count of usable ones (gap 500–899 skipped)."""
    low = np.full(years.shape, -1, dtype=np.int64)
    count = np.zeros(years.shape, dtype=np.int64)
    rules = (
        ((years >= 1854) & (years <= 1899), 500, 250),
        ((years >= 1900) & (years <= 1939), 0, 500),
        ((years >= 1940) & (years <= 1999), 0, 600),  # 000–499 and 900–999
        ((years >= 2000) & (years <= 2039), 500, 500),
    )
    for mask, lo, n in rules:
        low[mask] = lo
        count[mask] = n
    return low, count


def generate_identifiers(
    *,
    birth_dates: npt.NDArray[np.datetime64],
    sexes: npt.NDArray[np.integer],
    kind: str = "fnr",
    rng: np.random.Generator,
    scheme: str = "pre2032",
) -> list[str]:
    """Random valid identifiers (``kind`` fnr, dnr or hnr), unique within the call, vectorised.

    ``scheme="pre2032"`` gives classic numbers whose ninth digit encodes ``sexes`` (1 male odd, 2 female
    even) and whose check digits follow the module's formula. ``scheme="pid2032"`` gives numbers of the
    2032 scheme that pass only the new calculation (first remainder 1–3), with no sex information.
    Individual numbers are drawn at random; draws with a check digit of 10 or a duplicate are redrawn.
    """
    numbers = generate_identifier_numbers(
        birth_dates=birth_dates, sexes=sexes, kind=kind, rng=rng, scheme=scheme
    )
    return [s.zfill(11) for s in numbers.astype(str).tolist()]


def generate_identifier_numbers(
    *,
    birth_dates: npt.NDArray[np.datetime64],
    sexes: npt.NDArray[np.integer],
    kind: str = "fnr",
    rng: np.random.Generator,
    scheme: str = "pre2032",
) -> npt.NDArray[np.int64]:
    """:func:`generate_identifiers` as int64 numbers (same draws, same values; no leading zeros).

    Cost is O(n log n) in the size of the call: used individual numbers are kept per distinct birth date
    in a ``[date, 1000]`` table, so a redraw round costs only the pending draws.
    """
    if kind not in ("fnr", "dnr", "hnr"):
        raise ValidationFailed([Problem("kind", kind, "identifier.kind", "must be fnr, dnr or hnr")])
    if scheme not in ("pre2032", "pid2032"):
        raise ValidationFailed([Problem("scheme", scheme, "identifier.scheme", "must be pre2032 or pid2032")])
    dates = np.asarray(birth_dates, dtype="datetime64[D]")
    sex = np.asarray(sexes).astype(np.int64)
    if dates.shape != sex.shape:
        raise ValidationFailed(
            [
                Problem(
                    "sexes",
                    str(sex.shape),
                    "identifier.shape",
                    f"length differs from birth_dates {dates.shape}",
                )
            ]
        )
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (dates.astype("datetime64[M]").astype(np.int64) % 12) + 1
    days = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    low, count = _individual_ranges(years)
    problems = [
        Problem("birth_dates", str(dates[i]), "identifier.century", "year outside 1854–2039", row=str(i))
        for i in np.flatnonzero(count == 0)[:20]
    ]
    if scheme == "pre2032":
        problems += [
            Problem("sexes", str(sex[i]), "identifier.sex", "must be 1 (male) or 2 (female)", row=str(i))
            for i in np.flatnonzero((sex != 1) & (sex != 2))[:20]
        ]
    if problems:
        raise ValidationFailed(problems)
    day_field = days + (40 if kind == "dnr" else 0)
    month_field = months + (40 if kind == "hnr" else 0)
    prefix = day_field * 10_000_000 + month_field * 100_000 + (years % 100) * 1_000
    head = np.stack(
        [
            day_field // 10,
            day_field % 10,
            month_field // 10,
            month_field % 10,
            (years % 100) // 10,
            years % 10,
        ],
        axis=1,
    )
    head_sum1 = head @ K1_WEIGHTS[:6]
    head_sum2 = head @ K2_WEIGHTS[:6]
    numbers = np.full(dates.shape, -1, dtype=np.int64)
    # the stem (all but the check digits) is fixed by birth date and individual number within one call
    _, date_slot = np.unique(dates, return_inverse=True)
    used = np.zeros((int(date_slot.max(initial=-1)) + 1) * 1000, dtype=bool)
    pending = np.arange(dates.size)
    for _ in range(_MAX_DRAWS):
        if pending.size == 0:
            break
        draw = rng.integers(0, count[pending])
        if scheme == "pre2032":  # parity of the individual number carries sex: odd male, even female
            draw = draw - draw % 2 + (sex[pending] == 1)
        individual = low[pending] + draw + np.where((low[pending] == 0) & (draw >= 500), 400, 0)
        ind = np.stack([individual // 100, (individual // 10) % 10, individual % 10], axis=1)
        sum1 = head_sum1[pending] + ind @ K1_WEIGHTS[6:]
        if scheme == "pre2032":
            k1 = (11 - sum1 % 11) % 11
        else:
            k1 = (rng.integers(1, 4, size=pending.size) - sum1) % 11
        k2 = (11 - (head_sum2[pending] + ind @ K2_WEIGHTS[6:9] + 2 * k1) % 11) % 11
        candidate = (prefix[pending] + individual) * 100 + k1 * 10 + k2
        usable = (k1 <= 9) & (k2 <= 9)
        stem = candidate // 100
        slot = date_slot.reshape(-1)[pending] * 1000 + individual
        taken = used[slot]
        keyed = np.where(usable & ~taken, stem, -1 - np.arange(pending.size))  # rejects never collide
        order = np.argsort(keyed, kind="stable")
        ordered = keyed[order]
        first = np.zeros(pending.size, dtype=bool)
        first[order] = np.concatenate([[True], ordered[1:] != ordered[:-1]])  # first draw of a stem wins
        accept = usable & ~taken & first
        numbers[pending[accept]] = candidate[accept]
        used[slot[accept]] = True
        pending = pending[~accept]
    if pending.size:
        i = int(pending[0])
        raise ValidationFailed(
            [
                Problem(
                    "birth_dates",
                    str(dates[i]),
                    "identifier.capacity",
                    f"no free {kind} number left for this date after {_MAX_DRAWS} draws",
                    row=str(i),
                )
            ]
        )
    return numbers
