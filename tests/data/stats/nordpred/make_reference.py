"""Turn nordpred's example data and its published vignette output into long CSV/JSON (run once, by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

HERE = Path(__file__).parent


def first_year(label: str) -> int:
    yy = int(label.split("-")[0])
    return 1900 + yy if yy >= 50 else 2000 + yy


def wide_txt(name: str, value: str) -> pl.DataFrame:
    frame = pl.read_csv(HERE / name)
    long = (
        frame.with_row_index("age_group", offset=1)
        .drop("row.names")
        .unpivot(index="age_group", variable_name="label", value_name=value)
    )
    return long.select(
        pl.col("age_group").cast(pl.Int64),
        pl.col("label").map_elements(first_year, return_dtype=pl.Int64).alias("period"),
        pl.col(value),
    )


def printed(name: str, value: str) -> pl.DataFrame:
    rows: list[dict[str, object]] = []
    header: list[str] = []
    for line in (HERE / name).read_text().splitlines():
        parts = line.removeprefix("##").split()
        if parts[0] not in AGES:  # a header line of period labels
            header = parts
            continue
        age_label, values = parts[0], parts[1:]
        age_group = AGES.index(age_label) + 1
        for label, v in zip(header, values, strict=True):
            rows.append({"age_group": age_group, "period": first_year(label), value: float(v)})
    return pl.DataFrame(rows).sort("period", "age_group")


AGES = [f"{a}-{a + 4}" for a in range(0, 85, 5)] + ["85+"]


cases = wide_txt("nordpred_colon-men-Norway.txt", "cases")
pop = pl.concat(
    [
        wide_txt("nordpred_men-Norway.txt", "population"),
        wide_txt("nordpred_men-Norway-pred.txt", "population"),
    ]
)
cases.sort("period", "age_group").write_csv(HERE / "cases.csv")
pop.sort("period", "age_group").write_csv(HERE / "population.csv")
printed("published_rates_print.txt", "rate_per_100000").write_csv(HERE / "published_rates.csv")
printed("published_cases_print.txt", "cases").write_csv(HERE / "published_cases.csv")
periods = [1958 + 5 * i for i in range(13)]
asr = [10.76, 12.08, 14.03, 15.14, 18.28, 20.90, 23.48, 24.76, 25.35, 25.36, 24.70, 23.65, 22.40]
summary = {
    "call": "nordpred(indata, inpop, startestage = 5, startuseage = 6, noperiods = 4:6, "
    "cuttrend = c(0, .25, .5, .75, .75))",
    "periods_used": 6,
    "gof_p": 0.7349,
    "recent": True,
    "recent_p": 0.0067,
    "asr_world": [{"period": p, "rate": r} for p, r in zip(periods, asr, strict=True)],
}
(HERE / "published_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
