"""The ``snapshot`` and ``evaluate`` command functions through a Typer app (the lead registers them)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from oncoreg.cli.snapshot import evaluate, snapshot
from oncoreg.errors import OncoregError
from oncoreg.registry import Registry


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("snapshot")(snapshot)
    app.command("evaluate")(evaluate)
    return app


def test_snapshot_command_writes_a_manifest_and_evaluate_needs_message_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    Registry.create(url).dispose()
    runner = CliRunner()
    out = tmp_path / "snap"
    result = runner.invoke(
        _app(), ["snapshot", "--out", str(out), "--database-url", url, "--as-of", "2024-12-31"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["as_of"] == "2024-12-31T23:59:59.999999+00:00"
    assert manifest["tables"]["tumours"]["rows"] == 0
    bad = runner.invoke(_app(), ["evaluate", str(tmp_path / "nosim"), str(out)])
    assert isinstance(bad.exception, OncoregError)
    assert "messages.parquet is missing" in str(bad.exception)
