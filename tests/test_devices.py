"""Where onnxruntime runs: the CPU build, and a GPU install on a machine without usable CUDA."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fingerprint_live import devices
from fingerprint_live.embedder import Embedder
from fingerprint_live.errors import ModelError

LINE = re.compile(r"fingerprint-live: onnxruntime-gpu is installed but CUDA is not usable "
                  r"\((?P<why>[^\n]+)\); running on the CPU\.\n")


def test_cpu_build_runs_on_the_cpu_quietly(capsys):
    assert not devices.gpu_build()
    assert devices.onnx_device(None) == devices.onnx_device("auto") == "cpu"
    assert capsys.readouterr().err == ""  # the CPU build was chosen: nothing to say
    with pytest.raises(ModelError, match=r"no CUDA provider: install fingerprint-live\[gpu\]"):
        devices.onnx_device("cuda")
    with pytest.raises(ModelError, match="cpu, cuda or auto"):
        devices.onnx_device("gpu")


def test_gpu_install_without_cuda_says_why_once_then_runs_on_the_cpu(gpu_install_without_cuda,
                                                                       capsys):
    assert devices.gpu_build()
    assert devices.onnx_device(None) == "cpu"
    said = LINE.fullmatch(capsys.readouterr().err)
    assert said, "one line, and only one"
    assert said["why"] == devices.cuda_problem()
    assert devices.onnx_device("auto") == "cpu"
    assert capsys.readouterr().err == ""  # once per process
    with pytest.raises(ModelError, match=re.escape(devices.cuda_problem())):
        devices.onnx_device("cuda")  # asked for explicitly: an error, not a fallback
    assert not devices.tensorrt_usable()  # the provider is listed, but TensorRT is not there

    embedder = Embedder()  # the shipped model, device auto
    assert embedder.info.device == "cpu"
    windows = np.zeros((2, embedder.info.window, embedder.info.features.channels), np.float32)
    assert embedder.embed(windows).shape == (2, embedder.info.dimension)
    assert capsys.readouterr().err == ""
