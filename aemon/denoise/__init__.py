"""Burst denoising with a U-Net soft mask on STFT magnitudes (thesis ch. 3, issue 15).

Inference is numpy/scipy STFT plus ONNX Runtime (no torch); training lives in
:mod:`aemon.train.denoise_training` (``aemon train-denoiser``). ``aemon denoise`` writes a
denoised recording; ``--features-from denoised`` on ``detect``, ``replay`` and ``export``
measures event features on the denoised waveform (raw ones kept as ``raw_*`` columns).

Public API (imported on first use):
    DEFAULT_DENOISER: :mod:`aemon.denoise.denoiser`
    Denoiser: :mod:`aemon.denoise.denoiser`
    resolve_denoiser: :mod:`aemon.denoise.denoiser`
    EvaluationRow: :mod:`aemon.denoise.evaluation`
    collect: :mod:`aemon.denoise.evaluation`
    evaluate: :mod:`aemon.denoise.evaluation`
    format_table: :mod:`aemon.denoise.evaluation`
    improvement: :mod:`aemon.denoise.evaluation`
    summarise: :mod:`aemon.denoise.evaluation`
    DENOISED_COLUMNS: :mod:`aemon.denoise.event_features`
    denoise_event_csv: :mod:`aemon.denoise.event_features`
    denoised_event: :mod:`aemon.denoise.event_features`
    event_on_waveform: :mod:`aemon.denoise.event_features`
    read_denoised_csv: :mod:`aemon.denoise.event_features`
    with_denoised_features: :mod:`aemon.denoise.event_features`
    DenoiseExample: :mod:`aemon.denoise.mixing`
    DenoiseMixer: :mod:`aemon.denoise.mixing`
    denoise_file: :mod:`aemon.denoise.recording`
    bandpass: :mod:`aemon.denoise.spectral`
    istft: :mod:`aemon.denoise.spectral`
    stft: :mod:`aemon.denoise.spectral`
    wiener: :mod:`aemon.denoise.spectral`

Modules: denoiser, evaluation, event_features, mixing, recording, spectral.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_DENOISER": "denoiser",
    "DENOISED_COLUMNS": "event_features",
    "Denoiser": "denoiser",
    "DenoiseExample": "mixing",
    "DenoiseMixer": "mixing",
    "EvaluationRow": "evaluation",
    "bandpass": "spectral",
    "collect": "evaluation",
    "denoise_event_csv": "event_features",
    "denoise_file": "recording",
    "denoised_event": "event_features",
    "event_on_waveform": "event_features",
    "evaluate": "evaluation",
    "format_table": "evaluation",
    "improvement": "evaluation",
    "istft": "spectral",
    "read_denoised_csv": "event_features",
    "resolve_denoiser": "denoiser",
    "stft": "spectral",
    "summarise": "evaluation",
    "wiener": "spectral",
    "with_denoised_features": "event_features",
}

__all__ = [
    "DEFAULT_DENOISER",
    "DENOISED_COLUMNS",
    "DenoiseExample",
    "DenoiseMixer",
    "Denoiser",
    "EvaluationRow",
    "bandpass",
    "collect",
    "denoise_event_csv",
    "denoise_file",
    "denoised_event",
    "evaluate",
    "event_on_waveform",
    "format_table",
    "improvement",
    "istft",
    "read_denoised_csv",
    "resolve_denoiser",
    "stft",
    "summarise",
    "wiener",
    "with_denoised_features",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
