"""Figures written next to a trained model: training curves, ROC curves, example predictions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from aemon.train.metrics import roc_curve

logger = logging.getLogger(__name__)


def plot_training(history: Sequence[dict[str, float]], path: Path, title: str) -> None:
    """Loss (train/validation) and validation metrics per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.semilogy(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.semilogy(epochs, [h["val_loss"] for h in history], "s-", label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("BCE loss")
    ax1.legend()
    ax1.grid(alpha=0.3)
    for key, label in (
        ("val_map_f1", "map F1"),
        ("val_event_f1", "event F1"),
        ("val_auc", "ROC AUC"),
    ):
        ax2.plot(epochs, [h[key] for h in history], "o-", label=label)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation")
    ax2.legend(loc="lower right")
    ax2.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_roc(
    curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path: Path, title: str
) -> None:
    """ROC curves ``name -> (labels, scores, auc)`` on linear and log false-positive axes."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, (labels, scores, auc) in curves.items():
        fpr, tpr = roc_curve(labels, scores)
        for ax in axes:
            ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.4f})")
    axes[0].plot([0, 1], [0, 1], "k:", lw=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlim(1e-5, 1)
    for ax in axes:
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_examples(
    x: np.ndarray,
    truth: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    sample_rate_hz: float,
    path: Path,
    title: str,
    count: int = 4,
) -> None:
    """Signal, ground-truth map and predicted map of ``count`` windows (thesis Fig. 4.13 style)."""
    count = min(count, len(x))
    fig, axes = plt.subplots(3, count, figsize=(4 * count, 6.5), squeeze=False, sharex="col")
    for j in range(count):
        n = x.shape[-1]
        t_ms = np.arange(n) / sample_rate_hz * 1e3
        axes[0, j].plot(t_ms, x[j, 0], lw=0.4, color="k")
        axes[0, j].set_title(f"window {j + 1}")
        extent: Any = (0, n / sample_rate_hz * 1e3, -0.5, len(classes) - 0.5)
        for row, data, name in ((1, truth[j], "truth"), (2, probs[j], "prediction")):
            axes[row, j].imshow(
                data,
                aspect="auto",
                interpolation="nearest",
                origin="lower",
                extent=extent,
                vmin=0,
                vmax=1,
                cmap="magma",
            )
            axes[row, j].set_yticks(range(len(classes)), list(classes))
            if j == 0:
                axes[row, j].set_ylabel(name)
        axes[2, j].set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("normalised input")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
