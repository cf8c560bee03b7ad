"""The message writers end to end on a small synthetic year: formats parse, rates hold, bytes repeat."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from faker import Faker

from oncoreg.registry.identifiers import generate_identifiers
from oncoreg.simulate import schema
from oncoreg.simulate.messages import MessageConfig, write_messages

YEAR = 2021
SITES = [  # topography, morphology, behaviour, laterality, icd10, sex (0 = both)
    ("C50.4", 8500, 3, "R", "C50.4", 2),
    ("C50.2", 8520, 3, "L", "C50.2", 2),
    ("C61.9", 8140, 3, "N", "C61.9", 1),
    ("C34.1", 8070, 3, "R", "C34.1", 0),
    ("C18.7", 8140, 3, "N", "C18.7", 0),
    ("C44.5", 8720, 3, "N", "C43.5", 0),
    ("C53.9", 8070, 2, "N", "D06.9", 2),
    ("C67.9", 8120, 3, "N", "C67.9", 0),
]


def synthetic_year(*, n_persons: int, n_tumours: int, seed: int) -> dict[str, pl.DataFrame]:
    """Frames of one simulated year with the stage schemas (random but plausible values)."""
    rng = np.random.default_rng(seed)
    fake = Faker("no_NO")
    fake.seed_instance(seed)
    births = np.datetime64("1925-01-01") + rng.integers(0, 365 * 80, n_persons).astype("timedelta64[D]")
    sexes = rng.integers(1, 3, n_persons)
    identifiers = generate_identifiers(birth_dates=births, sexes=sexes, kind="fnr", rng=rng)
    dnr = rng.random(n_persons) < 0.03
    d_ids = generate_identifiers(birth_dates=births[dnr], sexes=sexes[dnr], kind="dnr", rng=rng)
    ids = np.array(identifiers, dtype=object)
    ids[dnr] = d_ids
    first = [fake.first_name_female() if s == 2 else fake.first_name_male() for s in sexes]
    last = [fake.last_name() for _ in range(n_persons)]
    counties = np.array(["03", "46", "50", "56", "11", "18"])[rng.integers(0, 6, n_persons)]
    year_start = date(YEAR, 1, 1)
    entry_kind = rng.choice(["start", "birth", "immigration"], size=n_persons, p=[0.96, 0.02, 0.02])
    exit_kind = rng.choice(["", "death", "emigration"], size=n_persons, p=[0.9, 0.08, 0.02])
    day = [year_start + timedelta(days=int(d)) for d in rng.integers(0, 365, n_persons)]
    persons = pl.DataFrame(
        {
            "person_id": np.arange(1, n_persons + 1),
            "identifier": ids.astype(str),
            "identifier_type": np.where(dnr, "dnr", "fnr"),
            "first_name": first,
            "last_name": last,
            "birth_date": births,
            "sex": sexes,
            "county": counties,
            "municipality": [f"municip_nor{c}01" for c in counties],
            "entry_date": [year_start if k == "start" else d for k, d in zip(entry_kind, day, strict=True)],
            "entry_reason": entry_kind,
            "exit_date": [None if k == "" else d for k, d in zip(exit_kind, day, strict=True)],
            "exit_reason": [None if k == "" else str(k) for k in exit_kind],
        }
    )
    persons = schema.conform(persons, schema.PERSONS)
    owners = rng.integers(1, n_persons + 1, n_tumours)
    site = rng.integers(0, len(SITES), n_tumours)
    incidence = [year_start + timedelta(days=int(d)) for d in rng.integers(0, 365, n_tumours)]
    basis = rng.choice([0, 1, 2, 4, 5, 6, 7], size=n_tumours, p=[0.01, 0.04, 0.1, 0.02, 0.08, 0.05, 0.7])
    dead = persons.filter(pl.col("exit_reason") == "death")
    dco = np.isin(owners, dead["person_id"].to_numpy()) & (rng.random(n_tumours) < 0.2)
    basis = np.where(dco, 0, np.where(basis == 0, 7, basis))
    tumours = pl.DataFrame(
        {
            "tumour_id": np.arange(1, n_tumours + 1),
            "person_id": owners,
            "incidence_date": incidence,
            "topography": [SITES[s][0] for s in site],
            "morphology": [SITES[s][1] for s in site],
            "behaviour": [SITES[s][2] for s in site],
            "grade": rng.integers(1, 4, n_tumours),
            "laterality": [SITES[s][3] for s in site],
            "basis": basis,
            "stage": rng.choice(["localised", "regional", "distant", "unknown"], size=n_tumours),
            "icd10": [SITES[s][4] for s in site],
            "entity": np.zeros(n_tumours, dtype=np.int32),
            "dco": dco,
            "screen_detected": np.zeros(n_tumours, dtype=bool),
        }
    ).join(persons.select("person_id", "sex", "birth_date", "county", "municipality"), on="person_id")
    tumours = tumours.with_columns(
        pl.when(pl.col("dco"))
        .then(pl.col("person_id").replace_strict(dead["person_id"], dead["exit_date"], default=None))
        .otherwise(pl.col("incidence_date"))
        .alias("incidence_date"),
        ((pl.col("incidence_date") - pl.col("birth_date")).dt.total_days() // 365).alias("age"),
    )
    tumours = schema.conform(tumours.sort("tumour_id"), schema.TUMOURS)
    cancer_dead = tumours.filter(pl.col("dco")).unique("person_id", keep="first").sort("person_id")
    deaths = (
        dead.select("person_id", pl.col("exit_date").alias("death_date"))
        .join(cancer_dead.select("person_id", "tumour_id", "icd10"), on="person_id", how="left")
        .with_columns(
            pl.col("icd10").fill_null("I21.9").alias("underlying_cause"),
            pl.col("tumour_id").is_not_null().alias("cancer_death"),
        )
        .sort("person_id")
    )
    deaths = schema.conform(deaths, schema.DEATHS)
    movers = persons.sample(n=max(n_persons // 50, 1), seed=seed).sort("person_id")
    moves = schema.conform(
        movers.select(
            "person_id",
            pl.lit(date(YEAR, 6, 1)).alias("move_date"),
            pl.lit("municip_nor4601").alias("from_municipality"),
            pl.col("municipality").alias("to_municipality"),
        ),
        schema.MOVES,
    )
    treated = tumours.filter(~pl.col("dco")).sample(fraction=0.6, seed=seed).sort("tumour_id")
    kinds = rng.choice(["surgery", "radiotherapy", "systemic"], size=treated.height)
    treatments = schema.conform(
        treated.select(
            pl.int_range(1, pl.len() + 1).alias("treatment_id"),
            "tumour_id",
            "person_id",
            pl.Series("kind", kinds),
            (pl.col("incidence_date") + pl.duration(days=20)).alias("start_date"),
            (pl.col("incidence_date") + pl.duration(days=40)).alias("end_date"),
            pl.lit("HUS").alias("hospital"),
        ),
        schema.TREATMENTS,
    )
    return {
        "persons": persons,
        "tumours": tumours,
        "deaths": deaths,
        "moves": moves,
        "treatments": treatments,
    }


RATES = MessageConfig(  # raised rates so a few thousand messages test each one
    name_typo_rate=0.04,
    name_variant_rate=0.04,
    identifier_transposed_rate=0.03,
    identifier_wrong_digit_rate=0.03,
    identifier_missing_rate=0.03,
    hnumber_rate=0.05,
    topography_conflict_rate=0.1,
    morphology_conflict_rate=0.1,
    laterality_conflict_rate=0.1,
    late_rate=0.05,
    duplicate_rate=0.05,
    malformed_rate=0.04,
)
IDENTITY_SOURCES = [
    "pathology",
    "clinical",
    "clinical_csv",
    "death_certificate",
    "patient_admin",
    "radiotherapy",
    "systemic_therapy",
]
HOSPITAL_SOURCES = [s for s in IDENTITY_SOURCES if s != "death_certificate"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return synthetic_year(n_persons=3000, n_tumours=2500, seed=11)


@pytest.fixture(scope="module")
def written(
    frames: dict[str, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pl.DataFrame]:
    out = tmp_path_factory.mktemp("messages")
    truth = write_messages(out_dir=out, year=YEAR, rng=np.random.default_rng(2021), config=RATES, **frames)
    return out, truth


def _has(errors: str) -> pl.Expr:
    return pl.col("errors").str.split(";").list.contains(errors)


def test_truth_has_the_schema_unique_ids_and_existing_files(written: tuple[Path, pl.DataFrame]) -> None:
    out, truth = written
    assert truth.schema == pl.Schema(schema.MESSAGES_TRUTH)
    assert truth["message_id"].is_unique().all()
    assert truth.height > 5000
    for file in truth["file"].unique().to_list():
        assert (out / file).is_file(), file
        assert file.startswith("messages/")
        assert f"/{YEAR}/" in file
    assert set(truth["source"].unique()) == {*IDENTITY_SOURCES, "population_register"}


@pytest.mark.parametrize(
    ("error", "rate", "sources"),
    [
        ("hnumber", RATES.hnumber_rate, HOSPITAL_SOURCES),
        ("identifier_missing", RATES.identifier_missing_rate, IDENTITY_SOURCES),
        ("identifier_transposed", RATES.identifier_transposed_rate, IDENTITY_SOURCES),
        ("identifier_wrong_digit", RATES.identifier_wrong_digit_rate, IDENTITY_SOURCES),
        ("late", RATES.late_rate, IDENTITY_SOURCES),
        ("morphology_conflict", RATES.morphology_conflict_rate, ["clinical", "clinical_csv"]),
    ],
)
def test_error_rates_match_the_configuration(
    written: tuple[Path, pl.DataFrame], error: str, rate: float, sources: list[str]
) -> None:
    truth = written[1].filter(pl.col("duplicate_of").is_null())
    eligible = truth.filter(pl.col("source").is_in(sources))
    observed = eligible.filter(_has(error)).height
    expected = rate * eligible.height
    assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - rate)) + 1, (observed, expected)
    assert truth.filter(~pl.col("source").is_in(sources) & _has(error)).height == 0


def test_name_errors_duplicates_and_malformed_rates(written: tuple[Path, pl.DataFrame]) -> None:
    truth = written[1]
    originals = truth.filter(pl.col("duplicate_of").is_null())
    identity = originals.filter(pl.col("source").is_in(IDENTITY_SOURCES))
    for observed, rate, n in [
        (
            identity.filter(_has("name_typo") | _has("name_variant")).height,
            RATES.name_typo_rate + RATES.name_variant_rate,
            identity.height,
        ),
        (truth.filter(pl.col("duplicate_of").is_not_null()).height, RATES.duplicate_rate, originals.height),
        (originals.filter(pl.col("malformed")).height, RATES.malformed_rate, originals.height),
    ]:
        expected = rate * n
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - rate)) + 1, (observed, expected)
    assert identity.filter(_has("name_variant")).height > 0.5 * RATES.name_variant_rate * identity.height
    population = truth.filter(pl.col("source") == "population_register")
    assert population.filter(_has("name_typo") | _has("identifier_missing")).height == 0


def test_dco_tumours_reach_the_registry_only_by_death_certificate(
    written: tuple[Path, pl.DataFrame], frames: dict[str, pl.DataFrame]
) -> None:
    out, truth = written
    dco = frames["tumours"].filter(pl.col("dco"))
    assert dco.height > 0
    about_dco = truth.filter(pl.col("tumour_id").is_in(dco["tumour_id"].implode()))
    assert set(about_dco["source"].unique()) == {"death_certificate"}
    certificates = truth.filter(pl.col("source") == "death_certificate")
    (file,) = certificates["file"].unique().to_list()
    rows = pl.read_csv(out / file, infer_schema=False).join(
        certificates.select("message_id", "person_id"), on="message_id"
    )
    causes = rows.select(
        "person_id",
        pl.concat_str("underlying_cause", "contributing_causes", separator=";", ignore_nulls=True)
        .str.split(";")
        .alias("causes"),
    )
    checked = dco.join(causes, on="person_id").filter(pl.col("causes").list.contains(pl.col("icd10")))
    assert set(checked["tumour_id"]) == set(dco.join(causes, on="person_id")["tumour_id"])
    assert set(dco.join(causes, on="person_id")["person_id"]) == set(dco["person_id"])


def test_pathology_reports_only_for_cytology_or_histology(
    written: tuple[Path, pl.DataFrame], frames: dict[str, pl.DataFrame]
) -> None:
    truth = written[1]
    reported = truth.filter(pl.col("source") == "pathology").join(frames["tumours"], on="tumour_id")
    assert set(reported["basis"].unique()) <= {5, 6, 7}
    verified = frames["tumours"].filter(pl.col("basis").is_in([5, 6, 7]) & ~pl.col("dco"))
    assert set(verified["tumour_id"]) == set(reported["tumour_id"])
    per_tumour = reported.filter(pl.col("duplicate_of").is_null()).group_by("tumour_id").len()
    assert per_tumour["len"].max() == 2


def test_input_without_a_column_or_with_an_unknown_person_is_refused(
    frames: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    from oncoreg.errors import ValidationFailed

    broken = {**frames, "tumours": frames["tumours"].drop("basis")}
    with pytest.raises(ValidationFailed, match=r"tumours\.basis"):
        write_messages(out_dir=tmp_path, year=YEAR, rng=np.random.default_rng(1), config=RATES, **broken)
    stranger = frames["deaths"].head(1).with_columns(pl.lit(10**9, dtype=pl.Int64).alias("person_id"))
    unknown = {**frames, "deaths": pl.concat([frames["deaths"], stranger])}
    with pytest.raises(ValidationFailed, match=r"deaths\.person_id '1000000000'.*person_known"):
        write_messages(out_dir=tmp_path, year=YEAR, rng=np.random.default_rng(1), config=RATES, **unknown)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    small = synthetic_year(n_persons=400, n_tumours=300, seed=3)

    def run(name: str, seed: int) -> tuple[dict[str, bytes], pl.DataFrame]:
        out = tmp_path / name
        truth = write_messages(out_dir=out, year=YEAR, rng=np.random.default_rng(seed), config=RATES, **small)
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}, truth

    first, truth_first = run("a", 7)
    second, truth_second = run("b", 7)
    other, _ = run("c", 8)
    assert first == second
    assert truth_first.equals(truth_second)
    assert first != other
