"""The site classifier: a second look at every neural detection, learnt on one lab's machine.

``aemon adapt --background`` (:mod:`aemon.site`) trains gradient-boosted trees on the
:func:`~aemon.detect.site_features.site_features` of the detections in a recording of the
machine alone (negatives) and of the lab's own pencil-lead breaks mixed into that machine's
noise (positives). The trees are stored as plain arrays in ``site_classifier.json`` beside the
model (no pickle: the file is data, safe to load from anywhere), and evaluated here in numpy.

A shipped model may carry a day-one classifier, ``day_one_classifier.json``: the same kind of
trees learnt by ``aemon train-classifier`` from the training generator's backgrounds and bursts
(:mod:`aemon.site.day_one`), for the day before any site data exist. :func:`read_classifier`
picks the one a detector uses: the site's own (``aemon adapt``) first, else the day-one
classifier, each at the decision ``aemon calibrate`` raised for the site
(:func:`with_decision`); a day-one classifier is set aside where ``aemon calibrate``
calibrated the network alone (an SNR gate, or an older file).

:class:`~aemon.detect.hit_streams.NeuralHitStream` measures every candidate and asks
:meth:`SiteClassifier.keeps` for each chunk's candidates together, before it builds the events;
a rejected one is counted, not built or written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from aemon.detect.site_features import FEATURE_NAMES
from aemon.detect.trigger_setting import Triggers
from aemon.errors import FileFormatError

logger = logging.getLogger(__name__)

__all__ = [
    "DAY_ONE_CLASSIFIER_FILE",
    "SITE_CLASSIFIER_FILE",
    "SiteClassifier",
    "Tree",
    "network_probability",
    "own_classifier",
    "read_classifier",
    "read_site_classifier",
    "two_bar_keeps",
    "with_decision",
]

SITE_CLASSIFIER_FILE = "site_classifier.json"
DAY_ONE_CLASSIFIER_FILE = "day_one_classifier.json"
_SCORE = FEATURE_NAMES.index("score_logit")
FORMAT = "aemon-site-classifier/1"


@dataclass(frozen=True)
class Tree:
    """One regression tree as arrays (sklearn's layout: ``left == -1`` marks a leaf).

    Attributes:
        left: Index of each node's left child (``x[feature] <= threshold``), -1 at leaves.
        right: Index of each node's right child, -1 at leaves.
        feature: Feature index each node splits on.
        threshold: Split value of each node.
        value: Output of each node (used at leaves).
    """

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    feature: npt.NDArray[np.int64]
    threshold: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]

    def predict(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Leaf value for each row of ``x`` ``(n, features)``."""
        node = np.zeros(x.shape[0], dtype=np.int64)
        rows = np.arange(x.shape[0])
        while True:
            inner = self.left[node] >= 0
            if not inner.any():
                return self.value[node]
            r, n = rows[inner], node[inner]
            go_left = x[r, self.feature[n]] <= self.threshold[n]
            node[r] = np.where(go_left, self.left[n], self.right[n])


@dataclass(frozen=True)
class SiteClassifier:
    """Boosted trees over site features, with the probability a burst must reach.

    Attributes:
        trees: The boosting stages.
        learning_rate: Shrinkage of each stage.
        offset: Initial log-odds.
        threshold: Burst probability at or above which a detection is kept.
        candidate_probability: Network probability at which detections are proposed to the
            classifier (the segmenter's threshold while the classifier is in use).
        feature_names: The features its trees split on, in their order (each one of
            :data:`FEATURE_NAMES`; rows given to :meth:`probability` hold all of those).
        info: What it was trained on and how it scored (for the card; free form).
        network_threshold: With ``drop_below``: a detection the network scores at or above
            this probability (what the network alone keeps) is dropped only when its burst
            probability is under ``drop_below``; None judges every detection by ``threshold``.
        drop_below: See ``network_threshold``.
        triggers: The STA/LTA trigger candidates it was trained with
            (:mod:`aemon.detect.trigger_candidates`), which the stream then proposes beside
            the network's; None for a classifier of the network's candidates alone. In its
            file: ``trigger_ratio``, and ``trigger_whitened`` (missing in files written
            before whitened triggers: raw).
    """

    trees: tuple[Tree, ...]
    learning_rate: float
    offset: float
    threshold: float
    candidate_probability: float
    feature_names: tuple[str, ...] = FEATURE_NAMES
    info: dict[str, Any] = field(default_factory=dict)
    network_threshold: float | None = None
    drop_below: float | None = None
    triggers: Triggers | None = None

    def probability(self, features: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Burst probability of each row of ``features`` ``(n, len(FEATURE_NAMES))``.

        Every tree descends at once, one level per step (a few numpy operations per level,
        not per tree): the live stream asks for each chunk's candidates together.
        """
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))[:, self._columns]
        x = np.nan_to_num(x, nan=0.0, posinf=1e6, neginf=-1e6)
        x = x.astype(np.float32).astype(np.float64)  # sklearn's trees split float32 values
        left, right, feature, threshold, value = self._forest
        trees = np.arange(left.shape[0])[None, :]
        rows = np.arange(x.shape[0])[:, None]
        node = np.zeros((x.shape[0], left.shape[0]), dtype=np.int64)
        while True:
            down = left[trees, node]
            inner = down >= 0
            if not inner.any():
                break
            go_left = x[rows, feature[trees, node]] <= threshold[trees, node]
            node = np.where(inner, np.where(go_left, down, right[trees, node]), node)
        raw = self.offset + self.learning_rate * value[trees, node].sum(axis=1)
        return np.asarray(expit(raw))

    @cached_property
    def _columns(self) -> npt.NDArray[np.int64]:
        """Where each of :attr:`feature_names` sits in :data:`FEATURE_NAMES` (a classifier
        learnt before later features were added reads its own columns)."""
        return np.array([FEATURE_NAMES.index(n) for n in self.feature_names], dtype=np.int64)

    @cached_property
    def _forest(self) -> tuple[npt.NDArray[Any], ...]:
        """The trees as ``(trees, nodes)`` arrays (padded with leaves)."""
        size = max((t.left.size for t in self.trees), default=1)
        left = np.full((len(self.trees), size), -1, dtype=np.int64)
        right = np.full_like(left, -1)
        feature = np.zeros_like(left)
        threshold = np.zeros(left.shape)
        value = np.zeros(left.shape)
        for i, t in enumerate(self.trees):
            n = t.left.size
            left[i, :n], right[i, :n], feature[i, :n] = t.left, t.right, t.feature
            threshold[i, :n], value[i, :n] = t.threshold, t.value
        feature[feature < 0] = 0  # leaves: never read
        return left, right, feature, threshold, value

    def accepts(self, features: npt.ArrayLike) -> bool:
        """True when one detection's features reach :attr:`threshold` (or, for a detection
        the network keeps on its own, :attr:`drop_below`: see :attr:`network_threshold`)."""
        return bool(self.keeps(np.atleast_2d(np.asarray(features, dtype=np.float64)))[0])

    def keeps(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """:meth:`accepts` for each row of ``features`` ``(n, len(FEATURE_NAMES))``."""
        return two_bar_keeps(
            self.probability(features), features, self.threshold, self.network_threshold,
            self.drop_below,
        )  # fmt: skip

    @classmethod
    def from_sklearn(
        cls,
        model: Any,
        threshold: float,
        candidate_probability: float,
        info: dict[str, Any] | None = None,
        triggers: Triggers | None = None,
        feature_names: tuple[str, ...] = FEATURE_NAMES,
    ) -> SiteClassifier:
        """Copy a fitted binary ``sklearn.ensemble.GradientBoostingClassifier`` fitted on the
        ``feature_names`` columns (of :data:`FEATURE_NAMES`)."""
        trees = tuple(
            Tree(
                t.tree_.children_left.astype(np.int64),
                t.tree_.children_right.astype(np.int64),
                t.tree_.feature.astype(np.int64),
                t.tree_.threshold.astype(np.float64),
                t.tree_.value[:, 0, 0].astype(np.float64),
            )
            for t in model.estimators_[:, 0]
        )
        probe = np.zeros((1, model.n_features_in_))
        staged = sum(float(t.predict(probe)[0]) for t in model.estimators_[:, 0])
        offset = float(model.decision_function(probe)[0]) - model.learning_rate * staged
        return cls(trees, float(model.learning_rate), offset, threshold, candidate_probability,
                   feature_names, dict(info or {}), triggers=triggers)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``site_classifier.json`` (and ``day_one_classifier.json``)."""
        return {
            "format": FORMAT,
            "feature_names": list(self.feature_names),
            "learning_rate": self.learning_rate,
            "offset": self.offset,
            "threshold": self.threshold,
            "candidate_probability": self.candidate_probability,
            "network_threshold": self.network_threshold,
            "drop_below": self.drop_below,
            "trigger_ratio": None if self.triggers is None else self.triggers.ratio,
            "trigger_whitened": None if self.triggers is None else self.triggers.whitened,
            "info": self.info,
            "trees": [_tree_json(t) for t in self.trees],
        }

    def write(self, model_dir: str | Path, name: str = SITE_CLASSIFIER_FILE) -> Path:
        """Write the classifier as ``name`` into ``model_dir`` (atomically); returns its path."""
        path = Path(model_dir) / name
        tmp = path.with_name(path.name + ".partial")
        tmp.write_text(json.dumps(self.to_json()) + "\n", "utf-8")
        tmp.replace(path)
        return path


def two_bar_keeps(
    probability: npt.NDArray[np.float64],
    features: npt.NDArray[np.float64],
    threshold: float,
    network_threshold: float | None = None,
    drop_below: float | None = None,
) -> npt.NDArray[np.bool_]:
    """Which detections a classifier keeps, given their burst ``probability``: those at or
    above ``threshold``, and, with ``network_threshold`` and ``drop_below``, those the network
    scores at or above ``network_threshold`` (the ``score_logit`` feature) whose probability
    reaches ``drop_below``."""
    keep = np.asarray(probability) >= threshold
    if network_threshold is not None and drop_below is not None:
        network = network_probability(features)
        keep |= (network >= network_threshold) & (np.asarray(probability) >= drop_below)
    return np.asarray(keep)


def network_probability(features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The network's own probability (0..1) of each detection, from its ``score_logit``
    feature (rows of ``features`` ``(n, len(FEATURE_NAMES))``)."""
    return np.asarray(expit(np.asarray(features, dtype=np.float64)[:, _SCORE]))


def _tree_json(tree: Tree) -> dict[str, list[Any]]:
    return {
        "left": tree.left.tolist(),
        "right": tree.right.tolist(),
        "feature": tree.feature.tolist(),
        "threshold": tree.threshold.tolist(),
        "value": tree.value.tolist(),
    }


def read_classifier(model_dir: str | Path) -> SiteClassifier | None:
    """The classifier a detector of ``model_dir`` uses: its own (:func:`own_classifier`), at
    the decision ``aemon calibrate`` raised for the site if it did. Where ``aemon calibrate``
    calibrated the network alone instead (an SNR gate, or an older file), a day-one classifier
    is set aside and a site classifier kept as it is. None where there is none.

    Raises:
        FileFormatError: A classifier or calibration file that is not one of this aemon.
    """
    from aemon.detect.calibration import read_site_calibration

    directory = Path(model_dir)
    classifier = own_classifier(directory)
    calibration = read_site_calibration(directory)
    if classifier is None or calibration is None:
        return classifier
    if calibration.classifier_decision is not None:
        return with_decision(classifier, calibration.classifier_decision)
    return classifier if (directory / SITE_CLASSIFIER_FILE).is_file() else None


def own_classifier(model_dir: str | Path) -> SiteClassifier | None:
    """The site classifier beside a model (``aemon adapt --background``), else its day-one
    classifier, as written (no calibration); None where there is neither.

    Raises:
        FileFormatError: The chosen file is not a classifier of this aemon.
    """
    directory = Path(model_dir)
    if (directory / SITE_CLASSIFIER_FILE).is_file():
        return read_site_classifier(directory)
    return read_site_classifier(directory, DAY_ONE_CLASSIFIER_FILE)


def with_decision(classifier: SiteClassifier, decision: float) -> SiteClassifier:
    """``classifier`` with both its bars (``threshold`` and ``drop_below``) raised to at least
    ``decision`` (a burst probability): what ``aemon calibrate`` sets for a site."""
    drop = classifier.drop_below
    return replace(
        classifier,
        threshold=max(classifier.threshold, decision),
        drop_below=None if drop is None else max(drop, decision),
    )


def read_site_classifier(
    model_dir: str | Path, name: str = SITE_CLASSIFIER_FILE
) -> SiteClassifier | None:
    """The classifier file ``name`` beside a model, or None.

    Raises:
        FileFormatError: The file exists but is not a site classifier of this aemon.
    """
    path = Path(model_dir) / name
    if not path.is_file():
        return None
    hint = (
        "run aemon adapt --background again, or delete it to detect without it"
        if name == SITE_CLASSIFIER_FILE
        else "reinstall aemon, or run the command in its info again"
    )
    try:
        raw = json.loads(path.read_text("utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, not {FORMAT!r}")
        names = tuple(str(n) for n in raw["feature_names"])
        unknown = [n for n in names if n not in FEATURE_NAMES]
        if unknown:
            raise ValueError(f"this aemon does not measure its features {', '.join(unknown)}")
        trees = tuple(
            Tree(np.asarray(t["left"], np.int64), np.asarray(t["right"], np.int64),
                 np.asarray(t["feature"], np.int64), np.asarray(t["threshold"], np.float64),
                 np.asarray(t["value"], np.float64))
            for t in raw["trees"]
        )  # fmt: skip
        used = max((int(t.feature.max()) for t in trees if t.feature.size), default=0)
        if used >= len(names):
            raise ValueError(f"a tree splits on feature {used}, but it names {len(names)}")
        classifier = SiteClassifier(
            trees,
            float(raw["learning_rate"]),
            float(raw["offset"]),
            float(raw["threshold"]),
            float(raw["candidate_probability"]),
            names,
            dict(raw.get("info", {})),
            _optional(raw.get("network_threshold")),
            _optional(raw.get("drop_below")),
            _triggers(raw),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(f"{path} is not a site classifier ({exc}); {hint}") from None
    if name != SITE_CLASSIFIER_FILE:
        logger.info("using the day-one classifier %s", path)
        return classifier
    harvest = classifier.info.get("harvest", {})
    triggers = "" if classifier.triggers is None else f" and {classifier.triggers.label} triggers"
    logger.warning(
        "using the site classifier %s (learnt from %s harvested bursts; detections from "
        "probability %.2f%s, kept from burst probability %.2f)", path,
        harvest.get("bursts", "?"), classifier.candidate_probability, triggers,
        classifier.threshold,
    )  # fmt: skip
    return classifier


def _triggers(raw: dict[str, Any]) -> Triggers | None:
    """The triggers a classifier file names (raw ones where it predates whitened triggers)."""
    ratio = _optional(raw.get("trigger_ratio"))
    return None if ratio is None else Triggers(ratio, bool(raw.get("trigger_whitened", False)))


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
