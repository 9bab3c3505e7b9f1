"""Training and evaluation on real clips: the loss falls, and eval follows its protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from shared_data import clip

from fingerprint_live.cli import main as cli
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


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    return [Clip(clip(p), ident, "real") for p, ident in CLIPS]


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
