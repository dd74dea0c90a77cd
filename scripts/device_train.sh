#!/usr/bin/env bash
# Train on a lent GPU machine in one time-budgeted chunk, on the JAX backend, and bring the run
# directory back. The device machine has JAX, numpy, h5py and matplotlib but not TensorFlow or
# Keras; Keras travels as wheels. docs/training-howto.md, "On a lent GPU", has the whole recipe.
#
# Here, once per checkout (downloads keras, namex and optree for the device's Python 3.12):
#     scripts/device_train.sh --wheels
# There (the device tool's `run`, carrying .whl, the dataset, and RUN_DIR and RUN_DIR.xla when resuming):
#     bash scripts/device_train.sh DATA.npz RUN_DIR MINUTES [handwriting train options...]
# A RUN_DIR that holds a run is resumed (--resume); otherwise the options start one (e.g.
# --init-from checkpoints/default --batch-size 256 ...). It writes, under $OUT:
#     train.log   everything the run printed, the device's name and JAX's version first
#     run.tar     RUN_DIR: config, weights, best/, the checkpoints (tar -xf run.tar -C <RUN_DIR's parent>)
#     xla.tar     RUN_DIR.xla, JAX's compilation cache for this run (carried back, it saves the compiling)
set -euo pipefail

KERAS_VERSION=3.15.1
NAMEX_VERSION=0.1.0
OPTREE_VERSION=0.20.0
#: The device machine's Python, for the wheels' tags (KINDS.md of the device tool).
DEVICE_PYTHON=3.12
#: A file that comes back through $OUT may be at most this large (the device tool's limit).
MAX_RETURN_BYTES=$((16 * 1024 * 1024))

die() { echo "device_train.sh: $*" >&2; exit 2; }

if [[ "${1:-}" == "--wheels" ]]; then
    cd "$(dirname "$0")/.."
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$DEVICE_PYTHON" \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
        "keras==$KERAS_VERSION" "namex==$NAMEX_VERSION" "optree==$OPTREE_VERSION"
    ls .whl
    exit 0
fi

[[ $# -ge 3 ]] || die "usage: $0 DATA.npz RUN_DIR MINUTES [train options...] (or --wheels, here)"
data=$1 run=${2%/} minutes=$3
shift 3
[[ -f "$data" ]] || die "no dataset file $data: name it in the run's carry"
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MINUTES must be a number, not '$minutes'"
out=${OUT:-/tmp/device-out}  # $OUT is set on the device machine
mkdir -p "$out"
root=$(cd "$(dirname "$0")/.." && pwd)
parent=$(cd "$(dirname "$run")" 2>/dev/null && pwd) || die "no folder $(dirname "$run") for the run directory"
name=$(basename "$run")

if compgen -G "$root/.whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$root"/.whl/*.whl
    export PYTHONPATH=/tmp/site:$root${PYTHONPATH:+:$PYTHONPATH}
else
    export PYTHONPATH=$root${PYTHONPATH:+:$PYTHONPATH}
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 HANDWRITING_XLA_CACHE=$parent/$name.xla

resume=()
[[ -f "$run/config.json" ]] && resume=(--resume)
set +e
{
    nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
    python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), '| keras', keras.__version__)"
    python3 -m handwriting train --data "$data" --out "$run" --max-minutes "$minutes" "${resume[@]}" "$@"
} 2>&1 | tee "$out/train.log"
status=${PIPESTATUS[0]}
set -e

# Bring back what a later chunk, a release or a CPU --resume needs; each file within the limit.
# Both archives hold the folder by its own name: unpack them where RUN_DIR's parent is (tar -C).
if [[ -d "$run" ]]; then
    tar -C "$parent" -cf "$out/run.tar" "$name"
    [[ $(stat -c %s "$out/run.tar") -le $MAX_RETURN_BYTES ]] || echo "run.tar is over 16 MiB and will not come back: lower --keep-checkpoints" >&2
fi
if [[ -d "$parent/$name.xla" ]]; then
    tar -C "$parent" -cf "$out/xla.tar" "$name.xla"
    [[ $(stat -c %s "$out/xla.tar") -le $MAX_RETURN_BYTES ]] || rm -f "$out/xla.tar"
fi
exit $status
