"""Source (c): labelled recordings (an HDF5/WAV recording plus an event CSV) as training data.

The CSV is the one ``aemon detect`` / ``aemon export`` write, so reviewed detections become
training data. Needed columns: ``time_s`` (onset, s from the recording start), ``type``,
``channel`` (0-based), and the end as ``end_s``, ``duration_us`` or ``end_sample``. Rows whose
type is a model class are bursts; rows typed ``noise``/``false``/``reject``/``none`` (reviewed
false alarms) stay background; any other type is an error. Without a CSV, the ``/truth`` table
of a simulator recording is used.

Each recording is split in time: the first 80 % trains, the last 20 % is held out.
"""

from __future__ import annotations

import csv
import logging
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from aemon.errors import ConfigError, FileFormatError
from aemon.train.config import ModelConfig
from aemon.train.data import LabelledBurst, TrainingWindow

logger = logging.getLogger(__name__)

NEGATIVE_TYPES = {"noise", "false", "reject", "none", "background"}
RECORDING_SUFFIXES = {".h5", ".hdf5", ".wav", ".flac"}
TEST_FRACTION = 0.2
EVENT_BIAS = 0.5
"""Share of windows placed around a labelled burst (the rest are uniformly random)."""


def match_rate(x: np.ndarray, rate_hz: float, model_rate_hz: float, what: str) -> np.ndarray:
    """Bring ``x`` (last axis time) to the model rate, or refuse with a one-line error.

    Raises:
        ConfigError: The file rate is below the model rate, or the ratio is not a simple fraction.
    """
    if math.isclose(rate_hz, model_rate_hz, rel_tol=1e-9):
        return x
    if rate_hz < model_rate_hz:
        raise ConfigError(
            f"{what} is sampled at {rate_hz:g} Hz but the model expects {model_rate_hz:g} Hz; "
            f"upsampling cannot restore content above {rate_hz / 2:g} Hz: train a model at "
            f"{rate_hz:g} Hz (--rate {rate_hz:g}) instead"
        )
    ratio = Fraction(model_rate_hz / rate_hz).limit_denominator(1000)
    if not math.isclose(float(ratio), model_rate_hz / rate_hz, rel_tol=1e-6):
        raise ConfigError(
            f"{what} is sampled at {rate_hz:g} Hz; cannot resample to {model_rate_hz:g} Hz by a "
            "simple ratio: resample it first (e.g. with sox or scipy)"
        )
    logger.info("resampling %s from %g Hz to %g Hz", what, rate_hz, model_rate_hz)
    return np.asarray(resample_poly(x, ratio.numerator, ratio.denominator, axis=-1))


LABELS_CSV_SUFFIX = ".labels.csv"
"""The labelled CSV the window exports beside a recording: ``REC.labels.csv``."""


def csv_for(recording: Path) -> Path | None:
    """The event CSV that belongs to ``recording``, if any: the reviewer's ``REC.labels.csv``
    first, then ``REC.csv`` (e.g. ``aemon detect``'s), then ``REC.truth.csv``."""
    for suffix in (LABELS_CSV_SUFFIX, ".csv", ".truth.csv"):
        candidate = recording.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def labels_used(spec: str) -> list[str]:
    """What ``--data SPEC`` takes its labels from, one line per recording (for the user)."""
    rec_part, _, csv_part = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    path = Path(rec_part)
    if not path.exists() or (path.is_dir() and (path / "bursts").is_dir()):
        return []
    lines = []
    for rec in find_labelled_recordings(path) if path.is_dir() else [path]:
        events_csv = Path(csv_part) if csv_part else csv_for(rec)
        where = events_csv if events_csv is not None else f"{rec}:/truth"
        lines.append(f"--data {spec}: labels of {rec.name} from {where}")
    return lines


def find_labelled_recordings(directory: Path) -> list[Path]:
    """Recordings in ``directory`` (not recursive) that have an event CSV or are HDF5."""
    found = []
    for p in sorted(directory.iterdir()):
        if p.suffix.lower() in RECORDING_SUFFIXES and (
            csv_for(p) or p.suffix.lower() in (".h5", ".hdf5")
        ):
            found.append(p)
    return found


