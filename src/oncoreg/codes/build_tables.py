"""Build the clean code tables in ``oncoreg/codes/data/`` from the raw reference files (run once, by hand).

``python -m oncoreg.codes.build_tables REFDATA_DIR`` reads the files listed in ``REFDATA_DIR/PROVENANCE.md``
(the WHO/IARC ICD-O-3 files, the NCI ICD-O-3.1 list, CanReg5's dictionaries and the IARCcrgTools fixed-width
ICD-O-3 -> ICD-10 tables) and writes the documented CSV tables the runtime reads. The runtime never parses
the fixed-width files. The fixed-width layouts are described in
``refdata/canreg5_iarccrgtools_lookup/README.md``; the parsers below are the executable form of that note.

Rule characters of O3_10M (README): ``1``-``5`` topography column; ``E``-``H`` the same as 1-4 for a
morphology/behaviour pair not listed in ICD-O-3; ``7``/``K`` a fixed ICD-10 code; ``8``/``L`` a pointer into
O3_10r8 (site table); ``9``/``M`` a pointer into O3_10r9 (site and sex table). Letters mark pairs not
listed in ICD-O-3 (checked: 2,038 of 2,042 letter lines are absent from every morphology list).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
LOOKUP = "canreg5_iarccrgtools_lookup"

_RULE_OF_CHAR = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "E": 1, "F": 2, "G": 3, "H": 4}
_RULE_OF_CHAR |= {"7": 7, "K": 7, "8": 8, "L": 8, "9": 9, "M": 9}
_SEX_OF_FLAG = {"+": "F", "@": "M"}


def icd10_with_dot(raw: str) -> str:
    """``C340`` -> ``C34.0``; three-character codes (``C64``) stay as they are."""
    raw = raw.strip()
    return f"{raw[:3]}.{raw[3]}" if len(raw) == 4 else raw


def topography_with_dot(raw: str) -> str:
    """``340`` (CanReg style, no C) -> ``C34.0``."""
    return f"C{raw[:2]}.{raw[2]}"


@dataclass(frozen=True)
class MorphologyRule:
    """One parsed line of O3_10M."""

    histology: int
    behaviour: int
    rule: int
    listed: bool
    icd10: str | None
    topography_4th: bool
    only_sex: str | None
    impossible: bool
    subtable: int | None
    source_line: int
    comment: str


def parse_o3_10m_line(line: str, *, line_number: int) -> MorphologyRule:
    """Parse one O3_10M line (``81403``, ``968037C833``, ``900037C56 +``, ``800068 106``, ``86902K####``)."""
    body, _, comment = line.rstrip("\n").partition("/")
    char = body[5]
    rule = _RULE_OF_CHAR[char]
    rest = body[6:]
    icd10: str | None = None
    topography_4th = False
    only_sex: str | None = None
    impossible = False
    subtable: int | None = None
    if rule == 7:
        code = rest[:4].strip()
        flag = rest[4:5]
        only_sex = _SEX_OF_FLAG.get(flag)
        if "#" in code or not code:
            impossible = True
        elif code.endswith("*"):
            topography_4th = True
            icd10 = code[:3]
        else:
            icd10 = icd10_with_dot(code)
    elif rule in (8, 9):
        subtable = int(rest.split()[0])
    return MorphologyRule(
        histology=int(body[:4]),
        behaviour=int(body[4]),
        rule=rule,
        listed=char.isdigit(),
        icd10=icd10,
        topography_4th=topography_4th,
        only_sex=only_sex,
        impossible=impossible,
        subtable=subtable,
        source_line=line_number,
        comment=comment.strip().lstrip("/*").strip(),
    )


def _target(code: str) -> dict[str, object]:
    """Decode a 4-character target of O3_10r8/r9: ``C430``, ``C43-``, ``C46 ``, ``:1  ``, ``####``."""
    code = code.strip()
    if code.startswith(":"):
        return {"icd10": None, "topography_4th": False, "rule": int(code[1:]), "impossible": False}
    if not code or "#" in code or "?" in code:
        return {"icd10": None, "topography_4th": False, "rule": None, "impossible": True}
    if code.endswith("-"):
        return {"icd10": code[:3], "topography_4th": True, "rule": None, "impossible": False}
    return {"icd10": icd10_with_dot(code), "topography_4th": False, "rule": None, "impossible": False}


def _site_pattern(raw: str) -> str:
    """``44-`` -> ``C44`` (any subsite), ``809`` -> ``C80.9``, ``aos.`` -> ``*`` (all other sites)."""
    if raw == "aos.":
        return "*"
    raw = raw.strip()
    return f"C{raw[:2]}" if raw.endswith("-") else topography_with_dot(raw)


def parse_site_tables(
    r8_lines: list[str], r9_lines: list[str], *, pointers: set[tuple[int, int]]
) -> list[dict[str, object]]:
    """Parse the sub-tables of O3_10r8 and O3_10r9 that O3_10M points at.

    ``pointers`` holds (rule 8 or 9, 1-based line). A sub-table runs from the line pointed at to the next
    ``aos.`` (all other sites) line; pointers may start inside another pointer's block (e.g. 8700/1 points
    straight at an ``aos.`` line), so rows are written per pointer. r8 lines: `` TTTCCCCf`` (site, ICD-10,
    sex flag); r9 lines: `` TTTMMMMFFFF`` (site, ICD-10 for males, ICD-10 for females): one row per sex.
    """
    rows: list[dict[str, object]] = []
    for rule, start in sorted(pointers):
        lines = r8_lines if rule == 8 else r9_lines
        table = f"r{rule}"
        if start > len(lines):
            # O3_10M 9395/3 points past the end of O3_10r8 (line 650 of 649): fall back to the topography.
            note = f"O3_10{table} has no line {start}; converted by topography (rule 1)"
            for sex in ("M", "F") if rule == 9 else (None,):
                rows.append(
                    {"table": table, "subtable": start, "seq": 0, "topography": "*", "source_line": None}
                    | {"for_sex": sex, "only_sex": None, "icd10": None, "topography_4th": False}
                    | {"rule": 1, "impossible": False, "note": note}
                )
            continue
        for seq, number in enumerate(range(start, len(lines) + 1)):
            line = lines[number - 1].rstrip("\n")
            site = _site_pattern(line[:4] if line.startswith("aos.") else line[1:4])
            base = {"table": table, "subtable": start, "seq": seq, "topography": site, "source_line": number}
            if table == "r8":
                flag = line[8:9]
                rows.append(base | {"for_sex": None, "only_sex": _SEX_OF_FLAG.get(flag)} | _target(line[4:8]))
            else:
                for sex, code in (("M", line[4:8]), ("F", line[8:12])):
                    rows.append(base | {"for_sex": sex, "only_sex": None} | _target(code))
            rows[-1]["note"] = None
            if table == "r9":
                rows[-2]["note"] = None
            if site == "*":
                break
        else:
            msg = f"O3_10{table} sub-table at line {start} has no 'aos.' line"
            raise ValueError(msg)
    return rows


def build_topography(refdata: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Topography codes (70 headings, 330 subsites) and their search terms (inclusions, skin sub-lists)."""
    codes = pl.read_csv(refdata / "icdo3_topography.csv", infer_schema=False).select(
        "code", pl.col("level").cast(pl.Int8), "label"
    )
    raw = pl.read_csv(
        refdata / "icdo3_who_Topoenglish.tsv", separator="\t", infer_schema=False, quote_char='"'
    )
    kinds = {"3": "heading", "4": "preferred", "incl": "inclusion", "b": "skin_of", "k": "skin_of"}
    terms = raw.select(
        pl.col("Kode").alias("code"),
        pl.col("Title").alias("term"),
        pl.col("Lvl").replace_strict(kinds).alias("kind"),
    ).unique(maintain_order=True)
    return codes, terms


def build_morphology(refdata: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Merged ICD-O-3 (2000) + ICD-O-3.1 (NCI) + CanReg5 morphology list, with the sources of every code."""
    who = pl.read_csv(refdata / "icdo3_morphology.csv", infer_schema=False).select(
        "code", pl.col("label").alias("label_who2000")
    )
    nci = pl.read_csv(refdata / "icdo31_morphology_nci_metathesaurus.csv", infer_schema=False).select(
        pl.col("icdo3_histology_code").alias("code"), pl.col("icdo3_histology_code_name").alias("label_nci31")
    )
    with (refdata / LOOKUP / "dict_morphology5.tsv").open(encoding="utf-8") as handle:
        canreg_rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    canreg = pl.DataFrame(
        {
            "code": [f"{c[:4]}/{c[4]}" for c, _ in canreg_rows],
            "label_canreg5": [label for _, label in canreg_rows],
        }
    )
    merged = who.join(nci, on="code", how="full", coalesce=True).join(
        canreg, on="code", how="full", coalesce=True
    )
    sources = pl.concat_str(
        [
            pl.when(pl.col("label_who2000").is_not_null()).then(pl.lit("icdo3_2000")),
            pl.when(pl.col("label_nci31").is_not_null()).then(pl.lit("icdo31_nci")),
            pl.when(pl.col("label_canreg5").is_not_null()).then(pl.lit("canreg5")),
        ],
        separator=";",
        ignore_nulls=True,
    )
    morphology = merged.select(
        "code",
        pl.col("code").str.slice(0, 4).cast(pl.Int16).alias("histology"),
        pl.col("code").str.slice(5, 1).cast(pl.Int8).alias("behaviour"),
        pl.coalesce("label_who2000", "label_nci31", "label_canreg5").alias("label"),
        sources.alias("sources"),
    ).sort("code")
    synonyms_who = pl.read_csv(
        refdata / "icdo3_who_Morphenglish.tsv", separator="\t", infer_schema=False, quote_char='"'
    ).select(
        pl.col("Code").alias("code"), pl.col("Label").alias("term"), pl.lit("icdo3_2000").alias("source")
    )
    synonyms_nci = pl.read_csv(
        refdata / "icdo31_morphology_synonyms_nci_metathesaurus.csv", infer_schema=False
    )
    synonyms_nci = synonyms_nci.select(
        pl.col("icdo3_histology_code").alias("code"),
        pl.col("icdo3_histology_synonym_name").alias("term"),
        pl.lit("icdo31_nci").alias("source"),
    )
    labels = merged.unpivot(index="code", variable_name="source", value_name="term").drop_nulls("term")
    labels = labels.select(
        "code",
        "term",
        pl.col("source").str.strip_prefix("label_").replace({"who2000": "icdo3_2000", "nci31": "icdo31_nci"}),
    )
    terms = (
        pl.concat([labels, synonyms_who, synonyms_nci])
        .unique(subset=["code", "term"], keep="first", maintain_order=True)
        .sort("code", maintain_order=True)
    )
    return morphology, terms


def build_icd10(refdata: Path) -> pl.DataFrame:
    """ICD-10 (WHO 2019) chapter II labels: blocks, categories and subcategories."""
    return pl.read_csv(refdata / "icd10_who2019_chapterII_C00-D48.csv", infer_schema=False)


def build_conversion(refdata: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The IARCcrgTools conversion tables: by topography (O3_10T), by morphology (O3_10M), site rules."""
    lookup = refdata / LOOKUP
    topo_rows = []
    for line in (lookup / "O3_10T.txt").read_text(encoding="utf-8").splitlines():
        # '##' (impossible: non-malignant at C42) and '?' (no code: in situ of bone) stay as markers.
        cells = [line[i : i + 4] for i in range(3, 23, 4)]
        codes = ["#" if "#" in c else "?" if "?" in c else icd10_with_dot(c) for c in cells]
        topo_rows.append([topography_with_dot(line[:3]), *codes])
    by_topography = pl.DataFrame(
        topo_rows,
        schema=[
            "topography",
            "rule1_malignant",
            "rule2_benign",
            "rule3_in_situ",
            "rule4_uncertain",
            "rule5_secondary",
        ],
        orient="row",
    )
    m_lines = (lookup / "O3_10M.txt").read_text(encoding="utf-8").splitlines()
    rules = [parse_o3_10m_line(line, line_number=n) for n, line in enumerate(m_lines, start=1)]
    by_morphology = pl.DataFrame([r.__dict__ for r in rules], infer_schema_length=None).with_columns(
        pl.col("histology").cast(pl.Int16), pl.col("behaviour").cast(pl.Int8), pl.col("rule").cast(pl.Int8)
    )
    pointers = {(r.rule, r.subtable) for r in rules if r.subtable is not None}
    r8 = (lookup / "O3_10r8.txt").read_text(encoding="utf-8").splitlines()
    r9 = (lookup / "O3_10r9.txt").read_text(encoding="utf-8").splitlines()
    site_rules = pl.DataFrame(
        parse_site_tables(r8, r9, pointers=pointers),
        schema={
            "table": pl.String,
            "subtable": pl.Int32,
            "seq": pl.Int32,
            "topography": pl.String,
            "source_line": pl.Int32,
            "for_sex": pl.String,
            "only_sex": pl.String,
            "icd10": pl.String,
            "topography_4th": pl.Boolean,
            "rule": pl.Int8,
            "impossible": pl.Boolean,
            "note": pl.String,
        },
    )
    return by_topography, by_morphology, site_rules


def write_tables(*, refdata: Path, out: Path = DATA_DIR) -> list[Path]:
    """Rebuild every derived table from ``refdata`` into ``out``; returns the files written."""
    topography, topography_terms = build_topography(refdata)
    morphology, morphology_terms = build_morphology(refdata)
    by_topography, by_morphology, site_rules = build_conversion(refdata)
    tables = {
        "icdo3_topography.csv": topography,
        "icdo3_topography_terms.csv": topography_terms,
        "icdo3_morphology.csv": morphology,
        "icdo3_morphology_terms.csv": morphology_terms,
        "icd10_chapter2.csv": build_icd10(refdata),
        "icd10_by_topography.csv": by_topography,
        "icd10_by_morphology.csv": by_morphology,
        "icd10_site_rules.csv": site_rules,
    }
    written = []
    for name, frame in tables.items():
        path = out / name
        frame.write_csv(path, quote_style="necessary")
        log.info("wrote %s (%d rows)", path, frame.height)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """``python -m oncoreg.codes.build_tables REFDATA_DIR [OUT_DIR]``."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args[1]) if len(args) > 1 else DATA_DIR
    write_tables(refdata=Path(args[0]), out=out)


if __name__ == "__main__":
    main()
