"""How much a denoiser helps the AE features, against a band-pass and a Wiener filter.

Each example is a simulator burst mixed into background at a set input SNR
(:mod:`aemon.denoise.mixing`; the same bursts and backgrounds at every SNR, so the levels are
paired). Every method's output goes through the event path users run
(:meth:`aemon.events.hit.HitBuilder.build` for a neural detection whose onset lies within
±5 µs of the true one and whose end is the burst's end: AIC onset refinement, features over
the detection); the U-Net's through ``--features-from denoised``
(:func:`aemon.denoise.event_features.denoised_event`: the raw event's span, measured on the
denoised waveform); ``bp-span`` is the band-pass measured by that same rule (the raw event's
onset, where ``bandpass`` refines its onset by AIC on the filtered waveform). The truth is the
same path on the clean burst (plus noise 60 dB down, so the
AIC has a floor). Reported per SNR and method: the median SNR improvement over the window
(dB), and the median absolute error of rise time (µs), peak frequency (kHz) and energy (%)
(:func:`evaluate`; :func:`collect` and :func:`summarise` give other percentiles, e.g. the 75th,
since the medians are in whole FFT bins and samples and are often 0).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from aemon.denoise.denoiser import Denoiser
from aemon.denoise.event_features import denoised_event, event_on_waveform
from aemon.denoise.mixing import DenoiseMixer
from aemon.denoise.spectral import bandpass, ideal_mask, istft, stft, wiener
from aemon.events.hit import Detection, Hit, HitBuilder

logger = logging.getLogger(__name__)

F64 = npt.NDArray[np.float64]

METHODS = ("noisy", "bandpass", "bp-span", "wiener", "unet")
"""The compared methods: no filter, band-pass, band-pass measured like the U-Net (over the raw
event's span, :func:`aemon.denoise.event_features.event_on_waveform`), Wiener, the U-Net."""
SNRS_DB = (0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 20.0)
"""Input SNR levels (dB) of the report."""
BANDPASS_HZ = (80e3, 650e3)
"""Band of the band-pass baseline (Hz): the simulator's burst bands with some margin."""
ONSET_JITTER_US = 5.0
"""The simulated detector's onset lies within ± this of the true onset (µs)."""


class EvaluationRow(NamedTuple):
    """Medians over the examples of one input SNR and one method."""

    snr_db: float
    method: str
    snr_gain_db: float
    rise_time_error_us: float
    peak_freq_error_khz: float
    energy_error_pct: float


def _snr_db(clean: F64, estimate: F64) -> float:
    error = float(np.sum(np.square(estimate - clean)))
    return 10.0 * np.log10(max(float(np.sum(np.square(clean))), 1e-30) / max(error, 1e-30))


def _returning(signal: F64) -> Callable[[F64], F64]:
    return lambda _: signal


def _features(builder: HitBuilder, signal: F64, start: int, stop: int) -> Hit:
    detection = Detection(0, "burst", start, stop, 1.0)
    return builder.build(detection, signal[None, :], 0, detector="bench")


Results = dict[tuple[float, str], npt.NDArray[np.float64]]
"""Per ``(snr_db, method)``: ``(examples, 4)`` SNR gain (dB) and absolute errors of rise time
(µs), peak frequency (kHz) and energy (%), one row per example."""


def collect(
    denoiser: Denoiser,
    snrs_db: Sequence[float] = SNRS_DB,
    examples: int = 100,
    seed: int = 20261130,
    window_samples: int = 2048,
    sample_rate_hz: float = 1_562_500.0,
    oracle: bool = False,
) -> Results:
    """Per-example SNR gains and feature errors of :data:`METHODS` (module docstring).

    ``oracle`` adds the method ``oracle``: the ideal mask computed from the clean burst
    (:func:`aemon.denoise.spectral.ideal_mask`, the network's training target) applied like
    the U-Net's and measured by the same rule, an upper bound of what a better mask can do.
    """
    mixer = DenoiseMixer(window_samples, sample_rate_hz)
    builder = HitBuilder(sample_rate_hz)
    methods: dict[str, Callable[[F64], F64]] = {
        "noisy": lambda x: x,
        "bandpass": lambda x: bandpass(x, sample_rate_hz, BANDPASS_HZ),
        "bp-span": lambda x: bandpass(x, sample_rate_hz, BANDPASS_HZ),
        "wiener": wiener,
        "unet": denoiser.denoise_block,
    }
    jitter = round(ONSET_JITTER_US * 1e-6 * sample_rate_hz)
    base = np.random.default_rng(seed)
    mixer.new_bank(base)
    cases = []
    for _ in range(examples):
        rng = np.random.default_rng(base.integers(1 << 62))
        onset = int(rng.integers(window_samples // 4, window_samples // 2))
        cases.append((rng, mixer.burst(rng), mixer.background(rng), onset))
    results: dict[tuple[float, str], list[tuple[float, float, float, float]]] = {}
    for snr in snrs_db:
        for rng, burst, background, onset in cases:
            state = np.random.default_rng(rng.integers(1 << 62))
            example = mixer.mix(state, burst, background, snr, onset)
            start = example.onset + int(state.integers(-jitter, jitter + 1))
            floor = state.standard_normal(example.clean.size) * float(
                np.sqrt(np.mean(np.square(background))) * 1e-3
            )
            truth = _features(builder, example.clean + floor, start, example.end)
            raw = _features(builder, example.noisy, start, example.end)
            if oracle:
                z = stft(example.noisy)
                best = istft(z * ideal_mask(z, stft(example.clean)), example.noisy.size)
                methods["oracle"] = _returning(best)
            for name, method in methods.items():
                estimate = method(example.noisy)
                if name == "unet":  # as --features-from denoised: the raw event's span
                    got = denoised_event(denoiser, builder, raw, example.noisy, 0)
                elif name in ("bp-span", "oracle"):  # the same rule as the U-Net
                    got = event_on_waveform(builder, raw, estimate, 0)
                else:
                    got = _features(builder, estimate, start, example.end)
                results.setdefault((snr, name), []).append(
                    (
                        _snr_db(example.clean, estimate) - _snr_db(example.clean, example.noisy),
                        abs(got.rise_time_us - truth.rise_time_us),
                        abs(got.peak_freq_kHz - truth.peak_freq_kHz),
                        100.0 * abs(got.energy_eu - truth.energy_eu) / max(truth.energy_eu, 1e-30),
                    )
                )
    return {key: np.asarray(values, dtype=np.float64) for key, values in results.items()}


def summarise(results: Results, percentile: float = 50.0) -> list[EvaluationRow]:
    """One row per SNR and method: the ``percentile`` (50: the median) of each column."""
    rows = []
    for (snr, name), values in results.items():
        stat = np.nanpercentile(values, percentile, axis=0)
        rows.append(EvaluationRow(snr, name, *(round(float(v), 3) for v in stat)))
    return rows


def evaluate(
    denoiser: Denoiser,
    snrs_db: Sequence[float] = SNRS_DB,
    examples: int = 100,
    seed: int = 20261130,
    window_samples: int = 2048,
    sample_rate_hz: float = 1_562_500.0,
) -> list[EvaluationRow]:
    """Median SNR gains and feature errors of :data:`METHODS` (see the module docstring)."""
    results = collect(denoiser, snrs_db, examples, seed, window_samples, sample_rate_hz)
    return summarise(results)


def format_table(rows: Sequence[EvaluationRow]) -> str:
    """The rows as a fixed-width text table (one line per SNR and method)."""
    lines = [
        f"{'SNR dB':>6}  {'method':<9}{'gain dB':>8}{'rise µs':>9}{'peak kHz':>10}{'energy %':>10}"
    ]
    for r in rows:
        lines.append(
            f"{r.snr_db:>6.0f}  {r.method:<9}{r.snr_gain_db:>8.2f}{r.rise_time_error_us:>9.2f}"
            f"{r.peak_freq_error_khz:>10.2f}{r.energy_error_pct:>10.1f}"
        )
    return "\n".join(lines)


def improvement(
    rows: Sequence[EvaluationRow],
    snrs_db: Sequence[float],
    baseline: str = "bandpass",
    method: str = "unet",
) -> dict[str, float]:
    """``method`` vs ``baseline`` over ``snrs_db``: relative reduction (%) of the mean over
    those SNRs of the rows' errors (medians, or whatever :func:`summarise` gave)."""
    by = {(r.snr_db, r.method): r for r in rows}
    out = {}
    for field in ("rise_time_error_us", "peak_freq_error_khz", "energy_error_pct"):
        unet = float(np.mean([getattr(by[s, method], field) for s in snrs_db]))
        band = float(np.mean([getattr(by[s, baseline], field) for s in snrs_db]))
        out[field] = round(100.0 * (1.0 - unet / band), 1) if band > 0 else 0.0
    return out
