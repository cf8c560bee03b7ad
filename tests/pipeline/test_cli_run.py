"""``oncoreg run DIR``: progress, summary table or JSON, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pipeline_support import YEARS, year_directory
from typer.testing import CliRunner

from oncoreg.cli.run import run


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("run")(run)

    @app.command("noop")
    def noop() -> None:  # a second command keeps "run" a sub-command
        """Nothing."""

    return app


def test_run_prints_the_summary_and_the_report(tiny_country: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    directory = year_directory(tiny_country, YEARS[0], tmp_path / "year")
    runner = CliRunner()
    result = runner.invoke(_app(), ["run", str(directory), "--database-url", url, "--as-of", "2026-01-01"])
    assert result.exit_code == 0, result.output
    for section in ("messages", "persons", "links", "tumours", "review tasks", "check results", "seconds"):
        assert section in result.output
    again = runner.invoke(_app(), ["run", str(directory), "--database-url", url, "--json", "--rebuild"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["rebuild"] is True
    assert report["duplicates"] == report["received"] > 0
    assert report["tumours_created"] == report["tumours_updated"] == report["tumours_retired"] == 0
    # a rebuild needs no directory: it re-derives from the stored messages and ingests nothing
    stored = runner.invoke(_app(), ["run", "--rebuild", "--database-url", url, "--json"])
    assert stored.exit_code == 0, stored.output
    alone = json.loads(stored.stdout)
    assert alone["received"] == 0
    assert alone["notifications_processed"] == report["notifications_processed"] > 0
    assert alone["tumours_total"] == report["tumours_total"] > 0
    assert alone["tumours_created"] == alone["tumours_updated"] == alone["tumours_retired"] == 0


def test_a_run_without_directory_must_be_a_rebuild(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    result = CliRunner().invoke(_app(), ["run", "--database-url", url])
    assert result.exit_code == 2
    assert "--rebuild" in result.output


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    missing = CliRunner().invoke(_app(), ["run", str(tmp_path / "nowhere"), "--database-url", url])
    assert missing.exit_code == 2
    assert missing.output.strip().count("\n") == 0
    bad_day = CliRunner().invoke(
        _app(), ["run", str(tmp_path), "--database-url", url, "--as-of", "31.12.2024"]
    )
    assert bad_day.exit_code == 2
