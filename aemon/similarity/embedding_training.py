"""Train, evaluate and export an embedding autoencoder (``aemon train-embedding``).

Training data are windows around the true burst onsets of simulator recordings (``/truth``),
or around the events of recordings without truth (their events table, as
:func:`aemon.similarity.event_table.load_event_table` finds it), normalised as the detector's
inputs are. The loss is L1 + L2 of the reconstruction. The card reports, on the held-out
windows, the reconstruction errors of the thesis's Table 3.2 (L1, L2 of the normalised signal;
S-L1, S-L2 of its STFT magnitude, 64-point Hann frames, hop 16) and the compression ratio.
Needs torch and onnx (the ``train`` extra).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.dsp.normalization import NormalizationParams, normalize_window
from aemon.errors import ConfigError
from aemon.similarity.autoencoder import AutoencoderConfig, build_autoencoder
from aemon.similarity.embedding import (
    CARD_NAME,
    EMBEDDING_KIND,
    ENCODER_NAME,
    EmbeddingModel,
    model_input,
)
from aemon.similarity.event_table import cut_windows

logger = logging.getLogger(__name__)

STFT_POINTS = 64
STFT_HOP = 16


def recording_windows(paths: Sequence[str | os.PathLike[str]], length: int) -> np.ndarray:
    """Raw windows (volts) of ``length`` samples around the bursts or events of recordings."""
    from aemon.io.recording import RecordingReader
    from aemon.similarity.event_table import load_event_table

    parts = []
    for path in paths:
        with RecordingReader(path) as reader:
            truth = reader.truth()
            rate = float(reader.format.sample_rate_hz)
            if len(truth):
                onsets = [(int(r["onset_sample"]), int(r["channel"])) for r in truth]
                parts.append(cut_windows(reader, onsets, length))
                continue
        parts.append(load_event_table(path, window_us=length / rate * 1e6).windows)
    windows = np.concatenate(parts) if parts else np.zeros((0, length), np.float32)
    if len(windows) < 4:
        raise ConfigError(
            f"{len(windows)} training windows in {', '.join(map(str, paths))}; give recordings "
            "with more bursts (e.g. `aemon sim --duration 10 --out train.h5`)"
        )
    return windows


def _errors(model: Any, x: Any, *, spectral_input: bool = False) -> dict[str, float]:
    """L1, L2 and spectrogram S-L1, S-L2 of the reconstruction; for a spectrum input the
    input already is a spectrum, so S-L1 and S-L2 equal L1 and L2."""
    import torch

    with torch.no_grad():
        y = model(x)
        if spectral_input:
            l1, l2 = float((y - x).abs().mean()), float(((y - x) ** 2).mean())
            return {"l1": l1, "l2": l2, "s_l1": l1, "s_l2": l2}
        window = torch.hann_window(STFT_POINTS)

        def spec(s: Any) -> Any:
            return torch.stft(
                s[:, 0], STFT_POINTS, STFT_HOP, window=window, return_complex=True
            ).abs()

        sx, sy = spec(x), spec(y)
        return {
            "l1": float((y - x).abs().mean()),
            "l2": float(((y - x) ** 2).mean()),
            "s_l1": float((sy - sx).abs().mean()),
            "s_l2": float(((sy - sx) ** 2).mean()),
        }


def train_embedding(
    config: AutoencoderConfig,
    windows: npt.NDArray[np.floating],
    out: str | os.PathLike[str],
    *,
    command: str = "",
    normalization: NormalizationParams | None = None,
    time_limit_s: float | None = None,
) -> dict[str, Any]:
    """Train on raw ``windows`` ``(n, window_samples)``, export to ``out``; returns the card.

    ``out`` gets ``encoder.onnx`` and ``card.json``; it is built in a temporary sibling
    directory and renamed when complete.
    """
    import torch

    from aemon.train.export import torchscript_to_onnx

    out = Path(out)
    params = normalization or NormalizationParams()
    if windows.shape[1] != config.window_samples:
        raise ConfigError(
            f"windows have {windows.shape[1]} samples, config {config.window_samples}"
        )
    rng = np.random.default_rng(config.seed)
    x_all = model_input(normalize_window(np.asarray(windows), params), config.to_dict())
    order = rng.permutation(len(x_all))
    n_val = max(1, round(config.validation_fraction * len(x_all)))
    val, train = torch.from_numpy(x_all[order[:n_val]]), torch.from_numpy(x_all[order[n_val:]])
    torch.manual_seed(config.seed)
    model = build_autoencoder(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    started = time.monotonic()
    epochs_run = 0
    for _epoch in range(config.epochs):
        model.train()
        for idx in torch.from_numpy(rng.permutation(len(train))).split(config.batch_size):
            batch = train[idx]
            y = model(batch)
            loss = (y - batch).abs().mean() + ((y - batch) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        epochs_run += 1
        if time_limit_s is not None and time.monotonic() - started > time_limit_s:
            break
    model.eval()
    errors = _errors(model, val, spectral_input=config.input == "spectrum")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        encoder = _encoder_of(model)
        torchscript_to_onnx(
            encoder, val[:1], tmp / ENCODER_NAME, input_name="window", output_name="latent",
            dynamic_axes={"window": {0: "batch"}, "latent": {0: "batch"}},
        )  # fmt: skip
        card: dict[str, Any] = {
            "kind": EMBEDDING_KIND,
            "name": out.name,
            "config": config.to_dict(),
            "normalization": params.to_dict(),
            "latent_size": config.latent_size,
            "compression": config.compression,
            "training_windows": len(train),
            "validation_windows": n_val,
            "epochs_run": epochs_run,
            "training_s": round(time.monotonic() - started, 1),
            "reconstruction": errors,
            "command": command,
        }
        (tmp / CARD_NAME).write_text(json.dumps(card, indent=2), encoding="utf-8")
        with torch.no_grad():
            expected = encoder(val).numpy()
        got = EmbeddingModel(tmp)._session.run(["latent"], {"window": val.numpy()})[0]
        card["onnx_parity_max_abs"] = float(np.abs(got - expected).max())
        card["size_bytes"] = (tmp / ENCODER_NAME).stat().st_size
        (tmp / CARD_NAME).write_text(json.dumps(card, indent=2), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return card


def _encoder_of(autoencoder: Any) -> Any:
    """A module whose ``forward`` returns ``autoencoder.encode`` (for ONNX export)."""
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.autoencoder = autoencoder

        def forward(self, x: Any) -> Any:
            return self.autoencoder.encode(x)

    return Encoder().eval()
