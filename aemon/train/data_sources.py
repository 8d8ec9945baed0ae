"""Training data from users' files: isolated bursts + background (source b), labelled recordings
(source c), and the ``--data`` argument that chooses between them and the simulator (source a).

``--data`` forms:

* ``sim``: the built-in simulator at the model's rate.
* ``randomised`` / ``randomised-machine``: domain-randomised data (:func:`randomised_mix`);
  the second adds machine noise (:mod:`aemon.sim.machine_noise`).
* ``DIR`` with ``bursts/`` and ``noise/`` (or ``background/``): isolated burst waveforms (WAV,
  FLAC, raw float32 ``.raw``/``.f32``, int16 ``.i16``, HDF5, Vallen ``.tradb``) in subfolders
  named after the model's classes (flat if the model has one class), plus background
  recordings. Bursts keep their recorded amplitude, so record both with the same chain.
  Raw files are read at the model rate unless ``DIR/dataset.toml`` sets ``sample_rate_hz``.
* ``REC.h5`` / ``REC.wav`` (or ``REC:EVENTS.csv``, or a directory of them): labelled recordings;
  labels come from ``EVENTS.csv``, else ``REC.csv`` / ``REC.truth.csv`` beside it, else the
  recording's ``/truth`` table (simulator recordings). Loading is in :mod:`aemon.train.labelled`.

Files at another sample rate are resampled when the model rate is lower (rational ratio);
upsampling is refused because the AE band above the recording's Nyquist frequency is missing.
Bursts are split 80/20 by file into training and held-out sets.
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aemon.errors import ConfigError, FileFormatError
from aemon.io.file_readers import HDF5_SUFFIXES, open_block_reader, read_volts
from aemon.io.schema import FORMAT_NAME
from aemon.io.vallen import iter_tradb_records
from aemon.sim.randomised import randomised_mix_callbacks
from aemon.sim.simulator import SimConfig, make_background, make_burst
from aemon.sim.training import training_sim_config
from aemon.train.config import ModelConfig
from aemon.train.data import Augmentation, BackgroundDraw, MixSource, WindowSource
from aemon.train.labelled import LabelledSource, find_labelled_recordings, match_rate

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES = {".wav", ".flac"}
RAW_SAMPLE_TYPES = {".raw": "float32", ".f32": "float32", ".i16": "int16"}
"""Raw burst/background files by suffix: their sample type (one channel, the model rate)."""
TRADB_SUFFIXES = {".tradb"}
WAVEFORM_SUFFIXES = AUDIO_SUFFIXES | set(RAW_SAMPLE_TYPES) | set(HDF5_SUFFIXES) | TRADB_SUFFIXES
TEST_FRACTION = 0.2
BANK_SEGMENTS = 8
"""Simulator background segments rendered per epoch (each >= 2**20 samples)."""


def read_waveforms(path: Path, default_rate_hz: float) -> tuple[list[np.ndarray], float]:
    """Read every waveform in a file: ``(list of 1-D float64 arrays, sample rate Hz)``.

    WAV/FLAC and raw files give one waveform per channel; an aemon recording one per channel;
    a plain HDF5 file one per 1-D dataset (or row of a 2-D dataset), rate from a
    ``sample_rate_hz`` attribute; a Vallen tradb one per transient record. Recordings, audio,
    raw and tradb files are read by :mod:`aemon.io` (:func:`~aemon.io.file_readers.read_volts`,
    :func:`~aemon.io.vallen.iter_tradb_records`), as detection reads them.

    Raises:
        FileFormatError: Unreadable or unsupported file.
    """
    suffix = path.suffix.lower()
    if suffix in TRADB_SUFFIXES:
        return _read_tradb(path)
    if suffix in HDF5_SUFFIXES and not _is_recording(path):
        return _read_hdf5(path)
    raw_type = RAW_SAMPLE_TYPES.get(suffix)
    if raw_type is None and suffix not in AUDIO_SUFFIXES | set(HDF5_SUFFIXES):
        raise FileFormatError(f"{path}: unsupported waveform file type {suffix!r}")
    rate = default_rate_hz if raw_type else None
    reader = open_block_reader(path, sample_rate_hz=rate, dtype=raw_type)
    try:
        return list(read_volts(reader)), reader.format.sample_rate_hz
    finally:
        reader.close()


def _read_tradb(path: Path) -> tuple[list[np.ndarray], float]:
    waves: list[np.ndarray] = []
    rates: set[float] = set()
    for record in iter_tradb_records(path):
        waves.append(record.volts().astype(np.float64))
        rates.add(record.sample_rate_hz)
    if len(rates) > 1:
        raise FileFormatError(f"{path}: transient records use several sample rates {sorted(rates)}")
    return waves, rates.pop() if rates else 0.0


def _is_recording(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return bool(f.attrs.get("format") == FORMAT_NAME)
    except OSError as exc:
        raise FileFormatError(f"cannot read waveform file {path}: {exc}") from exc


def _read_hdf5(path: Path) -> tuple[list[np.ndarray], float]:
    """A plain HDF5 file of waveforms (not an aemon recording): one per 1-D dataset or row."""
    import h5py

    waves: list[np.ndarray] = []
    rates: set[float] = set()
    with h5py.File(path, "r") as f:

        def visit(_name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "fiu" and obj.ndim in (1, 2):
                rate = obj.attrs.get("sample_rate_hz", f.attrs.get("sample_rate_hz"))
                if rate is None:
                    raise FileFormatError(
                        f"{path}: dataset {obj.name} has no sample_rate_hz attribute"
                    )
                rates.add(float(rate))
                arr = np.asarray(obj[()], dtype=np.float64)
                waves.extend(arr if arr.ndim == 2 else [arr])

        f.visititems(visit)
    if len(rates) > 1:
        raise FileFormatError(f"{path}: datasets use several sample rates {sorted(rates)}")
    return waves, rates.pop() if rates else 0.0


def pick_burst(wave: np.ndarray) -> tuple[int, int] | None:
    """Onset and end (samples) of an isolated burst; None for an empty waveform.

    The onset is the AIC picker's (vallenae) estimate before the peak; the end is where |x|
    last exceeds 2 % of the peak and 3× the pre-onset noise RMS.
    """
    from vallenae.timepicker import aic

    if wave.size < 8 or not np.any(wave):
        return None
    peak = int(np.argmax(np.abs(wave)))
    onset = int(aic(np.ascontiguousarray(wave[: peak + 1]))[1]) if peak > 4 else 0
    onset = min(max(onset, 0), peak)
    noise = float(np.sqrt(np.mean(wave[:onset] ** 2))) if onset > 8 else 0.0
    level = max(0.02 * abs(wave[peak]), 3 * noise)
    return onset, int(np.flatnonzero(np.abs(wave) >= level)[-1]) + 1


def trim_burst(wave: np.ndarray) -> np.ndarray | None:
    """Cut an isolated burst to :func:`pick_burst`'s span, with a short cosine fade-out."""
    span = pick_burst(wave)
    if span is None:
        return None
    onset, end = span
    peak = int(np.argmax(np.abs(wave)))
    out = wave[onset:end].copy()
    taper = min(max(4, out.size // 10), out.size - (peak - onset) - 1)
    if taper > 0:
        out[-taper:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, taper + 1) / taper)
    return out


def _files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in WAVEFORM_SUFFIXES
    )