def read_labelled_csv(path: Path, rate_hz: float, classes: list[str]) -> list[LabelledBurst]:
    """Read labelled bursts from an event CSV (positions in samples from the recording start).

    Raises:
        FileFormatError: Missing columns or unparsable values.
        ConfigError: A type that is neither a model class nor a negative label.
    """
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(line for line in f if not line.startswith("#"))
            columns = set(reader.fieldnames or [])
            missing = [c for c in ("time_s", "type", "channel") if c not in columns]
            end_col = next(
                (c for c in ("end_s", "duration_us", "end_sample") if c in columns), None
            )
            if missing or end_col is None:
                need = missing + ([] if end_col else ["end_s or duration_us"])
                raise FileFormatError(
                    f"event CSV {path} lacks column(s) {', '.join(need)}; it needs time_s, type, "
                    "channel and end_s or duration_us"
                )
            events: list[LabelledBurst] = []
            for line, row in enumerate(reader, start=2):
                kind = (row["type"] or "").strip()
                if kind.lower() in NEGATIVE_TYPES:
                    continue
                if kind not in classes:
                    raise ConfigError(
                        f"{path} line {line}: type {kind!r} is not a model class "
                        f"({', '.join(classes)}) nor a negative label (noise)"
                    )
                onset_s = float(row["time_s"])
                if end_col == "end_s":
                    end = round(float(row["end_s"]) * rate_hz)
                elif end_col == "duration_us":
                    end = round((onset_s + float(row["duration_us"]) * 1e-6) * rate_hz)
                else:
                    end = int(float(row["end_sample"]))
                onset = round(onset_s * rate_hz)
                if not math.isfinite(onset_s) or end < onset:
                    raise FileFormatError(f"{path} line {line}: bad onset/end ({row['time_s']})")
                events.append(
                    LabelledBurst(
                        onset, max(end, onset + 1), classes.index(kind), int(row["channel"])
                    )
                )
    except (ValueError, TypeError) as exc:
        raise FileFormatError(f"cannot parse event CSV {path}: {exc}") from exc
    except OSError as exc:
        raise FileFormatError(f"cannot read event CSV {path}: {exc}") from exc
    return sorted(events)


def _truth_events(path: Path, classes: list[str]) -> list[LabelledBurst]:
    from aemon.io.recording import RecordingReader

    with RecordingReader(path) as reader:
        truth, first = reader.truth(), reader.first_sample
    events = []
    for row in truth:
        kind = (
            row["burst_type"].decode()
            if isinstance(row["burst_type"], bytes)
            else str(row["burst_type"])
        )
        if kind not in classes:
            raise ConfigError(
                f"{path}: truth type {kind!r} is not a model class ({', '.join(classes)})"
            )
        events.append(
            LabelledBurst(
                int(row["onset_sample"]) - first,
                int(row["end_sample"]) - first,
                classes.index(kind),
                int(row["channel"]),
            )
        )
    return sorted(events)


def read_recording(path: Path) -> tuple[np.ndarray, float]:
    """Whole recording as float32 ``(channels, n)`` (volts for HDF5) and its rate (Hz)."""
    if path.suffix.lower() in (".h5", ".hdf5"):
        from aemon.io.recording import RecordingReader

        with RecordingReader(path) as reader:
            return reader.read(0, reader.samples, volts=True), reader.format.sample_rate_hz
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except RuntimeError as exc:
        raise FileFormatError(f"cannot read recording {path}: {exc}") from exc
    return np.ascontiguousarray(data.T), float(rate)


class LabelledRecording:
    """One recording in memory with its labelled bursts (sample positions at the model rate)."""

    def __init__(self, signal: np.ndarray, events: list[LabelledBurst], name: str) -> None:
        self.signal = signal
        self.events = events
        self.name = name


