#!/usr/bin/env bash
# What benchmarks/gpu_check.sh needs on a GPU machine that has no network, in one folder:
# the wheels its Python lacks there and one real clip to animate.
#
#   PYTHON=.venv/bin/python bash benchmarks/gpu_wheels.sh [DIR]     # DIR defaults to .whl
#   bash benchmarks/gpu_check.sh --wheels DIR                       # there, offline
#
# Made for a machine that has Python 3.12, torch, numpy, OpenCV, PyYAML and onnxruntime already
# (GPU_PYTHON=3.11 etc. for another Python). Wheels: mediapipe 0.10.21 (the last with the face
# mesh), PyAV and protobuf 4.25 (mediapipe's graphs do not parse under protobuf 5). mediapipe's
# wheel carries models for pose, hands, iris and segmentation that the face mesh never loads:
# they are left out, so that everything fits the 64 MiB a call may carry. onnxruntime-gpu does
# not fit (its wheel is 247 MB) and is not fetched: gpu_check.sh says so and measures the rest.
set -euo pipefail

DIR=${1:-.whl}
PYTHON=${PYTHON:-python3}
GPU_PYTHON=${GPU_PYTHON:-3.12}
CLIP=${CLIP:-$(dirname "$0")/../../shared/data/liveportrait/driving/d12.mp4}
LIMIT=$((64 * 1024 * 1024))
WHEELS=(mediapipe==0.10.21 av==18.1.0 protobuf==4.25.9)

mkdir -p "$DIR"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version "$GPU_PYTHON" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$DIR" "${WHEELS[@]}"

# The face mesh loads face_detection and face_landmark models only.
"$PYTHON" - "$DIR" <<'EOF'
import sys, zipfile
from pathlib import Path

UNUSED = ("pose_landmark", "pose_detection", "hand_landmark", "palm_detection", "iris_landmark",
          "selfie_segmentation", "holistic_landmark")
for wheel in Path(sys.argv[1]).glob("mediapipe-*.whl"):
    trimmed = wheel.with_suffix(".trim")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            parts = item.filename.split("/")
            if not (item.filename.endswith(".tflite") and parts[1] == "modules"
                    and parts[2] in UNUSED):
                dst.writestr(item, src.read(item))
    trimmed.replace(wheel)
EOF

if [ -f "$CLIP" ]; then
    install -m 644 "$CLIP" "$DIR/clip.mp4"
else
    echo "no clip at $CLIP (set CLIP=...): gpu_check.sh will skip the end-to-end run" >&2
fi

ls -l "$DIR"
total=$(du -cb "$DIR"/* | tail -1 | cut -f1)
echo "total $total bytes of $LIMIT that may travel"
[ "$total" -le "$LIMIT" ] || { echo "too large to travel" >&2; exit 1; }
