"""The long table of screening events (one row per letter, test, reading, assessment or histology).

Columns that do not apply to an event type are null. ``person_id`` and ``tumour_id`` are truth: the
message writer replaces the person by the national identifier and drops the tumour.
The schema is documented for the screening module in ``docs/simulate-screening.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.simulate.screening.timeline import to_date_series

#: One row per screening event of any programme.
EVENTS: dict[str, pl.DataType | type[pl.DataType]] = {
    "event_id": pl.String,  # unique, stable for a given rng: "<B|C|K><9 digits>"
    "person_id": pl.Int64,
    "programme": pl.String,  # breast | cervix | colorectal
    "episode": pl.Int32,  # round (breast, colorectal) or screening episode (cervix) number, from 1
    "date": pl.Date,  # letter, appointment, sample, examination or histology date
    "type": pl.String,  # invitation | reminder | kit_sent | screen | assessment | sample | colposcopy |
    # histology | fit_result | colonoscopy
    "test": pl.String,  # mammography | cytology | hpv | hpv_cytology | fit | colonoscopy | biopsy
    "indication": pl.String,  # screening | follow_up
    "result": pl.String,  # per type, see docs/simulate-screening.md
    "value": pl.Float64,  # FIT µg Hb/g faeces (null when outside the quantitation limits)
    "value_text": pl.String,  # "below lower quantitation limit" | "above upper quantitation limit"
    "hpv_genotype": pl.String,  # hpv16_18 | other | negative
    "reflex_cytology": pl.String,  # cytology on the HPV sample (or reflex HPV result on cytology)
    "reader1_score": pl.Int8,  # breast: 1-5 probability of cancer
    "reader2_score": pl.Int8,
    "consensus": pl.Boolean,  # breast: discussed at consensus (either reader >= 2)
    "recall": pl.Boolean,  # breast: recalled for further assessment; colorectal: referred to colonoscopy
    "first_screen": pl.Boolean,  # primary screening test that is the person's first in the programme
    "rule_id": pl.String,  # cervix: the rule in force at the sample date (cervix_rules.csv)
    "recommendation": pl.String,  # routine | control | colposcopy | colonoscopy | exit | ...
    "due_date": pl.Date,  # date the recommended next step is due (appointment for invitations)
    "age": pl.Int16,  # completed years at the event date
    "county": pl.String,  # two-digit county code
    "tumour_id": pl.Int64,  # truth: the tumour the event found (null otherwise)
}

_TYPE_ORDER = {
    "invitation": 0,
    "kit_sent": 1,
    "reminder": 2,
    "screen": 3,
    "sample": 3,
    "fit_result": 3,
    "assessment": 4,
    "colposcopy": 4,
    "colonoscopy": 4,
    "histology": 5,
}
_DATE_COLUMNS = ("date", "due_date")
Column = npt.NDArray[np.generic] | str | int | float | bool | None


def event_block(*, n: int, **columns: Column) -> pl.DataFrame:
    """A block of ``n`` events; each column is an array of length ``n`` or a scalar (null if absent).

    Dates (``date``, ``due_date``) are given as day numbers and converted to ``Date``.
    """
    data: dict[str, pl.Series] = {}
    for name, dtype in EVENTS.items():
        if name == "event_id":
            continue
        value = columns.get(name)
        if name in _DATE_COLUMNS and isinstance(value, np.ndarray):
            data[name] = to_date_series(name, value.astype(np.int64))
        elif name == "tumour_id" and isinstance(value, np.ndarray):  # -1: no tumour
            ids = pl.Series(name, value, dtype=pl.Int64).to_frame()
            data[name] = ids.select(pl.when(pl.col(name) >= 0).then(pl.col(name))).to_series()
        elif isinstance(value, np.ndarray) and dtype == pl.String:  # "": null
            text = pl.Series(name, value.astype(str), dtype=pl.String).to_frame()
            data[name] = text.select(pl.when(pl.col(name) != "").then(pl.col(name))).to_series()
        elif isinstance(value, np.ndarray):
            data[name] = pl.Series(name, value).cast(dtype)
        else:
            data[name] = pl.repeat(value, n, dtype=dtype, eager=True).alias(name)
    unknown = set(columns) - set(EVENTS)
    if unknown:
        raise KeyError(f"unknown event columns {sorted(unknown)}")
    return pl.DataFrame(data)


def finalise_events(blocks: Sequence[pl.DataFrame], *, prefix: str) -> pl.DataFrame:
    """Concatenate blocks, order by person, date and event type, and number the events ``prefix``000000001…"""
    if not blocks:
        return pl.DataFrame(schema=EVENTS)
    frame = pl.concat(blocks, how="vertical")
    order = pl.col("type").replace_strict(_TYPE_ORDER, default=9, return_dtype=pl.Int8)
    frame = frame.with_columns(order.alias("_order")).sort(
        ["person_id", "date", "_order", "episode"], maintain_order=True
    )
    frame = frame.with_columns(
        (pl.lit(prefix) + (pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9))).alias("event_id")
    )
    return frame.select(list(EVENTS))
