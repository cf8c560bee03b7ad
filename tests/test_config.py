from __future__ import annotations

from pathlib import Path

import pytest

from oncoreg.config import DEVELOPMENT_SECRET, load_settings
from oncoreg.errors import ConfigError


def test_default_store_is_sqlite_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(data_dir=tmp_path / "d")
    assert settings.store_url == f"sqlite:///{(tmp_path / 'd' / 'registry.sqlite').resolve()}"


def test_environment_variables_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ONCOREG_DATABASE_URL", "postgresql+psycopg://u@h:5/db")
    monkeypatch.setenv("ONCOREG_DCO_TRACEBACK_DAYS", "90")
    settings = load_settings()
    assert settings.store_url == "postgresql+psycopg://u@h:5/db"
    assert settings.dco_traceback_days == 90


def test_toml_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('data_dir = "/srv/registry"\nsmall_count_threshold = 3\n')
    monkeypatch.setenv("ONCOREG_CONFIG", str(config))
    monkeypatch.setenv("ONCOREG_SMALL_COUNT_THRESHOLD", "10")
    settings = load_settings()
    assert settings.data_dir == Path("/srv/registry")
    assert settings.small_count_threshold == 10


def test_default_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="secret_key"):
        load_settings(environment="production")
    settings = load_settings(environment="production", secret_key="a-real-secret-from-a-vault")
    assert settings.secret_key.get_secret_value() != DEVELOPMENT_SECRET


def test_unknown_setting_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no_such_setting"):
        load_settings(no_such_setting=1)