def _split(items: list[Path], split: str) -> list[Path]:
    if len(items) < 2:
        return items
    n_test = max(1, round(len(items) * TEST_FRACTION))
    return items[-n_test:] if split == "test" else items[:-n_test]


def burst_directory_source(
    directory: Path, config: ModelConfig, augmentation: Augmentation, split: str = "train"
) -> MixSource:
    """Source (b): isolated bursts mixed into background recordings from ``directory``.

    Raises:
        ConfigError: No bursts, no background, unknown class folders, or mismatched rates.
    """
    rate = config.signal.sample_rate_hz
    classes = list(config.signal.classes)
    raw_rate = rate
    if (directory / "dataset.toml").is_file():
        meta = tomllib.loads((directory / "dataset.toml").read_text("utf-8"))
        raw_rate = float(meta.get("sample_rate_hz", rate))
    burst_dir = directory / "bursts"
    noise_dir = next(
        (directory / n for n in ("noise", "background") if (directory / n).is_dir()), None
    )
    burst_files = _files(burst_dir) if burst_dir.is_dir() else []
    if not burst_files:
        raise ConfigError(
            f"data directory {directory} has no burst waveforms in bursts/ (WAV, FLAC, raw, "
            "HDF5 or Vallen tradb); put isolated bursts there in subfolders named after the classes"
        )
    noise_files = _files(noise_dir) if noise_dir else []
    if not noise_files:
        raise ConfigError(f"data directory {directory} has no background recordings in noise/")
    by_class: list[list[np.ndarray]] = [[] for _ in classes]
    for label, files in _group_by_class(burst_dir, burst_files, classes).items():
        for path in _split(files, split):
            waves, file_rate = read_waveforms(path, raw_rate)
            for w in waves:
                trimmed = trim_burst(match_rate(w, file_rate, rate, str(path)))
                if trimmed is not None:
                    by_class[label].append(trimmed)
    empty = [classes[i] for i, b in enumerate(by_class) if not b]
    if empty:
        raise ConfigError(f"data directory {directory} has no usable bursts of class {empty[0]!r}")
    noise: list[np.ndarray] = []
    for path in noise_files:
        waves, file_rate = read_waveforms(path, raw_rate)
        noise += [match_rate(w, file_rate, rate, str(path)) for w in waves]
    window = config.training.window
    noise = [n for n in noise if n.size >= window]
    if not noise:
        raise ConfigError(
            f"background recordings in {directory} are shorter than one window ({window})"
        )
    held_out = [n[int(n.size * (1 - TEST_FRACTION)) :] for n in noise]
    noise = held_out if split == "test" and all(h.size >= window for h in held_out) else noise
    logger.info(
        "%s: %s bursts, %d background segments",
        directory,
        {c: len(b) for c, b in zip(classes, by_class, strict=True)},
        len(noise),
    )

    def burst(rng: np.random.Generator, label: int) -> np.ndarray:
        bank = by_class[label]
        return bank[int(rng.integers(len(bank)))]

    background = BackgroundBank(noise)
    return MixSource(
        f"bursts:{directory}",
        burst,
        background,
        None,
        len(classes),
        config.training.bursts_per_window,
        rate,
        augmentation,
    )


