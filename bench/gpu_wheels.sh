#!/usr/bin/env bash
# Download the wheels bench/gpu_job.sh installs on the GPU machine (Python 3.12, x86-64) into
# .whl/ at the repository root (git-ignore it: echo /.whl/ >> .git/info/exclude). About 2 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
    vallenae==0.14.0 openae-core==0.2.0 soundfile==0.14.0 cffi==2.0.0 pycparser==2.23
ls -l .whl
