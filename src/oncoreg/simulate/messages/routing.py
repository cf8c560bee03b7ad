"""Which institution sends a message: hospitals and pathology labs chosen by the patient's county."""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

from oncoreg.simulate.messages import reference

PRIVATE_LAB_SHARE = 0.2  # share of pathology reports from the private labs (Fürst, Unilabs); assumption


def county_code(column: str) -> pl.Expr:
    """The two-digit 2024 county code of ``county_nor03``-style or plain codes."""
    return pl.col(column).cast(pl.String).str.extract(r"(\d{2})$").fill_null("")


def municipality_code(column: str) -> pl.Expr:
    """The four-digit 2024 municipality code of ``municip_nor0301``-style or plain codes."""
    return pl.col(column).cast(pl.String).str.extract(r"(\d{4})$")


def _pick(
    counties: pl.Series, *, flag: str, fallback: str, rng: np.random.Generator, private_share: float = 0.0
) -> pl.Series:
    table = reference.senders()
    local = (
        table.filter(pl.col(flag) & (pl.col("county") != ""))
        .group_by("county")
        .agg(pl.col("sender_code").sort().alias("choices"))
    )
    private = table.filter(pl.col(flag) & (pl.col("county") == ""))["sender_code"].sort().to_list()
    frame = pl.DataFrame({"county": counties}).join(local, on="county", how="left", maintain_order="left")
    n = frame.height
    u_local, u_private, u_which = rng.random(n), rng.random(n), rng.random(n)
    n_choices = frame["choices"].list.len().fill_null(0).to_numpy()
    index = np.floor(u_local * np.maximum(n_choices, 1)).astype(np.int64)
    chosen = frame.select(pl.col("choices").list.get(pl.lit(pl.Series(index)), null_on_oob=True))["choices"]
    use_private = (u_private < private_share) | (n_choices == 0)
    if private:
        private_pick = np.array(private)[np.floor(u_which * len(private)).astype(np.int64)]
        return pl.Series(
            np.where(use_private, private_pick, chosen.fill_null(fallback).to_numpy()), dtype=pl.String
        )
    return chosen.fill_null(fallback)


def pick_hospitals(*, counties: pl.Series, rng: np.random.Generator) -> pl.Series:
    """A hospital of the patient's county (Oslo universitetssykehus when the county has none)."""
    return _pick(counties, flag="hospital", fallback="OUS", rng=rng)


def pick_labs(*, counties: pl.Series, rng: np.random.Generator) -> pl.Series:
    """A pathology lab: private with probability 0.2 or when the county has none, else a county lab."""
    return _pick(counties, flag="pathology_lab", fallback="OUS", rng=rng, private_share=PRIVATE_LAB_SHARE)


def sends_clinical_csv(*, hospitals: pl.Series, share: float) -> pl.Series:
    """Whether each hospital reports clinical notifications as CSV: ``crc32(code) / 2³² < share``.

    The choice is a fixed property of the hospital (the same in every year and run), so a share of
    hospitals, not of messages, uses the CSV channel.
    """
    codes = hospitals.fill_null("")
    unique = codes.unique().sort().to_list()
    csv = {code: zlib.crc32(code.encode()) / 2**32 < share for code in unique}
    return codes.replace_strict(csv, return_dtype=pl.Boolean)
