"""``aemon calibrate``: set a model's decision threshold from a recording of the machine's noise.

Record the machine running with the specimen mounted but no crack activity (or the first
minutes of a test, before damage), then::

    aemon calibrate background.h5 --model aemon-rt-1m5 --fa-per-min 1

The neural detector runs over the background exactly as ``aemon monitor`` would; the
threshold that keeps its events to the target rate is stored as ``site_calibration.json``
beside the model, where ``aemon detect`` and ``aemon monitor`` pick it up (and say so). A model
shipped with aemon is never changed: give ``--out DIR`` and a calibrated copy is written there.

A model with a classifier (the shipped day-one one, or a site classifier from ``aemon adapt``)
keeps it: the burst probability the classifier asks for is raised until the detections it keeps
on the background meet the target (it is never lowered), and the network's threshold is left
alone.

Where the machine's own transients convince the classifier too, no decision up to 0.95 meets
the target: the classifier keeps its decision and an SNR gate is set from the candidates it
keeps; the network is calibrated alone too (a threshold, and a gate where even that cannot
meet the target), and the calibration with the lower gate is kept. A gate drops every burst
weaker than the machine's transients. To keep those bursts, learn the site instead:
``aemon adapt PLB-CHECK --background BACKGROUND --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aemon.detect.calibration import SiteCalibration
    from aemon.detect.onnx_runtime import OnnxDetector

logger = logging.getLogger(__name__)

EXAMPLES = """examples:
  aemon calibrate quiet-machine.h5 --model aemon-rt-1m5 --out models/rig3-calibrated
  aemon calibrate quiet-machine.h5 --model models/lab-1m5 --fa-per-min 1
  aemon calibrate run1.wav run2.wav --model aemon-rt-192k --fa-per-min 0.5 --json"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aemon calibrate``."""
    parser = subparsers.add_parser(
        "calibrate",
        help="set the neural detector's threshold for a target false-alarm rate on your machine",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "background", nargs="+", type=Path, help="recordings without crack activity"
    )
    parser.add_argument(
        "--model", required=True, help="model directory or shipped model name to calibrate"
    )
    parser.add_argument(
        "--fa-per-min",
        type=float,
        default=1.0,
        metavar="RATE",
        help="target false alarms per minute (default 1)",
    )
    parser.add_argument(
        "-o", "--out", type=Path, metavar="DIR",
        help="write a calibrated copy of the model here (needed for a shipped model)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the calibration as JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from aemon.detect.calibration import (
        CALIBRATION_FILE,
        GATE_ABOVE,
        calibrate_threshold,
        write_site_calibration,
    )
    from aemon.detect.classifier_calibration import weaker_gate
    from aemon.detect.onnx_runtime import OnnxDetector
    from aemon.detect.signal_detection import background_map
    from aemon.detect.site_classifier import DAY_ONE_CLASSIFIER_FILE, SITE_CLASSIFIER_FILE
    from aemon.errors import ConfigError

    if not args.fa_per_min > 0:
        raise ConfigError(f"--fa-per-min must be positive, got {args.fa_per_min}")
    detector = OnnxDetector(args.model, site_calibration=False)
    target = _target_directory(detector.path.parent, args.out)
    sources = tuple(str(p) for p in args.background)
    calibration = _classifier_calibration(detector, args.background, args.fa_per_min, sources)
    if calibration is None or calibration.min_snr_db > 0:
        background = background_map(detector, args.background)
        network = calibrate_threshold(
            background.probabilities,
            background.bin_samples,
            background.rate_hz,
            detector.card,
            fa_per_min=args.fa_per_min,
            sources=sources,
            event_snr_db=background.event_snr_db,
        )
        calibration = weaker_gate(calibration, network)
    if args.out is None:
        path = write_site_calibration(calibration, target)
    else:  # a complete copy under DIR.partial, renamed at the end
        from aemon.commands._model_copy import partial_model_copy, publish_model

        partial = partial_model_copy(detector.path.parent, args.out)
        write_site_calibration(calibration, partial)
        publish_model(partial, args.out)
        path = args.out / CALIBRATION_FILE
    if args.json:
        print(json.dumps(asdict(calibration)))
        return 0
    if calibration.classifier_decision is not None:
        setting = f"classifier decision {calibration.classifier_decision:.4f}"
    else:
        setting = f"probability {calibration.threshold:.4f} (the default of --probability)"
    print(
        f"{detector.card.name}: {setting}"
        + (f", SNR gate {calibration.min_snr_db:.1f} dB" if calibration.min_snr_db else "")
        + f" for {calibration.target_fa_per_min:g} false alarms/min -> {path}"
    )
    measured = calibration.measured_fa_per_min
    if measured > calibration.target_fa_per_min:
        print(
            f"  {measured:.3g}/min on the {calibration.background_s:.0f} s background: too short "
            f"to count {calibration.target_fa_per_min:g}/min, so the {calibration.method} "
            f"extrapolates the threshold to it (record a longer background to measure it)"
        )
    directory = detector.path.parent
    day_one_only = (directory / DAY_ONE_CLASSIFIER_FILE).is_file() and not (
        directory / SITE_CLASSIFIER_FILE
    ).is_file()
    if day_one_only and calibration.classifier_decision is None:
        print(
            "  the calibrated model detects with the network alone: on this background its "
            f"day-one classifier met the target only above a decision of {GATE_ABOVE:g} and "
            "with a higher gate (or kept too few candidates to set one); to keep a second look "
            f"learnt for your machine, aemon adapt PLB-CHECK --background {args.background[0]} "
            "--out DIR"
        )
    if calibration.min_snr_db:
        print(
            f"  the background is impulsive: the machine's transients pass for bursts, and "
            f"the {calibration.min_snr_db:.0f} dB gate drops every burst weaker "
            f"than them; to keep those, learn the site: aemon adapt PLB-CHECK --background "
            f"{args.background[0]} --out DIR"
        )
    return 0


def _classifier_calibration(
    detector: OnnxDetector, background: list[Path], fa_per_min: float, sources: tuple[str, ...]
) -> SiteCalibration | None:
    """The calibration of the model's own classifier (its site classifier, else its day-one
    one) on the background (:mod:`aemon.detect.classifier_calibration`); None where it has
    none, or where the network must be calibrated alone."""
    from aemon.detect.classifier_calibration import calibrate_classifier
    from aemon.detect.signal_detection import background_features
    from aemon.detect.site_classifier import own_classifier

    classifier = own_classifier(detector.path.parent)
    if classifier is None:
        return None
    measured = background_features(
        detector, background, classifier.candidate_probability, classifier.triggers
    )
    return calibrate_classifier(
        classifier, measured.features, measured.snr_db, measured.seconds,
        fa_per_min=fa_per_min, card=detector.card, sources=sources,
    )  # fmt: skip


def _target_directory(model_dir: Path, out: Path | None) -> Path:
    """Where the calibration goes: ``--out``, or beside a model that is not aemon's own.

    Raises:
        ConfigError: A shipped model without ``--out``, or an ``--out`` that is not empty.
    """
    from aemon.commands._model_copy import check_new_model_directory
    from aemon.detect.onnx_runtime import models_dir
    from aemon.errors import ConfigError

    if out is not None:
        check_new_model_directory(out)
        return out
    shipped = Path(__file__).resolve().parent.parent / "models"
    if model_dir.resolve().parent in {shipped, models_dir().resolve()}:
        raise ConfigError(
            f"{model_dir.name} is a model shipped with aemon: calibrating it in place would "
            f"change every later run on this machine; give --out DIR for a calibrated copy"
        )
    return model_dir
