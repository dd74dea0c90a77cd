#!/usr/bin/env bash
# The long training of issue 26 (docs/training.md, "Stage F"): one run, carried across sessions
# in the background on the CPU. Every session: `resume` first, `stop` before the session ends.
#
#     scripts/fluent_training.sh resume MINUTES   # start or resume in the background (nohup, nice)
#     scripts/fluent_training.sh status           # the last progress lines and validations
#     scripts/fluent_training.sh stop             # SIGTERM: the step in flight ends, a checkpoint is saved
#
# Where things live (outside the repository, whose work tree a new session lays anew; override
# with the variables): the run in $RUNS/fluent (config, weights, checkpoints, history.jsonl), its
# log in $RUNS/fluent.log, the data in $DATA. If the run directory is gone (a new machine), the run
# starts again from the shipped model, widened (Net2WiderNet); if the data are gone too, they are
# rebuilt from UNIPEN first (scripts/rebuild_human_mix.sh; the release is fetched with the search
# tool's fetch verb as github:GreenCappuccino/train_r01_v07 and laid out in $UNIPEN by
# scripts/extract_unipen.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-/work/runs}
DATA=${DATA:-/work/data}
UNIPEN=${UNIPEN:-/work/unipen}
run=$RUNS/fluent
log=$RUNS/fluent.log
pidfile=$RUNS/fluent.pid
mix=$DATA/fluent-mix.npz
# The network and schedule of the run (chosen by the capacity runs of docs/training.md, stage F).
LSTM_UNITS=${LSTM_UNITS:-256}
# The capacity runs started with these and a peak of 2e-4 (validation and checkpoints every 100
# steps, one thread each, three runs side by side); the run itself then resumed with RESUME_OPTIONS,
# whose peak a fresh start takes too.
START_OPTIONS=(--init-from checkpoints/default --lstm-units "$LSTM_UNITS" --batch-size 32
    --warmup-steps 100 --lr-decay cosine --max-points 896
    --validation-batches 8 --keep-checkpoints 2 --log-every 50)
# From session 2 on the peak is 1e-4: at 2e-4 no size regained the start's validation NLL within
# 0.3-1 CPU hours (docs/training.md, stage F). The cosine spans --steps: 24,000 steps (2.9e8
# points) fit in about eight sessions of about 3,500 steps on this CPU, and the rate must have
# fallen by the end, not be half-way down a 60,000-step curve (session 2 changed it at step 1,500).
# From step 2,7xx (session 2) validation and best/ judge a moving average of the weights (decay 0.999,
# about the last thousand steps): single checkpoints at the peak rate wandered (stage F, interim checks).
RESUME_OPTIONS=(--validation-every 500 --checkpoint-every 250 --intra-op-threads 2 --learning-rate 1e-4
    --steps 24000 --ema-decay 0.999)

die() { echo "fluent_training.sh: $*" >&2; exit 2; }
running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

make_mix() {
    # The shipped model's parts (stage H6) with UNIPEN's words joined into lines instead of single
    # words; the validation fraction holds out exactly stage H4's writers.
    local parts=$DATA
    [[ -f $parts/human-mix-h4.npz ]] || { [[ -d $UNIPEN/data ]] || die "no UNIPEN at $UNIPEN (see the header)";
        DATA_DIR=$parts scripts/rebuild_human_mix.sh "$UNIPEN"; }
    [[ -f $parts/unipen-word-lines.npz ]] || handwriting prepare word-lines "$parts/unipen-words-train.npz" \
        --spacing-from "$parts/unipen.npz" --seed 0 -o "$parts/unipen-word-lines.npz"
    handwriting prepare mix unipen="$parts/unipen.npz" fonts="$parts/fonts-mix.npz:4000+0123456789" \
        fonts="$parts/fonts-first-person-train.npz" unipen="$parts/unipen-word-lines.npz" --seed 1 -o "$mix"
}

validation_fraction() {
    # Stage H4's 1,779 held-out lines (its writers), as a fraction of this mix.
    python3 -c "from handwriting.datasets import load_dataset as l; print((1779 - 0.5) / len(l('$mix')))"
}

case ${1:-} in
resume)
    minutes=${2:?usage: $0 resume MINUTES}
    running && die "already running (pid $(cat "$pidfile"))"
    mkdir -p "$RUNS" "$DATA"
    [[ -f $mix ]] || make_mix
    if [[ -f $run/config.json ]]; then
        options=(--resume "${RESUME_OPTIONS[@]}")
    else
        options=("${START_OPTIONS[@]}" "${RESUME_OPTIONS[@]}" --validation-fraction "$(validation_fraction)")
    fi
    nohup nice -n 5 handwriting train --data "$mix" --out "$run" --max-minutes "$minutes" "${options[@]}" \
        >> "$log" 2>&1 &
    echo $! > "$pidfile"
    echo "training in the background (pid $!, $minutes minutes); log $log"
    ;;
stop)
    running || { echo "not running"; exit 0; }
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 2; done
    rm -f "$pidfile"
    tail -n 2 "$log"
    ;;
status)
    running && echo "running (pid $(cat "$pidfile"))" || echo "not running"
    [[ -f $log ]] && grep -E "^step [0-9]+/" "$log" | tail -n 2
    [[ -f $run/history.jsonl ]] && tail -n 3 "$run/history.jsonl"
    ;;
*)
    die "usage: $0 resume MINUTES | status | stop"
    ;;
esac
