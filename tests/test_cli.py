"""The command line as a user meets it: clean output, clear errors, no tracebacks.

Run as real processes, so that what native code writes to file descriptor 2 is seen too.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from live_helpers import ENROLL, GENUINE
from shared_data import clip

from fingerprint_live.attest import key_id
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.media import iter_video

NATIVE_NOISE = ("W0000", "XNNPACK", "absl::InitializeLog", "inference_feedback_manager")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fingerprint_live.cli", *args],
                          capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.mark.slow
def test_enroll_and_verify_print_only_what_they_mean(tmp_path) -> None:
    fpe = tmp_path / "me.fpe"
    enrolled = run("enroll", *[str(clip(p)) for p in ENROLL[:3]], "-o", str(fpe),
                   "--min-seconds", "5", "--json", "--quiet")
    assert enrolled.returncode == 0, enrolled.stderr
    summary = json.loads(enrolled.stdout)
    assert summary["faces"] > 0
    key = tmp_path / "me.key"  # made beside the enrollment, private; its public key inside
    assert summary["key_made"] and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key_id(Enrollment.from_bytes(fpe.read_bytes()).public_key) == summary["key_id"]
    copy = tmp_path / "copy.fpe"
    assert run("export", str(fpe), "-o", str(copy)).returncode == 0
    assert key_id(Enrollment.from_bytes(copy.read_bytes()).public_key) == summary["key_id"]
    assert "frame/s" not in enrolled.stderr, "--quiet draws no progress bar"
    verified = run("verify", "--enrollment", str(fpe), str(clip(GENUINE)))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip().splitlines()[-1] == "verdict: VERIFIED"
    for noise in NATIVE_NOISE:
        assert noise not in enrolled.stderr + verified.stderr, (enrolled.stderr, verified.stderr)
    human = run("enroll", *[str(clip(p)) for p in ENROLL[:3]], "-o", str(fpe),
                "--min-seconds", "5")
    assert human.stdout.startswith("enrolled 3 video(s)") and "face:" in human.stdout
    frames = sum(1 for p in ENROLL[:3] for _ in iter_video(clip(p)))
    for bar in ("landmarks", "faces"):  # on stderr, as animate's, the unit spaced off
        assert re.search(rf"{bar}: 100%.*\| {frames}/{frames} \[.*\d frame/s\]",
                         human.stderr), human.stderr
    assert not re.search(r"\dframe|s/ frame", human.stderr), human.stderr


def test_every_progress_bar_is_drawn_one_way() -> None:
    """tqdm is used through fingerprint_live.progress only: one look, one unit style."""
    root = Path(__file__).parents[1]
    users = [p.relative_to(root).as_posix() for folder in ("fingerprint_live", "benchmarks")
             for p in (root / folder).rglob("*.py") if "from tqdm" in p.read_text()
             or "import tqdm" in p.read_text()]
    assert users == ["fingerprint_live/progress.py"], users


@pytest.mark.slow
def test_bad_arguments_are_refused_in_one_line(tmp_path) -> None:
    fpe = tmp_path / "none.fpe"
    for args, message in (
            (("verify", "--enrollment", str(fpe), str(clip(GENUINE)), "--threshold", "5"),
             "cosine between -1 and 1"),
            (("cam", "--backend", "foo", "--policy", "off", "--input", str(clip(GENUINE))),
             "no virtual camera backend is called 'foo'"),
            (("animate", "--driver", str(clip("pyfeat/feat/tests/data/no_face.mp4")), "-o",
              str(tmp_path / "still.mp4")), "no face was found")):
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert "Exception ignored" not in done.stderr, done.stderr
    assert not (tmp_path / "still.mp4").exists(), "no still video is left behind"
