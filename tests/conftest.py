"""Fixtures shared by the live tests: one embedder and one M030 enrollment for the session."""

from __future__ import annotations

import pytest
from live_helpers import enroll_m030

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def enrollment(embedder: Embedder) -> Enrollment:
    return enroll_m030(embedder)
