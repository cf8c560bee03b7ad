"""The knobs of the message writers: completeness of each stream and the rate of every injected error.

Rates are per message (per eligible message where the error needs something to act on, e.g. a paired
organ for a laterality conflict). The defaults are guesses of the order of magnitude seen in registry
practice (reference/norway.md §2.2: ~140 000 notifications a year for ~30 000 new cases; NPR misses
about 3 % of bowel-cancer patients), not measured values.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MessageConfig(BaseModel):
    """Completeness of each message stream and the rate of each injected error (all in [0, 1])."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- completeness of the streams -----------------------------------------------------------------
    pathology_second_report_rate: float = Field(
        0.35,
        ge=0,
        le=1,
        description="Share of histology-verified (basis 7) tumours with a second report (resection).",
    )
    clinical_report_rate: float = Field(
        0.92,
        ge=0,
        le=1,
        description="Share of non-DCO tumours with a clinical notification (always 1 for basis 1, 2, 4).",
    )
    clinical_csv_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of hospitals sending clinical notifications as CSV instead of FHIR.",
    )
    patient_admin_rate: float = Field(
        0.95, ge=0, le=1, description="Share of non-DCO tumours with patient-administrative (NPR) episodes."
    )
    name_change_rate: float = Field(
        0.002, ge=0, le=1, description="Share of persons with a name-change event in the population register."
    )
    # --- identity errors (every source except the population register) -----------------------------
    name_typo_rate: float = Field(
        0.01, ge=0, le=1, description="Typo in a first or last name (swap, drop or double a letter)."
    )
    name_variant_rate: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Variant spelling of a name (æ/ae, ø/o/oe, å/aa, double consonants, K/Ch).",
    )
    identifier_transposed_rate: float = Field(
        0.003, ge=0, le=1, description="Two adjacent, different digits of the identifier swapped."
    )
    identifier_wrong_digit_rate: float = Field(
        0.003, ge=0, le=1, description="One digit of the identifier replaced by another."
    )
    identifier_missing_rate: float = Field(0.005, ge=0, le=1, description="Identifier left out.")
    hnumber_rate: float = Field(
        0.01,
        ge=0,
        le=1,
        description=(
            "Hospital messages that carry the person's H-number instead of fnr/dnr (hospital sources only)."
        ),
    )
    # --- code conflicts between sources (clinical notifications) ------------------------------------
    topography_conflict_rate: float = Field(
        0.03, ge=0, le=1, description="Clinical topography differs from the truth at the 4th character."
    )
    morphology_conflict_rate: float = Field(
        0.03, ge=0, le=1, description="Clinical morphology differs from the truth (a less specific code)."
    )
    laterality_conflict_rate: float = Field(
        0.01, ge=0, le=1, description="Clinical laterality left/right swapped (paired organs only)."
    )
    # --- transport errors (every source) --------------------------------------------------------------
    late_rate: float = Field(0.02, ge=0, le=1, description="Messages sent 1-2 years after the usual delay.")
    duplicate_rate: float = Field(
        0.01, ge=0, le=1, description="Messages resent a second time (new message id and send time)."
    )
    malformed_rate: float = Field(
        0.005,
        ge=0,
        le=1,
        description="Messages broken so that they cannot be ingested (HL7 segment/MSH, FHIR, CSV date).",
    )
