"""The simulator's year loop: a synthetic Norway with ground truth, written to ``out_dir/truth``.

Per calendar year Y: population on 1 January (recorded); other-cause deaths from the life table; new tumours
(incidence before death); cancer deaths from the excess hazards; DCO cases; treatments; internal moves;
births and migration to hit the published 1 January Y+1 counts. Each year's frames go to the message
writers (if installed) and are streamed to Parquet; persons and tumours are written at the end.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.simulate import rng as rngs
from oncoreg.simulate.cancers import cancer_model
from oncoreg.simulate.events import add_persons, births, expand_cells, internal_moves, migration
from oncoreg.simulate.identity import IdentifierIssuer
from oncoreg.simulate.lifetable import hazard_array, rate_table
from oncoreg.simulate.output import StreamingTable, persons_frame, write_parquet
from oncoreg.simulate.population import (
    NO_DATE,
    MunicipalityIndex,
    PersonStore,
    cell_counts,
    day_of,
    other_cause_deaths,
    random_days_in_year,
)
from oncoreg.simulate.schema import DEATHS, MESSAGES_TRUTH, MOVES, PERSONS, TREATMENTS, TUMOURS
from oncoreg.simulate.tables import available_years, counties, population_targets
from oncoreg.simulate.truth import (
    MODEL_COLUMNS,
    apply_screening,
    deaths_frame,
    finish_truth,
    shift_treatments,
    treatments_frame,
    tumours_frame,
)
from oncoreg.simulate.tumours import death_certificate_tumours, draw_tumours, new_tumours

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]

#: Persons per chunk of the end-of-run stages (persons.parquet, screening): bounds their memory.
CHUNK_PERSONS = 1 << 19

#: Years of clinical tumours simulated after the period for the screening stage (sojourn means 3-5 years).
LOOKAHEAD_YEARS = 6

POPULATION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "year": pl.Int16,
    "county": pl.String,
    "sex": pl.Int8,
    "age": pl.Int16,
    "count": pl.Int64,
    "published": pl.Float64,
}


@dataclass
class SimulationSummary:
    """What a run produced (counts per table) and where."""

    out_dir: Path
    persons: int = 0
    tumours: int = 0
    deaths: int = 0
    moves: int = 0
    treatments: int = 0
    messages: int = 0
    messages_hook: str = "not installed"
    years: list[int] = field(default_factory=list)


def _validate(*, scale: float, start_year: int, end_year: int) -> None:
    first, last = available_years()
    problems = []
    if not 0 < scale <= 2:
        problems.append(Problem("scale", str(scale), "simulate.scale", "must be in (0, 2]"))
    if start_year < first:
        problems.append(
            Problem("start_year", str(start_year), "simulate.years", f"population starts in {first}")
        )
    if end_year > last - 1 or end_year < start_year:
        problems.append(
            Problem("end_year", str(end_year), "simulate.years", f"must be in [start_year, {last - 1}]")
        )
    if problems:
        raise ValidationFailed(problems)


def _message_writer() -> Callable[..., pl.DataFrame] | None:
    """``oncoreg.simulate.messages.write_messages`` when the message writers are installed."""
    try:
        module = importlib.import_module("oncoreg.simulate.messages")
    except ImportError:
        return None
    writer = getattr(module, "write_messages", None)
    return writer if callable(writer) else None


def simulate(
    *,
    out_dir: Path,
    scale: float,
    seed: int,
    start_year: int,
    end_year: int,
    progress: Progress | None = None,
    write_messages: bool = True,
    screening: bool = True,
    chunk_persons: int = CHUNK_PERSONS,
) -> SimulationSummary:
    """Simulate Norway from 1 January ``start_year`` to 31 December ``end_year`` at ``scale`` (1.0 = all).

    Writes ``out_dir/truth/{persons,tumours,deaths,moves,treatments,population,net_survival,messages}``
    ``.parquet``
    and ``ratetable.csv``. Deterministic for ``seed``: the same arguments give the same bytes.
    """
    _validate(scale=scale, start_year=start_year, end_year=end_year)
    truth = out_dir / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    model = cancer_model()
    munis = MunicipalityIndex.load()
    years = range(start_year, end_year + 1)
    hazards = hazard_array(years=years)
    store = PersonStore()
    issuer = IdentifierIssuer()
    county_codes = np.array(counties())
    parameters = model.parameters
    summary = SimulationSummary(out_dir=out_dir, years=list(years))
    writer = _message_writer() if write_messages else None
    summary.messages_hook = "called" if writer is not None else "not installed"
    stage = (
        out_dir / ".simulate-stage"
    )  # the year's frames until the messages are written; removed at the end
    stage.mkdir(parents=True, exist_ok=True)
    streams = {
        "deaths": StreamingTable(truth / "deaths.parquet", DEATHS),
        "moves": StreamingTable(truth / "moves.parquet", MOVES),
        "treatments": StreamingTable(truth / "treatments.parquet", TREATMENTS),
        "population": StreamingTable(truth / "population.parquet", POPULATION_SCHEMA),
        "messages": StreamingTable(truth / "messages.parquet", MESSAGES_TRUTH),
    }

    def targets(year: int) -> np.ndarray:
        published = population_targets(year=year)
        return rngs.stochastic_round(
            scale * published, rng=rngs.stream(seed=seed, stage="targets", year=year)
        )

    clock = _StageClock()
    initial = targets(start_year)
    county, sex, age = expand_cells(initial)
    init_rng = rngs.stream(seed=seed, stage="population", year=start_year)
    birth = random_days_in_year((start_year - 1 - age).astype(np.int64), init_rng)
    add_persons(
        store=store,
        county=county,
        sex=sex,
        birth=birth,
        entry=np.full(county.size, day_of(start_year), np.int32),
        entry_reason=0,
        dnr_share=0.0,
        year=start_year,
        munis=munis,
        issuer=issuer,
        rng=init_rng,
    )
    tumour_frames: list[pl.DataFrame] = []
    treatment_frames: list[pl.DataFrame] = []
    tumour_icd10 = np.zeros(0, dtype="<U6")
    next_tumour = 1
    for y_index, year in enumerate(years):
        next_start = day_of(year + 1)
        alive = store.alive()
        counts = cell_counts(store=store, rows=alive, year=year, munis=munis)
        streams["population"].write(_population_rows(year, counts, county_codes))
        other = other_cause_deaths(
            birth=store["birth"][alive],
            sex=store["sex"][alive],
            year=year,
            hazards=hazards[y_index],
            rng=rngs.stream(seed=seed, stage="deaths", year=year),
        )
        provisional = np.minimum(other, store["cancer_death"][alive]).astype(np.int64)
        persons, groups, incidence = draw_tumours(
            model=model,
            store=store,
            rows=alive,
            at_risk_until=provisional,
            year=year,
            scale_rng=rngs.stream(seed=seed, stage="incidence", year=year),
            rng=rngs.stream(seed=seed, stage="tumours", year=year),
        )
        tumour_rng = rngs.stream(seed=seed, stage="tumours", year=10_000 + year)
        new = new_tumours(
            model=model, store=store, persons=persons, groups=groups, incidence=incidence, rng=tumour_rng
        )
        new["tumour_id"] = np.arange(next_tumour, next_tumour + persons.size, dtype=np.int64)
        next_tumour += persons.size
        tumour_icd10 = np.concatenate([tumour_icd10, new["icd10"].astype("<U6")])
        cancer_day = np.minimum(new["cancer_death"], NO_DATE).astype(np.int64)
        earlier = cancer_day < store["cancer_death"][persons]
        store.arrays["cancer_death"][persons[earlier]] = cancer_day[earlier]
        store.arrays["cancer_tumour"][persons[earlier]] = new["tumour_id"][earlier]
        cancer_all = store["cancer_death"][alive].astype(np.int64)
        death_day = np.minimum(other, cancer_all)
        dies = death_day < next_start
        dead_rows = alive[dies]
        dead_day = death_day[dies]
        by_cancer = cancer_all[dies] <= other[dies]
        # death-certificate-only: extra malignant tumours of persons dying this year without a new tumour,
        # dco_share of all malignant cases (extra, so no diagnosed patient's outcome decides the choice)
        new["dco"] = np.zeros(persons.size, dtype=bool)
        malignant = float((new["behaviour"] == 3).sum())
        n_dco = rngs.stochastic_round(
            np.array([parameters["dco_share"] / (1 - parameters["dco_share"]) * malignant]), rng=tumour_rng
        )[0]
        undiagnosed = ~np.isin(dead_rows, persons)
        dco = death_certificate_tumours(
            model=model,
            store=store,
            dead_rows=dead_rows[undiagnosed],
            dead_day=dead_day[undiagnosed],
            year=year,
            n=int(n_dco),
            rng=tumour_rng,
        )
        dco["tumour_id"] = np.arange(next_tumour, next_tumour + dco["row"].size, dtype=np.int64)
        next_tumour += dco["row"].size
        tumour_icd10 = np.concatenate([tumour_icd10, dco["icd10"].astype("<U6")])
        new = {key: np.concatenate([value, dco[key]]) for key, value in new.items()}
        persons, groups = new["row"], new["group"]
        person_death_lookup = np.full(store.size, NO_DATE, dtype=np.int64)
        person_death_lookup[dead_rows] = dead_day
        person_death = person_death_lookup[persons]
        store.arrays["exit"][dead_rows] = dead_day
        store.arrays["exit_reason"][dead_rows] = 1
        store.arrays["n_tumours"][persons] += 1
        store.arrays["last_group"][persons] = groups
        store.arrays["last_event"][persons] = np.maximum(store["last_event"][persons], new["incidence"])
        cause_tumour = np.where(by_cancer, store["cancer_tumour"][dead_rows], -1)
        deaths = deaths_frame(
            rows=dead_rows,
            days=dead_day,
            cause_tumour=cause_tumour,
            tumour_icd10=tumour_icd10,
            rng=rngs.stream(seed=seed, stage="deaths", year=10_000 + year),
        )
        tumours = tumours_frame(new=new, store=store, municipality_codes=munis.codes)
        treatments = treatments_frame(
            new=new,
            model=model,
            exit_day=person_death,
            municipality_codes=munis.codes,
            store=store,
            rng=rngs.stream(seed=seed, stage="treatments", year=year),
        )
        survivors = store.alive()
        moves = internal_moves(
            store=store,
            rows=survivors,
            year=year,
            rate=parameters["internal_move_rate"],
            munis=munis,
            rng=rngs.stream(seed=seed, stage="moves", year=year),
        )
        migration_rng = rngs.stream(seed=seed, stage="migration", year=year)
        target = targets(year + 1)
        born = births(
            store=store,
            target=target,
            year=year,
            hazards=hazards[y_index],
            munis=munis,
            issuer=issuer,
            rng=migration_rng,
        )
        infant_dead = born[store["exit_reason"][born] == 1]
        if infant_dead.size:
            deaths = pl.concat(
                [
                    deaths,
                    deaths_frame(
                        rows=infant_dead,
                        days=store["exit"][infant_dead].astype(np.int64),
                        cause_tumour=np.full(infant_dead.size, -1),
                        tumour_icd10=tumour_icd10,
                        rng=migration_rng,
                    ),
                ]
            ).sort("person_id")
        emigrants, immigrants = migration(
            store=store,
            target=target,
            year=year,
            dnr_share=parameters["dnr_share_immigrants"],
            munis=munis,
            issuer=issuer,
            rng=migration_rng,
        )
        for name, frame in (("deaths", deaths), ("moves", moves)):
            streams[name].write(frame)
        # messages come after the screening stage (it may move incidence dates): stage the year's frames
        tumour_frames.append(tumours)
        treatment_frames.append(treatments)
        if writer is not None:
            referenced = np.unique(
                np.concatenate(
                    [persons, dead_rows, born, emigrants, immigrants, moves["person_id"].to_numpy() - 1]
                )
            )
            persons_now = persons_frame(store=store, rows=referenced, municipality_codes=munis.codes)
            for name, frame in (("persons", persons_now), ("deaths", deaths), ("moves", moves)):
                write_parquet(frame, stage / f"{name}_{year}.parquet")
        if progress is not None:
            progress(y_index + 1, len(years), f"{year}: {alive.size} persons, {persons.size} tumours")
        log.info("year %d: %d alive, %d tumours, %d deaths", year, alive.size, persons.size, dead_rows.size)
    clock.done("year loop")
    final = store.alive()
    first_future = next_tumour
    screener = None
    if screening:
        from oncoreg.simulate.screening.stream import ScreeningStream

        # clinical tumours of the years after the period, so that screens near its end find as many as in a
        # steady state; only those found within the period are kept (their deaths fall after it)
        for future_year in range(end_year + 1, end_year + 1 + LOOKAHEAD_YEARS):
            persons, groups, incidence = draw_tumours(
                model=model,
                store=store,
                rows=final,
                at_risk_until=np.full(final.size, NO_DATE, dtype=np.int64),
                year=future_year,
                scale_rng=rngs.stream(seed=seed, stage="incidence", year=future_year),
                rng=rngs.stream(seed=seed, stage="tumours", year=future_year),
            )
            tumour_rng = rngs.stream(seed=seed, stage="tumours", year=10_000 + future_year)
            new = new_tumours(
                model=model, store=store, persons=persons, groups=groups, incidence=incidence, rng=tumour_rng
            )
            new["tumour_id"] = np.arange(next_tumour, next_tumour + persons.size, dtype=np.int64)
            new["dco"] = np.zeros(persons.size, dtype=bool)
            next_tumour += persons.size
            tumour_frames.append(tumours_frame(new=new, store=store, municipality_codes=munis.codes))
            treatment_frames.append(
                treatments_frame(
                    new=new,
                    model=model,
                    exit_day=np.full(persons.size, NO_DATE, dtype=np.int64),
                    municipality_codes=munis.codes,
                    store=store,
                    rng=rngs.stream(seed=seed, stage="treatments", year=future_year),
                )
            )
        screener = ScreeningStream(
            out_dir=out_dir,
            tumours=pl.concat(tumour_frames),
            start_year=start_year,
            end_year=end_year,
            messages=writer is not None,
        )
    # persons.parquet and the screening stage, a chunk of persons at a time (bounded memory)
    persons_file = StreamingTable(truth / "persons.parquet", PERSONS)
    for part, first in enumerate(range(0, store.size, chunk_persons)):
        rows = np.arange(first, min(first + chunk_persons, store.size), dtype=np.int64)
        persons_now = persons_frame(store=store, rows=rows, municipality_codes=munis.codes)
        persons_file.write(persons_now)
        if screener is not None:
            screening_rng = rngs.stream(seed=seed, stage="screening", year=start_year, part=part)
            streams["messages"].write(screener.add(persons=persons_now, rng=screening_rng))
    persons_file.close()
    del persons_now
    clock.done("persons and screening")
    tumours_all = pl.concat(tumour_frames) if tumour_frames else pl.DataFrame(schema=TUMOURS)
    del tumour_frames
    shifts = pl.DataFrame(schema={"tumour_id": pl.Int64, "shift_days": pl.Int32})
    if screener is not None:
        tumours_all, shifts = apply_screening(tumours=tumours_all, screened=screener.close())
        tumours_all = tumours_all.filter((pl.col("tumour_id") < first_future) | pl.col("screen_detected"))
        store.arrays["n_tumours"][
            tumours_all["person_id"].to_numpy()[tumours_all["tumour_id"].to_numpy() >= first_future] - 1
        ] += 1
    _write_years(
        years=years,
        tumours=tumours_all,
        treatments=shift_treatments(treatments=pl.concat(treatment_frames), shifts=shifts),
        streams=streams,
        writer=writer,
        stage=stage,
        store=store,
        municipality_codes=munis.codes,
        out_dir=out_dir,
        seed=seed,
    )
    del treatment_frames
    shutil.rmtree(stage)
    clock.done("treatments and messages by year")
    streams["population"].write(
        _population_rows(
            end_year + 1, cell_counts(store=store, rows=final, year=end_year + 1, munis=munis), county_codes
        )
    )
    for name, stream in streams.items():
        stream.close()
        setattr(summary, name, stream.rows) if hasattr(summary, name) else None
    summary.persons = store.size
    summary.tumours = finish_truth(
        tumour_frames=[tumours_all], store=store, model=model, truth=truth, end_day=day_of(end_year + 1) - 1
    )
    rate_table(years=years).write_csv(truth / "ratetable.csv", float_precision=10)
    clock.done("tumours and net survival")
    return summary


def _write_years(
    *,
    years: range,
    tumours: pl.DataFrame,
    treatments: pl.DataFrame,
    streams: dict[str, StreamingTable],
    writer: Callable[..., pl.DataFrame] | None,
    stage: Path,
    store: PersonStore,
    municipality_codes: np.ndarray,
    out_dir: Path,
    seed: int,
) -> None:
    """Treatments and messages of each year, by the (final) incidence year of the tumours.

    Tumours and treatments are split by year once; the year's persons, deaths and moves are read back from
    the stage, and persons of tumours moved into the year by screening are added from the store (their
    current state), so each year costs time in proportion to its own rows.
    """
    year_of = tumours.select("tumour_id", pl.col("incidence_date").dt.year().alias("_year"))
    tumours_of = tumours.join(year_of, on="tumour_id", maintain_order="left").partition_by(
        "_year", as_dict=True, include_key=False, maintain_order=True
    )
    treatments_of = treatments.join(year_of, on="tumour_id", maintain_order="left").partition_by(
        "_year", as_dict=True, include_key=False, maintain_order=True
    )
    for year in years:
        tumours_now = tumours_of.pop((year,), tumours.clear())
        treatments_now = treatments_of.pop((year,), treatments.clear())
        treatments_now = treatments_now.sort("tumour_id", "start_date", "kind")
        streams["treatments"].write(treatments_now)
        if writer is None:
            continue
        staged = {
            name: pl.read_parquet(stage / f"{name}_{year}.parquet") for name in ("persons", "deaths", "moves")
        }
        moved_in = (
            tumours_now.select("person_id")
            .unique()
            .filter(~pl.col("person_id").is_in(staged["persons"]["person_id"].implode()))["person_id"]
            .sort()
            .to_numpy()
        )
        persons_now = persons_frame(store=store, rows=moved_in - 1, municipality_codes=municipality_codes)
        messages = writer(
            out_dir=out_dir,
            year=year,
            persons=pl.concat([staged["persons"], persons_now]).sort("person_id"),
            tumours=tumours_now.drop(MODEL_COLUMNS),
            deaths=staged["deaths"],
            moves=staged["moves"],
            treatments=treatments_now,
            rng=rngs.stream(seed=seed, stage="messages", year=year),
            config=_message_config(),
        )
        streams["messages"].write(messages)


class _StageClock:
    """Logs the wall seconds of each stage of a run (``stage <name>: <seconds> s``, read by the benchmark)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        log.info("stage %s: %.1f s", name, now - self.last)
        self.last = now


def _message_config() -> object:
    module = importlib.import_module("oncoreg.simulate.messages")
    return module.MessageConfig()


def _population_rows(year: int, counts: np.ndarray, county_codes: np.ndarray) -> pl.DataFrame:
    published = population_targets(year=year)
    c, s, a = np.meshgrid(np.arange(counts.shape[0]), np.arange(2), np.arange(counts.shape[2]), indexing="ij")
    return pl.DataFrame(
        {
            "year": np.full(counts.size, year, dtype=np.int16),
            "county": county_codes[c.reshape(-1)],
            "sex": (s.reshape(-1) + 1).astype(np.int8),
            "age": a.reshape(-1).astype(np.int16),
            "count": counts.reshape(-1).astype(np.int64),
            "published": published.reshape(-1),
        }
    )


__all__ = ["TUMOURS", "SimulationSummary", "simulate"]
