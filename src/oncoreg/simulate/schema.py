"""The in-memory tables the simulator passes between its stages (Polars schemas).

The population and cancer stages produce these frames one calendar-year chunk at a time; the message
writers (``oncoreg.simulate.messages``) and the screening-history stage consume them. Keeping the schemas
in one place lets each stage be built and tested on its own.

Codes follow DESIGN §5: sex 1 male / 2 female; topography ``C34.1``; morphology an integer ``8140``;
behaviour an integer 0/1/2/3/6/9; basis of diagnosis the ENCR code (0 DCO, 1 clinical, 2 clinical
investigation, 4 specific tumour markers, 5 cytology, 6 histology of a metastasis, 7 histology of the
primary, 9 unknown); counties and municipalities as the 2024 codes in
``refdata/norway_municipalities_b2024.csv``.
"""

from __future__ import annotations

import polars as pl

#: Every person who lives in the synthetic country at some time in the simulated period.
PERSONS: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,  # surrogate key of the truth; never appears in messages
    "identifier": pl.String,  # the national identifier (11 digits)
    "identifier_type": pl.String,  # "fnr" | "dnr"
    "first_name": pl.String,
    "last_name": pl.String,
    "birth_date": pl.Date,
    "sex": pl.Int8,  # 1 male, 2 female
    "county": pl.String,  # residence county at exit (or at the end of the period)
    "municipality": pl.String,  # residence municipality at exit (or at the end of the period)
    "entry_date": pl.Date,  # birth, immigration, or the start of the simulated period
    "entry_reason": pl.String,  # "start" | "birth" | "immigration"
    "exit_date": pl.Date,  # death, emigration, or null when alive and resident at the end
    "exit_reason": pl.String,  # "death" | "emigration" | null
}

#: Residence changes within the country (the population register's moves).
MOVES: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,
    "move_date": pl.Date,
    "from_municipality": pl.String,
    "to_municipality": pl.String,
}

#: Every true tumour (one row per primary, in situ or registrable benign tumour).
TUMOURS: dict[str, pl.DataType | type[pl.DataType]] = {
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "sex": pl.Int8,
    "birth_date": pl.Date,
    "incidence_date": pl.Date,
    "age": pl.Int16,  # completed years at incidence
    "topography": pl.String,  # ICD-O-3 "C34.1"
    "morphology": pl.Int16,  # ICD-O-3 histology, 4 digits
    "behaviour": pl.Int8,
    "grade": pl.Int8,  # 1-4, 9 unknown (ICD-O-3 6th digit); haematological codes 5-8
    "laterality": pl.String,  # "L" | "R" | "B" | "U" (unknown) | "N" (not paired)
    "basis": pl.Int8,  # ENCR basis of diagnosis of the best source
    "stage": pl.String,  # summary stage "localised" | "regional" | "distant" | "unknown"
    "icd10": pl.String,  # e.g. "C34.1"
    "entity": pl.Int32,  # NORDCAN entity (e.g. 160 lung)
    "county": pl.String,  # residence county at diagnosis
    "municipality": pl.String,  # residence municipality at diagnosis
    "dco": pl.Boolean,  # known to the registry only from the death certificate
    "screen_detected": pl.Boolean,  # found by a screening programme (set by the screening stage)
}

#: Deaths of persons in the country; the underlying cause follows the death-certificate coding.
DEATHS: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,
    "death_date": pl.Date,
    "underlying_cause": pl.String,  # ICD-10, e.g. "C34.9" or "I21.9"
    "cancer_death": pl.Boolean,  # true when the death was caused by a simulated tumour
    "tumour_id": pl.Int64,  # the tumour that caused it, if any
}

#: Treatments given for a tumour (radiotherapy and systemic anti-cancer therapy; surgery for NPR episodes).
TREATMENTS: dict[str, pl.DataType | type[pl.DataType]] = {
    "treatment_id": pl.Int64,
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "kind": pl.String,  # "surgery" | "radiotherapy" | "systemic"
    "start_date": pl.Date,
    "end_date": pl.Date,
    "hospital": pl.String,  # reporting institution code
}

#: The truth about each message written (``truth/messages.parquet``).
MESSAGES_TRUTH: dict[str, pl.DataType | type[pl.DataType]] = {
    # message_id: the identifier the message carries (HL7 MSH-10, FHIR Bundle.identifier, CSV row id)
    "message_id": pl.String,
    "source": pl.String,  # pathology | clinical | clinical_csv | death_certificate | patient_admin |
    # radiotherapy | systemic_therapy | population_register | screening_*
    "format": pl.String,  # hl7v2 | fhir | csv
    "file": pl.String,  # path relative to the output directory
    "person_id": pl.Int64,
    "tumour_id": pl.Int64,  # null for messages about no tumour (e.g. population updates)
    "sent_date": pl.Date,
    "malformed": pl.Boolean,
    "duplicate_of": pl.String,  # message_id of the original when this is a resent duplicate
    "errors": pl.String,  # injected errors, ";"-joined (e.g. "name_typo;identifier_transposed")
}


def empty(schema: dict[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    """An empty frame with the given schema."""
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    """Select and cast ``frame`` to ``schema`` (column order included); a missing column is an error."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}")
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
