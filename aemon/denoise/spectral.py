"""STFT helpers of the U-Net denoiser and its two baselines (band-pass, Wiener).

The denoiser works on STFT magnitudes (thesis ch. 3): 64-point Hann frames, hop 16 samples
(41 µs frames every 10 µs at 1.5625 MHz), computed with :mod:`scipy.signal` here and in
training, so the network sees the same numbers in both. The network's input is
``log1p(|X| / floor_f)``: the magnitude over the per-frequency noise floor ``floor_f`` (the
median magnitude of that frequency over the frames of the block), which makes it independent
of the signal's scale and of the background's spectral colour. The network returns a soft mask
``0..1`` per time-frequency bin; the denoised signal is the inverse STFT of ``gain · X`` (the
phase is the input's), where ``gain`` is the mask with an SNR floor (:func:`snr_floor_gain`).

**SNR floor.** A soft mask also takes a few percent off a strong burst (its bins get 0.8-0.95,
not 1), which made the high-SNR energy error worse than the band-pass's. So where a bin's
a-posteriori SNR ``γ = |X|² / N_f`` (``N_f`` the noise power from the median floor, Rayleigh:
``median² / ln 4``) is high the gain is raised towards 1: ``gain = max(mask, r(γ))`` with
``r`` rising linearly in dB from 0 at :data:`FLOOR_LOW_DB` to 1 at :data:`FLOOR_HIGH_DB`. It
applies only to bins the network already passes (``mask >= FLOOR_MASK_GATE``): a spike or a
friction burst is loud too, and the network, not the SNR, decides that it is not a burst.

Baselines for ``bench/bench_denoise.py``:

* :func:`bandpass`: 4th-order Butterworth band-pass, zero phase (``sosfiltfilt``).
* :func:`wiener`: STFT-domain Wiener gain ``ξ / (1 + ξ)`` with the a-priori SNR
  ``ξ = max(|X|² / N_f - 1, 0)`` and the noise power ``N_f`` from the same median floor.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
import scipy.signal

logger = logging.getLogger(__name__)

FRAME_SAMPLES = 64
"""STFT frame length (samples, Hann window)."""
HOP_SAMPLES = 16
"""STFT hop (samples)."""
FREQUENCY_BINS = FRAME_SAMPLES // 2 + 1
"""One-sided frequency bins of a frame (33)."""
PADDED_BINS = 36
"""Frequency bins the network sees (zero-padded to a multiple of 4 for two poolings)."""
TIME_MULTIPLE = 4
"""The network's frame count is padded to a multiple of this."""
_MEDIAN_TO_RMS = 1.0 / np.sqrt(np.log(4.0))
"""Rayleigh magnitude: RMS = median / sqrt(ln 4)."""
FLOOR_LOW_DB = 10.0
"""Bin SNR (dB, a posteriori, over the median noise floor) where the SNR floor starts."""
FLOOR_HIGH_DB = 20.0
"""Bin SNR (dB) from which the SNR floor is 1: the bin passes untouched."""
FLOOR_MASK_GATE = 0.5
"""The SNR floor applies only where the network's mask is at least this."""

F32 = npt.NDArray[np.float32]


def stft(x: npt.ArrayLike) -> npt.NDArray[np.complex64]:
    """Complex STFT ``(FREQUENCY_BINS, frames)`` of a 1-D signal (zero-padded at both ends)."""
    _, _, z = scipy.signal.stft(
        np.asarray(x, dtype=np.float64),
        nperseg=FRAME_SAMPLES,
        noverlap=FRAME_SAMPLES - HOP_SAMPLES,
        window="hann",
    )
    return np.asarray(z, dtype=np.complex64)


def istft(z: npt.ArrayLike, samples: int) -> npt.NDArray[np.float64]:
    """Inverse of :func:`stft`, cut to ``samples`` samples."""
    _, x = scipy.signal.istft(
        np.asarray(z),
        nperseg=FRAME_SAMPLES,
        noverlap=FRAME_SAMPLES - HOP_SAMPLES,
        window="hann",
    )
    out = np.zeros(samples)
    n = min(samples, x.size)
    out[:n] = x[:n]
    return out


