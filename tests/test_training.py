"""Training and evaluation on real clips: the loss falls, and eval follows its protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from shared_data import clip

from fingerprint_live.cli import main as cli
from fingerprint_live.embedder import Embedder
from fingerprint_live.features import FeatureSet, head_frame
from fingerprint_live.media import iter_video
from fingerprint_live.offline.augment import CameraVariation, vary
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.offline.manifest import Clip, write_manifest
from fingerprint_live.offline.metrics import summary
from fingerprint_live.offline.training import (
    WINDOW,
    BatchSampler,
    TrainConfig,
    contrastive_loss,
    prepare,
    train,
)

CLIPS = [
    ("dreamtalk/data/style_clip/video/M030_front_angry_level3_001.mp4", "m030"),
    ("dreamtalk/data/style_clip/video/M030_front_happy_level3_001.mp4", "m030"),
    ("dreamtalk/data/style_clip/video/W009_front_angry_level3_001.mp4", "w009"),
    ("dreamtalk/data/style_clip/video/W009_front_happy_level3_001.mp4", "w009"),
    ("more/deep_avsr/audio_only/demo/00008.mp4", "lrs2_8"),
    ("more/deep_avsr/audio_only/demo/00001.mp4", "lrs2_1"),
]
PORTRAIT = "spectre/MEAD/W015_level_1_neutral_030.mp4"  # a training portrait (its first frame)


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    return [Clip(clip(p), ident, "real") for p, ident in CLIPS]


@pytest.mark.slow
def test_loss_falls_on_a_tiny_run(clips) -> None:
    prepared = prepare(clips, progress=False)
    assert len(prepared) == len(clips)
    config = TrainConfig(steps=60, drivers_per_batch=4, targets_per_batch=2, seed=1)
    _, losses = train(prepared, config, progress=False)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10]), losses


def test_batches_hold_shuffled_negatives_and_shared_targets(clips) -> None:
    sampler = BatchSampler(prepare(clips, progress=False),
                           TrainConfig(drivers_per_batch=4, targets_per_batch=1,
                                       transplant_prob=1.0))
    batch, ids, tids = sampler.sample()
    assert batch.shape[0] == 2 * len(ids) and batch.shape[1] == WINDOW
    assert (tids == 0).all()  # every view on the one target shape: all negatives are hard
    views, shuffled = batch[: len(ids)], batch[len(ids):]
    assert np.allclose(np.sort(views, axis=1), np.sort(shuffled, axis=1), atol=1e-5)
    assert not np.allclose(views, shuffled)


def test_loss_prefers_the_right_pairs() -> None:
    emb = torch.nn.functional.normalize(torch.tensor(
        [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.0, -1.0], [0.1, -0.9],
         [-1.0, 0.0], [-0.9, 0.1]]), dim=1)
    ids, tids = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
    good = contrastive_loss(emb, ids, tids, 0.1, 2.0)
    swapped = contrastive_loss(emb, torch.tensor([0, 1, 0, 1]), tids, 0.1, 2.0)
    assert good < swapped


def test_eval_reports_the_protocol(clips, tmp_path) -> None:
    manifest = tmp_path / "m.csv"
    write_manifest(clips, manifest)
    out = tmp_path / "eval.json"
    assert cli(["eval", "--manifest", str(manifest), "-o", str(out), "--quiet",
                "--takeover"]) == 0
    result = json.loads(out.read_text())
    for key in ("auc", "eer", "tpr_at_fpr_1pct", "n_genuine", "n_impostor", "skipped", "model"):
        assert key in result
    # 6 clips, 2 identities with 2 clips each: 4 ordered genuine pairs, 30 - 4 impostor pairs.
    assert (result["n_genuine"], result["n_impostor"]) == (4, 26)
    assert result["skipped"] == []
    genuine = np.array(result["pairs"]["genuine"]["score"])
    impostor = np.array(result["pairs"]["impostor"]["score"])
    assert (len(genuine), len(impostor)) == (4, 26)
    assert result["auc"] == pytest.approx(summary(genuine, impostor)["auc"], abs=1e-6)
    # the shipped model was trained on these very clips: it must separate them
    assert result["auc"] >= 0.9 and genuine.min() > np.median(impostor)
    takeover = result["takeover"]
    assert takeover["streams"] == 4 * 3
    assert len(takeover["delays_s"]) == takeover["detected"] >= 1
    assert all(0 <= d <= 6 for d in takeover["delays_s"])  # within the other person's clip
    assert takeover["false_mismatches"] == 0  # people it was trained on: no false alarm


def _stretch(clips) -> tuple[np.ndarray, np.ndarray]:
    """Three seconds of a real clip's landmarks, every frame with a face."""
    marks = extract_clip(clips[0].path)
    keep = marks.found & (marks.times < marks.times[0] + 3.0)
    return marks.times[keep], marks.points[keep]


def _only(**change) -> CameraVariation:
    """A variation that does only what ``change`` turns on."""
    off = dict(prob=1.0, warp=0.0, fps=(1e3, 1e3), drop=0.0, rotate_deg=0.0, jitter=0.0,
               smooth_prob=0.0)
    return CameraVariation(**{**off, **change})


