"""Where the code tables live, how they are read, and which version of each is in use.

Every table in ``data/`` is listed in ``data/manifest.json`` with its version, source, licence and validity
dates; :func:`code_list_versions` is what snapshot manifests record so that a published number can be traced
to the exact code lists behind it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

import polars as pl

_DATA = files("oncoreg.codes") / "data"


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    """The parsed ``data/manifest.json``."""
    parsed: dict[str, Any] = json.loads((_DATA / "manifest.json").read_text(encoding="utf-8"))
    return parsed


def code_list_versions() -> dict[str, str]:
    """Table name -> version string, for every table in the manifest (e.g. ``{"icdo3_topography": ...}``)."""
    return {entry["name"]: entry["version"] for entry in manifest()["tables"]}


@lru_cache(maxsize=32)
def read_table(file_name: str) -> pl.DataFrame:
    """Read one CSV table of ``data/`` with every column as text (callers cast what they need)."""
    with (_DATA / file_name).open("rb") as handle:
        return pl.read_csv(handle, infer_schema=False)
