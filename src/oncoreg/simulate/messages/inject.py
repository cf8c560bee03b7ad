"""Error injection: identity errors, code conflicts between sources, late arrivals, malformed messages.

Each injected error sets a boolean column ``err_<name>``; :func:`error_list` joins the set flags in the
order of :data:`ERROR_NAMES` into the truth's ``errors`` column. Draws are one uniform per message and
error family, so observed rates match the configured ones (within binomial error) on eligible messages:

* identifier (every source but the population register): one draw partitioned into
  ``identifier_missing`` | ``identifier_transposed`` (two adjacent different digits swapped) |
  ``identifier_wrong_digit`` (one digit d → (d + U{1..9}) mod 10); before that, on hospital sources,
  ``hnumber`` replaces fnr/dnr by the person's H-number (month + 40; one per person and year);
* names: one draw partitioned into ``name_typo`` (swap, drop or double a letter past the first) |
  ``name_variant`` (a rule of ``data/name_variants.csv`` that applies to the first or last name; a
  name no rule applies to gets a typo instead, labelled ``name_typo``);
* codes (clinical notifications): ``topography_conflict`` (another valid 4th character of the same
  site; not for single-subsite sites), ``morphology_conflict`` (a less specific code: 8000 → 8010,
  carcinomas 8011–8589 → 8010, others → 8000), ``laterality_conflict`` (L ↔ R);
* ``late``: the send date moves 365–730 days later;
* ``malformed_<kind>``: see :data:`MALFORMED_KINDS`; the renderer breaks the message.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.registry.identifiers import generate_identifiers
from oncoreg.simulate.messages import reference
from oncoreg.simulate.messages.config import MessageConfig

ERROR_NAMES = (
    "hnumber",
    "identifier_missing",
    "identifier_transposed",
    "identifier_wrong_digit",
    "name_typo",
    "name_variant",
    "topography_conflict",
    "morphology_conflict",
    "laterality_conflict",
    "late",
)
HOSPITAL_SOURCES = (
    "pathology",
    "clinical",
    "clinical_csv",
    "patient_admin",
    "radiotherapy",
    "systemic_therapy",
)
MALFORMED_KINDS: dict[str, tuple[str, ...]] = {
    "hl7v2": ("missing_pid", "broken_msh"),
    "fhir": ("invalid_json", "missing_status", "missing_bundle_type"),
    "csv": ("bad_date",),
}
IDENTITY = ["identifier", "identifier_type", "first_name", "last_name", "birth_date", "sex"]


def _digits(ids: pl.Series) -> npt.NDArray[np.int64]:
    raw = "".join(ids.to_list()).encode("ascii")
    return (np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48).reshape(-1, 11)


def _join_digits(digits: npt.NDArray[np.int64]) -> pl.Series:
    text = (digits + 48).astype(np.uint8).tobytes().decode("ascii")
    return pl.Series([text[i : i + 11] for i in range(0, len(text), 11)], dtype=pl.String)


def _transpose(ids: pl.Series, rng: np.random.Generator) -> pl.Series:
    digits = _digits(ids)
    differs = digits[:, :-1] != digits[:, 1:]
    position = np.argmax(rng.random(differs.shape) * differs, axis=1)
    rows = np.arange(digits.shape[0])
    left, right = digits[rows, position].copy(), digits[rows, position + 1].copy()
    digits[rows, position], digits[rows, position + 1] = right, left
    return _join_digits(digits)


def _wrong_digit(ids: pl.Series, rng: np.random.Generator) -> pl.Series:
    digits = _digits(ids)
    rows = np.arange(digits.shape[0])
    position = rng.integers(0, 11, size=rows.size)
    digits[rows, position] = (digits[rows, position] + rng.integers(1, 10, size=rows.size)) % 10
    return _join_digits(digits)


def typo(names: pl.Series, rng: np.random.Generator) -> pl.Series:
    """Swap, drop or double one letter after the first; a swap of two equal letters becomes a drop."""
    n = names.len()
    frame = pl.DataFrame({"s": names, "u": rng.random(n), "op": rng.integers(0, 3, size=n)})
    length = pl.col("s").str.len_chars()
    pos = (1 + (pl.col("u") * (length - 2).clip(1, None)).floor()).cast(pl.Int64).clip(None, length - 1)
    head, c1 = pl.col("s").str.slice(0, pos), pl.col("s").str.slice(pos, 1)
    c2, rest1, rest2 = (
        pl.col("s").str.slice(pos + 1, 1),
        pl.col("s").str.slice(pos + 1),
        pl.col("s").str.slice(pos + 2),
    )
    swap = (pl.col("op") == 0) & (c1 != c2) & (c2 != "")
    out = (
        pl.when(swap)
        .then(pl.concat_str(head, c2, c1, rest2))
        .when(pl.col("op") == 2)
        .then(pl.concat_str(head, c1, c1, rest1))
        .otherwise(pl.concat_str(head, rest1))
    )
    return frame.select(out.alias("s"))["s"]


def _variant(
    first: pl.Series, last: pl.Series, rng: np.random.Generator
) -> tuple[pl.Series, pl.Series, npt.NDArray[np.bool_]]:
    """Apply one applicable spelling rule per row to the first or last name; also says which rows had one."""
    rules = reference.name_variants().rows(named=True)
    names = {"first": first.fill_null(""), "last": last.fill_null("")}
    columns = [(field, rule) for field in names for rule in rules]
    mask = (
        np.column_stack(
            [
                (names[field] == rule["from"]).to_numpy()
                if rule["kind"] == "whole"
                else names[field].str.contains(rule["from"], literal=True).to_numpy()
                for field, rule in columns
            ]
        )
        if first.len()
        else np.zeros((0, len(columns)), dtype=bool)
    )
    choice = np.argmax(rng.random(mask.shape) * mask, axis=1)
    applied: npt.NDArray[np.bool_] = np.asarray(mask.any(axis=1), dtype=bool)
    out = {field: series.to_numpy().astype(object) for field, series in names.items()}
    for j in np.unique(choice[applied]):
        field, rule = columns[j]
        rows = np.flatnonzero(applied & (choice == j))
        subset = names[field].gather(rows)
        changed = (
            pl.Series([rule["to"]] * rows.size, dtype=pl.String)
            if rule["kind"] == "whole"
            else subset.str.replace(rule["from"], rule["to"], literal=True, n=1)
        )
        out[field][rows] = changed.to_numpy()
    return (
        pl.Series(out["first"].tolist(), dtype=pl.String),
        pl.Series(out["last"].tolist(), dtype=pl.String),
        applied,
    )


def _scatter(series: pl.Series, rows: npt.NDArray[np.int64], values: pl.Series | str | None) -> pl.Series:
    """A copy of ``series`` with ``rows`` set to ``values`` (bulk, no per-row Python objects)."""
    if rows.size == 0:
        return series
    out = series.clone()
    out.scatter(rows, values)
    return out


def identity_errors(
    *, messages: pl.DataFrame, persons: pl.DataFrame, rng: np.random.Generator, config: MessageConfig
) -> pl.DataFrame:
    """Join each message's person identity and inject identifier and name errors (see module docstring)."""
    frame = messages.join(
        persons.select("person_id", *IDENTITY), on="person_id", how="left", maintain_order="left"
    )
    n = frame.height
    source = frame["source"]
    eligible = (source != "population_register").to_numpy()
    hospital = source.is_in(HOSPITAL_SOURCES).to_numpy()
    u_h, u_id, u_name, u_field = rng.random(n), rng.random(n), rng.random(n), rng.random(n)

    hnumber = hospital & (u_h < config.hnumber_rate)
    ids, types = frame["identifier"], frame["identifier_type"]
    if hnumber.any():
        who = (
            frame.filter(pl.Series(hnumber))
            .select("person_id", "birth_date", "sex")
            .unique("person_id")
            .sort("person_id")
        )
        numbers = generate_identifiers(
            birth_dates=who["birth_date"].to_numpy(), sexes=who["sex"].to_numpy(), kind="hnr", rng=rng
        )
        rows = np.flatnonzero(hnumber)
        hnr = frame["person_id"].gather(rows).replace_strict(who["person_id"], pl.Series(numbers))
        ids, types = _scatter(ids, rows, hnr), _scatter(types, rows, "hnr")

    well_formed = ids.str.contains(r"^\d{11}$").fill_null(False).to_numpy()
    r_missing, r_transposed = config.identifier_missing_rate, config.identifier_transposed_rate
    missing = eligible & (u_id < r_missing)
    transposed = eligible & well_formed & (u_id >= r_missing) & (u_id < r_missing + r_transposed)
    wrong = (
        eligible
        & well_formed
        & (u_id >= r_missing + r_transposed)
        & (u_id < r_missing + r_transposed + config.identifier_wrong_digit_rate)
    )
    for mask, corrupt in ((transposed, _transpose), (wrong, _wrong_digit)):
        rows = np.flatnonzero(mask)
        if rows.size:
            ids = _scatter(ids, rows, corrupt(ids.gather(rows), rng))
    ids, types = _scatter(ids, np.flatnonzero(missing), None), _scatter(types, np.flatnonzero(missing), None)

    first, last = frame["first_name"], frame["last_name"]
    name_typo = eligible & (u_name < config.name_typo_rate)
    name_variant = (
        eligible
        & (u_name >= config.name_typo_rate)
        & (u_name < config.name_typo_rate + config.name_variant_rate)
    )
    rows = np.flatnonzero(name_variant)
    new_first, new_last, applied = _variant(first.gather(rows), last.gather(rows), rng)
    first = _scatter(first, rows[applied], new_first.filter(pl.Series(applied)))
    last = _scatter(last, rows[applied], new_last.filter(pl.Series(applied)))
    name_typo[rows[~applied]] = True
    name_variant[rows[~applied]] = False
    typo_rows = np.flatnonzero(name_typo)
    in_first = u_field[typo_rows] < 0.5
    pick_first, pick_last = typo_rows[in_first], typo_rows[~in_first]
    if pick_first.size:
        first = _scatter(first, pick_first, typo(first.gather(pick_first), rng))
    if pick_last.size:
        last = _scatter(last, pick_last, typo(last.gather(pick_last), rng))

    return frame.with_columns(
        ids.alias("identifier"),
        types.alias("identifier_type"),
        first.alias("first_name"),
        last.alias("last_name"),
        pl.Series("err_hnumber", hnumber),
        pl.Series("err_identifier_missing", missing),
        pl.Series("err_identifier_transposed", transposed),
        pl.Series("err_identifier_wrong_digit", wrong),
        pl.Series("err_name_typo", name_typo),
        pl.Series("err_name_variant", name_variant),
    )


