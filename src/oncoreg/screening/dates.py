"""Calendar arithmetic for screening rules: durations like ``12m``, birthdays and ages."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

_DURATION = re.compile(r"^(\d+)([dwmy])$")


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; the day of month is clamped (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def is_duration(text: str) -> bool:
    """True if ``text`` is a duration: a whole number and d (days), w (weeks), m (months) or y (years)."""
    return _DURATION.match(text) is not None


def add_duration(day: date, duration: str) -> date:
    """``day`` plus a duration such as ``14d``, ``6w``, ``12m`` or ``5y`` (calendar months and years)."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"duration {duration!r} is not a number followed by d, w, m or y")
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "d":
        return day + timedelta(days=amount)
    if unit == "w":
        return day + timedelta(weeks=amount)
    return add_months(day, amount if unit == "m" else 12 * amount)


def birthday(*, birth_date: date, age: int) -> date:
    """The date a person born on ``birth_date`` turns ``age`` (29 February → 28 February)."""
    return add_months(birth_date, 12 * age)


def age_at(*, birth_date: date, day: date) -> int:
    """Age in completed years on ``day``."""
    years = day.year - birth_date.year
    return years - 1 if birthday(birth_date=birth_date, age=years) > day else years