def _group_by_class(
    burst_dir: Path, files: list[Path], classes: list[str]
) -> dict[int, list[Path]]:
    groups: dict[int, list[Path]] = {}
    for path in files:
        rel = path.relative_to(burst_dir)
        if len(rel.parts) == 1:
            if len(classes) > 1:
                raise ConfigError(
                    f"burst file {path} is not in a class folder; put bursts in "
                    f"{', '.join(f'bursts/{c}/' for c in classes)}"
                )
            label = 0
        elif rel.parts[0] in classes:
            label = classes.index(rel.parts[0])
        else:
            raise ConfigError(
                f"burst folder {rel.parts[0]!r} is not a model class ({', '.join(classes)})"
            )
        groups.setdefault(label, []).append(path)
    return groups


class BackgroundBank:
    """Background segments cropped at random: a ``BackgroundDraw`` over fixed arrays.

    Rendering simulator background costs a few ms per call whatever its length, so training
    renders a few long segments per epoch (:meth:`rendered`) and crops windows out of them.
    """

    def __init__(self, segments: Sequence[np.ndarray]) -> None:
        if not segments:
            raise ConfigError("no background segments")
        self.segments = [np.asarray(s, dtype=np.float32) for s in segments]

    @classmethod
    def rendered(
        cls, draw: BackgroundDraw, rng: np.random.Generator, count: int, length: int
    ) -> BackgroundBank:
        """Render ``count`` segments of ``length`` samples with ``draw``."""
        return cls([draw(rng, length) for _ in range(count)])

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        seg = self.segments[int(rng.integers(len(self.segments)))]
        if n > seg.size:
            return np.tile(seg, math.ceil(n / seg.size))[:n].astype(np.float64)
        start = int(rng.integers(0, seg.size - n + 1))
        return seg[start : start + n].astype(np.float64)


