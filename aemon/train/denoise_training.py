"""Train and export the U-Net denoiser (``aemon train-denoiser``).

Each step draws a batch of :class:`aemon.denoise.mixing.DenoiseExample` windows, computes the
STFT of the noisy and the clean signal with the same numpy code inference uses
(:mod:`aemon.denoise.spectral`) and fits the mask to the phase-sensitive target mask by binary
cross-entropy on the logits, weighted per bin by ``log1p(|X| / floor)`` (a sigmoid output
trained on a magnitude loss saturates at 0 in the first steps, since most bins are noise; the
cross-entropy's gradient does not vanish there). The best model on a fixed validation
set is exported to ONNX (``denoiser.onnx``; input ``features``, output ``mask``), checked
against torch, and described in ``card.json``. Needs torch and onnx (the ``train`` extra).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aemon.denoise.denoiser import CARD_NAME, DENOISER_KIND, MODEL_NAME, Denoiser
from aemon.denoise.mixing import DenoiseMixer
from aemon.denoise.spectral import (
    FRAME_SAMPLES,
    FREQUENCY_BINS,
    HOP_SAMPLES,
    PADDED_BINS,
    ideal_mask,
    network_input,
    stft,
)
from aemon.train.denoise_model import DEFAULT_WIDTH, build_unet

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
WEIGHTS_NAME = "model.pt"
"""The torch weights beside the ONNX model (to continue training with ``--init``)."""


def make_batch(mixer: DenoiseMixer, rng: np.random.Generator, size: int) -> tuple[F32, F32, F32]:
    """``(features, target, weight)`` arrays ``(size, 1, PADDED_BINS, frames)``.

    ``target`` is the phase-sensitive mask ``clip(Re(S·X*) / |X|², 0, 1)`` (the best real
    mask when the phase stays the noisy one); ``weight`` is ``log1p(|X| / floor)`` on real
    bins and 0 on the padding, so loud bins count more than the noise floor.
    """
    feats, targets, weights = [], [], []
    for _ in range(size):
        example = mixer.draw(rng)
        z = stft(example.noisy)
        s = stft(example.clean)
        features = network_input(np.abs(z))
        feats.append(features)
        targets.append(_padded(ideal_mask(z, s)))
        weights.append(features)  # log1p(|X| / floor), zero on the padding
    return np.stack(feats), np.stack(targets), np.stack(weights)


def _padded(values: npt.NDArray[np.floating]) -> F32:
    frames = values.shape[1]
    out = np.zeros((1, PADDED_BINS, -(-frames // 4) * 4), dtype=np.float32)
    out[0, :FREQUENCY_BINS, :frames] = values
    return out


def _loss(model: Any, batch: tuple[Any, ...]) -> Any:
    import torch

    feats, target, weight = batch
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        model.logits(feats), target, reduction="none"
    )
    return (bce * weight).sum() / weight.sum()


def train_denoiser(
    out: str | os.PathLike[str],
    *,
    minutes: float = 12.0,
    steps: int | None = None,
    batch_size: int = 32,
    window_samples: int = 2048,
    width: int = DEFAULT_WIDTH,
    learning_rate: float = 1e-3,
    seed: int = 0,
    validation_size: int = 128,
    command: str = "",
    init: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train a denoiser for ``minutes`` (or ``steps``), export it to ``out``; returns the card.

    ``out`` is built in a temporary sibling directory and renamed when complete (an existing
    ``out`` is replaced: the command checks ``--overwrite`` first). It also gets the torch
    weights (``model.pt``), so ``init`` (a denoiser directory) can continue a training run.
    """
    import torch

    out = Path(out)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    mixer = DenoiseMixer(window_samples)
    val_rng = np.random.default_rng(seed + 1_000_003)
    val_mixer = DenoiseMixer(window_samples)
    val_mixer.new_bank(val_rng)
    val = tuple(torch.from_numpy(a) for a in make_batch(val_mixer, val_rng, validation_size))
    model = build_unet(width)
    earlier: dict[str, Any] = {}
    if init is not None:
        model.load_state_dict(torch.load(Path(init) / WEIGHTS_NAME, weights_only=True))
        earlier = json.loads((Path(init) / CARD_NAME).read_text("utf-8"))["training"]
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    started = time.monotonic()
    best = (float("inf"), {k: v.clone() for k, v in model.state_dict().items()})
    step = 0
    history: list[list[float]] = []
    while True:
        if steps is not None and step >= steps:
            break
        if steps is None and time.monotonic() - started > minutes * 60:
            break
        if step % 200 == 0:
            mixer.new_bank(rng)
        model.train()
        loss = _loss(model, tuple(torch.from_numpy(a) for a in make_batch(mixer, rng, batch_size)))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        step += 1
        if step % 25 == 0 or (steps is not None and step == steps):
            model.eval()
            with torch.no_grad():
                val_loss = float(_loss(model, val))
            history.append([step, round(val_loss, 5)])
            logger.info("step %d: training loss %.4f, validation %.4f", step, loss.item(), val_loss)
            if val_loss < best[0]:
                best = (val_loss, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    model.eval()
    card: dict[str, Any] = {
        "kind": DENOISER_KIND,
        "name": out.name,
        "stft": {"frame_samples": FRAME_SAMPLES, "hop_samples": HOP_SAMPLES, "window": "hann"},
        "input": "log1p(|X| / median_f |X|), (batch, 1, 36, frames % 4 == 0)",
        "width": width,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "training": {
            "steps": step,
            "batch_size": batch_size,
            "window_samples": window_samples,
            "snr_db_range": list(mixer.snr_db_range),
            "learning_rate": learning_rate,
            "seed": seed,
            "seconds": round(time.monotonic() - started, 1),
            "validation_loss": history,
            "best_validation_loss": best[0],
            "continued_from": earlier,
        },
        "command": command,
    }
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _export(model, val[0][:2], tmp / MODEL_NAME)
        torch.save(model.state_dict(), tmp / WEIGHTS_NAME)
        (tmp / CARD_NAME).write_text(json.dumps(card, indent=2), encoding="utf-8")
        with torch.no_grad():
            expected = model(val[0]).numpy()
        session = Denoiser(tmp)._session
        got = session.run(["mask"], {"features": val[0].numpy()})[0]
        card["onnx_parity_max_abs"] = float(np.abs(got - expected).max())
        card["size_bytes"] = (tmp / MODEL_NAME).stat().st_size
        (tmp / CARD_NAME).write_text(json.dumps(card, indent=2), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return card


def _export(model: Any, example: Any, path: Path) -> None:
    from aemon.train.export import torchscript_to_onnx

    axes = {0: "batch", 3: "frames"}
    torchscript_to_onnx(
        model, example, path, input_name="features", output_name="mask",
        dynamic_axes={"features": axes, "mask": axes},
    )  # fmt: skip


def evaluate_card(model: str | os.PathLike[str], examples: int = 200) -> dict[str, Any]:
    """Run :func:`aemon.denoise.evaluation.evaluate` on ``model``; store it in its card.

    Adds ``evaluation`` (rows, the U-Net's error reduction vs the band-pass at 6-12 dB, and
    its change vs the raw signal at 20 dB) to ``card.json`` and writes ``README.md``.
    """
    from aemon.denoise.evaluation import evaluate, format_table, improvement

    folder = Path(model)
    rows = evaluate(Denoiser(folder), examples=examples)
    card: dict[str, Any] = json.loads((folder / CARD_NAME).read_text("utf-8"))
    card["evaluation"] = {
        "examples_per_snr": examples,
        "command": f"python bench/bench_denoise.py --model {folder} --examples {examples}",
        "snr_floor": True,
        "rows": [r._asdict() for r in rows],
        "reduction_vs_bandpass_6_12_db_pct": improvement(rows, (6.0, 9.0, 12.0)),
        "reduction_vs_bandpass_20_db_pct": improvement(rows, (20.0,)),
        "reduction_vs_bp_span_6_12_db_pct": improvement(rows, (6.0, 9.0, 12.0), "bp-span"),
        "reduction_vs_bp_span_20_db_pct": improvement(rows, (20.0,), "bp-span"),
    }
    (folder / CARD_NAME).write_text(json.dumps(card, indent=2), encoding="utf-8")
    (folder / "README.md").write_text(_readme(card, format_table(rows)), encoding="utf-8")
    return card


def _readme(card: dict[str, Any], table: str) -> str:
    training = card["training"]
    evaluation = card["evaluation"]
    return f"""# {card["name"]}

U-Net soft-mask denoiser for AE bursts (thesis ch. 3): STFT magnitude (64-point Hann, hop 16)
over its per-frequency median floor in, a 0..1 mask out; the phase is the input's. aemon
applies the mask with an SNR floor (bins the mask passes at ≥ 0.5 are raised towards 1 from
10 to 20 dB over the noise floor; `aemon.denoise.spectral.snr_floor_gain`).
{card["parameters"]} parameters, {card["size_bytes"]} bytes ONNX, parity with torch
{card["onnx_parity_max_abs"]:.1e}.

## Reproduce

```
{card["command"]}
```

## Training

{training["steps"]} steps of {training["batch_size"]} windows of {training["window_samples"]}
samples ({training["seconds"]:.0f} s on the CPU), SNR {training["snr_db_range"]} dB (peak over
background RMS), seed {training["seed"]}; best validation loss
{training["best_validation_loss"]:.4f}.

## Evaluation (`{evaluation["command"]}`)

Medians over {evaluation["examples_per_snr"]} simulator bursts per SNR; features through the
event path users run (`--features-from denoised`).

```
{table}
```

Error reduction of the U-Net vs the band-pass at 6-12 dB (%):
{evaluation["reduction_vs_bandpass_6_12_db_pct"]}; at 20 dB:
{evaluation["reduction_vs_bandpass_20_db_pct"]}. Against `bp-span` (the band-pass measured
over the raw event's span, the U-Net's rule) at 6-12 dB:
{evaluation.get("reduction_vs_bp_span_6_12_db_pct")}; at 20 dB:
{evaluation.get("reduction_vs_bp_span_20_db_pct")}.
"""
