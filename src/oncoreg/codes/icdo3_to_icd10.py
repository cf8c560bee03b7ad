"""ICD-O-3 topography + morphology/behaviour (+ sex) -> ICD-10, following the IARCcrgTools ``O3_10`` scheme.

The rule of a morphology/behaviour pair comes from ``icd10_by_morphology.csv`` (IARCcrgTools O3_10M):

* rules 1-5: the ICD-10 code is the topography's column in ``icd10_by_topography.csv`` (O3_10T):
  1 malignant primary, 2 benign, 3 in situ, 4 uncertain behaviour, 5 secondary;
* rule 7: a fixed ICD-10 code (4th character from the topography when ``topography_4th``), possibly only
  valid for one sex;
* rule 8: the first matching line of a topography sub-table (O3_10r8) in ``icd10_site_rules.csv``; ``*``
  (``aos.``, all other sites) closes each sub-table and may defer to a topography column;
* rule 9: as rule 8 with one code per sex (O3_10r9).

Then the first matching row of ``icd10_exceptions.csv`` (the cases IARCcrgTools hard-codes: liver C22 by
morphology, 8161-8162 at C24.0, 9699 at C42/C77, 8930/3 at C54.0, D21.8 -> D21.9) replaces the code.
Pairs not listed in ICD-O-3 (the behaviour matrix) convert with status ``warning``; impossible pairs, unknown
codes and a sex that contradicts a sex-specific rule give status ``error`` and no code.
Reference: Ferlay J et al., *Check and conversion programs for cancer registries*, IARC Technical Report 42
(2005); the tables as shipped in CanReg5 5.00.44k. The CanReg5 bugs of ``reference/registration.md`` §1.7
(topography parsed from the morphology string, MALT test on the morphology) are not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from oncoreg.codes.morphology import is_listed_morphology, known_histologies, parse_morphology
from oncoreg.codes.topography import normalise_topography
from oncoreg.codes.versions import read_table
from oncoreg.errors import CodeError, Problem, ValidationFailed

#: O3_10T column (rule) used for each behaviour when the topography decides.
RULE_OF_BEHAVIOUR = {3: 1, 0: 2, 2: 3, 1: 4, 6: 5}
_COLUMN_NAMES = {1: "malignant", 2: "benign", 3: "in situ", 4: "uncertain", 5: "secondary"}
_SEX_NAMES = {1: "male", 2: "female"}
_SEX_FLAG = {"F": 2, "M": 1}
INPUT_COLUMNS = ("topography", "morphology", "behaviour", "sex")
OUTPUT_COLUMNS = ("icd10", "status", "message")


@dataclass(frozen=True)
class Icd10Result:
    """The ICD-10 code of one tumour (``None`` on error), ``status`` ok|warning|error and why."""

    icd10: str | None
    status: str
    message: str


@dataclass(frozen=True)
class _MorphologyRule:
    rule: int
    icd10: str | None
    topography_4th: bool
    only_sex: int | None
    impossible: bool
    subtable: int | None
    source_line: int


@dataclass(frozen=True)
class _SiteRule:
    topography: str
    for_sex: int | None
    only_sex: int | None
    icd10: str | None
    topography_4th: bool
    rule: int | None
    impossible: bool
    source_line: str
    note: str | None

    def matches(self, topography: str) -> bool:
        return self.topography == "*" or topography.startswith(self.topography)


@dataclass(frozen=True)
class _Exception:
    id: str
    histology_from: int | None
    histology_to: int | None
    behaviour: int | None
    topography: str
    sex: int | None
    when_via: str
    when_icd10: str
    action: str
    icd10: str

    def matches(
        self, *, topography: str, histology: int, behaviour: int, sex: int | None, via: str, code: str
    ) -> bool:
        return (
            (self.histology_from is None or self.histology_from <= histology)
            and (self.histology_to is None or histology <= self.histology_to)
            and (self.behaviour is None or self.behaviour == behaviour)
            and topography.startswith(self.topography)
            and (self.sex is None or self.sex == sex)
            and (not self.when_via or self.when_via == via)
            and (not self.when_icd10 or self.when_icd10 == code)
        )


def _int(value: str | None) -> int | None:
    return None if value is None or value == "" else int(value)


@lru_cache(maxsize=1)
def _by_topography() -> dict[str, tuple[str, ...]]:
    return {row[0]: tuple(row[1:]) for row in read_table("icd10_by_topography.csv").iter_rows()}


@lru_cache(maxsize=1)
def _by_morphology() -> dict[tuple[int, int], _MorphologyRule]:
    rules = {}
    for row in read_table("icd10_by_morphology.csv").iter_rows(named=True):
        rules[(int(row["histology"]), int(row["behaviour"]))] = _MorphologyRule(
            rule=int(row["rule"]),
            icd10=row["icd10"],
            topography_4th=row["topography_4th"] == "true",
            only_sex=_SEX_FLAG.get(row["only_sex"] or ""),
            impossible=row["impossible"] == "true",
            subtable=_int(row["subtable"]),
            source_line=int(row["source_line"]),
        )
    return rules


@lru_cache(maxsize=1)
def _site_rules() -> dict[tuple[int, int], list[_SiteRule]]:
    tables: dict[tuple[int, int], list[_SiteRule]] = {}
    ordered = read_table("icd10_site_rules.csv").sort(
        "table", pl.col("subtable").cast(pl.Int32), pl.col("seq").cast(pl.Int32)
    )
    for row in ordered.iter_rows(named=True):
        key = (int(row["table"][1]), int(row["subtable"]))
        tables.setdefault(key, []).append(
            _SiteRule(
                topography=row["topography"],
                for_sex=_SEX_FLAG.get(row["for_sex"] or ""),
                only_sex=_SEX_FLAG.get(row["only_sex"] or ""),
                icd10=row["icd10"],
                topography_4th=row["topography_4th"] == "true",
                rule=_int(row["rule"]),
                impossible=row["impossible"] == "true",
                source_line=row["source_line"] or "-",
                note=row["note"],
            )
        )
    return tables


@lru_cache(maxsize=1)
def _exceptions() -> list[_Exception]:
    return [
        _Exception(
            id=row["id"],
            histology_from=_int(row["histology_from"]),
            histology_to=_int(row["histology_to"]),
            behaviour=_int(row["behaviour"]),
            topography=row["topography"] or "",
            sex=_int(row["sex"]),
            when_via=row["when_via"] or "",
            when_icd10=row["when_icd10"] or "",
            action=row["action"],
            icd10=row["icd10"] or "",
        )
        for row in read_table("icd10_exceptions.csv").iter_rows(named=True)
    ]


def parse_sex(value: int | str | None) -> int | None:
    """1/M -> 1 (male), 2/F -> 2 (female), blank/9 -> None (unknown); anything else raises CodeError."""
    text = "" if value is None else str(value).strip().upper()
    if text in ("", "9"):
        return None
    if text in ("1", "M"):
        return 1
    if text in ("2", "F", "K"):
        return 2
    raise CodeError(
        f"sex {value!r} is not 1/M (male), 2/F (female) or 9 (unknown)",
        field="sex",
        value=str(value),
        rule="sex-code",
    )


class _Outcome:
    """Mutable working state of one conversion (code, how it was reached, warnings)."""

    def __init__(self) -> None:
        self.code: str | None = None
        self.via = ""
        self.trail: list[str] = []
        self.warnings: list[str] = []


class _NoCode(Exception):
    """A topography column holds a marker instead of a code (``#`` impossible, ``?`` no such code)."""


def _column(topography: str, rule: int) -> str:
    code = _by_topography()[topography][rule - 1]
    if code in ("#", "?"):
        reason = "impossible" if code == "#" else "no ICD-10 code"
        raise _NoCode(f"O3_10T {topography} rule {rule} ({_COLUMN_NAMES[rule]}) is '{code}': {reason}")
    return code


def _with_4th(stem: str, topography: str) -> str:
    return f"{stem}.{topography[-1]}"


def _sex_check(only_sex: int | None, sex: int | None, what: str) -> str | None:
    """Error text if ``sex`` contradicts ``only_sex``; adds nothing when sex is unknown (caller warns)."""
    if only_sex is not None and sex is not None and sex != only_sex:
        return f"{what} is {_SEX_NAMES[only_sex]}-only but sex is {sex} ({_SEX_NAMES[sex]})"
    return None


def _site_rule(rules: list[_SiteRule], topography: str, sex: int | None) -> _SiteRule:
    return next(r for r in rules if (r.for_sex is None or r.for_sex == sex) and r.matches(topography))


def _convert(topography: str, histology: int, behaviour: int, sex: int | None) -> Icd10Result:
    try:
        return _convert_checked(topography, histology, behaviour, sex)
    except _NoCode as exc:
        return Icd10Result(None, "error", f"morphology {histology}/{behaviour} at {topography}: {exc}")


def _convert_checked(topography: str, histology: int, behaviour: int, sex: int | None) -> Icd10Result:
    morph = f"{histology}/{behaviour}"
    out = _Outcome()
    if not is_listed_morphology(histology, behaviour):
        out.warnings.append(f"morphology {morph} is not listed in ICD-O-3/3.1 (behaviour matrix)")
    rule = _by_morphology().get((histology, behaviour))
    if rule is None:
        if behaviour not in RULE_OF_BEHAVIOUR or histology >= 9590:
            return Icd10Result(
                None, "error", f"morphology {morph} has no rule in the IARC conversion table O3_10M"
            )
        column = RULE_OF_BEHAVIOUR[behaviour]
        out.code, out.via = _column(topography, column), "topography"
        out.warnings.append(f"{morph} not in O3_10M; converted by topography")
        out.trail.append(f"O3_10T {topography} rule {column} ({_COLUMN_NAMES[column]})")
    elif rule.impossible:
        return Icd10Result(
            None,
            "error",
            f"morphology {morph} has no ICD-10 code (O3_10M line {rule.source_line}: impossible)",
        )
    elif rule.rule <= 5:
        out.code, out.via = _column(topography, rule.rule), "topography"
        out.trail.append(
            f"O3_10M line {rule.source_line} rule {rule.rule} -> O3_10T {topography}"
            f" ({_COLUMN_NAMES[rule.rule]})"
        )
    elif rule.rule == 7:
        assert rule.icd10 is not None
        out.code = _with_4th(rule.icd10, topography) if rule.topography_4th else rule.icd10
        out.via = "morphology"
        out.trail.append(f"O3_10M line {rule.source_line} rule 7")
        problem = _sex_check(rule.only_sex, sex, f"morphology {morph} (O3_10M line {rule.source_line})")
        if problem:
            return Icd10Result(None, "error", problem)
        if rule.only_sex is not None and sex is None:
            out.warnings.append(f"sex unknown; morphology {morph} is {_SEX_NAMES[rule.only_sex]}-only")
    else:
        assert rule.subtable is not None
        error = _apply_site_table(out, rule, topography, histology, behaviour, sex)
        if error:
            return Icd10Result(None, "error", error)
    assert out.code is not None
    for exception in _exceptions():
        if exception.matches(
            topography=topography,
            histology=histology,
            behaviour=behaviour,
            sex=sex,
            via=out.via,
            code=out.code,
        ):
            if exception.action == "topography":
                out.code = _column(topography, RULE_OF_BEHAVIOUR[behaviour])
            else:
                out.code = exception.icd10
            out.trail.append(f"exception {exception.id}")
            break
    status = "warning" if out.warnings else "ok"
    return Icd10Result(out.code, status, "; ".join(out.warnings + out.trail))


def _apply_site_table(
    out: _Outcome, rule: _MorphologyRule, topography: str, histology: int, behaviour: int, sex: int | None
) -> str | None:
    """Fill ``out`` from an O3_10r8/r9 sub-table; return an error text instead when the row forbids it."""
    morph = f"{histology}/{behaviour}"
    table = f"O3_10r{rule.rule}"
    rules = _site_rules()[(rule.rule, rule.subtable or 0)]
    if rule.rule == 9 and sex is None:
        codes = {_site_code(_site_rule(rules, topography, s), topography) for s in (1, 2)}
        if len(codes) > 1:
            return (
                f"morphology {morph} at {topography} converts by sex ({table} line {rule.subtable})"
                " but sex is unknown"
            )
        chosen = _site_rule(rules, topography, 2)
    else:
        chosen = _site_rule(rules, topography, sex)
    where = f"O3_10M line {rule.source_line} rule {rule.rule} -> {table} line {chosen.source_line}"
    if chosen.impossible:
        who = f" for sex {sex} ({_SEX_NAMES[sex]})" if rule.rule == 9 and sex is not None else ""
        return f"morphology {morph} at {topography} is impossible{who} ({where})"
    problem = _sex_check(chosen.only_sex, sex, f"morphology {morph} at {topography} ({where})")
    if problem:
        return problem
    if chosen.only_sex is not None and sex is None:
        out.warnings.append(f"sex unknown; {morph} at {topography} is {_SEX_NAMES[chosen.only_sex]}-only")
    if chosen.note:
        out.warnings.append(chosen.note)
    out.code = _site_code(chosen, topography)
    out.via = "topography" if chosen.rule is not None else "site-table"
    out.trail.append(where + (f" -> O3_10T rule {chosen.rule}" if chosen.rule is not None else ""))
    return None


def _site_code(chosen: _SiteRule, topography: str) -> str | None:
    if chosen.impossible:
        return None
    if chosen.rule is not None:
        return _column(topography, chosen.rule)
    assert chosen.icd10 is not None
    return _with_4th(chosen.icd10, topography) if chosen.topography_4th else chosen.icd10


@lru_cache(maxsize=65536)
def _convert_text(topography: str, morphology: str, behaviour: str, sex: str) -> Icd10Result:
    try:
        topo = normalise_topography(topography)
        if "." not in topo:
            raise CodeError(
                f"topography {topography!r} is a heading; the conversion needs a subsite such as {topo}.9",
                field="topography",
                value=topography,
                rule="icdo3-topography-subsite",
            )
        histology, behaviour_code = parse_morphology(morphology, behaviour)
        if histology not in known_histologies() and (histology, behaviour_code) not in _by_morphology():
            raise CodeError(
                f"morphology {morphology!r}: histology {histology} is not in ICD-O-3/3.1",
                field="morphology",
                value=morphology,
                rule="icdo3-morphology-known",
            )
        sex_code = parse_sex(sex)
    except CodeError as exc:
        return Icd10Result(None, "error", str(exc))
    return _convert(topo, histology, behaviour_code, sex_code)


def icdo3_to_icd10(
    *, topography: str, morphology: int | str, behaviour: int | str | None, sex: int | str | None = None
) -> Icd10Result:
    """ICD-10 code of one tumour from ICD-O-3 topography (``C34.1``/``C341``), morphology (``8140`` or
    ``8140/3``), behaviour and sex (1/M male, 2/F female, blank/9 unknown).

    Never raises for bad codes: a malformed or unknown code gives ``status="error"`` and a message naming the
    field, the value and the rule. See the module docstring for the rules.
    """

    def text(value: int | str | None) -> str:
        return "" if value is None else str(value).strip()

    return _convert_text(text(topography), text(morphology), text(behaviour), text(sex))


def missing_columns(frame: pl.DataFrame) -> list[Problem]:
    """Problems for required input columns (``topography``, ``morphology``) absent from ``frame``."""
    return [
        Problem(field=name, value="", rule="input-columns", text=f"required column {name!r} is missing")
        for name in ("topography", "morphology")
        if name not in frame.columns
    ]


def convert_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``icd10``, ``status``, ``message`` to a frame with ``topography``, ``morphology``, ``behaviour``,
    ``sex`` (strings or ints; ``behaviour`` and ``sex`` may be absent).

    Each distinct input combination is converted once and joined back, so a million rows with a few
    thousand distinct combinations take well under a few seconds. Raises ValidationFailed if a required
    column is missing; row-level code problems become ``status="error"`` rows.
    """
    problems = missing_columns(frame)
    if problems:
        raise ValidationFailed(problems)
    keys = frame.select(
        [
            (
                pl.col(name).cast(pl.String).str.strip_chars()
                if name in frame.columns
                else pl.lit(None, pl.String)
            )
            .fill_null("")
            .alias(f"__{name}")
            for name in INPUT_COLUMNS
        ]
    )
    key_names = [f"__{name}" for name in INPUT_COLUMNS]
    distinct = keys.unique()
    results = [_convert_text(*row) for row in distinct.iter_rows()]
    converted = distinct.with_columns(
        pl.Series("icd10", [r.icd10 for r in results], dtype=pl.String),
        pl.Series("status", [r.status for r in results], dtype=pl.String),
        pl.Series("message", [r.message for r in results], dtype=pl.String),
    )
    joined = keys.join(converted, on=key_names, how="left", maintain_order="left")
    return frame.drop([c for c in OUTPUT_COLUMNS if c in frame.columns]).with_columns(
        joined.select(OUTPUT_COLUMNS).get_columns()
    )


def input_problems(frame: pl.DataFrame, *, id_column: str = "id") -> list[Problem]:
    """Every malformed code in a conversion input frame (shape only: unknown codes are row-level errors).

    Checked vectorised: topography like ``C34.1``/``C341``; morphology 4 digits, optionally ``/b``;
    behaviour blank or 0/1/2/3/6/9 (blank only when the morphology carries ``/b``); sex blank, 1/2/9 or M/F.
    ``row`` of each problem is the value of ``id_column`` (or the 1-based data row when absent).
    """
    problems = missing_columns(frame)
    if problems:
        return problems
    text = {
        name: (
            pl.col(name).cast(pl.String).str.strip_chars()
            if name in frame.columns
            else pl.lit(None, pl.String)
        ).fill_null("")
        for name in INPUT_COLUMNS
    }
    row_id = (
        pl.col(id_column).cast(pl.String) if id_column in frame.columns else pl.int_range(1, pl.len() + 1)
    )
    checks = {
        "topography": (
            text["topography"].str.to_uppercase().str.contains(r"^C?\d{2}\.?\d$"),
            "icdo3-topography-format",
            "not shaped like an ICD-O-3 topography subsite (C34.1 or C341)",
        ),
        "morphology": (
            text["morphology"].str.contains(r"^\d{4}(/[012369])?$"),
            "icdo3-morphology-format",
            "not shaped like an ICD-O-3 morphology (8140 or 8140/3)",
        ),
        "behaviour": (
            text["behaviour"].str.contains(r"^[012369]$")
            | ((text["behaviour"] == "") & text["morphology"].str.contains(r"/\d$")),
            "icdo3-behaviour-code",
            "not an ICD-O-3 behaviour (0, 1, 2, 3, 6, 9; blank only with morphology like 8140/3)",
        ),
        "sex": (
            text["sex"].str.to_uppercase().is_in(["", "1", "2", "9", "M", "F", "K"]),
            "sex-code",
            "not a sex code (1/M male, 2/F female, 9 or blank unknown)",
        ),
    }
    bad = frame.select(
        row_id.cast(pl.String).alias("__row"),
        *[text[name].alias(name) for name in INPUT_COLUMNS],
        *[(~ok).alias(f"__bad_{name}") for name, (ok, _, _) in checks.items()],
    )
    for name, (_, rule, explanation) in checks.items():
        for row, value in bad.filter(pl.col(f"__bad_{name}")).select("__row", name).iter_rows():
            problems.append(Problem(field=name, value=value, rule=rule, text=explanation, row=row))
    return problems
