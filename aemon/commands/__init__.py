"""The ``aemon`` subcommands, one module each.

Public API:
    COMMANDS: subcommand name → ``"module:function"`` that adds its subparser.
    register_all: add every available subcommand to an argparse subparsers object.

Each module's ``register(subparsers)`` adds one subparser and sets ``func`` to a callable that
takes the parsed :class:`argparse.Namespace` and returns an exit status. Modules import their
heavy dependencies (numba, onnxruntime, torch, Qt) inside ``func``, so ``aemon --help`` stays
fast and a missing optional extra only disables the commands that need it.

The modules with a leading underscore hold what every command shares (``docs/cli.md``):
``_checks`` (argument checks, one message wording), ``_outputs`` (atomic outputs) and
``_live`` (stop signals, status line, heartbeat of live sources).
"""

from __future__ import annotations

import argparse
import importlib
import logging

logger = logging.getLogger(__name__)

COMMANDS: dict[str, str] = {
    "adapt": "aemon.commands.adapt:register",
    "calibrate": "aemon.commands.calibrate:register",
    "cluster": "aemon.commands.cluster:register",
    "daq-sim": "aemon.commands.daq_sim:register",
    "demo": "aemon.commands.demo:register",
    "denoise": "aemon.commands.denoise:register",
    "detect": "aemon.commands.detect:register",
    "devices": "aemon.commands.devices:register",
    "evaluate": "aemon.commands.train:register_evaluate",
    "export": "aemon.commands.export:register",
    "gui": "aemon.commands.gui:register",
    "import": "aemon.commands.import_:register",
    "info": "aemon.commands.info:register",
    "keys": "aemon.commands.keys:register",
    "locate-calibrate": "aemon.commands.locate:register",
    "monitor": "aemon.commands.monitor:register",
    "reanalyse": "aemon.commands.reanalyse:register",
    "record": "aemon.commands.record:register",
    "repair": "aemon.commands.repair:register",
    "replay": "aemon.commands.replay:register",
    "score": "aemon.commands.score:register",
    "sim": "aemon.commands.sim:register",
    "similar": "aemon.commands.similar:register",
    "train": "aemon.commands.train:register_train",
    "train-classifier": "aemon.commands.train_classifier:register",
    "train-denoiser": "aemon.commands.denoise:register_train",
    "train-embedding": "aemon.commands.train_embedding:register",
}
"""Subcommand name → ``"module:function"`` that registers it."""


def register_all(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], only: str | None = None
) -> None:
    """Add every subcommand whose module imports; log (debug) the ones that do not.

    Args:
        subparsers: Where to add them.
        only: Add just this command (the one being run: importing every command's module
            costs about a second at startup); None or an unknown name adds all.
    """
    chosen = {only: COMMANDS[only]} if only in COMMANDS else COMMANDS
    for name, target in sorted(chosen.items()):
        module_name, function = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # an optional extra (e.g. gui) is not installed
            logger.debug("command %s unavailable: %s", name, exc)
            continue
        getattr(module, function)(subparsers)


__all__ = ["COMMANDS", "register_all"]
