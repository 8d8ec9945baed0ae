#!/usr/bin/env bash
# Retrain the shipped detectors (and the thesis InceptionTime middle) on one GPU, in parallel.
# Each line is the exact `aemon train` command its model card records. Usage:
#   bench/gpu_train_models.sh OUTDIR [MINUTES] [SMOKE] [MODELS]
# MINUTES caps each training (default 4); SMOKE=1 runs a few tiny steps on the CPU instead;
# MODELS picks some of: aemon-rt-1m5 aemon-rt-192k inceptiontime-middle-1m5 aemon-rt-1m5-sb
# (default all; aemon-rt-1m5-sb is aemon-rt with short-burst weights and event-F1 selection,
# the candidate to replace aemon-rt-1m5, not yet shipped).
set -uo pipefail
out=${1:?output directory}; minutes=${2:-4}; smoke=${3:-0}
models=${4:-"aemon-rt-1m5 aemon-rt-192k inceptiontime-middle-1m5 aemon-rt-1m5-sb"}
mkdir -p "$out"
if [ "$smoke" = 1 ]; then
    common=(--epochs 1 --steps 3 --batch-size 2 --eval-bursts 20 --workers 1 --no-progress)
    dev=(--device cpu)
else
    common=(--max-minutes "$minutes" --no-progress)
    dev=(--device cuda)
fi
data=(--data sim --data randomised)
run() {  # name config extra-args...
    local name=$1 config=$2; shift 2
    case " $models " in *" $name "*) ;; *) return 0 ;; esac
    ( time python3 -m aemon -v train "$config" "${data[@]}" --out "$out/$name" "${dev[@]}" \
        --seed 0 "$@" "${common[@]}" ) >"$out/$name.log" 2>&1
    echo "$name: exit $? ($(tail -1 "$out/$name.log"))"
}
n_models=$(wc -w <<<"$models")
w=$(( n_models > 3 ? 4 : n_models > 2 ? 5 : 7 ))
run aemon-rt-1m5 aemon-rt --batch-size 32 --epochs 24 --workers "$w" &
run aemon-rt-192k aemon-rt-192k --batch-size 32 --epochs 24 --workers $(( w - 1 )) &
run inceptiontime-middle-1m5 inceptiontime-middle --batch-size 16 --workers 5 --eval-bursts 200 &
run aemon-rt-1m5-sb aemon-rt --batch-size 32 --epochs 24 --workers "$w" \
    --short-burst-us 300 --keep-best-by event_f1 &
wait
grep -h "wrote\|Error\|error" "$out"/*.log | tail -20
