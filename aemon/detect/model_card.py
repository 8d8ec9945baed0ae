"""Model cards: what a shipped detector is, how to feed it, how well it does (torch-free).

A model directory holds ``model.onnx``, ``model.pt`` (torch state_dict), ``model_card.json``
and ``README.md`` (the card in Markdown). The live path reads the JSON card to learn the sample
rate, window, hop, output bins, classes and normalisation it must use; training writes it.

Reading a card::

    card = read_model_card("models/aemon-rt-1m5")
    card.sample_rate_hz, card.window, card.hop, card.classes
    params = card.normalization_params()
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.dsp.normalization import NormalizationParams
from aemon.errors import ConfigError, FileFormatError

logger = logging.getLogger(__name__)

CARD_FILE = "model_card.json"
MARKDOWN_FILE = "README.md"
ONNX_FILE = "model.onnx"
STATE_DICT_FILE = "model.pt"
CARD_FORMAT = 1

INPUT_NAME = "signal"
OUTPUT_NAME = "probabilities"


@dataclass
class ModelCard:
    """Everything needed to run and judge a detector.

    Attributes:
        name: Model name (directory name).
        architecture: The model configuration as a dict (see :mod:`aemon.train.config`).
        classes: Event type per output row.
        sample_rate_hz: Sample rate (Hz) the model expects; other rates must be resampled.
        window: Input samples per channel per inference.
        hop: Live window step (samples); windows overlap by ``window - hop``.
        output_bins: Output time bins per window.
        bin_samples: Input samples per output bin.
        margin_bins: Bins at each edge to drop when stitching windows (``hop`` keeps the rest).
        channels: Input channels per inference (1 = each sensor separately).
        normalization: Normalisation parameters (:class:`NormalizationParams` as dict).
        threshold: Probability above which a bin counts as an event.
        merge_gap_us: Longest gap (µs) below threshold inside one event; an event is a run of
            bins where any class reaches the threshold, of the class with most probability.
        min_snr_db: Events whose peak is less than this (dB) over the noise RMS just before
            them are dropped; 0 turns the gate off. ``aemon calibrate`` sets it where the
            machine's own transients convince the network (see :mod:`aemon.detect.calibration`).
        training: Training data and settings.
        metrics: Evaluation results (held-out set), by section.
        speed: Measured speed (× real time per channel), by runtime and path; a list of
            rows (dicts) is shown as a table.
        reproduce: The exact command that produced this model.
        created_utc: ISO-8601 creation time.
        aemon_version: aemon version that trained it.
        files: File name -> size in bytes.
    """

    name: str
    architecture: dict[str, Any]
    classes: list[str]
    sample_rate_hz: float
    window: int
    hop: int
    output_bins: int
    bin_samples: int
    margin_bins: int
    channels: int = 1
    normalization: dict[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    merge_gap_us: float = 100.0
    min_snr_db: float = 0.0
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    speed: dict[str, Any] = field(default_factory=dict)
    reproduce: str = ""
    created_utc: str = ""
    aemon_version: str = ""
    files: dict[str, int] = field(default_factory=dict)
    input_name: str = INPUT_NAME
    output_name: str = OUTPUT_NAME
    card_format: int = CARD_FORMAT

    @property
    def bin_us(self) -> float:
        """Width of one output bin (µs)."""
        return self.bin_samples / self.sample_rate_hz * 1e6

    def normalization_params(self) -> NormalizationParams:
        """The normalisation to apply to live input before the model."""
        return NormalizationParams.from_dict(self.normalization)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


_REQUIRED = (
    "name",
    "architecture",
    "classes",
    "sample_rate_hz",
    "window",
    "hop",
    "output_bins",
    "bin_samples",
    "margin_bins",
)


def card_from_dict(raw: dict[str, Any], source: str = "<card>") -> ModelCard:
    """Build a :class:`ModelCard` from parsed JSON, checking the fields the live path needs.

    Raises:
        FileFormatError: A required field is missing or inconsistent.
    """
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise FileFormatError(f"model card {source} lacks {', '.join(missing)}; retrain or fix it")
    known = set(ModelCard.__dataclass_fields__)
    card = ModelCard(**{k: v for k, v in raw.items() if k in known})
    if card.window != card.output_bins * card.bin_samples:
        raise FileFormatError(
            f"model card {source}: window {card.window} != output_bins {card.output_bins} × "
            f"bin_samples {card.bin_samples}"
        )
    if not 0 < card.hop <= card.window or not card.sample_rate_hz > 0:
        raise FileFormatError(f"model card {source}: hop or sample rate out of range")
    if len(card.classes) < 1:
        raise FileFormatError(f"model card {source} names no classes")
    return card


def read_model_card(path: str | Path) -> ModelCard:
    """Read ``model_card.json`` from a model directory (or the JSON file itself).

    Raises:
        FileFormatError: Missing, unreadable or incomplete card.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CARD_FILE
    if not path.is_file():
        raise FileFormatError(f"no model card at {path}; a model directory needs {CARD_FILE}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"cannot read model card {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise FileFormatError(f"model card {path} is not a JSON object")
    return card_from_dict(raw, str(path))


def write_model_card(card: ModelCard, directory: str | Path) -> None:
    """Write ``model_card.json`` and ``README.md`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CARD_FILE).write_text(json.dumps(card.to_dict(), indent=2) + "\n", "utf-8")
    (directory / MARKDOWN_FILE).write_text(card_markdown(card), "utf-8")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def metrics_table(sections: dict[str, Any]) -> str:
    """Markdown table in the thesis Table 4.3 layout plus event-level columns.

    ``sections`` maps a data set name to a report with ``map`` (accuracy, precision, recall,
    f1, roc_auc) and ``events`` (precision, recall, f1, median_onset_error_us) dicts.
    """
    lines = [
        "| data | accuracy | precision | recall | F1 (t=0.5) | ROC AUC | event P | event R "
        "| event F1 | bursts | median onset error (µs) |",
        "|" + "---|" * 11,
    ]
    for name, rep in sections.items():
        if not isinstance(rep, dict) or "map" not in rep or "events" not in rep:
            continue
        m, e = rep["map"], rep["events"]
        keys = ("accuracy", "precision", "recall", "f1", "roc_auc")
        cells = [_fmt(float(m[k])) for k in keys]
        cells += [_fmt(float(e[k])) for k in ("precision", "recall", "f1")]
        cells += [str(int(e.get("true_bursts", 0))), f"{float(e['median_onset_error_us']):.1f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _is_table(value: Any) -> bool:
    """A list of rows (dicts): shown as a Markdown table."""
    return isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return lines


def _compact_json(obj: dict[str, Any]) -> str:
    items = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in obj.items()]
    return "{\n" + ",\n".join(items) + "\n}"


def card_markdown(card: ModelCard) -> str:
    """The card as a short Markdown document."""
    arch = card.architecture
    norm = card.normalization.get("description", card.normalization.get("method", ""))
    window_ms = card.window / card.sample_rate_hz * 1e3
    hop_ms = card.hop / card.sample_rate_hz * 1e3
    lines = [
        f"# {card.name}",
        "",
        str(arch.get("description", "")),
        "",
        f"- **Architecture:** {arch.get('architecture', '?')} (config below)",
        f"- **Classes:** {', '.join(card.classes)}",
        f"- **Sample rate:** {card.sample_rate_hz:,.0f} Hz; other rates must be resampled first",
        f"- **Window / hop:** {card.window} / {card.hop} samples "
        f"({window_ms:.3f} ms / {hop_ms:.3f} ms)",
        f"- **Output:** {card.output_bins} bins of {card.bin_samples} samples "
        f"({card.bin_us:.2f} µs); drop {card.margin_bins} bins at each edge when stitching",
        f"- **Input:** `{card.input_name}` float32 (batch, {card.channels}, {card.window}); "
        f"**output:** `{card.output_name}` (batch, {len(card.classes)}, {card.output_bins}), "
        f"threshold {card.threshold}; events are runs of bins over threshold joined across gaps "
        f"up to {card.merge_gap_us:g} µs, typed by the class with most probability",
        f"- **Normalisation:** {norm}",
        f"- **Created:** {card.created_utc} with aemon {card.aemon_version}",
        "",
        "## Reproduce",
        "",
        "```",
        card.reproduce,
        "```",
        "",
        "## Training",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in card.training.items()]
    if card.metrics:
        lines += ["", "## Evaluation (held-out data)", "", metrics_table(card.metrics)]
        notes = card.metrics.get("notes")
        if isinstance(notes, str):
            lines += ["", notes]
    if card.speed:
        lines += ["", "## Speed", ""]
        lines += [f"- {k}: {v}" for k, v in card.speed.items() if not _is_table(v)]
        for value in filter(_is_table, card.speed.values()):
            lines += ["", *_table(value)]
    lines += ["", "## Files", ""]
    lines += [f"- `{name}`: {size / 1024:.1f} KiB" for name, size in card.files.items()]
    lines += ["", "## Configuration", "", "```json", _compact_json(arch), "```", ""]
    return "\n".join(lines)


def model_input(card: ModelCard, windows: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Windows as the model takes them: float32 ``(batch, channels, window)``.

    Args:
        card: The model's card.
        windows: ``(batch, window)`` for a one-channel model, or ``(batch, channels, window)``.

    Raises:
        ConfigError: Windows of another shape.
    """
    x = np.asarray(windows, dtype=np.float32)
    if x.ndim == 2 and card.channels == 1:
        x = x[:, None, :]
    if x.ndim != 3 or x.shape[1:] != (card.channels, card.window):
        raise ConfigError(
            f"model {card.name} takes windows of shape (batch, {card.channels}, "
            f"{card.window}), not {np.shape(windows)}"
        )
    return x
