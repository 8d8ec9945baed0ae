#!/usr/bin/env bash
# The one GPU job (bench/gpu_job.py): train the thesis models briefly on the GPU, check the
# trained model with `aemon detect --backend torch`, measure live channels per GPU.
#
#   bash bench/gpu_job.sh            # on the GPU machine; results in $OUT (about 9 minutes)
#   bash bench/gpu_job.sh --smoke    # anywhere: the same steps, tiny, on the CPU (~3 minutes)
#
# On the device machine: first, here, `bash bench/gpu_wheels.sh` (and `echo /.whl/ >>
# .git/info/exclude`); then run `bash bench/gpu_job.sh` with carry [".whl"], timeout 600 s.
# $OUT gets NAME.tar per trained model, results.json, summary.md and gpu_job.log (8 files).
#
# The GPU machine lacks a few pure-Python/small packages aemon imports (vallenae, openae-core,
# soundfile and its cffi). Carry them as wheels in .whl/ (bash bench/gpu_wheels.sh, git-ignored);
# they are installed into /tmp/site only if one of them does not import. h5py is there;
# hdf5plugin, pyzmq and sounddevice are not needed on this path.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-job-out}"
mkdir -p "$OUT"
if ! python3 -c "import vallenae, openae, soundfile" >/dev/null 2>&1; then
    if compgen -G ".whl/*.whl" >/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl || { echo "wheel install failed"; exit 4; }
        export PYTHONPATH=/tmp/site
    else
        echo "vallenae/openae/soundfile missing and no .whl/ to install them from" >&2
    fi
fi
if ! python3 -c "import hdf5plugin" >/dev/null 2>&1; then
    # Its wheel (46 MB) is too big to carry. aemon.io imports it at module level to register
    # the Blosc filter; this job reads and writes no HDF5, so a stand-in that fails on use
    # lets those modules import (reading a Blosc recording there would say what is missing).
    mkdir -p /tmp/aemon-stub
    printf '%s\n' '"""Stand-in from bench/gpu_job.sh: hdf5plugin is not installed here."""' \
        'def __getattr__(name):' \
        '    raise ImportError("hdf5plugin is not installed (bench/gpu_job.sh stand-in)")' \
        >/tmp/aemon-stub/hdf5plugin.py
    export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}/tmp/aemon-stub"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 bench/gpu_job.py --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu_job.log"
exit "${PIPESTATUS[0]}"
