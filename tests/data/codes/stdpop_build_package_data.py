"""Build ``src/oncoreg/codes/data/stdpop_*.csv`` from the standard-population files (run by hand).

``python tests/data/codes/stdpop_build_package_data.py /work/shared/refdata`` writes

* ``stdpop_weights.csv``: the published weights of each standard in the age groups they are published in
  (``standard, age_groups, age_group, age_start, age_end, weight``); one of these per standard is its
  primary grouping, from which :func:`oncoreg.codes.standard_populations.standard_population` derives the
  others by summing;
* ``stdpop_age_groups.csv``: the generic age-group schemes (``5y18`` ... ``icss5``) a standard can be
  collapsed to.

Sources (``refdata/PROVENANCE.md`` §6): popEpi ``stdpop18`` (Europe 1976, Nordic 2000), canregtools
``std_pop`` (Segi 1960 with 0 and 1-4 split; WHO 2000-2025 per 1 000 000), SocEpi ``stn_data`` (ESP 2013
21 bands, WHO 2000-2025 21 bands as proportions x 100 000), popEpi ``stdpop101`` (WHO single years), popEpi
``ICSS``. NORDCAN's ICSS adaptation is not in a data file: it is typed in below from the nordcansurvival Stata
code as summarised in ``reference/statistics.md`` §1.5.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

OUT = Path(__file__).resolve().parents[3] / "src" / "oncoreg" / "codes" / "data"
NORDCAN_ICSS = {
    # standard: [(age_groups, [(start, end, weight %), ...]), ...]
    "nordcan_icss_1": [
        ("nordcan5", [(0, 49, 12), (50, 59, 17), (60, 69, 27), (70, 79, 29), (80, 89, 15)]),
        ("nordcan3", [(0, 59, 29), (60, 69, 27), (70, 89, 44)]),
    ],
    "nordcan_icss_2_1": [
        ("nordcan5", [(0, 29, 7), (30, 39, 13), (40, 49, 16), (50, 69, 41), (70, 89, 23)]),
        ("nordcan3", [(0, 49, 36), (50, 69, 41), (70, 89, 23)]),
    ],
    "nordcan_icss_2_2": [
        ("nordcan5", [(0, 49, 36), (50, 59, 19), (60, 69, 22), (70, 79, 16), (80, 89, 7)]),
        ("nordcan3", [(0, 49, 36), (50, 69, 41), (70, 89, 23)]),
    ],
    "nordcan_icss_3_1": [
        ("nordcan5", [(0, 29, 31), (30, 39, 21), (40, 49, 13), (50, 69, 20), (70, 89, 15)]),
        ("nordcan3", [(0, 29, 31), (30, 49, 34), (50, 89, 35)]),
    ],
    "nordcan_icss_3_2": [
        ("nordcan5", [(0, 29, 31), (30, 49, 34), (50, 69, 20), (70, 79, 10), (80, 89, 5)]),
        ("nordcan3", [(0, 29, 31), (30, 49, 34), (50, 89, 35)]),
    ],
}


def _scheme(name: str, bounds: list[tuple[int, int | None]]) -> list[dict[str, object]]:
    return [
        {"age_groups": name, "age_group": i, "age_start": lo, "age_end": hi}
        for i, (lo, hi) in enumerate(bounds, 1)
    ]


def _five_year(last_start: int) -> list[tuple[int, int | None]]:
    return [(a, a + 4) for a in range(0, last_start, 5)] + [(last_start, None)]


def _infant(last_start: int) -> list[tuple[int, int | None]]:
    return [(0, 0), (1, 4)] + [(a, a + 4) for a in range(5, last_start, 5)] + [(last_start, None)]


def schemes() -> pl.DataFrame:
    rows = []
    for n, last in ((18, 85), (19, 90), (20, 95), (21, 100)):
        rows += _scheme(f"5y{n}", _five_year(last))
    rows += _scheme("infant5y19", _infant(85)) + _scheme("infant5y21", _infant(95))
    rows += _scheme("1y101", [(a, a) for a in range(100)] + [(100, None)])
    rows += _scheme("icss5", [(15, 44), (45, 54), (55, 64), (65, 74), (75, None)])
    return pl.DataFrame(
        rows,
        schema={"age_groups": pl.String, "age_group": pl.Int32, "age_start": pl.Int32, "age_end": pl.Int32},
    )


def _with(standard: str, age_groups: str, weights: list[float], source: str) -> list[dict[str, object]]:
    bounds = schemes().filter(pl.col("age_groups") == age_groups).sort("age_group").rows(named=True)
    assert len(bounds) == len(weights), (standard, age_groups, len(weights))
    return [
        {**b, "standard": standard, "weight": float(w), "source": source}
        for b, w in zip(bounds, weights, strict=True)
    ]


def build(refdata: Path) -> None:
    pop18 = pl.read_csv(refdata / "popEpi_stdpop18.csv")
    canreg = pl.read_csv(refdata / "canregtools_std_pop_19ag.csv").sort("agegrp")
    socepi = pl.read_csv(refdata / "SocEpi_standard_populations.csv")
    icss = pl.read_csv(refdata / "popEpi_ICSS.csv").sort("age")
    single = pl.read_csv(refdata / "popEpi_stdpop101.csv").sort("agegroup")

    def soc(name: str) -> list[float]:
        return [round(w * 100_000, 1) for w in socepi.filter(pl.col("standard") == name)["weight"]]

    rows: list[dict[str, object]] = []
    segi = [round(w * 1000, 1) for w in canreg["wld85"]]
    assert [segi[0] + segi[1], *segi[2:]] == pop18["world"].cast(pl.Float64).to_list()  # the two copies agree
    rows += _with("world_segi_1960", "infant5y19", segi, "canregtools_std_pop_19ag.csv wld85 (% x 1000)")
    rows += _with("europe_1976", "5y18", pop18["europe"].to_list(), "popEpi_stdpop18.csv europe")
    rows += _with("nordic_2000", "5y18", pop18["nordic"].to_list(), "popEpi_stdpop18.csv nordic")
    esp = soc("esp2013_21ag")
    assert soc("esp2013_18ag")[:17] == [esp[0] + esp[1], *esp[2:18]]
    rows += _with("europe_2013", "infant5y21", esp, "SocEpi_standard_populations.csv esp2013_21ag (x 100000)")
    rows += _with(
        "who_2000_2025",
        "5y21",
        soc("who2025_21ag"),
        "SocEpi_standard_populations.csv who2025_21ag (x 100000)",
    )
    rows += _with("who_2000_2025", "1y101", single["world_std"].to_list(), "popEpi_stdpop101.csv world_std")
    rows += _with(
        "who_2000_2025",
        "infant5y19",
        canreg["wld2000"].to_list(),
        "canregtools_std_pop_19ag.csv wld2000 (per 1000000)",
    )
    for i in (1, 2, 3):
        five = icss[f"ICSS{i}"].to_list()
        assert five[0] == 0  # 0-14 has no weight; split into 0-4, 5-9, 10-14
        rows += _with(f"icss_{i}", "5y18", [0, 0, 0, *five[1:]], f"popEpi_ICSS.csv ICSS{i}")
    for standard, sets in NORDCAN_ICSS.items():
        for age_groups, groups in sets:
            rows += [
                {
                    "standard": standard,
                    "age_groups": age_groups,
                    "age_group": k,
                    "age_start": lo,
                    "age_end": hi,
                    "weight": float(w),
                    "source": "nordcansurvival Stata code via reference/statistics.md 1.5 (%)",
                }
                for k, (lo, hi, w) in enumerate(groups, 1)
            ]
    cols = ["standard", "age_groups", "age_group", "age_start", "age_end", "weight", "source"]
    pl.DataFrame(rows).select(cols).write_csv(OUT / "stdpop_weights.csv")
    schemes().write_csv(OUT / "stdpop_age_groups.csv")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
