"""benchmarks/gpu_check: on this machine, which has no GPU, the clear "no GPU" outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fingerprint_live import devices

ROOT = Path(__file__).resolve().parents[1]
NO_GPU = 3


def run(*command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_without_a_gpu_it_says_so_and_measures_what_it_can(tmp_path: Path) -> None:
    if devices._driver_problem() is None:
        pytest.skip("this machine has an NVIDIA driver")
    # No clip and a short budget: the embedder runs, the rest is skipped, each with its reason.
    done = run(sys.executable, "-m", "benchmarks.gpu_check", "--out", str(tmp_path),
               "--budget", "40")
    assert done.returncode == NO_GPU, done.stderr[-2000:]
    assert f"gpu_check: no GPU: {devices._driver_problem()}" in done.stderr
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert result["gpu"]["present"] is False and result["outcome"].startswith("no GPU: ")
    assert result["embedder"]["cpu"]["ms_1_windows"] > 0 and result["embedder"]["auto_device"] \
        == "cpu"
    skipped = result["skipped"]
    assert skipped["animate default"] == "no clip given (--clip)"
    assert skipped["fomm"].startswith("time budget") and "no GPU" in skipped["animate fomm"]
    assert result["errors"] == {}
    table = (tmp_path / "gpu_check.txt").read_text()
    assert table.startswith("gpu_check ") and "no GPU: " in table.splitlines()[0]
    assert "skipped fomm: time budget" in table


def test_the_script_refuses_unknown_arguments() -> None:
    done = run("bash", "benchmarks/gpu_check.sh", "--frobnicate", timeout=60)
    assert done.returncode == 2 and "unknown argument --frobnicate" in done.stderr
    done = run("bash", "benchmarks/gpu_check.sh", "--wheels", "/nonexistent", timeout=60)
    assert done.returncode == 2 and "is not a folder" in done.stderr
