"""NORDCAN entities: hand-worked cases from the NORDCAN table and code exceptions, grouping helpers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from oncoreg.codes.entities import (
    LEVELS,
    add_entities,
    entities_table,
    entity_for,
    entity_icd10_codes,
    entity_label,
    entity_members,
)
from oncoreg.errors import CodeError

CASES = pl.read_csv(
    Path(__file__).parents[1] / "data" / "codes" / "nordcan_hand_worked_cases.csv",
    schema_overrides={"expected": pl.Int32, "morphology": pl.Int32, "behaviour": pl.Int32},
)


@pytest.mark.parametrize(
    "case", CASES.to_dicts(), ids=lambda c: f"{c['icd10']}-{c['morphology']}/{c['behaviour']}-L{c['level']}"
)
def test_hand_worked_case(case: dict[str, object]) -> None:
    got = entity_for(
        icd10=str(case["icd10"]),
        morphology=case["morphology"],  # type: ignore[arg-type]
        behaviour=case["behaviour"],  # type: ignore[arg-type]
        level=int(str(case["level"])),
    )
    assert got == case["expected"], case["why"]


def test_vectorised_agrees_with_scalar() -> None:
    frame = CASES.select("icd10", "morphology", "behaviour")
    out = add_entities(frame)
    assert out.columns == ["icd10", "morphology", "behaviour", *(f"entity_level_{lv}" for lv in LEVELS)]
    for row, case in zip(out.iter_rows(named=True), CASES.iter_rows(named=True), strict=True):
        assert row[f"entity_level_{case['level']}"] == case["expected"], case


def test_without_morphology_columns_only_the_icd10_table_applies() -> None:
    out = add_entities(pl.DataFrame({"icd10": ["C44.3", "D09.0"]}), levels=(30,))
    assert out["entity_level_30"].to_list() == [300, 280]


def test_unknown_icd10() -> None:
    with pytest.raises(CodeError, match=r"C99\.9"):
        entity_for(icd10="C99.9")
    assert add_entities(pl.DataFrame({"icd10": ["C99.9"]}), levels=(30,))["entity_level_30"].to_list() == [
        None
    ]
    with pytest.raises(CodeError, match="level 15"):
        add_entities(pl.DataFrame({"icd10": ["C18.7"]}), levels=(15,))


def test_every_malignant_icd10_row_reaches_all_sites_unless_not_included() -> None:
    out = add_entities(
        pl.DataFrame(
            {
                "icd10": pl.read_csv(
                    Path(__file__).parents[2] / "src/oncoreg/codes/data/nordcan_icd10_to_entity.csv",
                    separator=";",
                )["icd10"]
            }
        )
    )
    included = out.filter(pl.col("entity_level_30") != 999)
    assert included["entity_level_10"].to_list() == [980] * included.height
    assert included["entity_level_30"].null_count() == 0


def test_entities_table() -> None:
    table = entities_table()
    assert table.height == 71
    assert table.filter(pl.col("entity") == 240)["sex"].item() == 1
    assert table.filter(pl.col("entity") == 190)["sex"].item() == 2
    assert table.filter(pl.col("entity") == 980)["level"].item() == 10
    assert entity_label(90) == "Colon"
    with pytest.raises(CodeError):
        entity_label(12345)


def test_grouping_helpers() -> None:
    assert entity_members(520) == [90, 100]
    assert entity_members(320) == [316, 317, 319]
    assert entity_members(230) == [227, 228, 229]
    all_sites = entity_members(980)
    assert 300 in all_sites
    assert 888 not in all_sites
    assert 999 not in all_sites
    assert set(all_sites) - set(entity_members(990)) == {300}
    assert set(entity_members(990)) - set(entity_members(970)) == {180, 240}
    assert "c61" in entity_icd10_codes(240)
    assert entity_icd10_codes(316) == entity_icd10_codes(320)
