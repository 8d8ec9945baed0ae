"""``aemon calibrate``: set a model's decision threshold from a recording of the machine's noise.

Record the machine running with the specimen mounted but no crack activity (or the first
minutes of a test, before damage), then::

    aemon calibrate background.h5 --model aemon-rt-1m5 --fa-per-min 1

The neural detector runs over the background exactly as ``aemon monitor`` would; the
threshold that keeps its events to the target rate is stored as ``site_calibration.json``
beside the model, where ``aemon detect`` and ``aemon monitor`` pick it up (and say so). A model
shipped with aemon is never changed: give ``--out DIR`` and a calibrated copy is written there.

Where the machine's own impacts convince the network, no threshold meets the target and an
SNR gate is set instead: it drops every burst weaker than the machine's transients. To keep
those, learn the site instead: ``aemon adapt PLB-CHECK --background BACKGROUND --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

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
        calibrate_threshold,
        write_site_calibration,
    )
    from aemon.detect.onnx_runtime import OnnxDetector
    from aemon.detect.signal_detection import background_map
    from aemon.detect.site_classifier import DAY_ONE_CLASSIFIER_FILE
    from aemon.errors import ConfigError

    if not args.fa_per_min > 0:
        raise ConfigError(f"--fa-per-min must be positive, got {args.fa_per_min}")
    detector = OnnxDetector(args.model, site_calibration=False)
    target = _target_directory(detector.path.parent, args.out)
    background = background_map(detector, args.background)
    calibration = calibrate_threshold(
        background.probabilities,
        background.bin_samples,
        background.rate_hz,
        detector.card,
        fa_per_min=args.fa_per_min,
        sources=tuple(str(p) for p in args.background),
        event_snr_db=background.event_snr_db,
    )
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
    print(
        f"{detector.card.name}: probability {calibration.threshold:.4f} (the default of "
        "--probability)"
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
    if (detector.path.parent / DAY_ONE_CLASSIFIER_FILE).is_file():
        print(
            "  the calibrated model detects with the network alone: its day-one classifier is "
            "set aside; to keep a second look learnt for your machine, aemon adapt PLB-CHECK "
            f"--background {args.background[0]} --out DIR"
        )
    if calibration.min_snr_db:
        print(
            f"  the background is impulsive: the network takes the machine's transients for "
            f"bursts, and the {calibration.min_snr_db:.0f} dB gate drops every burst weaker "
            f"than them; to keep those, learn the site: aemon adapt PLB-CHECK --background "
            f"{args.background[0]} --out DIR"
        )
    return 0


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
