"""Build ``src/oncoreg/codes/data/iccc_*.csv`` from the IMS copy of the ICCC-3 IARC 2017 table (run by hand).

``python tests/data/codes/iccc_build_package_data.py /work/shared/refdata`` reads
``imsweb_iccc_iccc-data-third-edition-iarc-2017.csv`` (imsweb/algorithms @f8aad8d, parsed by IMS from
seer.cancer.gov/iccc/iccc-iarc-2017.html) and writes two tables:

* ``iccc_iarc2017_rules.csv``: one row per classification rule, in the source order (the first rule whose
  sites, histologies and behaviours all match wins; the IMS rules do not overlap, see the tests);
* ``iccc_iarc2017_groups.csv``: the label of every main group, subgroup and extended group.

The extended code is the position of the IMS sequential recode within its subgroup when the subgroup has
more than one recode (``I.a.1`` ... ``I.a.4``), as in Steliarova-Foucher et al. 2005, Table 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

SOURCE = "imsweb_iccc_iccc-data-third-edition-iarc-2017.csv"
OUT = Path(__file__).resolve().parents[3] / "src" / "oncoreg" / "codes" / "data"
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


def _code(main: int, sub: int, extended: int | None) -> str:
    text = ROMAN[main - 1]
    if sub:
        text += "." + "abcdefghijklmnop"[sub - 1]
    if extended:
        text += f".{extended}"
    return text


def _clean_list(text: str | None) -> str:
    items = [part.strip() for part in (text or "").split(",") if part.strip()]
    return ",".join(items)


def _behaviours(text: str | None) -> str:
    out: list[str] = []
    for part in _clean_list(text).split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(str(b) for b in range(int(lo), int(hi) + 1))
        elif part:
            out.append(part)
    return ",".join(out)


def build(refdata: Path) -> None:
    raw = pl.read_csv(refdata / SOURCE, infer_schema=False)
    data = raw.filter(pl.col("Hist IN").is_not_null() & (pl.col("Group code") != "999"))
    recodes = data.select("Group code", "Group code extended").unique().sort("Group code extended")
    position: dict[tuple[str, str], int | None] = {}
    for group, members in recodes.group_by("Group code", maintain_order=True):
        ids = members["Group code extended"].to_list()
        for index, rid in enumerate(ids, start=1):
            position[(str(group[0]), rid)] = index if len(ids) > 1 else None
    rows = []
    for rule_id, rec in enumerate(data.iter_rows(named=True), start=1):
        group = rec["Group code"]
        main, sub = int(group[:2]), int(group[2])
        extended = position[(group, rec["Group code extended"])]
        rows.append(
            {
                "rule_id": rule_id,
                "iccc_code": _code(main, sub, extended),
                "main_group": main,
                "subgroup": "abcdefghijklmnop"[sub - 1] if sub else None,
                "extended": extended,
                "seer_recode": int(rec["Group code extended"]),
                "sites": _clean_list(rec["Sites IN"]),
                "histologies": _clean_list(rec["Hist IN"]),
                "behaviours": _behaviours(rec["Behavior IN"]),
                "label": rec["Group Name"].strip(),
                "source_row": int(rec["ID"]),
            }
        )
    rules = pl.DataFrame(rows)
    rules.write_csv(OUT / "iccc_iarc2017_rules.csv")

    labels: dict[str, tuple[str, str]] = {}
    for rec in raw.iter_rows(named=True):
        name = rec["Group Name"].strip()
        if rec["Group content"] and rec["Indentation"] == "0":
            main = int(rec["Group content"].split(",")[0][:2])
            labels[_code(main, 0, None)] = ("main", name)
        elif rec["Group content"] and rec["Indentation"] == "1":
            group = rec["Group content"]
            labels.setdefault(_code(int(group[:2]), int(group[2]), None), ("subgroup", name))
    for rec in rules.iter_rows(named=True):
        code = _code(rec["main_group"], 0, None)
        sub = "abcdefghijklmnop".index(rec["subgroup"]) + 1 if rec["subgroup"] else 0
        if sub == 0:
            labels.setdefault(code, ("main", rec["label"]))
        elif rec["extended"] is None:
            labels.setdefault(_code(rec["main_group"], sub, None), ("subgroup", rec["label"]))
        else:
            labels.setdefault(rec["iccc_code"], ("extended", rec["label"]))

    def sort_key(code: str) -> tuple[int, str, int]:
        parts = code.split(".")
        return (
            ROMAN.index(parts[0]),
            parts[1] if len(parts) > 1 else "",
            int(parts[2]) if len(parts) > 2 else 0,
        )

    groups = pl.DataFrame(
        [{"iccc_code": c, "level": labels[c][0], "label": labels[c][1]} for c in sorted(labels, key=sort_key)]
    )
    groups.write_csv(OUT / "iccc_iarc2017_groups.csv")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
