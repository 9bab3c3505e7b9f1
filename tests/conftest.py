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
