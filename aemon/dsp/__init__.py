"""Signal processing shared by the live path and training: numba kernels with numpy twins,
high-pass, decimation, noise-floor normalisation and the raw sample history.

Public API (imported on first use):
    fir_decimate: :mod:`aemon.dsp.kernels`
    scale_compress: :mod:`aemon.dsp.kernels`
    volts: :mod:`aemon.dsp.kernels`
    volts_highpass: :mod:`aemon.dsp.kernels`
    NoiseFloorTracker: :mod:`aemon.dsp.normalization`
    NormalizationParams: :mod:`aemon.dsp.normalization`
    apply_scale: :mod:`aemon.dsp.normalization`
    describe: :mod:`aemon.dsp.normalization`
    noise_floor: :mod:`aemon.dsp.normalization`
    normalize_window: :mod:`aemon.dsp.normalization`
    FirDecimator: :mod:`aemon.dsp.preprocess`
    HighPass: :mod:`aemon.dsp.preprocess`
    Preprocessor: :mod:`aemon.dsp.preprocess`
    SegmentNormalizer: :mod:`aemon.dsp.preprocess`
    card_highpass_hz: :mod:`aemon.dsp.preprocess`
    decimation_factor: :mod:`aemon.dsp.preprocess`
    RawHistory: :mod:`aemon.dsp.raw_history`

Modules: kernels, normalization, preprocess, raw_history.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "FirDecimator": "preprocess",
    "HighPass": "preprocess",
    "NoiseFloorTracker": "normalization",
    "NormalizationParams": "normalization",
    "Preprocessor": "preprocess",
    "RawHistory": "raw_history",
    "SegmentNormalizer": "preprocess",
    "apply_scale": "normalization",
    "card_highpass_hz": "preprocess",
    "decimation_factor": "preprocess",
    "describe": "normalization",
    "fir_decimate": "kernels",
    "noise_floor": "normalization",
    "normalize_window": "normalization",
    "scale_compress": "kernels",
    "volts": "kernels",
    "volts_highpass": "kernels",
}

__all__ = [
    "FirDecimator",
    "HighPass",
    "NoiseFloorTracker",
    "NormalizationParams",
    "Preprocessor",
    "RawHistory",
    "SegmentNormalizer",
    "apply_scale",
    "card_highpass_hz",
    "decimation_factor",
    "describe",
    "fir_decimate",
    "noise_floor",
    "normalize_window",
    "scale_compress",
    "volts",
    "volts_highpass",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
