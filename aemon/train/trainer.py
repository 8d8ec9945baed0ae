"""Training loop: Adam + BCE, cosine learning-rate schedule, early stopping, checkpoints, resume.

Everything random is derived from ``seed``: epoch ``k`` draws its windows from
``default_rng([seed, k])`` and the validation set from a fixed seed, so an interrupted run
resumed with ``--resume`` continues exactly as if it had not stopped.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from aemon.errors import ConfigError
from aemon.train.batches import epoch_batches
from aemon.train.config import ModelConfig
from aemon.train.data import Augmentation, WindowGenerator, WindowSource
from aemon.train.data_sources import build_sources
from aemon.train.evaluate import Geometry, WindowSet, make_window_set, score_windows
from aemon.train.loss_weights import event_balanced_weights
from aemon.train.models import build_model

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
VAL_SEED = 7_000_001
LR_FLOOR = 0.05
"""The cosine schedule ends at this fraction of the initial learning rate."""


@dataclass
class TrainOptions:
    """What ``aemon train`` was asked to do (config already carries the training settings)."""

    config: ModelConfig
    out: Path
    data: list[str] = field(default_factory=lambda: ["sim"])
    device: str = "cpu"
    seed: int = 0
    resume: bool = False
    threads: int = 0
    workers: int = 0
    """Processes that draw training batches (0: the training process itself)."""
    time_limit_s: float = 0.0
    """Stop after the epoch that passes this much training time (s); 0 = no limit."""
    eval_bursts: int = 800
    """Bursts in the held-out simulator stream of the final evaluation."""
    extra_sources: list[WindowSource] = field(default_factory=list)
    """Sources beside ``data`` (``aemon adapt``'s harvested bursts and background)."""
    init_weights: Path | None = None
    """A ``model.pt`` state dict to start from (fine-tuning) instead of random weights."""
    augmentation: Augmentation = field(default_factory=Augmentation)
    progress: bool = True
    stop_after: int = 0
    """Stop after this many epochs in this run (0 = run to the end); continue with resume."""


@dataclass
class TrainState:
    """What training leaves behind for export and the model card."""

    net: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    seconds: float
    stopped_early: bool
    finished: bool = True
    """False when ``stop_after`` interrupted the run before the last epoch."""


def _device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda requested but torch sees no CUDA GPU; use --device cpu")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda, got {name!r}")
    return torch.device(name)


def torch_predictor(net: nn.Module, device: torch.device) -> Any:
    """Probabilities from a logit network (eval mode, no grad), numpy in and out."""

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(net(torch.from_numpy(x).to(device))).cpu().numpy()

    return predict


