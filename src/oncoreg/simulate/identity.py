"""Names and national identifiers of simulated persons.

Names are drawn with NumPy from the frequency table ``data/names.csv`` (typical Norwegian first names by
sex and surnames). Identifiers come from :func:`oncoreg.registry.identifiers.generate_identifier_numbers`
(valid fødselsnummer or D-numbers); numbers already issued in earlier calls are redrawn so they stay unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.registry.identifiers import generate_identifier_numbers
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
    """Issues unique national identifiers across many calls, in time proportional to the new numbers.

    A number's stem (all digits but the two check digits) is fixed by its kind, birth date and individual
    number (digits 7–9), so the issued ones are kept as one bit per kind × birth date (1854–2039) ×
    individual number: about 8.5 MB per kind, checked and set by index. Clashing draws are redrawn.
    """

    FIRST_DAY = -42_368  # 1854-01-01, the first birth date an identifier can carry
    N_DAYS = 67_935  # to 2039-12-31
    MAX_ROUNDS = 200

    def __init__(self) -> None:
        self._bits: dict[str, npt.NDArray[np.uint8]] = {}

    def _slots(
        self, birth_days: npt.NDArray[np.int32], numbers: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        individual = (numbers // 100) % 1000
        slot: npt.NDArray[np.int64] = (birth_days.astype(np.int64) - self.FIRST_DAY) * 1000 + individual
        return slot

    def issue(
        self,
        *,
        birth_days: npt.NDArray[np.int32],
        sexes: npt.NDArray[np.int8],
        kind: str,
        rng: np.random.Generator,
    ) -> npt.NDArray[np.int64]:
        """Valid identifiers of ``kind`` (fnr or dnr) for persons with these birth dates and sexes."""
        bits = self._bits.setdefault(kind, np.zeros(self.N_DAYS * 1000 // 8, dtype=np.uint8))
        out = np.zeros(birth_days.size, dtype=np.int64)
        pending = np.arange(birth_days.size)
        for _ in range(self.MAX_ROUNDS):
            if pending.size == 0:
                break
            values = generate_identifier_numbers(
                birth_dates=birth_days[pending].astype("datetime64[D]"),
                sexes=sexes[pending],
                kind=kind,
                rng=rng,
            )
            slot = self._slots(birth_days[pending], values)
            byte, mask = slot >> 3, (1 << (slot & 7)).astype(np.uint8)
            clash = (bits[byte] & mask) != 0
            out[pending[~clash]] = values[~clash]
            np.bitwise_or.at(bits, byte[~clash], mask[~clash])
            pending = pending[clash]
        if pending.size:
            raise ValidationFailed(
                [
                    Problem(
                        "birth_dates",
                        str(birth_days[pending[0]].astype("datetime64[D]")),
                        "identifier.capacity",
                        f"no free {kind} number left after {self.MAX_ROUNDS} rounds",
                    )
                ]
            )
        return out
