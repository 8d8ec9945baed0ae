"""Labelled detections of one site: its machine alone, and its own bursts mixed into it.

Every detection the live stream makes on the background recording is the machine: a hard
negative, learnt with its own waveform at its own level. The harvested bursts are mixed back
into that background at random SNRs from ``snr_db_range`` (peak over the background's noise
RMS), half of them at random times and half on top of the machine's own transients (from just
before a transient's onset to well into its ring-down), because real bursts overlap them.
The mixture goes through the same live stream, and a detection is a positive when it matches
a mixed-in burst under ``aemon score``'s rule (:mod:`aemon.events.scoring`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.detect.backend import Detector
from aemon.detect.signal_detection import detect_signal
from aemon.detect.site_features import FEATURE_NAMES
from aemon.detect.trigger_setting import Triggers
from aemon.dsp.normalization import noise_floor
from aemon.events.scoring import DetectedEvent, TrueEvent, matched_pairs

logger = logging.getLogger(__name__)

__all__ = [
    "Detections",
    "LabelledDetections",
    "augment_burst",
    "detections",
    "fit_out_of_fold",
    "generic_backgrounds",
    "labelled_detections",
    "mix_bursts",
]

MIN_SPACING_S = 3e-3
"""Shortest time between two mixed-in burst onsets (s)."""
MEAN_SPACING_S = 12e-3
"""Mean time between mixed-in burst onsets (s)."""
ON_TRANSIENT_S = (-0.2e-3, 1.5e-3)
"""Where a burst mixed onto a transient starts, relative to the transient's onset (s)."""
STRETCH = (0.7, 1.4)
"""Range of the time-stretch factor applied to each mixed-in burst."""
TILT = (-1.0, 1.0)
"""Range of the spectral tilt (power of f / 200 kHz on the amplitude) of each mixed-in burst."""
RAMP_S = (0.0, 60e-6)
"""Range of the emergent-onset ramp (s) of each mixed-in burst."""
FOLDS = 3
"""Out-of-fold scores hold out each of this many stretches (in time) of every background."""


class Detections(NamedTuple):
    """What the live stream found in a signal, with each detection's site features.

    Attributes:
        onsets: Refined onset of each detection (samples from the signal's start).
        features: ``(n, len(FEATURE_NAMES))`` site features.
    """

    onsets: npt.NDArray[np.int64]
    features: npt.NDArray[np.float64]


class LabelledDetections(NamedTuple):
    """Site features of detections, with whether each one is a burst.

    Attributes:
        features: ``(n, len(FEATURE_NAMES))``.
        is_burst: True for a detection of a mixed-in burst.
        background_only: True for detections of the background alone (no burst mixed in).
        seconds: Signal seconds the detections come from, per row's pass (s).
        bursts_mixed: Bursts mixed into the backgrounds, found or not (recall counts them).
        fold: Which of :data:`FOLDS` equal stretches (in time) of its background each
            detection lies in (the training generator's rows: their background kind). A
            transient is detected in the background alone and again in each mixture:
            out-of-fold scores hold a whole stretch out, so its copies are never on both
            sides.
    """

    features: npt.NDArray[np.float64]
    is_burst: npt.NDArray[np.bool_]
    background_only: npt.NDArray[np.bool_]
    seconds: float
    bursts_mixed: int
    fold: npt.NDArray[np.int64]


def detections(
    detector: Detector,
    x: npt.NDArray[np.float64],
    rate_hz: float,
    threshold: float | None,
    triggers: Triggers | None = None,
) -> Detections:
    """The live stream's detections in a one-channel signal ``x`` (V), with site features
    (with STA/LTA ``triggers`` too, where given)."""
    found: list[tuple[int, npt.NDArray[np.float64]]] = []
    detect_signal(
        detector,
        x,
        rate_hz,
        threshold=threshold,
        feature_listener=lambda _event, features, onset: found.append((onset, features)),
        triggers=triggers,
    )
    found.sort(key=lambda f: f[0])
    onsets = np.array([onset for onset, _ in found], dtype=np.int64)
    features = np.array([f for _, f in found]).reshape(len(found), len(FEATURE_NAMES))
    return Detections(onsets, features)


