"""``oncoreg ingest DIR`` prints a reconciling run report (the lead registers the command)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from oncoreg.cli.ingest import ingest


def test_cli_ingest_prints_the_report(message_dir: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(ingest)
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    result = CliRunner().invoke(app, [str(message_dir), "--database-url", url, "--user", "kari"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["received"] == report["accepted"] + report["quarantined"] + report["duplicates"]
    assert report["user"] == "kari"
    assert report["accepted"] > 0
    missing = CliRunner().invoke(app, [str(tmp_path / "nowhere"), "--database-url", url])
    assert missing.exit_code == 2
