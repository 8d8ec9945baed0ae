"""``aemon calibrate``: set a model's decision threshold from a recording of the machine's noise.

Record the machine running with the specimen mounted but no crack activity (or the first
minutes of a test, before damage), then::

    aemon calibrate background.h5 --model aemon-rt-1m5 --fa-per-min 1

The neural detector runs over the background exactly as ``aemon monitor`` would; the
threshold that keeps its events to the target rate is stored as ``site_calibration.json``
beside the model, where ``aemon detect`` and ``aemon monitor`` pick it up.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

EXAMPLES = """examples:
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
    parser.add_argument("--json", action="store_true", help="print the calibration as JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from aemon.detect.calibration import calibrate_threshold, write_site_calibration
    from aemon.detect.onnx_runtime import OnnxDetector
    from aemon.detect.signal_detection import background_map
    from aemon.errors import ConfigError

    if not args.fa_per_min > 0:
        raise ConfigError(f"--fa-per-min must be positive, got {args.fa_per_min}")
    detector = OnnxDetector(args.model, site_calibration=False)
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
    path = write_site_calibration(calibration, detector.path.parent)
    if args.json:
        print(json.dumps(asdict(calibration)))
    else:
        print(
            f"{detector.card.name}: probability {calibration.threshold:.4f} (the default of "
            "--probability)"
            + (f", SNR gate {calibration.min_snr_db:.1f} dB" if calibration.min_snr_db else "")
            + f" for "
            f"{calibration.target_fa_per_min:g} false alarms/min ({calibration.method}, "
            f"{calibration.background_s:.1f} s of background; "
            f"{calibration.measured_fa_per_min:.3g}/min on it) -> {path}"
        )
    return 0
