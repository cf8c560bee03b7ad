"""Helpers of the pipeline tests."""

from __future__ import annotations

from pathlib import Path

YEARS = (2020, 2021, 2022)


def year_directory(country: Path, year: int, target: Path) -> Path:
    """A directory holding only the message files of ``year`` (symlinks), laid out like the original."""
    for source_dir in sorted((country / "messages").iterdir()):
        files = source_dir / str(year)
        if files.is_dir():
            dest = target / "messages" / source_dir.name / str(year)
            dest.mkdir(parents=True, exist_ok=True)
            for path in sorted(files.iterdir()):
                (dest / path.name).symlink_to(path)
    return target
