"""The rule data of the message writers (``data/*.csv``, described in ``data/README.md``), read once."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from io import BytesIO

import polars as pl


def _read(name: str, schema: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    raw = resources.files("oncoreg.simulate.messages").joinpath(f"data/{name}").read_bytes()
    return pl.read_csv(BytesIO(raw), schema_overrides=schema, infer_schema=False)


@lru_cache(maxsize=1)
def senders() -> pl.DataFrame:
    """Reporting institutions: ``sender_code, name, county, hospital, pathology_lab, radiotherapy``."""
    frame = _read("senders.csv", {})
    return frame.with_columns(
        pl.col("county").fill_null(""),
        *(pl.col(c) == "true" for c in ("hospital", "pathology_lab", "radiotherapy")),
    )


@lru_cache(maxsize=1)
def topography_terms() -> pl.DataFrame:
    """Norwegian organ word per three-character ICD-O-3 site: ``site, organ_no``."""
    return _read("topography_terms_no.csv", {})


@lru_cache(maxsize=1)
def morphology_terms() -> pl.DataFrame:
    """Norwegian terms: ``morphology`` (null = fallback), ``behaviour`` (null = any), ``term_no``."""
    return _read("morphology_terms_no.csv", {}).with_columns(
        pl.col("morphology").cast(pl.Int16), pl.col("behaviour").cast(pl.Int8)
    )


@lru_cache(maxsize=1)
def name_variants() -> pl.DataFrame:
    """Spelling variants: ``kind`` (whole | substring), ``from``, ``to``, ``note``."""
    return _read("name_variants.csv", {})


@lru_cache(maxsize=1)
def topography_subsites() -> pl.DataFrame:
    """Valid fourth characters per ICD-O-3 site: ``site``, ``subsites`` (list of one-character strings)."""
    return _read("topography_subsites.csv", {}).with_columns(pl.col("subsites").str.split(" "))