def mix_bursts(
    background: npt.NDArray[np.float64],
    bursts: Sequence[npt.NDArray[np.float64]],
    transients: npt.NDArray[np.int64],
    rng: np.random.Generator,
    rate_hz: float,
    snr_db_range: tuple[float, float],
) -> tuple[npt.NDArray[np.float64], list[int]]:
    """``background`` with ``bursts`` mixed in; returns ``(signal, burst onsets)``.

    Args:
        background: One channel (V).
        bursts: Waveforms, onset at sample 0 (any scale: each is scaled by its peak).
        transients: Onsets (samples) of the background's own detections.
        rng: Randomness.
        rate_hz: Sample rate (Hz).
        snr_db_range: Burst peak over the background's noise RMS (dB), drawn uniformly.
    """
    out = background.copy()
    noise = float(noise_floor(background))
    n = background.size
    spacing = int(MIN_SPACING_S * rate_hz)
    starts: list[int] = []
    pos = int(rng.uniform(0.5, 1.5) * spacing)
    while pos < n - spacing:
        starts.append(pos)
        pos += spacing + int(rng.exponential(MEAN_SPACING_S * rate_hz - spacing))
    near = [t for t in transients if spacing <= t < n - spacing]
    if near:  # half of them onto the machine's transients
        lo, hi = (int(s * rate_hz) for s in ON_TRANSIENT_S)
        for i in range(0, len(starts), 2):
            starts[i] = int(near[int(rng.integers(len(near)))] + rng.integers(lo, hi))
        starts = sorted(set(starts))
        starts = [s for i, s in enumerate(starts) if i == 0 or s - starts[i - 1] >= spacing]
    for start in starts:
        wave = augment_burst(rng, bursts[int(rng.integers(len(bursts)))], rate_hz)
        scale = noise * 10 ** (rng.uniform(*snr_db_range) / 20) / max(np.max(np.abs(wave)), 1e-30)
        stop = min(n, start + wave.size)
        out[start:stop] += scale * wave[: stop - start]
    return out, starts


def augment_burst(
    rng: np.random.Generator, wave: npt.NDArray[np.float64], rate_hz: float
) -> npt.NDArray[np.float64]:
    """A variant of a harvested burst: stretched in time (:data:`STRETCH`), tilted in
    spectrum (:data:`TILT`) and with an emergent onset (:data:`RAMP_S`).

    A PLB check gives a dozen bursts from one source position through one path; cracks in a
    test come from elsewhere, through other paths. The variants keep the classifier from
    learning the PLBs' exact spectrum as "burst", which would cost bursts in other places.
    """
    stretch = rng.uniform(*STRETCH)
    n = max(8, round(wave.size * stretch))
    spectrum = np.fft.rfft(wave)
    m = n // 2 + 1
    resized = np.zeros(m, complex)
    k = min(m, spectrum.size)
    resized[:k] = spectrum[:k]
    freqs = np.fft.rfftfreq(n, 1 / rate_hz)
    resized *= (np.maximum(freqs, 10e3) / 200e3) ** rng.uniform(*TILT)
    out = np.fft.irfft(resized, n)
    ramp = int(rng.uniform(*RAMP_S) * rate_hz)
    if 0 < ramp < n:
        out[:ramp] *= np.linspace(0.0, 1.0, ramp, endpoint=False)
    return np.asarray(out)


def labelled_detections(
    detector: Detector,
    backgrounds: Sequence[npt.NDArray[np.float64]],
    bursts: Sequence[npt.NDArray[np.float64]],
    rng: np.random.Generator,
    rate_hz: float,
    *,
    threshold: float,
    mixtures: int,
    snr_db_range: tuple[float, float],
    triggers: Triggers | None = None,
) -> LabelledDetections:
    """Detections of each background alone (negatives) and of ``mixtures`` mixtures of it with
    the bursts (labelled by matching), all at the candidate ``threshold`` (and with the STA/LTA
    ``triggers``, where given)."""
    rows: list[npt.NDArray[np.float64]] = []
    is_burst: list[npt.NDArray[np.bool_]] = []
    alone: list[npt.NDArray[np.bool_]] = []
    folds: list[npt.NDArray[np.int64]] = []
    seconds, mixed = 0.0, 0
    for background in backgrounds:
        base = detections(detector, background, rate_hz, threshold, triggers)
        rows.append(base.features)
        is_burst.append(np.zeros(base.onsets.size, bool))
        alone.append(np.ones(base.onsets.size, bool))
        folds.append(_fold(base.onsets, background.size))
        seconds += background.size / rate_hz
        for _ in range(mixtures):
            signal, onsets = mix_bursts(background, bursts, base.onsets, rng, rate_hz,
                                        snr_db_range)  # fmt: skip
            found = detections(detector, signal, rate_hz, threshold, triggers)
            mixed += len(onsets)
            rows.append(found.features)
            is_burst.append(burst_matches(found.onsets, onsets, rate_hz))
            alone.append(np.zeros(found.onsets.size, bool))
            folds.append(_fold(found.onsets, background.size))
    features = np.concatenate(rows) if rows else np.zeros((0, 0))
    return LabelledDetections(
        features, np.concatenate(is_burst), np.concatenate(alone), seconds, mixed,
        np.concatenate(folds) if folds else np.zeros(0, np.int64),
    )  # fmt: skip