def load_labelled(spec: str, config: ModelConfig) -> list[LabelledRecording]:
    """Load ``REC``, ``REC:EVENTS.csv`` or a directory of labelled recordings.

    Raises:
        FileFormatError / ConfigError: Unreadable files, bad CSV, rate mismatch.
    """

    rec_part, _, csv_part = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    path = Path(rec_part)
    recordings = find_labelled_recordings(path) if path.is_dir() else [path]
    if not recordings:
        raise ConfigError(f"--data {spec}: no labelled recordings (HDF5/WAV with an event CSV)")
    classes = list(config.signal.classes)
    rate = config.signal.sample_rate_hz
    out = []
    for rec in recordings:
        signal, rec_rate = read_recording(rec)
        events_csv = Path(csv_part) if csv_part else csv_for(rec)
        if events_csv is not None:
            if not events_csv.is_file():
                raise ConfigError(f"event CSV {events_csv} not found")
            events = read_labelled_csv(events_csv, rec_rate, classes)
        elif rec.suffix.lower() in (".h5", ".hdf5"):
            events = _truth_events(rec, classes)
        else:
            raise ConfigError(f"recording {rec} has no event CSV ({rec.with_suffix('.csv').name})")
        if not events:
            raise ConfigError(
                f"recording {rec} has no labelled bursts of classes {', '.join(classes)}"
            )
        if rec_rate != rate:
            signal = match_rate(signal, rec_rate, rate, str(rec)).astype(np.float32)
            k = rate / rec_rate
            events = [e._replace(onset=round(e.onset * k), end=round(e.end * k)) for e in events]
        bad = [e for e in events if e.channel >= signal.shape[0] or e.channel < 0]
        if bad:
            raise ConfigError(
                f"{rec}: event on channel {bad[0].channel} but the recording has {signal.shape[0]}"
            )
        out.append(LabelledRecording(signal, events, rec.name))
    return out


class LabelledSource:
    """Windows cut from labelled recordings (time shift = random crop position)."""

    def __init__(
        self, recordings: list[LabelledRecording], config: ModelConfig, split: str, name: str
    ):
        self.name = name
        self.config = config
        window = config.training.window
        self.parts: list[LabelledRecording] = []
        for rec in recordings:
            n = rec.signal.shape[1]
            cut = int(n * (1 - TEST_FRACTION))
            lo, hi = (cut, n) if split == "test" else (0, cut)
            if hi - lo < window:
                lo, hi = 0, n
                logger.warning("%s is too short to hold out a test part; using all of it", rec.name)
            if n < window:
                raise ConfigError(
                    f"recording {rec.name} ({n} samples) is shorter than one window ({window})"
                )
            events = [
                e._replace(onset=e.onset - lo, end=e.end - lo)
                for e in rec.events
                if lo <= e.onset < hi
            ]
            self.parts.append(LabelledRecording(rec.signal[:, lo:hi], events, rec.name))
        self.lengths = np.array([p.signal.shape[1] for p in self.parts], dtype=float)

    @classmethod
    def from_spec(cls, spec: str, config: ModelConfig, split: str = "train") -> LabelledSource:
        """Load and split the recordings named by ``spec``."""
        return cls(load_labelled(spec, config), config, split, f"labelled:{spec}")

    def new_epoch(self, rng: np.random.Generator) -> None:
        """Nothing is cached per epoch."""

    def draw(self, rng: np.random.Generator, n: int, channels: int) -> TrainingWindow:
        """A window of ``n`` samples; about half of them placed around a labelled burst."""
        part = self.parts[int(rng.choice(len(self.parts), p=self.lengths / self.lengths.sum()))]
        n_ch, total = part.signal.shape
        if channels == 1:
            chans = [int(rng.integers(n_ch))]
        elif channels == n_ch:
            chans = list(range(n_ch))
        else:
            raise ConfigError(f"model takes {channels} channels, recording {part.name} has {n_ch}")
        events = [e for e in part.events if e.channel in chans]
        if events and rng.random() < EVENT_BIAS:
            target = events[int(rng.integers(len(events)))]
            start = target.onset - int(rng.integers(0, n))
        else:
            start = int(rng.integers(0, total - n + 1))
        start = min(max(start, 0), total - n)
        signal = part.signal[chans, start : start + n].astype(np.float64)
        inside = [
            LabelledBurst(e.onset - start, e.end - start, e.label, chans.index(e.channel))
            for e in events
            if e.end > start and e.onset < start + n
        ]
        return TrainingWindow(signal, inside)