def _arch(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a config dict that must not change on resume (all but training)."""
    return {k: v for k, v in config.items() if k != "training"}


def _save_atomic(obj: dict[str, Any], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def prepare(options: TrainOptions) -> tuple[WindowGenerator, WindowSet]:
    """Resolve data sources and draw the validation set; all input errors surface here."""
    config = options.config
    sources = build_sources(options.data, config, options.augmentation, split="train")
    sources += options.extra_sources
    generator = WindowGenerator(config, sources, augmentation=options.augmentation)
    val_rng = np.random.default_rng(VAL_SEED + options.seed)
    generator.new_epoch(val_rng)
    val = make_window_set(generator, config.training.val_windows, VAL_SEED + options.seed)
    if not any(any(w) for w in val.events):
        raise ConfigError("the training data produced no bursts in the validation windows")
    return generator, val


def train(options: TrainOptions) -> TrainState:
    """Train (or resume) a model; writes ``checkpoint.pt`` into ``options.out`` every epoch."""
    config, tr = options.config, options.config.training
    out = Path(options.out)
    ckpt_path = out / CHECKPOINT_FILE
    if ckpt_path.exists() and not options.resume:
        raise ConfigError(
            f"{out} holds a checkpoint; pass --resume to continue it or choose another --out"
        )
    if options.resume and not ckpt_path.exists():
        raise ConfigError(f"--resume: no {CHECKPOINT_FILE} in {out}")
    device = _device(options.device)
    if options.threads:
        torch.set_num_threads(options.threads)
    generator, val = prepare(options)
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(options.seed)
    net = build_model(config).to(device)
    if options.init_weights is not None and not options.resume:
        try:
            net.load_state_dict(
                torch.load(options.init_weights, map_location=device, weights_only=True)
            )
        except RuntimeError as exc:  # another architecture: missing/unexpected/mis-sized keys
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise ConfigError(
                f"{options.init_weights} does not fit {config.name} ({lines[-1][:120]}); "
                "pass a model of the same architecture"
            ) from None
    opt = torch.optim.Adam(net.parameters(), lr=tr.learning_rate, weight_decay=tr.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=tr.epochs, eta_min=tr.learning_rate * LR_FLOOR
    )
    pos_weight = torch.full((len(config.signal.classes), 1), tr.positive_weight, device=device)
    short_bins = tr.short_burst_us * 1e-6 * config.signal.sample_rate_hz / config.decimation
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"score": -math.inf, "epoch": 0, "state": None}
    bad_epochs, start_epoch, elapsed = 0, 0, 0.0
    if options.resume:
        try:  # weights_only: a planted checkpoint cannot run code
            ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        except pickle.UnpicklingError as exc:
            raise ConfigError(
                f"{ckpt_path} holds more than weights ({str(exc).splitlines()[0]}); refusing "
                "to load it: delete it or train into a new --out"
            ) from None
        if _arch(ckpt["config"]) != _arch(config.to_dict()):
            raise ConfigError(
                f"{ckpt_path} was trained with another configuration; use a new --out"
            )
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        history, best, bad_epochs = ckpt["history"], ckpt["best"], ckpt["bad_epochs"]
        start_epoch, elapsed = ckpt["epoch"], ckpt["seconds"]
        logger.info("resuming %s at epoch %d", config.name, start_epoch + 1)
    geo = Geometry.of(config)
    val_x = torch.from_numpy(val.x)
    val_y = torch.from_numpy(val.y)
    stopped_early = bad_epochs >= tr.patience
    t_start = time.monotonic() - elapsed
    last = tr.epochs if not options.stop_after else min(tr.epochs, start_epoch + options.stop_after)
    timed_out = False
    for epoch in range(start_epoch, last):
        if stopped_early:
            break
        net.train()
        losses = []
        batches = epoch_batches(
            generator,
            seed=options.seed,
            epoch=epoch,
            steps=tr.steps_per_epoch,
            size=tr.batch_size,
            workers=options.workers,
        )
        bar = tqdm(
            batches,
            total=tr.steps_per_epoch,
            desc=f"epoch {epoch + 1}/{tr.epochs}",
            unit="step",
            disable=not options.progress,
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
            leave=False,
        )
        for x, y in bar:
            opt.zero_grad(set_to_none=True)
            weight = None
            if short_bins > 1:
                weight = torch.from_numpy(event_balanced_weights(y.numpy(), short_bins)).to(device)
            loss = nn.functional.binary_cross_entropy_with_logits(
                net(x.to(device, non_blocking=True)),
                y.to(device, non_blocking=True),
                weight=weight,
                pos_weight=pos_weight,
            )
            loss.backward()
            opt.step()
            losses.append(loss.item())
            shown = {"loss": f"{np.mean(losses[-50:]):.4f}"}
            if history:  # the previous epoch's validation, so the bar always shows both
                shown["val_F1"] = f"{history[-1]['val_map_f1']:.4f}"
                shown["val_event_F1"] = f"{history[-1]['val_event_f1']:.4f}"
            bar.set_postfix(shown, refresh=False)
        bar.close()
        net.eval()
        with torch.no_grad():
            logits = torch.cat(
                [net(val_x[i : i + 8].to(device)).cpu() for i in range(0, len(val_x), 8)]
            )
            val_loss = float(
                nn.functional.binary_cross_entropy_with_logits(
                    logits, val_y, pos_weight=pos_weight.cpu()
                )
            )
        report, _ = score_windows(torch_predictor(net, device), val, geo)
        lr = opt.param_groups[0]["lr"]
        sched.step()
        row = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "val_loss": val_loss,
            "val_map_f1": report["map"]["f1"],
            "val_auc": report["map"]["roc_auc"],
            "val_event_f1": report["events"]["f1"],
            "lr": lr,
            "seconds": time.monotonic() - t_start,
        }
        history.append(row)
        score = row["val_" + tr.keep_best_by]
        if math.isnan(score):  # nothing to score (no bursts or no bins): fall back on the loss
            score = -row["val_loss"]
        if score > best["score"]:
            best = {
                "score": score,
                "epoch": epoch + 1,
                "state": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
            }
            bad_epochs = 0
        else:
            bad_epochs += 1
        stopped_early = bad_epochs >= tr.patience
        msg = (
            f"epoch {epoch + 1}/{tr.epochs}: loss {row['train_loss']:.4f} val {val_loss:.4f} "
            f"map F1 {row['val_map_f1']:.4f} AUC {row['val_auc']:.4f} event F1 "
            f"{row['val_event_f1']:.4f} lr {lr:.2e} ({row['seconds']:.0f} s)"
        )
        if options.progress:
            tqdm.write(msg, file=sys.stderr)
        logger.info(msg)
        _save_atomic(
            {
                "config": config.to_dict(),
                "epoch": epoch + 1,
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "history": history,
                "best": best,
                "bad_epochs": bad_epochs,
                "seconds": row["seconds"],
                "seed": options.seed,
            },
            ckpt_path,
        )
        if stopped_early:
            logger.info(
                "early stop: no better validation %s for %d epochs", tr.keep_best_by, tr.patience
            )
        if options.time_limit_s and row["seconds"] >= options.time_limit_s:
            logger.info(
                "time limit of %.0f s reached after epoch %d", options.time_limit_s, epoch + 1
            )
            timed_out = True
            break
    finished = stopped_early or timed_out or len(history) >= tr.epochs
    if best["state"] is not None:
        net.load_state_dict(best["state"])
    net.eval().cpu()
    seconds = history[-1]["seconds"] if history else 0.0
    return TrainState(net, history, int(best["epoch"]), seconds, stopped_early, finished)
