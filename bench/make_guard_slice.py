"""Render the independent slice that ``aemon adapt``'s guard scores every new detector on.

The slice comes from the benchmark's own generator (:mod:`independent`, which no model trains
on), with a seed the benchmark does not score: four quiet background families with bursts at
10-30 dB, 0.5 s each, stored as int16 with their volts per count and burst onsets in
``aemon/models/guard/independent-slice.h5``. The guard asks that site learning loses no F1 on
it: a site classifier must not forget bursts in backgrounds other than its own.

Usage::

    python bench/make_guard_slice.py [--out aemon/models/guard/independent-slice.h5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from independent import FS_HZ, render_parts

FAMILIES = ("white", "pink", "ar_bandpass", "hum")
SNR_DB = (10.0, 30.0)
SEED = 4242
DURATION_S = 0.5
OUT = Path(__file__).resolve().parents[1] / "aemon" / "models" / "guard" / "independent-slice.h5"


def main(argv: list[str] | None = None) -> int:
    """Render the slice and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(args.out, "w") as f:
        f.attrs["generator"] = "bench/independent"
        f.attrs["command"] = "python bench/make_guard_slice.py"
        f.attrs["seed"] = SEED
        parts = f.create_group("parts")
        for family in FAMILIES:
            rendered = render_parts(family, SNR_DB, SEED, DURATION_S)
            x = rendered.signal.astype(np.float64)
            volts_per_count = float(np.max(np.abs(x))) / 32000.0
            group = parts.create_group(family)
            group.create_dataset("signal", data=np.round(x / volts_per_count).astype(np.int16),
                                 compression="gzip", compression_opts=9, shuffle=True)  # fmt: skip
            group.create_dataset("onsets", data=[t.onset_sample for t in rendered.truth])
            group.attrs["volts_per_count"] = volts_per_count
            group.attrs["sample_rate_hz"] = FS_HZ
            group.attrs["snr_db"] = SNR_DB
            print(f"{family}: {len(rendered.truth)} bursts")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