def code_conflicts(
    *, clinical: pl.DataFrame, rng: np.random.Generator, config: MessageConfig
) -> pl.DataFrame:
    """Make clinical codes disagree with the truth (and so with pathology) at the configured rates."""
    n = clinical.height
    subsites = reference.topography_subsites()
    frame = clinical.with_columns(pl.col("topography").str.slice(0, 3).alias("_site")).join(
        subsites.rename({"site": "_site"}), on="_site", how="left", maintain_order="left"
    )
    others = frame.select(
        pl.col("subsites")
        .list.set_difference(pl.concat_list(pl.col("topography").str.slice(4, 1)))
        .list.sort()
    )["subsites"]
    n_others = others.list.len().fill_null(0).to_numpy()
    pick = np.floor(rng.random(n) * np.maximum(n_others, 1)).astype(np.int64)
    replacement = others.list.get(pl.Series(pick), null_on_oob=True)
    topo = (rng.random(n) < config.topography_conflict_rate) & (n_others > 0)
    morph = rng.random(n) < config.morphology_conflict_rate
    paired = clinical["laterality"].is_in(["L", "R"]).to_numpy()
    lat = paired & (rng.random(n) < config.laterality_conflict_rate)
    new_morph = (
        pl.when(pl.col("morphology") == 8000)
        .then(8010)
        .when(pl.col("morphology").is_between(8011, 8589))
        .then(8010)
        .otherwise(8000)
        .cast(pl.Int16)
    )
    return clinical.with_columns(
        pl.when(pl.lit(topo))
        .then(pl.concat_str(pl.col("topography").str.slice(0, 4), pl.lit(replacement)))
        .otherwise(pl.col("topography"))
        .alias("topography"),
        pl.when(pl.lit(morph)).then(new_morph).otherwise(pl.col("morphology")).alias("morphology"),
        pl.when(pl.lit(lat))
        .then(pl.col("laterality").replace_strict({"L": "R", "R": "L"}, default=pl.col("laterality")))
        .otherwise(pl.col("laterality"))
        .alias("laterality"),
        pl.Series("err_topography_conflict", topo),
        pl.Series("err_morphology_conflict", morph),
        pl.Series("err_laterality_conflict", lat),
    )


