"""The README's Python API runs as written: its code block, with real clips for its files."""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path

import pytest
from shared_data import clip

from fingerprint_live.media import iter_video

README = Path(__file__).parents[1] / "README.md"
#: Fei-Fei Li's three recordings: two to enroll (17 s), one to verify.
FEIFEI = "styletalk/samples/source_video/video/feifeili_{}.mp4"
ENROLL, CALL = [FEIFEI.format("clip1"), FEIFEI.format("clip3")], FEIFEI.format("clip2_short")


def readme_block(title: str) -> str:
    """The first ```python block after the heading ``title``."""
    text = README.read_text()
    section = text[text.index(f"## {title}"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_python_api_runs_as_written(tmp_path, monkeypatch) -> None:
    code = readme_block("Python API")
    assert code.count("import ") <= 2, "enrolling and verifying take at most two imports"
    files = {"me_talking_1.mp4": clip(ENROLL[0]), "me_talking_2.mp4": clip(ENROLL[1]),
             "call_recording.mp4": clip(CALL)}
    for name, path in files.items():
        assert name in code, f"the README no longer uses {name}"
        (tmp_path / name).symlink_to(path)
    monkeypatch.chdir(tmp_path)
    printed = []

    def camera_frames():
        for frame in islice(iter_video(clip(CALL)), 75):
            yield frame.image, frame.time

    scope = {"camera_frames": camera_frames, "print": lambda *a: printed.append(a)}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own code
    assert (tmp_path / "me.fpe").is_file()
    assert printed and printed[0][0] == "VERIFIED", printed
    assert scope["frame"].state.value in ("WARMING_UP", "VERIFIED", "SUSPECT")
