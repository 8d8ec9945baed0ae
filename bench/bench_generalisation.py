"""Generalisation benchmark: the neural detector vs tuned baselines on independent data.

Renders every background family × SNR band from :mod:`independent` (a generator written apart
from aemon's training simulator) plus a noise-only file of hard negatives, writes each as an
aemon HDF5 recording with a truth CSV, and scores three detectors on it:

- ``thr``: band-pass + threshold at k × robust noise RMS with HDT/rearm, k and HDT tuned for
  best F1 on a calibration file of the same family and band (another seed);
- ``sta``: ObsPy recursive STA/LTA, on-threshold tuned the same way;
- ``nn``: ``aemon detect FILE --detector nn`` (the shipped model, or ``--model``), untuned;
- ``nn+cal``: the same model after ``aemon calibrate`` on a burst-free recording of the
  family's background (``--cal-duration`` s, the calibration seed) at ``--fa-per-min``: what a
  technician does on day one, with no labels. On the noise-only file it is calibrated on a
  second noise-only file (another seed), which also checks the calibrated rate against its
  target;
- ``site``: the same model after ``aemon adapt PLB --background BG`` (site learning): BG is
  the ``nn+cal`` background, PLB ``--plb-duration`` s of the family's background (another
  seed) with ``--plb-bursts`` strong pencil-lead-break-like bursts. In this generator a seed
  draws the background's parameters too (a resonant sensor's resonance, a machine's ring
  frequency), so BG, PLB and the scored files are three instances of the family, not one
  machine. Where ``aemon adapt`` refuses (its guard, or its check that BG sounds like PLB),
  ``site`` is the old model (what the user is left with), and the summary under the table
  says why. On the noise-only file, BG is a second noise-only file and PLB a third, both of
  the scored file's machine (its sequence of background families, their lengths and level
  steps: :func:`independent.noise_only_layout`) with other noise, family parameters and hard
  negatives, as each family's BG and PLB are other instances of that family.
  ``--site-rig same`` renders BG and PLB (and so ``nn+cal``'s background too) from the
  scored files' rig: the family's parameters of the scored seed, other noise
  (:mod:`independent.rig`), as in a lab where all three come from one test set-up.

A detection matches a burst when its onset is -100 µs..+250 µs from the true onset. Prints a
markdown table (P/R/F1 and median |onset error| per detector) and the false alarms per minute
on the noise-only file (baselines tuned on the ``white`` family of each band).

Usage::

    pip install -e '.[bench]'      # obspy
    python bench/bench_generalisation.py [--duration 5] [--families white,hum]
        [--bands low,mid,high] [--model models/aemon-rt-1m5] [--out-json result.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from independent import (
    FAMILIES,
    FS_HZ,
    NOISE_RMS_V,
    SNR_BANDS,
    NoiseOnly,
    Score,
    noise_only_layout,
    read_event_onsets,
    render_noise_only,
    render_parts,
    render_plb_check,
    run_aemon_adapt,
    run_aemon_calibrate,
    run_aemon_detect,
    score,
    tune_sta_lta,
    tune_threshold,
    write_pair,
)
from independent.scoring import window_samples

from aemon.detect.onnx_runtime import default_model_path

logger = logging.getLogger("bench_generalisation")

DETECTORS = ("thr", "sta", "nn", "nn+cal", "site")
EVAL_SEED = 1
CALIBRATION_SEED = 1001
NOISE_SEED = 7
PLB_SEED = 2001


def _nn(h5: Path, out: Path, model: str | None, tag: str = "nn") -> tuple[np.ndarray, int]:
    """Run the neural detector through aemon's command line: (onsets, skipped long events)."""
    events = out / f"{h5.stem}.{tag}.events.csv"
    skipped = run_aemon_detect(h5, events, detector="nn", model=model)
    return read_event_onsets(events), skipped


def _background(out: Path, name: str, background_v: np.ndarray) -> Path:
    """The burst-free background (V) as a recording, for ``calibrate`` and ``adapt``."""
    return write_pair(out, f"{name}.background", background_v, [], FS_HZ, NOISE_RMS_V)[0]


def _calibrated_model(
    args: argparse.Namespace, out: Path, name: str, background: Path
) -> tuple[str, dict[str, Any]]:
    """A copy of the model, calibrated with ``aemon calibrate`` on this background."""
    source = Path(args.model) if args.model else default_model_path(FS_HZ)
    target = out / "models" / name
    shutil.copytree(source.resolve(), target, dirs_exist_ok=True)
    (target / "site_calibration.json").unlink(missing_ok=True)
    return str(target), run_aemon_calibrate([background], target, args.fa_per_min)


