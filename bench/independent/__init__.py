"""Independent data and baselines for the generalisation benchmark.

Used by ``bench/bench_generalisation.py``. The data come from models written independently
of aemon's training simulator (nothing here imports ``aemon.sim*`` or ``aemon.train``); only
:mod:`.files` touches aemon, to write its recording format and run its command line. Import
it with ``bench/`` on ``sys.path`` (``import independent``).

Public API:

- :mod:`.bursts`: :func:`make_burst` → :class:`Burst` (dispersive S0/A0 plate waves from a
  pencil-lead break or crack source, sensor response, reflections and reverberation; onset and
  end by the -40 dB envelope rule).
- :mod:`.backgrounds`: the families in :data:`FAMILIES` (``white``, ``pink``, ``ar_bandpass``,
  ``resonant_sensor``, ``machine``, ``rubbing``, ``hum``), each ``(rng, n, fs) -> float32``
  with unit RMS, and :func:`background` by name.
- :mod:`.dataset`: :func:`render_file` → ``(signal V, [TruthBurst])``, :func:`render_parts`
  (background and bursts apart), :func:`render_noise_only` (hard negatives, no bursts;
  :func:`noise_only_layout` gives its machine, for another recording of it),
  :func:`render_plb_check` (a pencil-lead-break sensor check in a given background),
  :data:`SNR_BANDS`.
- :mod:`.scoring`: :func:`score` → :class:`Score` (event P/R/F1, false alarms per minute,
  median onset error; match window -100 µs..+250 µs).
- :mod:`.baselines`: :class:`ThresholdDetector`, :class:`StaLtaDetector` (ObsPy, the ``bench``
  extra), :func:`tune_threshold`, :func:`tune_sta_lta`.
- :mod:`.files`: :func:`write_pair` (aemon HDF5 recording + truth CSV), :func:`run_aemon_detect`,
  :func:`run_aemon_adapt`,
  :func:`run_aemon_calibrate`, :func:`read_event_onsets`, :func:`run_aemon_score`.
"""

from __future__ import annotations

from .backgrounds import FAMILIES, background
from .baselines import (
    StaLtaDetector,
    ThresholdDetector,
    Tuned,
    bandpass,
    robust_rms,
    tune_sta_lta,
    tune_threshold,
)
from .bursts import Burst, envelope, make_burst
from .dataset import (
    FS_HZ,
    NOISE_RMS_V,
    SNR_BANDS,
    NoiseOnly,
    Rendered,
    TruthBurst,
    noise_only_layout,
    render_file,
    render_noise_only,
    render_parts,
    render_plb_check,
)
from .files import (
    read_event_onsets,
    read_truth_csv,
    run_aemon_adapt,
    run_aemon_calibrate,
    run_aemon_detect,
    run_aemon_score,
    write_pair,
    write_recording,
    write_truth_csv,
)
from .scoring import Score, match, score

__all__ = [
    "FAMILIES",
    "FS_HZ",
    "NOISE_RMS_V",
    "SNR_BANDS",
    "Burst",
    "NoiseOnly",
    "Rendered",
    "Score",
    "StaLtaDetector",
    "ThresholdDetector",
    "TruthBurst",
    "Tuned",
    "background",
    "bandpass",
    "envelope",
    "make_burst",
    "match",
    "noise_only_layout",
    "read_event_onsets",
    "read_truth_csv",
    "render_file",
    "render_noise_only",
    "render_parts",
    "render_plb_check",
    "robust_rms",
    "run_aemon_adapt",
    "run_aemon_calibrate",
    "run_aemon_detect",
    "run_aemon_score",
    "score",
    "tune_sta_lta",
    "tune_threshold",
    "write_pair",
    "write_recording",
    "write_truth_csv",
]
