"""Names and national identifiers of simulated persons.

Names are drawn with NumPy from the frequency table ``data/names.csv`` (typical Norwegian first names by
sex and surnames). Identifiers come from :func:`oncoreg.registry.identifiers.generate_identifiers` (valid
fødselsnummer or D-numbers); numbers already issued in earlier calls are redrawn so they stay unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from oncoreg.registry.identifiers import generate_identifiers
from oncoreg.simulate.tables import read_csv


@dataclass(frozen=True)
class NameTable:
    """Names of one kind and the cumulative probabilities used to draw them."""

    names: tuple[str, ...]
    cumulative: npt.NDArray[np.float64]

    def draw(self, size: int, rng: np.random.Generator) -> npt.NDArray[np.int16]:
        """Indices into ``names`` drawn with the table's frequencies."""
        return np.searchsorted(self.cumulative, rng.random(size), side="right").astype(np.int16)


@lru_cache(maxsize=1)
def name_tables() -> dict[str, NameTable]:
    """``male``, ``female`` and ``last`` name tables."""
    table = read_csv("names.csv")
    out = {}
    for kind in ("male", "female", "last"):
        rows = table.filter(table["kind"] == kind)
        weights = rows["weight"].to_numpy().astype(np.float64)
        cumulative = np.cumsum(weights) / weights.sum()
        cumulative[-1] = 1.0 + 1e-12
        out[kind] = NameTable(tuple(rows["name"].to_list()), cumulative)
    return out


def first_name_labels() -> tuple[str, ...]:
    """All first names, male then female: a first-name index refers to this tuple."""
    tables = name_tables()
    return tables["male"].names + tables["female"].names


def draw_first_names(*, sexes: npt.NDArray[np.int8], rng: np.random.Generator) -> npt.NDArray[np.int16]:
    """First-name indices into :func:`first_name_labels` for persons of the given sexes."""
    tables = name_tables()
    male = tables["male"].draw(sexes.size, rng)
    female = tables["female"].draw(sexes.size, rng) + len(tables["male"].names)
    return np.where(sexes == 1, male, female).astype(np.int16)


class IdentifierIssuer:
    """Issues unique national identifiers across many calls (kept as sorted int64)."""

    def __init__(self) -> None:
        self._issued = np.zeros(0, dtype=np.int64)

    def issue(
        self,
        *,
        birth_days: npt.NDArray[np.int32],
        sexes: npt.NDArray[np.int8],
        kind: str,
        rng: np.random.Generator,
    ) -> npt.NDArray[np.int64]:
        """Valid identifiers of ``kind`` (fnr or dnr) for persons with these birth dates and sexes."""
        out = np.zeros(birth_days.size, dtype=np.int64)
        pending = np.arange(birth_days.size)
        for _ in range(20):
            if pending.size == 0:
                break
            numbers = generate_identifiers(
                birth_dates=birth_days[pending].astype("datetime64[D]"),
                sexes=sexes[pending],
                kind=kind,
                rng=rng,
            )
            values = np.array(numbers, dtype=np.int64)
            if self._issued.size:
                position = np.minimum(np.searchsorted(self._issued, values), self._issued.size - 1)
                clash = self._issued[position] == values
            else:
                clash = np.zeros(values.size, dtype=bool)
            out[pending[~clash]] = values[~clash]
            self._issued = np.union1d(self._issued, values[~clash])
            pending = pending[clash]
        return out