def _fold(onsets: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """The stretch (0 … :data:`FOLDS` - 1) of an ``n``-sample background each onset lies in."""
    return np.clip(onsets * FOLDS // max(n, 1), 0, FOLDS - 1).astype(np.int64)


def fit_out_of_fold(
    model: Any, features: npt.NDArray[np.float64], labels: npt.NDArray[np.bool_], cv: Any
) -> tuple[Any, npt.NDArray[np.float64]]:
    """Fit an unfitted scikit-learn classifier ``model`` on every row, and give each row's
    burst probability from a copy fitted without its fold (``cross_val_predict``'s rule).

    The fold fits and the full fit are independent, so they run at once on up to
    ``os.cpu_count()`` threads (scikit-learn's trees fit without the interpreter lock, and
    threads raise none of a process pool's warnings). Every fit is the one the sequential
    run makes, so the result does not depend on the number of cores.

    Args:
        model: Unfitted classifier with ``predict_proba``.
        features: ``(rows, features)`` inputs.
        labels: Whether each row is a burst.
        cv: A scikit-learn splitter or fold count (as ``cross_val_predict`` takes).

    Returns:
        ``(model fitted on every row, out-of-fold burst probability of each row)``.
    """
    import os

    from joblib import Parallel, delayed
    from sklearn.base import clone
    from sklearn.model_selection import check_cv

    splits = list(check_cv(cv, labels, classifier=True).split(features, labels))
    rows = [train for train, _ in splits] + [np.arange(labels.size)]
    threads = max(1, min(len(rows), os.cpu_count() or 1))
    fitted = Parallel(n_jobs=threads, backend="threading")(
        delayed(clone(model).fit)(features[r], labels[r]) for r in rows
    )
    probability = np.full(labels.size, np.nan)
    for (_, test), fold_model in zip(splits, fitted[:-1], strict=True):
        burst_column = list(fold_model.classes_).index(True)
        probability[test] = fold_model.predict_proba(features[test])[:, burst_column]
    return fitted[-1], probability


def burst_matches(
    onsets: npt.NDArray[np.int64], true_onsets: Sequence[int], rate_hz: float
) -> npt.NDArray[np.bool_]:
    """Which detections (by onset) match a true burst onset one-to-one (``aemon score``'s
    rule)."""
    predicted = [DetectedEvent(int(o), int(o) + 1, 0, 1.0) for o in onsets]
    truth = [TrueEvent(int(o), int(o) + 1, 0) for o in true_onsets]
    hit = np.zeros(len(predicted), bool)
    for _ti, pi in matched_pairs(predicted, truth, rate_hz, typed=False):
        hit[pi] = True
    return hit


def generic_backgrounds(
    rng: np.random.Generator, n: int, rate_hz: float, noise_rms: float
) -> list[npt.NDArray[np.float64]]:
    """Stationary white, pink (1/f) and brown (1/f², above 20 kHz) noise of RMS ``noise_rms``
    (V): backgrounds other than the site's, into which the site's own bursts are mixed too, so
    the classifier keeps accepting bursts where the machine is quieter or other-coloured."""
    freqs = np.fft.rfftfreq(n, 1 / rate_hz)
    out = []
    for power in (0.0, 1.0, 2.0):
        shape = 1.0 / np.maximum(freqs, 20e3) ** (power / 2)
        x = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * shape, n)
        out.append(x * noise_rms / max(float(noise_floor(x)), 1e-30))
    return out
