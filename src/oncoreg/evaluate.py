"""Compare a snapshot with the simulator's truth: linkage, tumour count, field agreement, quarantine.

Messages are matched by the identifier they carry (``notifications.message_id`` in the snapshot,
``truth/messages.parquet`` ``message_id``). Definitions:

* **Linkage precision / recall over pairs of messages.** Over the messages present in both, a pair is
  *predicted* when the snapshot gives both the same ``person_id`` and *true* when the truth does. With
  ``C(n) = n (n - 1) / 2`` and ``n_ij`` the messages in snapshot person ``i`` and true person ``j``:
  ``TP = Σ_ij C(n_ij)``, ``precision = TP / Σ_i C(n_i.)``, ``recall = TP / Σ_j C(n_.j)`` (1.0 when the
  denominator is 0). Counts per cluster only; pairs are never materialised.
* **Tumour matching.** Each snapshot tumour is mapped to the true tumour most of its notifications'
  messages belong to (ties: the smallest true id). *Unmatched*: no notification with a known true tumour;
  *merged*: its notifications belong to more than one true tumour; a true tumour is *split* when more than
  one snapshot tumour maps to it, *missed* when none does.
* **Field agreement** of matched (snapshot, true) tumour pairs: topography's first 3 characters; IARC/IACR
  2004 histology group (Table 2, ``reference/registration.md`` §2.4; a code outside every group compares by
  itself); incidence date within ±30 days; behaviour; basis; summary stage (case-insensitive, missing =
  ``unknown``); laterality (missing = ``N``, not paired).
* **Malformed messages.** Every truth message flagged ``malformed`` must be in quarantine.

Targets (the issue): precision and recall ≥ 0.995, tumour count within 0.5 % of the truth, each field
agreement ≥ 98 %, every malformed message quarantined.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from oncoreg.errors import OncoregError

PAIR_TARGET = 0.995
COUNT_TOLERANCE = 0.005
FIELD_TARGET = 0.98
DATE_TOLERANCE_DAYS = 30

FIELDS: tuple[str, ...] = (
    "topography",
    "morphology_group",
    "incidence_date",
    "behaviour",
    "basis",
    "stage",
    "laterality",
)


class EvaluationError(OncoregError):
    """The snapshot or the truth cannot be compared (missing file or column, no message identifiers)."""


def histology_groups() -> pl.DataFrame:
    """One row per ICD-O-3 histology code in a Table 2 group: ``morphology`` (Int32), ``group`` (Int8).

    The groups are consolidation's rule data (``consolidation/data/histology_groups.csv``), so evaluation
    judges morphology agreement by the same table the registry groups tumours with.
    """
    from oncoreg.consolidation.rules import morphology_groups

    return morphology_groups().select(
        pl.col("morphology").cast(pl.Int32), pl.col("hist_group").cast(pl.Int8).alias("group")
    )


def _pairs(n: pl.Expr) -> pl.Expr:
    return (n * (n - 1) // 2).sum()


@dataclass(frozen=True)
class LinkageScores:
    """Pairwise linkage quality over the messages both sides know."""

    messages: int
    predicted_pairs: int
    true_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float


def linkage_scores(*, predicted: pl.DataFrame, truth: pl.DataFrame) -> LinkageScores:
    """Precision and recall of ``predicted`` (message_id, person_id) against ``truth`` (same columns)."""
    pred = predicted.select("message_id", pl.col("person_id").alias("pred")).unique(
        "message_id", keep="first"
    )
    true = truth.select("message_id", pl.col("person_id").alias("true")).unique("message_id", keep="first")
    both = pred.join(true, on="message_id", how="inner").filter(
        pl.col("pred").is_not_null() & pl.col("true").is_not_null()
    )
    cell = both.group_by("pred", "true").len().select(_pairs(pl.col("len").cast(pl.Int64))).item()
    pred_pairs = both.group_by("pred").len().select(_pairs(pl.col("len").cast(pl.Int64))).item()
    true_pairs = both.group_by("true").len().select(_pairs(pl.col("len").cast(pl.Int64))).item()
    tp, pp, tt = int(cell or 0), int(pred_pairs or 0), int(true_pairs or 0)
    return LinkageScores(
        messages=both.height,
        predicted_pairs=pp,
        true_pairs=tt,
        true_positive_pairs=tp,
        precision=tp / pp if pp else 1.0,
        recall=tp / tt if tt else 1.0,
    )


def match_tumours(*, notifications: pl.DataFrame, truth_messages: pl.DataFrame) -> pl.DataFrame:
    """Per snapshot tumour: ``true_tumour_id`` by majority vote, ``votes``, ``true_tumours`` (distinct)."""
    votes = (
        notifications.filter(pl.col("tumour_id").is_not_null())
        .select("message_id", "tumour_id")
        .unique()
        .join(
            truth_messages.select("message_id", pl.col("tumour_id").alias("true_tumour_id")).unique(
                "message_id", keep="first"
            ),
            on="message_id",
            how="inner",
        )
        .filter(pl.col("true_tumour_id").is_not_null())
        .group_by("tumour_id", "true_tumour_id")
        .len("votes")
    )
    return (
        votes.sort(["tumour_id", "votes", "true_tumour_id"], descending=[False, True, False])
        .group_by("tumour_id", maintain_order=True)
        .agg(
            pl.col("true_tumour_id").first(),
            pl.col("votes").first().cast(pl.Int64),
            pl.len().cast(pl.Int64).alias("true_tumours"),
        )
    )


def _group_key(morphology: pl.Expr, groups: pl.DataFrame, frame: pl.DataFrame, name: str) -> pl.DataFrame:
    keyed = frame.with_columns(morphology.cast(pl.Int32, strict=False).alias("_m")).join(
        groups.rename({"morphology": "_m", "group": "_g"}), on="_m", how="left"
    )
    return keyed.with_columns(
        pl.coalesce(pl.format("g{}", pl.col("_g")), pl.format("m{}", pl.col("_m"))).alias(name)
    ).drop("_m", "_g")


def field_agreement(
    *, matches: pl.DataFrame, tumours: pl.DataFrame, truth_tumours: pl.DataFrame
) -> dict[str, float]:
    """Share of matched pairs agreeing on each of :data:`FIELDS` (1.0 when nothing is matched)."""
    groups = histology_groups()
    snap = _group_key(pl.col("morphology"), groups, tumours, "group")
    true = _group_key(pl.col("morphology"), groups, truth_tumours, "group")
    pairs = (
        matches.select("tumour_id", "true_tumour_id")
        .join(snap, on="tumour_id")
        .join(true, left_on="true_tumour_id", right_on="tumour_id", suffix="_true")
    )
    if pairs.height == 0:
        return dict.fromkeys(FIELDS, 1.0)

    def stage(col: str) -> pl.Expr:
        return pl.col(col).cast(pl.String).str.to_lowercase().fill_null("unknown")

    agree = pairs.select(
        (pl.col("topography").str.slice(0, 3) == pl.col("topography_true").str.slice(0, 3))
        .fill_null(False)
        .alias("topography"),
        (pl.col("group") == pl.col("group_true")).fill_null(False).alias("morphology_group"),
        (
            (pl.col("incidence_date") - pl.col("incidence_date_true")).dt.total_days().abs()
            <= DATE_TOLERANCE_DAYS
        )
        .fill_null(False)
        .alias("incidence_date"),
        pl.col("behaviour")
        .cast(pl.Int32)
        .eq_missing(pl.col("behaviour_true").cast(pl.Int32))
        .alias("behaviour"),
        pl.col("basis").cast(pl.Int32).eq_missing(pl.col("basis_true").cast(pl.Int32)).alias("basis"),
        (stage("summary_stage") == stage("stage")).alias("stage"),
        (pl.col("laterality").fill_null("N") == pl.col("laterality_true").fill_null("N")).alias("laterality"),
    )
    means = agree.select(pl.all().cast(pl.Float64).mean()).row(0, named=True)
    return {name: float(means[name]) for name in FIELDS}


@dataclass(frozen=True)
class TumourCounts:
    """Snapshot tumours against true tumours."""

    snapshot: int
    truth: int
    difference_pct: float
    matched_truth: int
    missed_truth: int
    split_truth: int
    merged_snapshot: int
    unmatched_snapshot: int


@dataclass(frozen=True)
class MalformedCheck:
    """Truth messages flagged malformed, and how many of them are in quarantine."""

    malformed: int
    quarantined: int
    became_notifications: int


@dataclass(frozen=True)
class Target:
    """One figure against its target."""

    name: str
    value: float
    target: str
    passed: bool


@dataclass(frozen=True)
class Evaluation:
    """Everything ``oncoreg evaluate`` reports."""

    linkage: LinkageScores
    tumours: TumourCounts
    fields: dict[str, float]
    malformed: MalformedCheck
    targets: list[Target]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        """The figures as plain JSON-ready data."""
        return {**asdict(self), "passed": self.passed}


def _require(frame: pl.DataFrame, columns: tuple[str, ...], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EvaluationError(f"{table} lacks columns {', '.join(missing)}")


def evaluate_frames(
    *,
    truth_messages: pl.DataFrame,
    truth_tumours: pl.DataFrame,
    notifications: pl.DataFrame,
    tumours: pl.DataFrame,
    quarantined: pl.Series,
) -> Evaluation:
    """Compare snapshot frames (notifications, tumours, quarantined message ids) with the truth frames."""
    _require(truth_messages, ("message_id", "person_id", "tumour_id", "malformed"), "truth messages")
    _require(notifications, ("message_id", "person_id", "tumour_id"), "snapshot notifications")
    if notifications.height and notifications["message_id"].null_count() == notifications.height:
        raise EvaluationError(
            "snapshot notifications carry no message_id (the store has no message.external_id); "
            "linkage cannot be evaluated"
        )
    linkage = linkage_scores(predicted=notifications, truth=truth_messages)
    matches = match_tumours(notifications=notifications, truth_messages=truth_messages)
    matched_truth = matches["true_tumour_id"].n_unique()
    split = matches.group_by("true_tumour_id").len().filter(pl.col("len") > 1).height
    n_snap, n_true = tumours.height, truth_tumours.height
    counts = TumourCounts(
        snapshot=n_snap,
        truth=n_true,
        difference_pct=100.0 * (n_snap - n_true) / n_true if n_true else 0.0,
        matched_truth=matched_truth,
        missed_truth=n_true - matched_truth,
        split_truth=split,
        merged_snapshot=matches.filter(pl.col("true_tumours") > 1).height,
        unmatched_snapshot=n_snap - matches.join(tumours.select("tumour_id"), on="tumour_id").height,
    )
    fields = field_agreement(matches=matches, tumours=tumours, truth_tumours=truth_tumours)
    bad = truth_messages.filter(pl.col("malformed").fill_null(False))["message_id"]
    malformed = MalformedCheck(
        malformed=bad.len(),
        quarantined=int(bad.is_in(quarantined.drop_nulls().implode()).sum()),
        became_notifications=int(bad.is_in(notifications["message_id"].drop_nulls().implode()).sum()),
    )
    targets = [
        Target("linkage precision", linkage.precision, f">= {PAIR_TARGET}", linkage.precision >= PAIR_TARGET),
        Target("linkage recall", linkage.recall, f">= {PAIR_TARGET}", linkage.recall >= PAIR_TARGET),
        Target(
            "tumour count difference %",
            counts.difference_pct,
            f"within ±{100 * COUNT_TOLERANCE}",
            abs(counts.difference_pct) <= 100 * COUNT_TOLERANCE,
        ),
        *(
            Target(f"agreement {name}", value, f">= {FIELD_TARGET}", value >= FIELD_TARGET)
            for name, value in fields.items()
        ),
        Target(
            "malformed quarantined",
            float(malformed.quarantined),
            f"= {malformed.malformed}",
            malformed.quarantined == malformed.malformed,
        ),
    ]
    return Evaluation(linkage=linkage, tumours=counts, fields=fields, malformed=malformed, targets=targets)


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise EvaluationError(f"{path} is missing")
    return pl.read_parquet(path)


def evaluate_snapshot(*, simulation_dir: Path, snapshot_dir: Path) -> Evaluation:
    """Read ``SIMDIR/truth/{messages,tumours}.parquet`` and a snapshot (checksums verified); compare them."""
    from oncoreg.snapshot import load_snapshot

    snapshot = load_snapshot(snapshot_dir)
    truth = Path(simulation_dir) / "truth"
    quarantine = (
        snapshot.table("quarantine").select("message_id").collect()["message_id"]
        if "quarantine" in snapshot.manifest.tables
        else pl.Series("message_id", [], dtype=pl.String)
    )
    return evaluate_frames(
        truth_messages=_read(truth / "messages.parquet"),
        truth_tumours=_read(truth / "tumours.parquet"),
        notifications=snapshot.notifications.collect(),
        tumours=snapshot.tumours.collect(),
        quarantined=quarantine,
    )