def test_each_camera_variation_does_what_it_says(clips) -> None:
    times, points = _stretch(clips)
    start, rng = float(times[0]), np.random.default_rng
    assert len(times) >= 60
    t, p = vary(times, points, start, rng(0), _only())  # everything off: the clip as it is
    assert np.array_equal(t, times) and np.allclose(p, points, atol=1e-3)

    a, b = (vary(times, points, start, rng(3), CameraVariation(prob=1.0)) for _ in range(2))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # seeded

    spans = [np.ptp(vary(times, points, start, rng(s), _only(warp=0.15))[0]) / np.ptp(times)
             for s in range(20)]
    assert 0.85 <= min(spans) < 0.97 and 1.03 < max(spans) <= 1.15  # +-15%, both ways

    rate = len(times) / np.ptp(times)
    t, p = vary(times, points, start, rng(1), _only(fps=(15.0, 15.0)))
    assert abs(len(t) / np.ptp(times) - 15.0) < 1.0 < rate - 15.0  # thinned to 15 fps

    t, p = vary(times, points, start, rng(2), _only(rotate_deg=8.0))
    before = np.linalg.norm(points[:, 1] - points[:, 152], axis=1)  # forehead to chin, 3-D
    assert np.allclose(np.linalg.norm(p[:, 1] - p[:, 152], axis=1), before, rtol=1e-4)
    assert not np.allclose(p[..., :2], points[..., :2], atol=1e-3)  # the picture changes
    np.testing.assert_allclose(head_frame(p)[0], head_frame(points)[0], atol=1e-4)

    width = np.median(np.ptp(points[..., 0], axis=1))
    t, p = vary(times, points, start, rng(4), _only(jitter=0.004))
    assert np.std(p - points) == pytest.approx(0.004 * width, rel=0.05)


def test_avatar_views_show_every_driver_on_one_portrait(clips) -> None:
    portrait = next(iter_video(clip(PORTRAIT))).image
    chosen = [clips[0], clips[2]]  # M030 and W009: a man and a woman, different face shapes
    prepared = prepare(chosen, progress=False, portraits=[portrait])
    raw_m, raw_w = (p.shape for p in prepared)
    on_m, on_w = (p.renders[0].shape for p in prepared)
    # rendered onto one face, their rest shapes are far closer than their own are
    assert np.linalg.norm(on_m - on_w) < 0.5 * np.linalg.norm(raw_m - raw_w)

    sampler = BatchSampler(prepared, TrainConfig(drivers_per_batch=2, targets_per_batch=2,
                                                 avatar_prob=1.0))
    batch, ids, tids = sampler.sample()
    assert sorted(set(ids.tolist())) == [0, 1]
    assert (tids == 2).all()  # every view on portrait 0, after the 2 landmark-space targets
    assert np.isfinite(batch).all()


@pytest.mark.slow
def test_a_model_of_other_features_is_read_and_used_as_its_card_says(clips, tmp_path) -> None:
    manifest, out = tmp_path / "m.csv", tmp_path / "model"
    write_manifest(clips[:4], manifest)
    assert cli(["train", "--manifest", str(manifest), "-o", str(out), "--steps", "20",
                "--points", "core23", "--space", "head", "--velocity", "--pose-width", "8",
                "--vary", "--quiet", "--json"]) == 0
    card = json.loads((out / "embedder.json").read_text())
    features = FeatureSet("core23", "head", True, True)
    assert card["features"] == features.to_dict() and card["channels"] == features.channels
    assert card["varied"] and card["pose_width"] == 8
    embedder = Embedder(out, device="cpu")
    assert embedder.info.features == features
    marks = extract_clip(clips[4].path)
    emb, seconds = embedder.embed_clip(marks.times, marks.points)
    assert seconds > 2 and emb.shape[1] == embedder.info.dimension and len(emb) >= 3
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("pose_width", [0, 8])
def test_the_exported_model_computes_what_the_trained_one_does(tmp_path, pose_width) -> None:
    """The supported exporter (torch.export), with no warning from this project's code: one
    self-contained ONNX file whose outputs are the network's, at any batch size."""
    import warnings

    import onnxruntime as ort

    from fingerprint_live.offline.embedder_net import MotionEmbedder
    from fingerprint_live.offline.training import export

    features = FeatureSet("core23", "image")
    pose = list(range(features.channels - 6, features.channels))
    torch.manual_seed(3)
    model = MotionEmbedder(features.channels, pose=pose, pose_width=pose_width).eval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = export(model, tmp_path / "model", {"steps": 0}, features)
    ours = [f"{w.filename}:{w.lineno} {w.message}" for w in caught
            if "fingerprint_live" in w.filename or issubclass(w.category, DeprecationWarning)]
    assert not ours, ours
    assert sorted(p.name for p in path.parent.iterdir()) == ["embedder.json", "embedder.onnx"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for batch in (1, 7):
        windows = rng.normal(size=(batch, WINDOW, features.channels)).astype(np.float32)
        (got,) = session.run(None, {"windows": windows})
        with torch.no_grad():
            want = model(torch.from_numpy(windows)).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert Embedder(path.parent, device="cpu").info.dimension == want.shape[1]
