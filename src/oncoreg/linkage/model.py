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

Bounded training: with more persons than ``training_sample.max_persons`` of the model definition, the work no
longer grows with the country. u is estimated on a seeded uniform sample of ``max_persons`` persons and at
most ``max_notifications`` notifications; each EM block on the records whose value of the block's key (the
columns its rule equates, e.g. birth date, or first + last name) falls in a seeded hash sample of fraction
``max_persons / persons``, taken alike on both sides, so every blocked pair of a sampled key is kept, matches
and non-matches in their true proportion; of those notifications at most ``max_notifications`` times the same
fraction (at least :data:`MIN_SESSION_NOTIFICATIONS`) are kept, because each meets every person of its key
and persons per key grow with the country: the pairs stay near ``max_notifications * max_persons / keys``.
Each block runs in its own Splink session started from the previous block's values; as Splink does within
one session, a level's m is the median of the values the blocks estimated for it. The prior stays 1 / all
persons.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import statistics
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


def splink_linker(settings: dict[str, Any], **frames: pl.DataFrame) -> Any:
    """A Splink linker over ``frames`` (keyword: the table's display name, in order) registered on a fresh
    in-memory DuckDB (:func:`duckdb_api`); create and use it inside :func:`quiet_splink`."""
    from splink import Linker

    api = duckdb_api()
    tables = [api.register(frame.to_arrow(), dataset_display_name=name) for name, frame in frames.items()]
    return Linker(tables if len(tables) > 1 else tables[0], settings, log_level=None)


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


#: Fewest notifications of a bounded EM session (about as many true matches: enough for EM's m).
MIN_SESSION_NOTIFICATIONS = 5_000


def training_sample_limits() -> tuple[int, int]:
    """``(max_persons, max_notifications)`` of the packaged definition's ``training_sample``."""
    limits = _definition()["training_sample"]
    return int(limits["max_persons"]), int(limits["max_notifications"])


def block_keys(rule: str) -> list[str]:
    """The record columns a training block's rule equates (``l.birth_date = r.birth_date`` → birth_date)."""
    return sorted(set(re.findall(r"\bl\.(\w+)", rule)))


def key_sample(records: pl.DataFrame, keys: list[str], *, fraction: float, seed: int) -> pl.DataFrame:
    """The records whose ``keys`` value falls in a seeded hash sample of ``fraction`` of all values (records
    with a missing key are left out: they pair with nothing in a block on that key). The same key is kept or
    dropped in every frame sampled with the same ``keys``, ``fraction`` and ``seed``."""
    buckets = 1_000_000
    hashed = pl.concat_str([pl.col(key).cast(pl.String) for key in keys], separator="\x1f").hash(seed)
    return records.filter(
        pl.all_horizontal(pl.col(key).is_not_null() for key in keys),
        (hashed % buckets) < int(fraction * buckets),
    )


def _capped(records: pl.DataFrame, limit: int, seed: int) -> pl.DataFrame:
    if records.height <= limit:
        return records
    return records.sample(limit, seed=seed).sort("unique_id")


def _train_bounded(
    *,
    definition: dict[str, Any],
    person_records: pl.DataFrame,
    notification_records: pl.DataFrame,
    seed: int,
    max_pairs: float,
    max_persons: int,
    max_notifications: int,
) -> dict[str, Any]:
    """Bounded training (module docstring): u on uniform samples, each EM block on a key sample."""
    prior = 1.0 / person_records.height
    fraction = max_persons / person_records.height
    # a notification meets every person of its key (persons / distinct keys, which grows with the country),
    # so the notifications of an EM session shrink with the fraction: pairs stay about
    # max_notifications * max_persons / distinct keys whatever the country's size
    per_session = max(MIN_SESSION_NOTIFICATIONS, int(max_notifications * fraction))
    settings = definition["settings"]
    settings["probability_two_random_records_match"] = prior
    with quiet_splink():
        linker = splink_linker(
            settings,
            persons=_capped(person_records, max_persons, seed),
            notifications=_capped(notification_records, max_notifications, seed),
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        current: dict[str, Any] = linker.misc.save_model_to_json()
        estimates: dict[tuple[int, int], list[float]] = {}
        for block in definition["training_blocks"]:
            keys = block_keys(block)
            persons = key_sample(person_records, keys, fraction=fraction, seed=seed)
            notifications = _capped(
                key_sample(notification_records, keys, fraction=fraction, seed=seed), per_session, seed
            )
            if persons.height == 0 or notifications.height == 0:
                continue
            current["probability_two_random_records_match"] = prior
            linker = splink_linker(current, persons=persons, notifications=notifications)
            linker.training.estimate_parameters_using_expectation_maximisation(
                block, fix_probability_two_random_records_match=True
            )
            for c, comparison in enumerate(linker._settings_obj.comparisons):
                for lv, level in enumerate(comparison.comparison_levels):
                    for trained in level._trained_m_probabilities:
                        if isinstance(trained["probability"], int | float):
                            estimates.setdefault((c, lv), []).append(float(trained["probability"]))
            current = linker.misc.save_model_to_json()
    for (c, lv), values in estimates.items():
        current["comparisons"][c]["comparison_levels"][lv]["m_probability"] = statistics.median(values)
    current["probability_two_random_records_match"] = prior
    return current


def train_model(
    *,
    person_records: pl.DataFrame,
    notification_records: pl.DataFrame,
    seed: int = 20240101,
    max_pairs: float = 2e6,
    max_persons: int | None = None,
    max_notifications: int | None = None,
) -> LinkageModel:
    """Train the packaged model definition on comparison records (see :mod:`oncoreg.linkage.records`).

    u by random sampling (``max_pairs`` pairs, ``seed``), m by EM on each training block; the prior is
    fixed at 1 / number of persons. With ``max_persons`` given and more person records than that, training
    is bounded (module docstring; ``max_notifications`` caps the notifications of each session). Use
    :func:`oncoreg.linkage.link.train_linkage_model` to train from notification and person frames.
    """
    if person_records.height == 0 or notification_records.height == 0:
        raise LinkageError("cannot train a linkage model without persons and notifications")
    definition = model_definition()
    bounded = max_persons is not None and person_records.height > max_persons
    if bounded:
        assert max_persons is not None
        raw = _train_bounded(
            definition=definition,
            person_records=person_records,
            notification_records=notification_records,
            seed=seed,
            max_pairs=max_pairs,
            max_persons=max_persons,
            max_notifications=max_notifications or notification_records.height,
        )
        trained: dict[str, Any] = smooth(raw, **definition["smoothing"])
    else:
        settings = definition["settings"]
        settings["probability_two_random_records_match"] = 1.0 / person_records.height
        with quiet_splink():
            linker = splink_linker(settings, persons=person_records, notifications=notification_records)
            linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
            for block in definition["training_blocks"]:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block, fix_probability_two_random_records_match=True
                )
            trained = smooth(linker.misc.save_model_to_json(), **definition["smoothing"])
    trained_on: dict[str, Any] = {
        "persons": person_records.height,
        "notifications": notification_records.height,
        "seed": seed,
        "max_pairs": max_pairs,
        "definition_version": definition["version"],
    }
    if bounded:
        trained_on["bounded"] = {"max_persons": max_persons, "max_notifications": max_notifications}
    logger.info("trained linkage model on %s", trained_on)
    return LinkageModel(settings=trained, trained_on=trained_on)
