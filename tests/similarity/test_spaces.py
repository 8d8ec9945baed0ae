"""Feature vectors and the waveform-correlation distance."""

from __future__ import annotations

import numpy as np

from aemon.events.hit import Hit
from aemon.similarity.spaces import FEATURE_COLUMNS, correlation_distances, feature_vectors

RATE = 1_562_500.0


def _burst(freq_hz: float, shift: int = 0, length: int = 1024) -> np.ndarray:
    t = (np.arange(length) - 128 - shift) / RATE
    on = t >= 0
    return np.where(on, np.exp(-np.maximum(t, 0) / 80e-6) * np.sin(2 * np.pi * freq_hz * t), 0.0)


def test_shifted_and_inverted_copies_are_close_and_other_bands_far() -> None:
    low = _burst(150e3)
    windows = np.stack([low, -_burst(150e3, shift=10), 3.0 * low, _burst(450e3)])
    d = correlation_distances(windows, RATE)
    assert d.shape == (4, 4)
    assert np.allclose(np.diag(d), 0.0, atol=1e-9)
    assert d[0, 1] < 0.02  # 6.4 µs later and inverted: within the lag search
    assert d[0, 2] < 1e-9  # scale does not matter
    assert d[0, 3] > 0.5
    assert np.allclose(correlation_distances(windows, RATE, index=3), d[3])


def test_a_shift_beyond_the_lag_search_is_not_found() -> None:
    windows = np.stack([_burst(150e3), _burst(150e3, shift=200)])
    near = correlation_distances(windows, RATE, max_lag_us=200.0)[0, 1]
    far = correlation_distances(windows, RATE, max_lag_us=1.0)[0, 1]
    assert near < 0.05 < far


def _event(**features: float) -> Hit:
    values: dict[str, object] = dict.fromkeys(Hit._fields, 0.0)
    values.update(utc="", type="burst", detector="t", sample_index=0, channel=0, counts=1)
    values.update(features)
    return Hit(**values)  # type: ignore[arg-type]


def test_feature_vectors_are_standardised_and_fill_gaps() -> None:
    events = [
        _event(
            amplitude_dBAE=40.0 + i,
            energy_eu=10.0 ** (i + 2) - 1.0,
            peak_freq_kHz=float("nan") if i == 0 else 200.0 + i,
        )
        for i in range(6)
    ]
    v = feature_vectors(events)
    assert v.shape == (6, len(FEATURE_COLUMNS))
    amp = FEATURE_COLUMNS.index("amplitude_dBAE")
    assert abs(v[:, amp].mean()) < 1e-9 and abs(v[:, amp].std() - 1) < 1e-9
    energy = v[:, FEATURE_COLUMNS.index("energy_eu")]
    assert np.allclose(np.diff(energy), np.diff(energy)[0])  # log scale: equal steps
    assert v[0, FEATURE_COLUMNS.index("peak_freq_kHz")] == 0.0  # NaN -> column mean
    assert np.all(np.isfinite(v))
