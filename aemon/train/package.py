"""Turn a trained network into a model directory, and evaluate model directories.

A model directory holds ``model.onnx``, ``model.pt`` (state_dict), ``model_card.json``,
``README.md``, ``evaluation.json``, ``training.png``, ``roc.png`` and ``examples.png``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aemon import __version__
from aemon.detect.backend import Detector, open_with_backend, registered_backends
from aemon.detect.model_card import (
    CARD_FILE,
    MARKDOWN_FILE,
    ONNX_FILE,
    STATE_DICT_FILE,
    ModelCard,
    write_model_card,
)
from aemon.detect.options import DetectOptions
from aemon.onnx_sessions import open_session
from aemon.train.config import ModelConfig
from aemon.train.data import Augmentation
from aemon.train.evaluate import Geometry, onnx_predictor
from aemon.train.export import check_parity, export_onnx
from aemon.train.models import count_parameters, macs_per_sample
from aemon.train.plots import plot_training
from aemon.train.report import evaluate_predictor, measure_speed
from aemon.train.trainer import TrainOptions, TrainState, torch_predictor

logger = logging.getLogger(__name__)


def finalize(
    options: TrainOptions, state: TrainState, command: str, data_note: str = ""
) -> ModelCard:
    """Export, check parity, evaluate and write the model directory for a trained network."""
    config, out = options.config, Path(options.out)
    net: nn.Module = state.net.eval().cpu()
    onnx_path = out / ONNX_FILE
    export_onnx(net, config, onnx_path)
    parity = check_parity(net, config, onnx_path)
    torch.save(net.state_dict(), out / STATE_DICT_FILE)
    plot_training(state.history, out / "training.png", f"{config.name}: training")
    session = open_session(onnx_path)
    predict = onnx_predictor(session)
    write_model_card(card_for(config, {}, {}, command, out.name), out)  # the live path reads it
    geo = Geometry.of(config)
    speed: dict[str, Any] = {}
    if options.device == "cuda":
        # thesis-size networks take minutes per held-out second on the CPU: evaluate (fp32,
        # TF32 off) and time them on the GPU the model was trained on
        device = torch.device("cuda")
        gpu = torch_predictor(net.to(device), device)
        live = _gpu_opener()
        with torch.backends.cudnn.flags(enabled=True, benchmark=True, allow_tf32=False):
            metrics = evaluate_predictor(
                gpu,
                config,
                options.data,
                out,
                title=config.name,
                model_dir=out,
                stream_bursts=options.eval_bursts,
                choose_threshold=True,
                open_detector=live,
            )
            speed["torch_cuda_fp32_x_realtime"] = round(measure_speed(gpu, geo, batch=16), 3)
        net = net.cpu()
        on = "the windows and the streams" if live is not None else "the windows"
        metrics["notes"] = f"{metrics.get('notes', '')} Torch on the GPU ran {on}.".strip()
    else:
        metrics = evaluate_predictor(
            predict,
            config,
            options.data,
            out,
            title=config.name,
            model_dir=out,
            stream_bursts=options.eval_bursts,
            choose_threshold=True,
        )
    speed["onnxruntime_cpu_x_realtime"] = round(measure_speed(predict, geo), 3)
    speed["threads"] = "ORT default (all cores), wall clock; the machine may have been busy"
    if options.device != "cuda":  # one core takes long on a thesis-size network
        one_core = onnx_predictor(open_session(onnx_path, threads=1))
        speed["onnxruntime_1core_cpu_time_x_realtime"] = round(
            measure_speed(one_core, geo, clock=time.thread_time), 3
        )
    card = card_for(config, metrics, speed, command, out.name)
    card.threshold = metrics.get("threshold", {}).get("chosen", card.threshold)
    tr = config.training
    card.training = {
        "data": ", ".join(options.data) + (f" ({data_note})" if data_note else ""),
        "seed": options.seed,
        "epochs_run": len(state.history),
        "best_epoch": state.best_epoch,
        "best_by": "validation " + tr.keep_best_by.replace("_f1", " F1"),
        "stopped_early": state.stopped_early,
        "time_limit_s": options.time_limit_s,
        "steps_per_epoch": tr.steps_per_epoch,
        "batch_size": tr.batch_size,
        "train_window": tr.window,
        "learning_rate": tr.learning_rate,
        "weight_decay": tr.weight_decay,
        "bursts_per_window": list(tr.bursts_per_window),
        "snr_db_range": list(tr.snr_db_range),
        "augmentation": _augmentation_note(options.augmentation),
        "training_seconds": round(state.seconds, 1),
        "parameters": count_parameters(net),
        "macs_per_sample": round(macs_per_sample(net, config)),
        "onnx_parity_max_abs_diff": float(f"{parity:.3g}"),
    }
    card.files = {
        p.name: p.stat().st_size
        for p in sorted(out.iterdir())
        if p.is_file()
        and p.suffix in (".onnx", ".pt", ".png", ".json")
        and p.name != "checkpoint.pt"
    }
    write_model_card(card, out)
    card.files.update(
        {
            CARD_FILE: (out / CARD_FILE).stat().st_size,
            MARKDOWN_FILE: (out / MARKDOWN_FILE).stat().st_size,
        }
    )
    write_model_card(card, out)
    return card


def _gpu_opener() -> Callable[[Path], Detector] | None:
    """Opens a model directory with the torch backend on CUDA, if the caller registered it
    (``aemon train`` does); else None (the streams then run in ONNX Runtime)."""
    if "torch" not in registered_backends():
        logger.warning("torch backend not registered: evaluating the streams with ONNX Runtime")
        return None
    options = DetectOptions(backend="torch", provider="cuda")
    return lambda model_dir: open_with_backend(model_dir, options)


def _augmentation_note(aug: Augmentation) -> str:
    return (
        f"burst gain ±{aug.gain_db:g} dB p={aug.gain_p:g}; added noise "
        f"{aug.noise_db[0]:g}..{aug.noise_db[1]:g} dB p={aug.noise_p:g}; polarity "
        f"p={aug.polarity_p:g}; reverb {aug.reverb_decay_us[0]:g}-{aug.reverb_decay_us[1]:g} µs "
        f"p={aug.reverb_p:g}; random positions"
    )


def card_for(
    config: ModelConfig,
    metrics: dict[str, Any],
    speed: dict[str, Any],
    command: str,
    name: str | None = None,
) -> ModelCard:
    """A model card for ``config`` with the given results, named ``name`` (the model
    directory's name, what ``--model NAME`` finds; default the config's name). The config's
    own name stays in ``architecture``."""
    params = config.normalization
    return ModelCard(
        name=name or config.name,
        architecture=config.to_dict(),
        classes=list(config.signal.classes),
        sample_rate_hz=config.signal.sample_rate_hz,
        window=config.signal.window,
        hop=config.hop,
        output_bins=config.output_bins,
        bin_samples=config.decimation,
        margin_bins=config.margin_bins,
        channels=config.signal.channels,
        normalization=params.to_dict(),
        metrics=metrics,
        speed=speed,
        reproduce=command,
        created_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        aemon_version=__version__,
    )
