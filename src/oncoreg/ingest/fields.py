"""Field validation shared by the parsers: each check names the field, the value and the rule it breaks.

A :class:`Fields` collects every problem of one message (a registrar wants them all at once) and returns
the normalised value, or None when the value is missing or wrong. Codes are normalised with
:mod:`oncoreg.codes`; the results are cached because feeds repeat the same few hundred codes.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from oncoreg.codes import normalise_icd10, normalise_topography, parse_morphology
from oncoreg.errors import CodeError, Problem
from oncoreg.registry.tables import Notification, table_of

SEX_CODES = {"1": 1, "2": 2, "9": 9, "M": 1, "F": 2, "U": 9, "male": 1, "female": 2, "unknown": 9, "other": 9}
IDENTIFIER_TYPES = ("fnr", "dnr", "hnr")
LATERALITIES = ("L", "R", "B", "U", "N")
STAGES = ("localised", "regional", "distant", "unknown")
GRADES = (1, 2, 3, 4, 5, 6, 7, 8, 9)
BASES = (0, 1, 2, 4, 5, 6, 7, 8, 9)
_TNM = re.compile(r"^([cpyra]{0,3})(T[0-4X]?[a-d]?|Tis)(N[0-3X][a-c]?)(M[01X][a-c]?)$")
_IDENTIFIER = re.compile(r"^\d{11}$")
#: Maximum length of every string column of the notification table (PostgreSQL enforces them).
MAX_LENGTH = {
    column.name: column.type.length
    for column in table_of(Notification).columns
    if isinstance(column.type, sa.String) and column.type.length is not None
}
_LIMITS = tuple(MAX_LENGTH.items())


@lru_cache(maxsize=4096)
def _topography(code: str) -> str | CodeError:
    try:
        return normalise_topography(code)
    except CodeError as exc:
        return exc


@lru_cache(maxsize=4096)
def _morphology(code: str) -> tuple[int, int] | CodeError:
    try:
        return parse_morphology(code)
    except CodeError as exc:
        return exc


@lru_cache(maxsize=4096)
def _icd10(code: str) -> str | CodeError:
    try:
        return normalise_icd10(code)
    except CodeError as exc:
        return exc


def blank(value: str | None) -> bool:
    """Whether a field value is missing (None or only spaces)."""
    return value is None or not value.strip()


class Fields:
    """Validates the fields of one message and collects its problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, field: str, value: str | None, rule: str, text: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(field=field, value="" if value is None else value, rule=rule, text=text))

    def required(self, field: str, value: str | None) -> str | None:
        """The stripped value; a missing one is a problem."""
        if blank(value):
            self.problem(field, value, "required", f"{field} is required but missing")
            return None
        assert value is not None
        return value.strip()

    def text(self, value: str | None) -> str | None:
        """An optional text value, stripped (None when blank)."""
        return None if blank(value) else value.strip()  # type: ignore[union-attr]

    def date(
        self, field: str, value: str | None, *, required: bool = False, compact: bool = False
    ) -> date | None:
        """An ISO date ``YYYY-MM-DD`` (HL7: ``YYYYMMDD``, ``compact``); timestamps keep their date part."""
        if blank(value):
            if required:
                self.problem(field, value, "required", f"{field} is required but missing")
            return None
        assert value is not None
        text = value.strip()
        try:
            if compact:
                if len(text) < 8 or not text[:8].isdigit():
                    raise ValueError(text)
                return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            return date.fromisoformat(text[:10])
        except ValueError:
            shape = "YYYYMMDD" if compact else "YYYY-MM-DD"
            self.problem(field, value, "date.format", f"{field} {text!r} is not a valid date ({shape})")
            return None

    def sex(self, field: str, value: str | None) -> int | None:
        """Sex 1 male / 2 female / 9 unknown (also HL7 ``M/F/U`` and FHIR ``male/female/unknown``)."""
        if blank(value):
            return None
        assert value is not None
        code = SEX_CODES.get(value.strip())
        if code is None:
            self.problem(field, value, "sex.code", f"{field} {value!r} is not a sex code (1, 2, 9)")
        return code

    def identifier(self, value: str | None, kind: str | None) -> tuple[str | None, str | None]:
        """A national identifier as given (11 digits; check digits are linkage's concern) and its kind."""
        identifier = self.text(value)
        id_type = self.text(kind)
        if identifier is not None and not _IDENTIFIER.match(identifier):
            self.problem("identifier", identifier, "identifier.format", "identifier must be 11 digits")
            identifier = None
        if id_type is not None:
            id_type = id_type.lower()
            if id_type not in IDENTIFIER_TYPES:
                self.problem(
                    "identifier_type", kind, "identifier_type.code", "identifier_type must be fnr, dnr or hnr"
                )
                id_type = None
        return identifier, id_type

    def topography(self, value: str | None, *, required: bool = False) -> str | None:
        """ICD-O-3 topography normalised to ``C34.1`` (a heading ``C34`` is kept as given)."""
        if blank(value):
            if required:
                self.problem("topography", value, "required", "topography is required but missing")
            return None
        assert value is not None
        result = _topography(value.strip())
        if isinstance(result, CodeError):
            self.problem("topography", value, result.rule, str(result))
            return None
        return result

    def morphology(self, value: str | None, *, required: bool = False) -> tuple[str | None, int | None]:
        """ICD-O-3 ``8500/3`` → (``"8500"``, 3)."""
        if blank(value):
            if required:
                self.problem("morphology", value, "required", "morphology is required but missing")
            return None, None
        assert value is not None
        result = _morphology(value.strip())
        if isinstance(result, CodeError):
            self.problem(result.field or "morphology", value, result.rule, str(result))
            return None, None
        return f"{result[0]:04d}", result[1]

    def icd10(self, field: str, value: str | None) -> str | None:
        """An ICD-10 code normalised to ``C34.1``."""
        if blank(value):
            return None
        assert value is not None
        result = _icd10(value.strip())
        if isinstance(result, CodeError):
            self.problem(field, value, result.rule, str(result))
            return None
        return result

    def icd10_list(self, field: str, value: str | None) -> str | None:
        """A ``;``-joined list of ICD-10 codes, each normalised."""
        if blank(value):
            return None
        assert value is not None
        codes = [self.icd10(field, part) for part in value.split(";") if part.strip()]
        return ";".join(code for code in codes if code is not None) or None

    def integer(self, field: str, value: str | None, allowed: tuple[int, ...] | None = None) -> int | None:
        """An integer (from one of ``allowed`` when given)."""
        if blank(value):
            return None
        assert value is not None
        text = value.strip()
        if not (text.isdigit() and (allowed is None or int(text) in allowed)):
            rule, what = (
                (f"{field}.code", f"one of {', '.join(map(str, allowed))}")
                if allowed
                else (
                    f"{field}.integer",
                    "an integer",
                )
            )
            self.problem(field, value, rule, f"{field} {text!r} is not {what}")
            return None
        return int(text)

    def number(self, field: str, value: str | None) -> float | None:
        """A decimal number (doses)."""
        if blank(value):
            return None
        assert value is not None
        try:
            return float(value.strip())
        except ValueError:
            self.problem(field, value, f"{field}.number", f"{field} {value!r} is not a number")
            return None

    def choice(self, field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
        """A code from a fixed list."""
        if blank(value):
            return None
        assert value is not None
        text = value.strip()
        if text not in allowed:
            self.problem(
                field, value, f"{field}.code", f"{field} {text!r} is not one of {', '.join(allowed)}"
            )
            return None
        return text

    def tnm(self, value: str | None) -> tuple[str | None, str | None, str | None]:
        """``cT2N0M0`` → (``cT2``, ``N0``, ``M0``); the prefix (c/p/y...) stays with T."""
        if blank(value):
            return None, None, None
        assert value is not None
        match = _TNM.match(value.strip())
        if match is None:
            self.problem("tnm", value, "tnm.format", f"tnm {value!r} is not shaped like cT2N0M0")
            return None, None, None
        prefix, t, n, m = match.groups()
        return prefix + t, n, m

    def lengths(self, row: dict[str, Any]) -> None:
        """Every string fits its column of the notification table."""
        get = row.get
        for name, limit in _LIMITS:
            value = get(name)
            if isinstance(value, str) and len(value) > limit:
                self.problem(name, value, "length", f"{name} is longer than {limit} characters")
                row[name] = None


def detail(**parts: object) -> str | None:
    """Source extras as ``key=value`` pairs joined by ``;`` (empty values left out)."""
    text = ";".join(f"{key}={value}" for key, value in parts.items() if value not in (None, ""))
    return text or None