def simulator_mix(
    config: ModelConfig, augmentation: Augmentation, sim: SimConfig | None = None
) -> MixSource:
    """Source (a): simulator bursts in simulator background at the model's sample rate.

    Burst peaks are drawn uniformly in dB over ``training.snr_db_range`` above the simulator's
    broadband noise RMS; the background is :func:`~aemon.sim.training.training_sim_config`'s
    (more friction and spikes than the default simulator) unless ``sim`` is given.
    """
    rate = config.signal.sample_rate_hz
    sim = sim or training_sim_config(rate)
    low, high = config.training.snr_db_range

    def burst(rng: np.random.Generator, label: int) -> np.ndarray:
        return make_burst(rng, label, rate)

    def background(rng: np.random.Generator, n: int) -> np.ndarray:
        return make_background(rng, n, sim)[0]

    def refresh(rng: np.random.Generator) -> BackgroundDraw:
        length = max(1 << 20, 4 * config.training.window, 4 * config.signal.window)
        return BackgroundBank.rendered(background, rng, BANK_SEGMENTS, length)

    def amplitude(rng: np.random.Generator) -> float:
        return sim.noise_rms_v * 10 ** (rng.uniform(low, high) / 20)

    classes = len(config.signal.classes)
    if classes > 2:
        raise ConfigError(
            f"the simulator makes 2 burst types (low, high) but {config.name} has {classes} classes"
        )
    return MixSource(
        "simulator",
        burst,
        background,
        amplitude,
        classes,
        config.training.bursts_per_window,
        rate,
        augmentation,
        refresh,
    )


def randomised_mix(
    config: ModelConfig, augmentation: Augmentation, machine_noise: bool = False
) -> MixSource:
    """Source (d): domain-randomised bursts in backgrounds (:mod:`aemon.sim.randomised`); with
    ``machine_noise`` (``--data randomised-machine``) also :mod:`aemon.sim.machine_noise`,
    and 30 % of the bursts ride on the background's own transients."""
    rate = config.signal.sample_rate_hz
    callbacks = randomised_mix_callbacks(rate, config.training.snr_db_range, True, machine_noise)
    return MixSource(
        "randomised-machine" if machine_noise else "randomised",
        callbacks.burst,
        callbacks.background,
        callbacks.amplitude,
        len(config.signal.classes),
        config.training.bursts_per_window,
        rate,
        augmentation,
        draw_background_spans=callbacks.background_spans if machine_noise else None,
    )


def build_sources(
    specs: Sequence[str], config: ModelConfig, augmentation: Augmentation, split: str = "train"
) -> list[WindowSource]:
    """Resolve ``--data`` arguments into sources, reading and checking every file now.

    Raises:
        ConfigError / FileFormatError: Before any training starts, for missing files, data
        directories without bursts, CSVs without the needed columns, or mismatched rates.
    """
    sources: list[WindowSource] = []
    for spec in specs or ["sim"]:
        if spec == "sim":
            sources.append(simulator_mix(config, augmentation))
            continue
        if spec in ("randomised", "randomised-machine"):
            sources.append(randomised_mix(config, augmentation, spec == "randomised-machine"))
            continue
        path = Path(spec.split(":", 1)[0] if ":" in spec and not Path(spec).exists() else spec)
        if not path.exists():
            raise ConfigError(
                f"--data {spec}: no such file or directory (use 'sim', 'randomised', "
                "'randomised-machine', a folder "
                "or a recording)"
            )
        if path.is_dir() and ((path / "bursts").is_dir() or not find_labelled_recordings(path)):
            sources.append(burst_directory_source(path, config, augmentation, split))
        else:
            sources.append(LabelledSource.from_spec(spec, config, split))
    return sources
