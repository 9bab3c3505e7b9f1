"""Fixtures shared by the tests: the models and one M030 enrollment for the session."""

from __future__ import annotations

import pytest
from live_helpers import enroll_m030

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.face_descriptor import DescriptorInfo, FaceDescriptor


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def descriptor() -> FaceDescriptor:
    """dlib's face descriptor, in this process (tests may hold the GIL)."""
    return FaceDescriptor()


@pytest.fixture(scope="session")
def faces(descriptor: FaceDescriptor) -> DescriptorInfo:
    return descriptor.info


@pytest.fixture(scope="session")
def enrollment(embedder: Embedder, descriptor: FaceDescriptor) -> Enrollment:
    """M030's motion and face, from four recordings."""
    return enroll_m030(embedder, descriptor)


@pytest.fixture
def gpu_install_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime as the `gpu` extra installs it, on this machine, which has no usable CUDA.

    Only the provider list is stood in for (what onnxruntime-gpu reports: its CUDA build cannot
    be installed beside the CPU one); the driver and library probes run for real.
    """
    import onnxruntime

    from fingerprint_live import devices

    providers = [devices.TENSORRT, devices.CUDA, devices.CPU]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: providers)
    monkeypatch.setattr(devices, "_said", set())
    devices.cuda_problem.cache_clear()
    devices.tensorrt_usable.cache_clear()
    if devices.cuda_problem() is None:
        pytest.skip("this machine has a usable CUDA device")
    yield
    devices.cuda_problem.cache_clear()
    devices.tensorrt_usable.cache_clear()
