"""A motion model of several branches: trained per space, joined, scored by each view's mix."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest
from shared_data import clip

from fingerprint_live.cli import main as cli
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment, Vectors
from fingerprint_live.errors import EnrollmentError, ModelError
from fingerprint_live.features import FeatureSet, frame_features
from fingerprint_live.offline.calibrate import fit_mix
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.offline.manifest import Clip, write_manifest
from fingerprint_live.windows import clip_windows

CLIPS = [
    ("dreamtalk/data/style_clip/video/M030_front_angry_level3_001.mp4", "m030"),
    ("dreamtalk/data/style_clip/video/M030_front_happy_level3_001.mp4", "m030"),
    ("dreamtalk/data/style_clip/video/W009_front_angry_level3_001.mp4", "w009"),
    ("dreamtalk/data/style_clip/video/W009_front_happy_level3_001.mp4", "w009"),
]
PROBE = "more/deep_avsr/audio_only/demo/00008.mp4"
BOTH = FeatureSet("core23", "image+head")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A two-branch model trained briefly on four real clips."""
    root = tmp_path_factory.mktemp("branches")
    manifest, out = root / "m.csv", root / "model"
    write_manifest([Clip(clip(p), i, "real") for p, i in CLIPS], manifest)
    args = ["train", "--manifest", str(manifest), "-o", str(out), "--steps", "20", "--points",
            "core23", "--space", "image+head", "--quiet"]
    assert cli(args) == 0
    return out, args


def test_each_branch_reads_what_its_space_alone_gives() -> None:
    marks = extract_clip(clip(PROBE))
    both = clip_windows(marks.times, frame_features(marks.points, BOTH), 50, 5, BOTH)
    for single, channels in BOTH.branches():
        alone = clip_windows(marks.times, frame_features(marks.points, single), 50, 5, single)
        np.testing.assert_array_equal(both[..., channels], alone)
    assert BOTH.channels == 2 * 253 + 6


@pytest.mark.slow
def test_the_joined_model_is_its_branches_side_by_side(model) -> None:
    out, _ = model
    card = json.loads((out / "embedder.json").read_text())
    assert card["features"] == BOTH.to_dict() and [b["space"] for b in card["branches"]] == [
        "image", "head"]
    windows = np.random.default_rng(0).normal(size=(3, 50, BOTH.channels)).astype(np.float32)
    joined = ort.InferenceSession(str(out / "embedder.onnx"), providers=["CPUExecutionProvider"])
    (both,) = joined.run(None, {"windows": windows})
    parts = []
    for single, channels in BOTH.branches():
        session = ort.InferenceSession(str(out / "branches" / single.space / "embedder.onnx"),
                                       providers=["CPUExecutionProvider"])
        parts.append(session.run(None, {"windows": windows[..., channels]})[0])
    np.testing.assert_allclose(both, np.concatenate(parts, axis=1), atol=1e-6)

    embedder = Embedder(out, device="cpu")
    assert embedder.info.branches == 2 and embedder.info.dimension == both.shape[1]
    assert embedder.info.mix("avatar") == (0.5, 0.5)  # nothing fitted yet: equal
    marks = extract_clip(clip(PROBE))
    emb, _ = embedder.embed_clip(marks.times, marks.points)
    halves = emb.reshape(len(emb), 2, -1)
    np.testing.assert_allclose(np.linalg.norm(halves, axis=2), 1.0, atol=1e-4)


@pytest.mark.slow
def test_a_repeated_run_reuses_its_branches_and_refuses_others(model, capsys) -> None:
    out, args = model
    branch = out / "branches" / "head" / "embedder.onnx"
    before = branch.stat().st_mtime_ns
    assert cli(args) == 0
    assert branch.stat().st_mtime_ns == before  # not trained again
    assert cli([*args[:-1], "--seed", "3", "--quiet"]) == 2
    assert "other data or settings; remove it" in capsys.readouterr().err
    assert branch.stat().st_mtime_ns == before


@pytest.mark.slow
def test_each_view_weighs_the_branches_by_its_mix(model, tmp_path) -> None:
    out, _ = model
    custom = tmp_path / "model"
    custom.mkdir()
    for name in ("embedder.onnx", "embedder.json"):
        shutil.copy(out / name, custom / name)
    card = json.loads((custom / "embedder.json").read_text())
    card["mix"] = {"camera": [0.25, 0.75], "avatar": [1.0, 0.0]}
    (custom / "embedder.json").write_text(json.dumps(card))
    embedder = Embedder(custom, device="cpu")
    assert embedder.info.mix("camera") == (0.25, 0.75)
    marks = extract_clip(clip(PROBE))
    emb, _ = embedder.embed_clip(marks.times, marks.points)
    enrollment = Enrollment(Vectors(embedder.info.model_id, emb[: len(emb) // 2]))
    per_branch = enrollment.branch_scores(emb, 2)
    np.testing.assert_allclose(enrollment.motion_scores(emb, embedder.info.mix("camera")),
                               per_branch @ [0.25, 0.75], atol=1e-6)
    np.testing.assert_allclose(enrollment.motion_scores(emb, embedder.info.mix("avatar")),
                               per_branch[:, 0], atol=1e-6)
    assert not np.allclose(per_branch[:, 0], per_branch[:, 1])

    half = emb.shape[1] // 2
    half_zero = np.concatenate([emb[:, :half], np.zeros_like(emb[:, half:])], axis=1)
    with pytest.raises(EnrollmentError, match="not usable"):
        Enrollment(Vectors(embedder.info.model_id, half_zero)).motion_scores(emb, (0.5, 0.5))

    card["mix"] = {"camera": [1.0]}
    (custom / "embedder.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="each of the model's 2 branches"):
        Embedder(custom, device="cpu")


def test_the_mix_follows_the_branch_that_separates() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(400, 2))
    genuine = noise[:200] + [0.0, 2.0]  # only the second branch tells genuine from impostor
    assert fit_mix(genuine, noise[200:]) == (0.0, 1.0)
    assert fit_mix(genuine[:, ::-1], noise[200:, ::-1]) == (1.0, 0.0)
