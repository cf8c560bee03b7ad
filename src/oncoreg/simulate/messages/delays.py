"""When each message is sent: delays after the event, by source.

All delays are in whole days, drawn vectorised; the shapes are assumptions (reference/norway.md §2.2 gives
only the cadence: pathology continuously, clinical notifications by hand after the treatment decision,
systemic therapy quarterly, radiotherapy annually):

* pathology: specimen → report sent ``2 + Gamma(k=2, θ=4)`` days (median ≈ 9 days);
* clinical notification: diagnosis → sent ``7 + Gamma(k=2, θ=25)`` days (median ≈ 49 days);
* death certificate: death → sent ``3 + Gamma(k=2, θ=7)`` days;
* patient administrative (NPR): monthly extract, ``U{10..40}`` days after the end of the discharge month;
* systemic therapy: quarterly extract, ``U{15..45}`` days after the end of the start quarter;
* radiotherapy: annual extract, 15 January of the next year + ``U{0..45}`` days;
* population register: ``U{0..14}`` days after the event;
* a late message (``MessageConfig.late_rate``) adds ``U{365..730}`` days.

A message may therefore be sent in a later calendar year than the event. It is still written to the
directory of the year it is simulated in; ``sent_date`` carries the real date.

The time of day of a send is uniform over 07:00–16:00 local time (``sent_seconds`` after midnight).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

WORKDAY_START = 7 * 3600
WORKDAY_SECONDS = 9 * 3600


def gamma_days(*, n: int, offset: int, shape: float, scale: float, rng: np.random.Generator) -> pl.Series:
    """``offset + round(Gamma(shape, scale))`` days as an Int32 series."""
    return pl.Series(offset + np.rint(rng.gamma(shape, scale, size=n)).astype(np.int32), dtype=pl.Int32)


def uniform_days(*, n: int, low: int, high: int, rng: np.random.Generator) -> pl.Series:
    """Whole days drawn uniformly from ``low..high`` inclusive, as an Int32 series."""
    return pl.Series(rng.integers(low, high + 1, size=n).astype(np.int32), dtype=pl.Int32)


def send_seconds(*, n: int, rng: np.random.Generator) -> pl.Series:
    """Seconds after midnight of each send, uniform over the working day 07:00–16:00."""
    values: npt.NDArray[np.int32] = (WORKDAY_START + rng.integers(0, WORKDAY_SECONDS, size=n)).astype(
        np.int32
    )
    return pl.Series(values, dtype=pl.Int32)


def after(date: str | pl.Expr, days: pl.Series | str) -> pl.Expr:
    """``date + days`` as a date expression."""
    base = pl.col(date) if isinstance(date, str) else date
    return base + pl.duration(days=days if isinstance(days, str) else pl.lit(days))


def month_end(date: str) -> pl.Expr:
    """The last day of the month of ``date``."""
    return pl.col(date).dt.month_end()


def quarter_end(date: str) -> pl.Expr:
    """The last day of the calendar quarter of ``date``."""
    return pl.col(date).dt.truncate("1q").dt.offset_by("2mo").dt.month_end()


def local_timestamp(date: str, seconds: str, fmt: str) -> pl.Expr:
    """Format ``date`` + ``seconds`` as Europe/Oslo local time with its UTC offset (strftime ``fmt``)."""
    moment = pl.col(date).cast(pl.Datetime("us")) + pl.duration(seconds=pl.col(seconds))
    return moment.dt.replace_time_zone("Europe/Oslo").dt.strftime(fmt)