def _site_model(
    args: argparse.Namespace, out: Path, name: str, background: Path, plb_bg_v: np.ndarray
) -> tuple[str | None, dict[str, Any]]:
    """``aemon adapt`` on a PLB check in ``plb_bg_v`` (V) with ``background``; the new model,
    or None when it refused. Also returns what it printed and how long it took (s)."""
    plb, truth = render_plb_check(plb_bg_v, PLB_SEED, args.plb_bursts)
    plb_h5, _ = write_pair(out, f"{name}.plb", plb, truth, FS_HZ, NOISE_RMS_V)
    target = out / "models" / f"{name}-site"
    t0 = time.perf_counter()
    kept, text = run_aemon_adapt(plb_h5, background, target, model=args.model)
    info = {"written": kept, "seconds": round(time.perf_counter() - t0, 1),
            "output": [line for line in text.splitlines() if line.strip()][-4:]}  # fmt: skip
    logger.info("%s site learning: %s", name, info)
    return (str(target) if kept else None), info


def run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Render, detect and score everything; return the results as a JSON-able dict."""
    rows: list[dict[str, Any]] = []
    skipped = 0
    tuned_white: dict[str, Any] = {}
    calibrations: dict[str, Any] = {}
    sites: dict[str, Any] = {}
    for family in args.families:
        calibrated: str | None = None
        site: str | None = None
        if not args.no_nn:
            rig = EVAL_SEED if args.site_rig == "same" else None
            bg = render_parts(family, "mid", CALIBRATION_SEED, args.cal_duration,
                              rig_seed=rig).background  # fmt: skip
            bg_h5 = _background(out, family, bg)
            calibrated, calibrations[family] = _calibrated_model(args, out, family, bg_h5)
            plb_bg = render_parts(family, "mid", PLB_SEED, args.plb_duration,
                                  rig_seed=rig).background  # fmt: skip
            if not args.no_site:
                site, sites[family] = _site_model(args, out, family, bg_h5, plb_bg)
        for band in args.bands:
            t0 = time.perf_counter()
            ev = render_parts(family, band, EVAL_SEED, args.duration)
            cal = render_parts(family, band, CALIBRATION_SEED, args.duration)
            true = [t.onset_sample for t in ev.truth]
            cal_true = [t.onset_sample for t in cal.truth]
            signal = ev.signal
            thr = tune_threshold(cal.signal, cal_true, FS_HZ)
            sta = tune_sta_lta(cal.signal, cal_true, FS_HZ)
            if family == "white":
                tuned_white[band] = (thr.detector, sta.detector)
            scores: dict[str, Score] = {
                "thr": score(thr.detector.detect(signal, FS_HZ)[0], true, FS_HZ, args.duration),
                "sta": score(sta.detector.detect(signal, FS_HZ)[0], true, FS_HZ, args.duration),
            }
            if not args.no_nn:
                h5, _ = write_pair(out, f"{family}-{band}", signal, ev.truth, FS_HZ, NOISE_RMS_V)
                onsets, skipped = _nn(h5, out, args.model)
                scores["nn"] = score(onsets, true, FS_HZ, args.duration)
                cal_onsets = _nn(h5, out, calibrated, "cal")[0]
                scores["nn+cal"] = score(cal_onsets, true, FS_HZ, args.duration)
                if not args.no_site:
                    site_onsets = _nn(h5, out, site, "site")[0] if site else onsets
                    scores["site"] = score(site_onsets, true, FS_HZ, args.duration)
            rows.append(
                {
                    "family": family,
                    "band": band,
                    "true_bursts": len(true),
                    "tuned": {"thr": repr(thr.detector), "sta": repr(sta.detector)},
                    "scores": {k: v._asdict() for k, v in scores.items()},
                    "nn_skipped_long_events": skipped,
                }
            )
            logger.info("%s/%s done in %.1f s", family, band, time.perf_counter() - t0)
    noise = _noise_only(args, out, tuned_white)
    return {
        "config": {
            "duration_s": args.duration,
            "noise_only_duration_s": args.noise_duration,
            "fs_hz": FS_HZ,
            "noise_rms_v": NOISE_RMS_V,
            "snr_bands_db": {b: SNR_BANDS[b] for b in args.bands},
            "model": args.model or "(default by rate)",
            "calibration": {"fa_per_min": args.fa_per_min, "background_s": args.cal_duration},
            "seeds": {"eval": EVAL_SEED, "calibration": CALIBRATION_SEED, "noise": NOISE_SEED},
            "site_rig": args.site_rig,
        },
        "rows": rows,
        "calibrations": calibrations,
        "site_learning": sites,
        "noise_only": noise,
    }


def _noise_only(args: argparse.Namespace, out: Path, tuned: dict[str, Any]) -> dict[str, Any]:
    """False alarms on the noise-only file, in total and by what they fell on."""
    noise = render_noise_only(NOISE_SEED, args.noise_duration)
    onsets: dict[str, np.ndarray] = {}
    for band, (thr, sta) in tuned.items():
        onsets[f"thr (white/{band})"] = thr.detect(noise.signal, FS_HZ)[0]
        onsets[f"sta (white/{band})"] = sta.detect(noise.signal, FS_HZ)[0]
    site_info: dict[str, Any] = {}
    skipped = 0
    if not args.no_nn:
        h5, _ = write_pair(out, "noise-only", noise.signal, [], FS_HZ, NOISE_RMS_V)
        onsets["nn"], skipped = _nn(h5, out, args.model)
        machine = noise_only_layout(noise)  # BG and PLB: the same machine, other noise
        second = render_noise_only(NOISE_SEED + 1, args.noise_duration, layout=machine).signal
        second_h5 = _background(out, "noise-only", second)
        calibrated, _ = _calibrated_model(args, out, "noise-only", second_h5)
        onsets["nn+cal"] = _nn(h5, out, calibrated, "cal")[0]
        third = render_noise_only(NOISE_SEED + 2, args.plb_duration, layout=machine).signal
        if not args.no_site:
            site, site_info = _site_model(args, out, "noise-only", second_h5, third)
            onsets["site"] = _nn(h5, out, site, "site")[0] if site else onsets["nn"]
    family_s: dict[str, float] = {}
    levels: dict[str, list[float]] = {}
    for family, start, stop, level_db in noise.segments:
        family_s[family] = family_s.get(family, 0.0) + (stop - start) / FS_HZ
        levels.setdefault(family, []).append(round(level_db, 1))
    return {
        "hard_negatives": noise.counts,
        "background_s": family_s,
        "background_level_db": levels,
        "nn_skipped_long_events": skipped,
        "site_learning": site_info,
        "false_alarms_per_min": {k: len(v) * 60.0 / args.noise_duration for k, v in onsets.items()},
        "by_cause": {k: _attribute(v, noise, family_s) for k, v in onsets.items()},
    }


def _attribute(
    onsets: np.ndarray, noise: NoiseOnly, family_s: dict[str, float]
) -> dict[str, float]:
    """False alarms on each kind of hard negative (count), and per minute of each family's
    background outside them. A detection is on a hard negative when its onset lies from
    100 µs before its start to 250 µs after its end (the burst matching window)."""
    lo, hi = window_samples(FS_HZ)
    result: dict[str, float] = {}
    on_negative = np.zeros(onsets.size, dtype=bool)
    for kind in ("spike", "rub", "impact"):
        spans = np.array([(a, b) for k, a, b in noise.negatives if k == kind], dtype=np.int64)
        spans = spans.reshape(-1, 2)
        inside = (onsets[:, None] >= spans[None, :, 0] + lo) & (
            onsets[:, None] < spans[None, :, 1] + hi
        )
        hit = inside.any(axis=1) & ~on_negative
        result[kind] = float(hit.sum())
        on_negative |= hit
    rest = onsets[~on_negative]
    for family, seconds in family_s.items():
        n = sum(int(np.count_nonzero((rest >= a) & (rest < b)))
                for f, a, b, _ in noise.segments if f == family)  # fmt: skip
        result[family] = n * 60.0 / seconds
    return result


def _f(x: float, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    """The result as markdown tables."""
    dets = [d for d in DETECTORS if result["rows"] and d in result["rows"][0]["scores"]]
    head = ["family", "band", "n"]
    head += [f"{d} P/R/F1" for d in dets] + [f"{d} onset µs" for d in dets]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["rows"]:
        s = row["scores"]
        cells = [row["family"], row["band"], str(row["true_bursts"])]
        cells += [
            f"{_f(s[d]['precision'])}/{_f(s[d]['recall'])}/**{_f(s[d]['f1'])}**" for d in dets
        ]
        cells += [_f(s[d]["median_onset_error_us"], 1) for d in dets]
        lines.append("| " + " | ".join(cells) + " |")
    bands = list(dict.fromkeys(r["band"] for r in result["rows"]))
    for band in bands:
        sel = [r for r in result["rows"] if r["band"] == band]
        means = [float(np.mean([r["scores"][d]["f1"] for r in sel])) for d in dets]
        cells = ["*mean*", band, ""] + [f"F1 **{m:.2f}**" for m in means] + [""] * len(dets)
        lines.append("| " + " | ".join(cells) + " |")
    noise = result["noise_only"]
    families = list(noise["background_s"])
    held = ", ".join(f"{v} {k}" for k, v in noise["hard_negatives"].items())
    lines += [
        "",
        f"Noise-only file ({result['config']['noise_only_duration_s']:g} s, no bursts; {held})."
        " False alarms: in total per minute; on each kind of hard negative (count); on each"
        " background family outside them, per minute of that family (its AE-band level steps):",
        "",
    ]
    levels = noise["background_level_db"]
    labels = [f"{f} ({'/'.join(f'{v:+.0f}' for v in levels[f])} dB)" for f in families]
    head = ["detector", "total /min", "on spikes", "on rubs", "on impacts", *labels]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, total in noise["false_alarms_per_min"].items():
        cause = noise["by_cause"][name]
        cells = [name, f"{total:.0f}"] + [f"{cause[k]:.0f}" for k in ("spike", "rub", "impact")]
        cells += [f"{cause[f]:.0f}" for f in families]
        lines.append("| " + " | ".join(cells) + " |")
    skipped = [f"{r['family']}/{r['band']}: {r['nn_skipped_long_events']}"
               for r in result["rows"] if r.get("nn_skipped_long_events")]  # fmt: skip
    if noise.get("nn_skipped_long_events"):
        skipped.append(f"noise-only: {noise['nn_skipped_long_events']}")
    sites = dict(result.get("site_learning", {}))
    if noise.get("site_learning"):
        sites["noise-only"] = noise["site_learning"]
    if sites:
        lines += ["", "Site learning (`aemon adapt PLB --background BG`), per family:", ""]
        for family, info in sites.items():
            what = "new model written" if info["written"] else "refused, the old model kept"
            lines.append(f"- {family}: {what} in {info['seconds']:.0f} s; "
                         + " / ".join(info["output"][-3:]))  # fmt: skip
    if skipped:
        note = "aemon detect skipped over-long nn events (on for longer than its raw history;"
        note += " not in its CSV, so not counted above): "
        lines += ["", note + ", ".join(skipped)]
    return "\n".join(lines)


def _clean(obj: Any) -> Any:
    """NaN -> None for strict JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per file (5)")
    parser.add_argument("--noise-duration", type=float, default=20.0, help="noise-only s (20)")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    parser.add_argument("--bands", default=",".join(SNR_BANDS), help="comma-separated")
    parser.add_argument("--model", help="model for aemon detect (default: by rate)")
    parser.add_argument(
        "--fa-per-min", type=float, default=1.0, help="nn+cal: aemon calibrate's target (1)"
    )
    parser.add_argument(
        "--cal-duration", type=float, default=10.0, help="nn+cal: background seconds (10)"
    )
    parser.add_argument(
        "--plb-duration", type=float, default=10.0, help="site: PLB check seconds (10)"
    )
    parser.add_argument(
        "--plb-bursts", type=int, default=15, help="site: bursts in the PLB check (15)"
    )
    parser.add_argument(
        "--site-rig",
        choices=["other", "same"],
        default="other",
        help="nn+cal and site: background and PLB check from other rigs of the family (other,"
        " the default) or from the scored files' rig with other noise (same)",
    )
    parser.add_argument("--out-json", type=Path, help="write the full result here")
    parser.add_argument("--out-dir", type=Path, help="keep the rendered files here")
    parser.add_argument("--no-nn", action="store_true", help="baselines only")
    parser.add_argument("--no-site", action="store_true", help="no site column (no aemon adapt)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    args.families = [f for f in args.families.split(",") if f]
    args.bands = [b for b in args.bands.split(",") if b]
    unknown = [f for f in args.families if f not in FAMILIES]
    unknown += [b for b in args.bands if b not in SNR_BANDS]
    if unknown:
        parser.error(f"unknown family or band: {', '.join(unknown)}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="aemon-generalisation-"))
    t0 = time.perf_counter()
    try:
        result = run(args, out)
    finally:
        if args.out_dir is None:
            shutil.rmtree(out, ignore_errors=True)
    result["elapsed_s"] = time.perf_counter() - t0
    print(markdown(result))
    if args.out_json:
        args.out_json.write_text(json.dumps(_clean(result), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
