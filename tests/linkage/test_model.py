"""The linkage model: JSON round trip, deterministic training, trained weights that make sense."""

from __future__ import annotations

from pathlib import Path

import pytest
from linkage_synthetic import Synthetic

from oncoreg.linkage import LinkageError, LinkageModel, train_linkage_model


def _levels(model: LinkageModel, comparison: str) -> dict[str, tuple[float, float]]:
    found = next(c for c in model.settings["comparisons"] if c["output_column_name"] == comparison)
    return {
        level["label_for_charts"]: (level["m_probability"], level["u_probability"])
        for level in found["comparison_levels"]
        if not level.get("is_null_level")
    }


def test_save_and_load_round_trip(model: LinkageModel, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    model.save(path)
    assert LinkageModel.load(path) == model


def test_bad_model_files_raise_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"settings": {}}', encoding="utf-8")
    with pytest.raises(LinkageError, match="not a linkage model"):
        LinkageModel.load(tmp_path / "bad.json")
    with pytest.raises(LinkageError, match="cannot read"):
        LinkageModel.load(tmp_path / "absent.json")


def test_trained_weights_favour_agreement(model: LinkageModel) -> None:
    for comparison in ("first_name", "last_name", "birth_date", "identifier"):
        levels = _levels(model, comparison)
        m, u = levels["exact"]
        assert m > 0.9, comparison
        assert m / u > 20, comparison  # agreement is strong evidence
        m_else, u_else = levels["else"]
        assert m_else / u_else < 0.05, comparison  # disagreement is strong evidence against
    m_dl, u_dl = _levels(model, "identifier")["Damerau-Levenshtein <= 2"]
    assert m_dl / u_dl > 100  # a transposed digit still points at the person


def test_training_is_deterministic(synthetic: Synthetic) -> None:
    small = synthetic.notifications.head(1500)
    first = train_linkage_model(notifications=small, persons=synthetic.persons, max_pairs=2e5)
    second = train_linkage_model(notifications=small, persons=synthetic.persons, max_pairs=2e5)
    for a, b in zip(first.settings["comparisons"], second.settings["comparisons"], strict=True):
        for la, lb in zip(a["comparison_levels"], b["comparison_levels"], strict=True):
            if la.get("is_null_level"):
                continue
            assert la.get("m_probability") == pytest.approx(lb.get("m_probability"), rel=1e-9, abs=1e-12)
            assert la.get("u_probability") == pytest.approx(lb.get("u_probability"), rel=1e-9, abs=1e-12)
