"""What gpu_check.sh must install here, one requirement a line: only what is missing.

Installed without dependencies into a folder of gpu_check's own, so nothing already here is
replaced (MediaPipe's own requirements would pull numpy < 2 and a second OpenCV).
"""

from __future__ import annotations

import importlib.util

WANTED = {
    "mediapipe": ["mediapipe==0.10.21"],  # the last wheel with the face mesh
    "av": ["av"],
    "onnxscript": ["onnxscript", "onnx-ir", "ml_dtypes"],  # torch's ONNX exporter
}

for module, requirements in WANTED.items():
    if importlib.util.find_spec(module) is None:
        print("\n".join(requirements))
try:
    import onnxruntime
    import torch

    if (torch.cuda.is_available()
            and "CUDAExecutionProvider" not in onnxruntime.get_available_providers()):
        print("onnxruntime-gpu")  # CUDA 13, like torch's; its CUDA libraries come with torch's
except ImportError:
    pass