def malformed_kinds(*, formats: pl.Series, rng: np.random.Generator, rate: float) -> pl.Series:
    """Per message: null, or the kind of breakage (one of :data:`MALFORMED_KINDS` for its format)."""
    n = formats.len()
    broken = rng.random(n) < rate
    which = rng.random(n)
    out = np.full(n, None, dtype=object)
    fmt = formats.to_numpy()
    for name, kinds in MALFORMED_KINDS.items():
        rows = np.flatnonzero(broken & (fmt == name))
        out[rows] = np.array(kinds, dtype=object)[np.floor(which[rows] * len(kinds)).astype(np.int64)]
    return pl.Series("malformed_kind", out.tolist(), dtype=pl.String)


def error_list() -> pl.Expr:
    """The ``errors`` truth column: set ``err_*`` flags in :data:`ERROR_NAMES` order, then the malformation
    and the duplicate marker, joined by ``;`` (empty string when nothing was injected)."""
    parts = [pl.when(pl.col(f"err_{name}")).then(pl.lit(name)) for name in ERROR_NAMES]
    parts.append(
        pl.when(pl.col("malformed_kind").is_not_null()).then(pl.format("malformed_{}", "malformed_kind"))
    )
    parts.append(pl.when(pl.col("duplicate_of").is_not_null()).then(pl.lit("duplicate")))
    return pl.concat_str(parts, separator=";", ignore_nulls=True)
