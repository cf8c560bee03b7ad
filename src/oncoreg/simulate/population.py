"""The simulated population: compact per-person arrays and the demographic events of one year.

Dates are int32 days since 1970-01-01. Age on 1 January of year Y is ``Y - 1 - birth_year`` (birth dates
are never 1 January); the published tables' age 105 means 105 or older. Cells are county × sex × age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from oncoreg.simulate.tables import MAX_AGE, N_AGES, counties, municipalities

NO_DATE = np.iinfo(np.int32).max
ENTRY_REASONS = ("start", "birth", "immigration")
EXIT_REASONS = ("", "death", "emigration")

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


def day_of(year: int, month: int = 1, day: int = 1) -> int:
    """Days since 1970-01-01 of a calendar date."""
    return (date(year, month, day) - date(1970, 1, 1)).days


#: Calendar lookups by day (1800–2099): a table read instead of datetime64 conversions of every person.
_FIRST_DAY = day_of(1800)
_YEAR_OF_DAY = (
    np.arange(_FIRST_DAY, day_of(2100)).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    + 1970
).astype(np.int16)


def birth_years(days: I32) -> npt.NDArray[np.int64]:
    """Calendar year of each date (1800–2099)."""
    return _YEAR_OF_DAY[days.astype(np.int64) - _FIRST_DAY].astype(np.int64)


def year_starts(years: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Day number of 1 January of each year."""
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def random_days_in_year(years: npt.NDArray[np.int64], rng: np.random.Generator) -> I32:
    """A uniformly drawn date in each year, never 1 January."""
    starts = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    lengths = ((years + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)) - starts
    return (starts + 1 + np.floor(rng.random(years.size) * (lengths - 1))).astype(np.int32)


@dataclass
class MunicipalityIndex:
    """Municipality codes, their county index and population weights for drawing a residence."""

    codes: npt.NDArray[np.str_]
    county_of: npt.NDArray[np.int8]
    weights: dict[int, npt.NDArray[np.float64]]

    @classmethod
    def load(cls) -> MunicipalityIndex:
        table = municipalities()
        county_codes = np.array(counties())
        county_of = np.searchsorted(county_codes, table["county"].to_numpy()).astype(np.int8)
        weights = {y: table[f"pop_{y}"].to_numpy().astype(np.float64) for y in (2005, 2015, 2024)}
        return cls(table["municipality"].to_numpy().astype(str), county_of, weights)

    def draw(
        self, *, county: npt.NDArray[np.int64], year: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int16]:
        """A municipality in each given county, by population share (2005/2015/2024 weights by year)."""
        weight_year = 2005 if year < 2010 else 2015 if year < 2020 else 2024
        weights = self.weights[weight_year]
        out = np.zeros(county.size, dtype=np.int16)
        for c in np.unique(county):
            members = np.flatnonzero(self.county_of == c)
            cumulative = np.cumsum(weights[members]) / weights[members].sum()
            chosen = np.flatnonzero(county == c)
            pick = np.minimum(
                np.searchsorted(cumulative, rng.random(chosen.size), side="right"), members.size - 1
            )
            out[chosen] = members[pick]
        return out

    def draw_national(self, *, size: int, year: int, rng: np.random.Generator) -> npt.NDArray[np.int16]:
        """Municipalities drawn by national population share."""
        weights = self.weights[2005 if year < 2010 else 2015 if year < 2020 else 2024]
        cumulative = np.cumsum(weights) / weights.sum()
        return np.minimum(
            np.searchsorted(cumulative, rng.random(size), side="right"), weights.size - 1
        ).astype(np.int16)


@dataclass
class PersonStore:
    """Every person ever in the country, as parallel NumPy arrays indexed by ``person_id - 1``."""

    size: int = 0
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    SPEC: ClassVar[dict[str, tuple[type[np.generic], int]]] = {
        "birth": (np.int32, 0),
        "sex": (np.int8, 0),
        "muni": (np.int16, 0),
        "entry": (np.int32, 0),
        "entry_reason": (np.int8, 0),
        "exit": (np.int32, NO_DATE),
        "exit_reason": (np.int8, 0),
        "ident": (np.int64, 0),
        "ident_type": (np.int8, 0),
        "first_name": (np.int16, 0),
        "last_name": (np.int16, 0),
        "cancer_death": (np.int32, NO_DATE),
        "cancer_tumour": (np.int64, -1),
        "n_tumours": (np.int8, 0),
        "last_group": (np.int8, -1),
        "last_event": (np.int32, 0),
    }

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name][: self.size]

    def add(self, **columns: np.ndarray) -> I64:
        """Append persons (missing columns take their defaults); returns their row indices."""
        n = len(next(iter(columns.values())))
        needed = self.size + n
        capacity = len(self.arrays["birth"]) if self.arrays else 0
        if needed > capacity:
            new_capacity = max(needed, int(capacity * 1.5), 1024)
            grown_arrays = {}
            for name, (dtype, default) in self.SPEC.items():
                grown = np.full(new_capacity, default, dtype=dtype)
                if self.arrays:
                    grown[: self.size] = self.arrays[name][: self.size]
                grown_arrays[name] = grown
            self.arrays = grown_arrays
        rows = np.arange(self.size, needed, dtype=np.int64)
        for name, values in columns.items():
            self.arrays[name][rows] = values
        self.size = needed
        return rows

    def alive(self) -> I64:
        """Row indices of persons resident and alive now (no exit yet)."""
        return np.flatnonzero(self["exit"] == NO_DATE)


def cell_index(*, county: np.ndarray, sex: np.ndarray, age: np.ndarray) -> I64:
    """Flat index of county × sex × age (age capped at 105)."""
    index: I64 = (county.astype(np.int64) * 2 + (sex.astype(np.int64) - 1)) * N_AGES + np.minimum(
        age, MAX_AGE
    )
    return index


def cell_counts(*, store: PersonStore, rows: I64, year: int, munis: MunicipalityIndex) -> I64:
    """Counts ``[county, sex, age]`` of ``rows`` on 1 January of ``year``."""
    age = year - 1 - birth_years(store["birth"][rows])
    cells = cell_index(county=munis.county_of[store["muni"][rows]], sex=store["sex"][rows], age=age)
    return np.bincount(cells, minlength=len(counties()) * 2 * N_AGES).reshape(len(counties()), 2, N_AGES)


def other_cause_deaths(
    *,
    birth: I32,
    sex: npt.NDArray[np.int8],
    year: int,
    hazards: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> I32:
    """Date of other-cause death within ``year`` (or NO_DATE), persons alive on 1 January.

    The hazard is ``mu(a, Y)`` until the birthday and ``mu(a + 1, Y)`` after it (``a`` the age on 1 January),
    so the cumulative hazard is piecewise linear; an Exp(1) draw is inverted through it.
    """
    start = day_of(year)
    length = day_of(year + 1) - start
    birth_year = birth_years(birth)
    age = np.minimum(year - 1 - birth_year, hazards.shape[1] - 1)
    s = sex.astype(np.int64) - 1
    h1 = hazards[s, age]
    h2 = hazards[s, np.minimum(age + 1, hazards.shape[1] - 1)]
    first_year = int(birth_year.min(initial=year))
    offsets = year_starts(np.arange(first_year, year + 1, dtype=np.int64))
    birthday = birth - offsets[birth_year - first_year]
    f = birthday / length
    draw = rng.exponential(size=birth.size)
    before = h1 * f
    t = np.where(draw < before, draw / h1, f + (draw - before) / h2)
    dies = t < 1.0
    return np.where(dies, start + np.floor(t * length), NO_DATE).astype(np.int32)