def noise_floor(magnitude: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Median magnitude per frequency ``(FREQUENCY_BINS, 1)``, at least a tiny positive value."""
    floor = np.median(np.asarray(magnitude, dtype=np.float64), axis=1, keepdims=True)
    top = float(floor.max()) if floor.size else 0.0
    return np.maximum(floor, max(top * 1e-6, 1e-30))


def network_input(magnitude: npt.NDArray[np.floating]) -> F32:
    """The network's input ``(1, PADDED_BINS, frames padded to TIME_MULTIPLE)`` of ``|X|``."""
    feats = np.log1p(np.asarray(magnitude, dtype=np.float64) / noise_floor(magnitude))
    frames = feats.shape[1]
    padded = -(-frames // TIME_MULTIPLE) * TIME_MULTIPLE
    out = np.zeros((1, PADDED_BINS, padded), dtype=np.float32)
    out[0, :FREQUENCY_BINS, :frames] = feats
    return out


def crop_mask(mask: npt.NDArray[np.floating], frames: int) -> F32:
    """The ``(FREQUENCY_BINS, frames)`` part of a network output ``(1, PADDED_BINS, T)``."""
    return np.asarray(mask, dtype=np.float32).reshape(PADDED_BINS, -1)[:FREQUENCY_BINS, :frames]


def bin_snr_db(magnitude: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """A-posteriori SNR (dB) per bin: ``|X|²`` over the noise power from the median floor."""
    mag = np.asarray(magnitude, dtype=np.float64)
    noise = (noise_floor(mag) * _MEDIAN_TO_RMS) ** 2
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.square(mag) / noise)


def snr_floor_gain(
    mask: npt.NDArray[np.floating], magnitude: npt.NDArray[np.floating]
) -> npt.NDArray[np.float64]:
    """The mask with the SNR floor (module docstring): ``max(mask, r(γ))`` where the mask is
    at least :data:`FLOOR_MASK_GATE`, else the mask. Both arrays ``(bins, frames)``."""
    m = np.asarray(mask, dtype=np.float64)
    ramp = np.clip((bin_snr_db(magnitude) - FLOOR_LOW_DB) / (FLOOR_HIGH_DB - FLOOR_LOW_DB), 0, 1)
    return np.where(m >= FLOOR_MASK_GATE, np.maximum(m, ramp), m)


def ideal_mask(noisy: npt.ArrayLike, clean: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The phase-sensitive ideal mask ``clip(Re(S·X*) / |X|², 0, 1)`` of STFTs ``noisy`` (X)
    and ``clean`` (S): the best real gain when the phase stays the noisy one. It is the
    network's training target, and with the clean burst known an upper bound for any mask."""
    x = np.asarray(noisy)
    power = np.maximum(np.abs(x) ** 2, 1e-30)
    return np.clip(np.real(np.asarray(clean) * np.conj(x)) / power, 0.0, 1.0)


def bandpass(
    x: npt.ArrayLike, sample_rate_hz: float, band_hz: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """Zero-phase 4th-order Butterworth band-pass of ``x`` over ``band_hz`` (Hz)."""
    nyquist = sample_rate_hz / 2
    low, high = band_hz[0] / nyquist, min(band_hz[1] / nyquist, 0.99)
    sos = scipy.signal.butter(4, [low, high], btype="bandpass", output="sos")
    return np.asarray(scipy.signal.sosfiltfilt(sos, np.asarray(x, dtype=np.float64)))


def wiener(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """STFT Wiener filter of ``x`` with the median noise floor (see the module docstring)."""
    signal = np.asarray(x, dtype=np.float64)
    z = stft(signal)
    power = np.abs(z) ** 2
    noise = (noise_floor(np.abs(z)) * _MEDIAN_TO_RMS) ** 2
    xi = np.maximum(power / noise - 1.0, 0.0)
    return istft(z * (xi / (1.0 + xi)), signal.size)
