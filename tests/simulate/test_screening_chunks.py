"""The end-of-run stages in chunks of persons: same bytes for the same seed, one numbering of events, whole
message files, and every person written once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from oncoreg.simulate.run import simulate

ARGS = {"scale": 0.003, "seed": 5, "start_year": 2020, "end_year": 2022, "chunk_persons": 4000}


def _digests(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def chunked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("chunked")
    simulate(out_dir=out, **ARGS)  # type: ignore[arg-type]
    return out


def test_same_seed_same_bytes_with_messages_and_screening(chunked: Path, tmp_path: Path) -> None:
    simulate(out_dir=tmp_path, **ARGS)  # type: ignore[arg-type]
    first, second = _digests(chunked), _digests(tmp_path)
    assert any(name.startswith("messages/screening/") for name in first)
    assert first == second


def test_persons_are_written_once_each(chunked: Path) -> None:
    persons = pl.read_parquet(chunked / "truth" / "persons.parquet")["person_id"]
    assert persons.len() > 3 * ARGS["chunk_persons"]  # several chunks
    assert persons.to_list() == list(range(1, persons.len() + 1))


def test_event_ids_run_on_across_chunks(chunked: Path) -> None:
    events = pl.read_parquet(chunked / "truth" / "screening_events.parquet")
    for (programme,), rows in events.group_by("programme"):
        prefix = {"breast": "B", "cervix": "C", "colorectal": "K"}[str(programme)]
        assert rows["event_id"].str.starts_with(prefix).all()
        numbers = rows["event_id"].str.slice(1).cast(pl.Int64).sort()
        assert numbers.to_list() == list(range(1, rows.height + 1))
        # in person, date order within the programme, as one run would number them
        ordered = rows.sort("event_id")
        assert ordered["person_id"].is_sorted()


def test_message_files_have_one_header_and_every_event(chunked: Path) -> None:
    messages = pl.read_parquet(chunked / "truth" / "messages.parquet").filter(
        pl.col("source").str.starts_with("screening_")
    )
    for file, rows in messages.group_by("file"):
        lines = (chunked / str(file[0])).read_text().splitlines()
        assert lines[0].startswith("message_id,")
        assert lines.count(lines[0]) == 1
        assert len(lines) - 1 == rows.height


def test_screening_truth_has_one_row_per_tumour_in_order(chunked: Path) -> None:
    truth = pl.read_parquet(chunked / "truth" / "screening_tumours.parquet")
    assert truth["tumour_id"].is_sorted()
    assert truth["tumour_id"].n_unique() == truth.height
    tumours = pl.read_parquet(chunked / "truth" / "tumours.parquet")
    assert tumours.join(truth, on="tumour_id", how="anti").height == 0
