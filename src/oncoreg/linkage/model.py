"""The probabilistic linkage model: a Splink (Fellegi–Sunter) model, trained once and saved as JSON.

Method (Fellegi & Sunter 1969; Splink, Linacre et al. 2022): each comparison of ``data/splink_settings.json``
(first name, last name, birth date, sex, municipality, identifier string) has levels; a pair's match weight
is the sum of log2(m/u) of its levels plus the prior log-odds. u (the level frequencies among non-matches)
is estimated by random sampling of person–notification pairs with a fixed seed; m (frequencies among
matches) by expectation maximisation on blocked pairs, one session per training block (birth date; first
and last name), each block training the comparisons it does not fix. The prior is 1 / number of persons,
because a notification belongs to at most one person; :func:`with_prior` resets it at link time. The
trained model is a plain JSON document (Splink's own settings format), so linking with a saved model is
deterministic and needs no training.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from oncoreg.errors import OncoregError

logger = logging.getLogger(__name__)


class LinkageError(OncoregError):
    """Linkage cannot run: a bad model file or unusable input frames."""


@lru_cache(maxsize=1)
def _definition() -> dict[str, Any]:
    text = resources.files("oncoreg.linkage").joinpath("data/splink_settings.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def model_definition() -> dict[str, Any]:
    """A copy of the packaged model definition (``settings`` and ``training_blocks``)."""
    return copy.deepcopy(_definition())


@dataclass(frozen=True)
class LinkageModel:
    """A trained Splink model: its settings document with m and u probabilities, and how it was trained."""

    settings: dict[str, Any]
    trained_on: dict[str, Any]

    def to_json(self) -> str:
        """The model as a JSON document (stable key order)."""
        return json.dumps(
            {"settings": self.settings, "trained_on": self.trained_on}, indent=2, sort_keys=True
        )

    @classmethod
    def from_json(cls, text: str) -> LinkageModel:
        """Read a model written by :meth:`to_json`; a malformed document raises :class:`LinkageError`."""
        try:
            document = json.loads(text)
            settings, trained_on = document["settings"], document["trained_on"]
        except (ValueError, KeyError, TypeError) as exc:
            raise LinkageError(f"not a linkage model document: {exc}") from exc
        if not isinstance(settings, dict) or "comparisons" not in settings:
            raise LinkageError("not a linkage model document: settings lack comparisons")
        return cls(settings=settings, trained_on=trained_on)

    def save(self, path: Path) -> None:
        """Write the model to ``path`` as JSON."""
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LinkageModel:
        """Read a model saved by :meth:`save`."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise LinkageError(f"cannot read linkage model {path}: {exc.strerror}") from exc
        return cls.from_json(text)

    def with_prior(self, *, prior: float, link_type: str) -> dict[str, Any]:
        """Splink settings for one run: this model with the given prior and link type, and the blocking
        rules of the packaged definition (blocking is no trained parameter: a model stored by an earlier
        version links with today's rules)."""
        settings = copy.deepcopy(self.settings)
        settings["blocking_rules_to_generate_predictions"] = list(
            _definition()["settings"]["blocking_rules_to_generate_predictions"]
        )
        settings["probability_two_random_records_match"] = prior
        settings["link_type"] = link_type
        return settings


@contextmanager
def quiet_splink() -> Iterator[None]:
    """Silence Splink's chatter for the calls inside: its INFO logging and its own user warnings."""
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    splink_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"splink\..*")
            yield
    finally:
        splink_logger.setLevel(level)


def duckdb_api() -> Any:
    """A Splink DuckDB backend on a fresh in-memory database (nothing is fetched or written to disk)."""
    from splink import DuckDBAPI

    connection = duckdb.connect(":memory:")
    connection.execute("SET enable_progress_bar = false")  # DuckDB would draw it on stdout
    return DuckDBAPI(connection=connection)


def smooth(settings: dict[str, Any], *, m_floor: float, u_floor: float, note: str = "") -> dict[str, Any]:
    """Raise missing or tiny m and u probabilities to floors and renormalise them per comparison.

    EM leaves m of a level unseen among matches at 0 (or unset), which would let that one level veto any
    pair; the floors keep every level's weight finite.
    """
    out = copy.deepcopy(settings)
    for comparison in out["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        for key, floor in (("m_probability", m_floor), ("u_probability", u_floor)):
            values = [max(float(level.get(key) or 0.0), floor) for level in levels]
            total = sum(values)
            for level, value in zip(levels, values, strict=True):
                level[key] = value / total
    return out


def train_model(
    *,
    person_records: pl.DataFrame,
    notification_records: pl.DataFrame,
    seed: int = 20240101,
    max_pairs: float = 2e6,
) -> LinkageModel:
    """Train the packaged model definition on comparison records (see :mod:`oncoreg.linkage.records`).

    u by random sampling (``max_pairs`` pairs, ``seed``), m by EM on each training block; the prior is
    fixed at 1 / number of persons. Use :func:`oncoreg.linkage.link.train_linkage_model` to train from
    notification and person frames.
    """
    from splink import Linker

    if person_records.height == 0 or notification_records.height == 0:
        raise LinkageError("cannot train a linkage model without persons and notifications")
    definition = model_definition()
    settings = definition["settings"]
    settings["probability_two_random_records_match"] = 1.0 / person_records.height
    api = duckdb_api()
    with quiet_splink():
        tables = [
            api.register(person_records.to_arrow(), dataset_display_name="persons"),
            api.register(notification_records.to_arrow(), dataset_display_name="notifications"),
        ]
        linker = Linker(tables, settings, log_level=None)
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        for block in definition["training_blocks"]:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block, fix_probability_two_random_records_match=True
            )
        trained: dict[str, Any] = smooth(linker.misc.save_model_to_json(), **definition["smoothing"])
    trained_on = {
        "persons": person_records.height,
        "notifications": notification_records.height,
        "seed": seed,
        "max_pairs": max_pairs,
        "definition_version": definition["version"],
    }
    logger.info("trained linkage model on %s", trained_on)
    return LinkageModel(settings=trained, trained_on=trained_on)
