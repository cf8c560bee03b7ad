"""How right are the linkage review tasks' best candidates? A diagnostic against the simulator's truth.

For every open linkage review task of a derived SQLite store, the best candidate person (the first of the
task's ``candidates``) is compared with the person the simulator says sent the notification's message: the
candidate's identifier names a true person (``truth/persons.parquet``), the message's id names one too
(``truth/messages.parquet``). Counted per reason, rounded probability and whether several candidates came
up, and per source. Candidates without an identifier (persons created by linkage) count as unknown.

This tells a threshold tuner whether the model's probabilities are calibrated at the country's size: a
pattern whose tasks are nearly all the true person is one the model under-rates.

Run: ``.venv/bin/python benchmarks/diagnostics/linkage_review_truth.py --store STORE.sqlite
--sim SIMDIR [--out FILE]`` (default ``benchmarks/results/linkage_review_truth.json``). A diagnostic, not
a benchmark: ``make bench`` does not run it (it needs a derived store and its simulation); not part of
the test suite either.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import quote

import connectorx as cx
import polars as pl

RESULTS = Path(__file__).parents[1] / "results" / "linkage_review_truth.json"
TASKS = (
    "SELECT subject_id AS notification_id, reason, details FROM review_task"
    " WHERE kind = 'linkage' AND subject_type = 'notification' AND state IN ('open', 'assigned')"
)


def _in(values: pl.Series) -> str:
    return ",".join(str(int(v)) for v in values.drop_nulls().unique().sort().to_list()) or "NULL"


def review_truth(store: Path, sim: Path) -> dict[str, object]:
    source = "sqlite://" + quote(str(store.resolve()))
    tasks = cx.read_sql(source, TASKS, return_type="polars")
    candidates = pl.col("details").str.json_path_match
    best = tasks.with_columns(
        candidates("$.candidates[0].person_id").cast(pl.Int64).alias("candidate"),
        candidates("$.candidates[0].match_probability").cast(pl.Float64).round(6).alias("probability"),
        candidates("$.candidates[1].person_id").is_not_null().alias("several"),
    )
    subjects, candidate_ids = _in(best["notification_id"]), _in(best["candidate"])
    notes = cx.read_sql(
        source,
        "SELECT n.notification_id, n.source_type, m.external_id FROM notification n"
        f" JOIN message m ON m.message_id = n.message_id WHERE n.notification_id IN ({subjects})",
        return_type="polars",
    )
    persons = cx.read_sql(
        source,
        f"SELECT person_id AS candidate, identifier FROM person WHERE person_id IN ({candidate_ids})",
        return_type="polars",
    )
    sent_by = pl.read_parquet(sim / "truth" / "messages.parquet", columns=["message_id", "person_id"])
    known = pl.read_parquet(sim / "truth" / "persons.parquet", columns=["person_id", "identifier"])
    frame = (
        best.join(notes, on="notification_id", how="left")
        .join(
            sent_by.rename({"message_id": "external_id", "person_id": "true_person"}),
            on="external_id",
            how="left",
        )
        .join(persons, on="candidate", how="left")
        .join(known.rename({"person_id": "candidate_person"}), on="identifier", how="left")
        .with_columns((pl.col("true_person") == pl.col("candidate_person")).alias("right"))
    )
    counted = [
        pl.len().alias("tasks"),
        pl.col("right").sum().alias("best_candidate_is_the_true_person"),
        pl.col("right").is_null().sum().alias("unknown"),
    ]
    return {
        "store": str(store),
        "simulation": str(sim),
        "open_linkage_tasks": frame.height,
        "best_candidate_is_the_true_person": int(frame["right"].sum()),
        "by_pattern": frame.group_by("reason", "probability", "several")
        .agg(counted)
        .sort("tasks", descending=True)
        .head(20)
        .to_dicts(),
        "by_source": frame.group_by("source_type").agg(counted).sort("tasks", descending=True).to_dicts(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a derived SQLite store")
    parser.add_argument("--sim", type=Path, required=True, help="the simulation it was ingested from")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = review_truth(args.store, args.sim)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
