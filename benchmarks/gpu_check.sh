#!/usr/bin/env bash
# One run on a GPU machine, within 5 minutes: is a GPU there; FOMM 256 px per backend and
# precision (ms/frame, difference from fp32); `animate --engine fomm` end to end on a real clip;
# the motion embedder and the default avatar. Writes OUT/gpu_check.json and OUT/gpu_check.txt.
#
#   bash benchmarks/gpu_check.sh [--wheels DIR] [--out DIR] [--clip VIDEO] [--budget SECONDS]
#
# With internet, what is missing is installed from the package registries; with --wheels DIR
# (made by benchmarks/gpu_wheels.sh), from that folder only, with no network. Either way into a
# folder of its own under /tmp, put first on PYTHONPATH: the environment is left as it was.
# Exit status: 0 measured on a GPU; 3 no GPU here (the CPU-side figures are still measured);
# 1 a stage failed on a GPU machine (see the JSON); 2 bad arguments; 124 out of time.
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS="" OUT_DIR="out/gpu_check" CLIP="" BUDGET=240
PYTHON=${PYTHON:-python3}
while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) WHEELS=${2:?--wheels needs a folder}; shift 2 ;;
        --out) OUT_DIR=${2:?--out needs a folder}; shift 2 ;;
        --clip) CLIP=${2:?--clip needs a video}; shift 2 ;;
        --budget) BUDGET=${2:?--budget needs seconds}; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$WHEELS" ] && [ ! -d "$WHEELS" ]; then
    echo "gpu_check.sh: --wheels $WHEELS is not a folder" >&2; exit 2
fi
if [ -z "$CLIP" ]; then
    for candidate in "$WHEELS/clip.mp4" ../shared/data/liveportrait/driving/d12.mp4; do
        if [ -f "$candidate" ]; then CLIP=$candidate; break; fi
    done
fi

# MediaPipe 0.10.21's graphs parse under protobuf 4 only, and onnx (the FOMM export) needs a
# newer one: protobuf 4 goes to a folder of its own, put first for MediaPipe's processes only.
TMP=$(mktemp -d /tmp/gpu_check.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
SITE=$TMP/site PROTOBUF4=$TMP/protobuf4
install() {  # install TARGET PACKAGE-OR-WHEEL...: no dependencies, nothing already there replaced
    local target=$1; shift
    "$PYTHON" -m pip install --quiet --no-deps --no-compile --no-cache-dir --target "$target" \
        ${WHEELS:+--no-index} "$@" || echo "gpu_check.sh: could not install $*" >&2
}
if [ -n "$WHEELS" ]; then
    shopt -s nullglob
    protobuf=() others=()
    for wheel in "$WHEELS"/*.whl; do
        case $(basename "$wheel") in protobuf-*) protobuf+=("$wheel") ;; *) others+=("$wheel") ;; esac
    done
    [ ${#others[@]} -eq 0 ] || install "$SITE" "${others[@]}"
    [ ${#protobuf[@]} -eq 0 ] || install "$PROTOBUF4" "${protobuf[@]}"
else
    mapfile -t wanted < <("$PYTHON" benchmarks/gpu_check_needs.py)
    [ ${#wanted[@]} -eq 0 ] || install "$SITE" "${wanted[@]}"
    "$PYTHON" -c 'import google.protobuf as p; assert p.__version__.startswith("4.")' 2>/dev/null ||
        install "$PROTOBUF4" "protobuf==4.25.9"
fi

export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" GPU_CHECK_MEDIAPIPE_PATH=$PROTOBUF4
export GLOG_minloglevel=2 TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
timeout $((BUDGET + 45)) "$PYTHON" -m benchmarks.gpu_check --out "$OUT_DIR" \
    --budget "$BUDGET" ${CLIP:+--clip "$CLIP"}
status=$?
[ $status -eq 124 ] && echo "gpu_check.sh: stopped at the time limit; $OUT_DIR has what was measured" >&2
exit $status
