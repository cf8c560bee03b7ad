"""The tumour record's fields and the changes of a run against the stored tumours (for history, DESIGN §2)."""

from __future__ import annotations

import polars as pl

__all__ = ["CHANGES", "TUMOUR_FIELDS", "tumour_changes"]

#: The consolidated tumour frame, shaped like ``oncoreg.registry.tables.Tumour`` (without version/updated_at).
TUMOUR_FIELDS: dict[str, pl.DataType | type[pl.DataType]] = {
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "sequence": pl.Int32,
    "incidence_date": pl.Date,
    "incidence_date_basis": pl.String,
    "topography": pl.String,
    "morphology": pl.String,
    "behaviour": pl.Int8,
    "grade": pl.Int8,
    "laterality": pl.String,
    "basis": pl.Int8,
    "basis_subcode": pl.String,
    "icd10": pl.String,
    "summary_stage": pl.String,
    "tnm_t": pl.String,
    "tnm_n": pl.String,
    "tnm_m": pl.String,
    "dco": pl.Boolean,
    "iarc_status": pl.String,
    "registration_status": pl.String,
}

CHANGES: dict[str, pl.DataType | type[pl.DataType]] = {
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "change": pl.String,  # created | updated | retired
    "fields": pl.String,  # changed fields, comma-joined
    "before": pl.String,  # JSON of the stored record (null when created)
    "after": pl.String,  # JSON of the new record (null when retired)
}

_COMPARED = [name for name in TUMOUR_FIELDS if name != "tumour_id"]


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        [
            pl.col(n).cast(t) if n in frame.columns else pl.lit(None, t).alias(n)
            for n, t in TUMOUR_FIELDS.items()
        ]
    )


def tumour_changes(
    *, new: pl.DataFrame, existing: pl.DataFrame | None, persons: pl.DataFrame
) -> pl.DataFrame:
    """Created, updated and retired tumours of ``persons`` between ``existing`` and ``new``."""
    before = _conform(existing if existing is not None else new.clear())
    before = before.filter(pl.col("person_id").is_in(persons["person_id"].implode()))
    after = _conform(new)
    joined = after.join(before, on="tumour_id", how="full", suffix="_old", coalesce=True)
    differs = [
        pl.when(pl.col(n).ne_missing(pl.col(f"{n}_old"))).then(pl.lit(n)).otherwise(None) for n in _COMPARED
    ]
    old_json = pl.struct([pl.col(f"{n}_old").alias(n) for n in _COMPARED]).struct.json_encode()
    new_json = pl.struct(_COMPARED).struct.json_encode()
    created = pl.col("person_id_old").is_null() & pl.col("person_id").is_not_null()
    retired = pl.col("person_id").is_null()
    result = joined.select(
        "tumour_id",
        pl.coalesce("person_id", "person_id_old").alias("person_id"),
        pl.when(created)
        .then(pl.lit("created"))
        .when(retired)
        .then(pl.lit("retired"))
        .otherwise(pl.lit("updated"))
        .alias("change"),
        pl.concat_list(differs).list.drop_nulls().list.join(",").alias("fields"),
        pl.when(created).then(None).otherwise(old_json).alias("before"),
        pl.when(retired).then(None).otherwise(new_json).alias("after"),
    )
    return result.filter((pl.col("change") != "updated") | (pl.col("fields") != "")).sort("tumour_id")
