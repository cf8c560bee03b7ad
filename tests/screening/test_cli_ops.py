"""``oncoreg screening kpi | interval-cancers | invite | overdue | nightly`` over a simulator output
directory: tables or CSV out; bad input is one line (exit 2), never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from oncoreg.cli.screening_ops import app
from oncoreg.simulate.screening import simulate_screening
from oncoreg.simulate.screening.synthetic import synthetic_population

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    persons, tumours = synthetic_population(n_persons=8_000, start_year=2010, end_year=2024, rng=rng)
    result = simulate_screening(persons=persons, tumours=tumours, start_year=2010, end_year=2024, rng=rng)
    root = tmp_path_factory.mktemp("sim")
    (root / "truth").mkdir()
    result.events.write_parquet(root / "truth" / "screening_events.parquet")
    persons.write_parquet(root / "truth" / "persons.parquet")
    result.tumours.write_parquet(root / "truth" / "tumours.parquet")
    return root


def test_every_command_has_help() -> None:
    for command in ("kpi", "interval-cancers", "invite", "overdue", "nightly"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_kpi_report_csv_with_freeze_time(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "kpi.csv"
    result = runner.invoke(
        app,
        ["kpi", "--data-dir", str(data_dir), "--freeze-time", "2025-01-31T23:00:00+01:00", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table["county"][-1] == "All"
    assert "BR-PART" in table.columns
    assert "CR-UPTAKE" in table.columns
    shown = runner.invoke(
        app, ["kpi", "--data-dir", str(data_dir), "--freeze-time", "2025-01-31T00:00+00:00"]
    )
    assert shown.exit_code == 0
    assert "data frozen 2025-01-31T00:00+00:00" in shown.output


def test_kpi_stored_in_a_database(data_dir: Path, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from oncoreg.registry.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    result = runner.invoke(
        app, ["kpi", "--data-dir", str(data_dir), "--store", url, "--out", str(tmp_path / "k.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "KPI run 1 stored" in result.output
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from screening_kpi_value")).scalar_one() > 0
    engine.dispose()


def test_interval_cancers_invite_overdue_nightly(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "classification.csv"
    assert (
        runner.invoke(app, ["interval-cancers", "--data-dir", str(data_dir), "--out", str(out)]).exit_code
        == 0
    )
    assert "interval" in pl.read_csv(out)["classification"].to_list()
    batch = tmp_path / "batch.csv"
    letters = tmp_path / "letters"
    result = runner.invoke(
        app,
        [
            "invite",
            "--as-of",
            "2024-09-02",
            "--data-dir",
            str(data_dir),
            "--out",
            str(batch),
            "--letters-dir",
            str(letters),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = pl.read_csv(batch).height
    assert rows > 0
    assert len(list(letters.glob("*.pdf"))) == rows  # no digital_mailbox column: paper
    paused = runner.invoke(
        app,
        [
            "invite",
            "--as-of",
            "2024-09-02",
            "--pause",
            "2024-08-01",
            "--data-dir",
            str(data_dir),
            "--out",
            str(batch),
        ],
    )
    assert paused.exit_code == 0
    assert pl.read_csv(batch).height == 0
    over = tmp_path / "overdue.csv"
    assert (
        runner.invoke(
            app, ["overdue", "--as-of", "2024-09-02", "--data-dir", str(data_dir), "--out", str(over)]
        ).exit_code
        == 0
    )
    assert pl.read_csv(over).height > 0
    nightly = runner.invoke(
        app,
        ["nightly", "--as-of", "2024-09-02", "--data-dir", str(data_dir), "--out-dir", str(tmp_path / "n")],
    )
    assert nightly.exit_code == 0, nightly.output
    assert pl.read_csv(tmp_path / "n" / "summary.csv")["programme"].to_list() == [
        "breast",
        "cervix",
        "colorectal",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invite", "--as-of", "2024-13-01", "--data-dir", "."], "--as-of '2024-13-01' is not a date"),
        (["invite", "--as-of", "2024-09-02", "--resume", "2024-09-01"], "--resume needs --pause"),
        (["kpi", "--data-dir", ".", "--freeze-time", "2025-01-31"], "has no time zone"),
        (["overdue", "--as-of", "2024-09-02"], "no events given"),
        (
            ["overdue", "--as-of", "2024-09-02", "--events", "missing.parquet"],
            "missing.parquet: no such file",
        ),
    ],
)
def test_one_line_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
