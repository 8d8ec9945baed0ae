"""``aemon adapt`` without ``--background``: fine-tune the network on harvested bursts (torch),
under the same guard as site learning.

The new model is trained into ``DIR.partial``; the guard scores it against the old one on the
harvested bursts mixed into the harvested background (the recordings' own data: without a
background recording there is nothing else from the site to hold back) and on the independent
slice. Only a model that is better on the first and no worse on the second is renamed to
``DIR``; otherwise the partial directory is removed and the command exits 2.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from dataclasses import replace

import numpy as np

from aemon.commands._adapt_output import print_verdict, refuse
from aemon.commands._model_copy import publish_model
from aemon.detect.model_card import STATE_DICT_FILE, write_model_card
from aemon.detect.onnx_runtime import OnnxDetector
from aemon.errors import ConfigError
from aemon.site.guard import judge, score_detector, slice_scores
from aemon.site.harvest import harvest
from aemon.site.training_set import mix_bursts
from aemon.train.adapt import harvest_source
from aemon.train.config import model_config_from_dict
from aemon.train.package import finalize
from aemon.train.trainer import TrainOptions, train

logger = logging.getLogger(__name__)

GUARD_S = 2.0
"""Harvested background (s) the guard mixes the harvested bursts into."""


def fine_tune(args: argparse.Namespace, model: str, command: str) -> int:
    """Harvest, fine-tune into ``OUT.partial``, guard, and rename or refuse."""
    detector = OnnxDetector(model, site_calibration=False)
    model_dir = detector.path.parent
    weights = model_dir / STATE_DICT_FILE
    if not weights.is_file():
        raise ConfigError(f"{model_dir} has no {STATE_DICT_FILE} to fine-tune; retrain it")
    config = model_config_from_dict(detector.card.architecture, str(model_dir))
    training = replace(
        config.training,
        steps_per_epoch=min(args.steps, 500),
        epochs=max(1, -(-args.steps // 500)),
        batch_size=args.batch_size,
        learning_rate=args.lr,
        patience=10_000,
    )
    config = replace(config, name=args.out.name, training=training)
    found = harvest(detector, args.recordings)
    partial = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    options = TrainOptions(
        config=config,
        out=partial,
        data=["sim", "randomised"],
        device=args.device,
        seed=args.seed,
        progress=not args.no_progress,
        eval_bursts=args.eval_bursts,
        init_weights=weights,
    )
    options.extra_sources = [
        harvest_source(found, len(config.signal.classes), training.bursts_per_window,
                       (0.0, max(found.snr_db) if found.snr_db else 30.0), options.augmentation)
    ]  # fmt: skip
    try:
        state = train(options)
        summary = found.summary()
        note = (
            f"fine-tuned from {detector.card.name} on {summary['bursts']} harvested bursts "
            f"({summary['snr_db_min']}-{summary['snr_db_max']} dB) in "
            f"{summary['background_s']} s of harvested background ({summary['background_rule']})"
        )
        card = finalize(options, state, command, data_note=note)
        rng = np.random.default_rng(args.seed)
        background = np.concatenate(found.background)[: int(GUARD_S * found.rate_hz)]
        mixture = mix_bursts(background, found.bursts, np.zeros(0, np.int64), rng,
                             found.rate_hz, (0.0, 30.0))  # fmt: skip
        old, new = OnnxDetector(model), OnnxDetector(partial)
        verdict = judge(
            score_detector(old, [mixture], [], found.rate_hz),
            score_detector(new, [mixture], [], found.rate_hz),
            slice_scores(old),
            slice_scores(new),
        )
        print_verdict(verdict)
        if not verdict.keep:
            refuse(verdict, site=False)
        if old.site_classifier is not None and new.site_classifier is None:
            print(
                "  the fine-tuned network detects alone: the old model's classifier was learnt "
                "on the old network (judged above with it); aemon train-classifier --model "
                f"{args.out} --out DIR learns a day-one classifier for the new one"
            )
        card.training["adapt"] = {**summary, "guard": verdict.as_dict()}
        write_model_card(card, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    publish_model(partial, args.out)
    print(f"wrote {args.out}: {note}")
    return 0
