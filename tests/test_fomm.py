"""FOMM engine: checkpoint layout and strict loading, relative-motion maths, ONNX parity.

Random weights stand in for the authors' checkpoint, saved in exactly its layout.
"""

from __future__ import annotations

import argparse
import copy
import re

import av
import numpy as np
import pytest
import torch
from shared_data import clip

from fingerprint_live.avatar.fomm import FommAvatar
from fingerprint_live.avatar.fomm.blocks import (
    AntiAliasInterpolation2d,
    inverse2x2,
    make_coordinate_grid,
)
from fingerprint_live.avatar.fomm.checkpoint import build_modules, load_checkpoint
from fingerprint_live.avatar.fomm.config import VOX_CPK_BYTES, load_config, onnx_paths
from fingerprint_live.avatar.fomm.engine import movement_scale
from fingerprint_live.avatar.fomm.export import export_graph
from fingerprint_live.avatar.fomm.keypoint_detector import Keypoints
from fingerprint_live.avatar.fomm.motion import relative_keypoints
from fingerprint_live.avatar.fomm.runtime import OnnxRunner, TorchRunner
from fingerprint_live.cli import main
from fingerprint_live.errors import ModelError, NoFaceError
from fingerprint_live.landmarks import FaceLandmarks

torch.set_num_threads(2)


def randomize(*modules: torch.nn.Module, seed: int = 0) -> None:
    """Random batch-norm statistics and non-identity Jacobians, so nothing is trivially equal."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in modules:
            for sub in module.modules():
                if isinstance(sub, torch.nn.BatchNorm2d):
                    sub.running_mean.copy_(0.1 * torch.randn(sub.num_features, generator=gen))
                    sub.running_var.copy_(0.5 + torch.rand(sub.num_features, generator=gen))
                    sub.weight.copy_(0.5 + torch.rand(sub.num_features, generator=gen))
                    sub.bias.copy_(0.1 * torch.randn(sub.num_features, generator=gen))
            if hasattr(module, "jacobian"):
                module.jacobian.weight.copy_(1e-3 * torch.randn(module.jacobian.weight.shape,
                                                                generator=gen))


def tiny_config() -> dict:
    """The vox-256 structure, narrower and shallower: for fast engine and error tests."""
    config = copy.deepcopy(load_config())
    config["kp_detector_params"].update(block_expansion=4, max_features=16, num_blocks=3)
    config["generator_params"].update(block_expansion=4, max_features=16,
                                      num_bottleneck_blocks=1)
    config["generator_params"]["dense_motion_params"].update(block_expansion=4, max_features=16,
                                                             num_blocks=3)
    return config


def official_layout(kp_detector: torch.nn.Module, generator: torch.nn.Module) -> dict:
    """What the authors' Logger.save_cpk writes: every model and optimizer state, plus the epoch."""
    optimizer = {"state": {}, "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999), "params": [0]}]}
    return {
        "generator": generator.state_dict(),
        "kp_detector": kp_detector.state_dict(),
        "discriminator": {"discs.1.conv.weight": torch.zeros(2, 3, 4, 4)},
        "optimizer_generator": optimizer,
        "optimizer_kp_detector": copy.deepcopy(optimizer),
        "optimizer_discriminator": copy.deepcopy(optimizer),
        "epoch": 99,
    }


def face_box(x0: float, y0: float, side: float, width: int = 320, height: int = 240):
    """Landmarks filling a square, enough for the cropper."""
    t = np.linspace(0, 1, 468, dtype=np.float32)
    points = np.stack([x0 + side * t, y0 + side * t[::-1], np.zeros_like(t)], axis=1)
    return FaceLandmarks(points, 1, width, height)


@pytest.fixture(scope="module")
def vox():
    torch.manual_seed(0)
    kp_detector, generator = build_modules(load_config())
    randomize(kp_detector, generator)
    return kp_detector, generator


@pytest.fixture(scope="module")
def vox_checkpoint(vox, tmp_path_factory):
    path = tmp_path_factory.mktemp("fomm") / "vox-cpk.pth.tar"
    torch.save(official_layout(*vox), path)
    yield path
    for large in (path, *onnx_paths(path)):  # about 240 MB each: do not leave them in /tmp
        large.unlink(missing_ok=True)


def test_official_key_names(vox):
    kp_keys, gen_keys = (set(m.state_dict()) for m in vox)
    assert {"predictor.encoder.down_blocks.0.conv.weight", "kp.weight", "jacobian.weight",
            "down.weight", "predictor.decoder.up_blocks.4.norm.running_var"} <= kp_keys
    assert {"first.conv.weight", "down_blocks.1.norm.weight", "up_blocks.1.conv.weight",
            "bottleneck.r5.conv2.weight", "bottleneck.r0.norm1.running_mean", "final.weight",
            "dense_motion_network.hourglass.encoder.down_blocks.4.conv.weight",
            "dense_motion_network.mask.weight", "dense_motion_network.occlusion.weight",
            "dense_motion_network.down.weight"} <= gen_keys
    assert (len(kp_keys), len(gen_keys)) == (75, 196)


def test_checkpoint_round_trip(vox, vox_checkpoint):
    kp_detector, generator = load_checkpoint(vox_checkpoint)
    image = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        kp_a, kp_b = vox[0](image), kp_detector(image)
        assert torch.equal(kp_a.value, kp_b.value) and torch.equal(kp_a.jacobian, kp_b.jacobian)
        moved = Keypoints(kp_a.value + 0.05, kp_a.jacobian)
        assert torch.equal(vox[1](image, moved, kp_a), generator(image, moved, kp_a))


@pytest.fixture(scope="module")
def tiny_checkpoint_state():
    torch.manual_seed(2)
    return official_layout(*build_modules(tiny_config()))


@pytest.mark.parametrize("part, change, named", [
    ("kp_detector", lambda sd: sd.__setitem__("kp.weights", sd.pop("kp.weight")), "kp.weights"),
    ("generator", lambda sd: sd.pop("dense_motion_network.occlusion.weight"),
     "dense_motion_network.occlusion.weight"),
    ("generator", lambda sd: sd.__setitem__("final.bias", torch.zeros(4)), "final.bias"),
])
def test_mismatched_keys_are_named(tiny_checkpoint_state, tmp_path, part, change, named):
    state = copy.deepcopy(tiny_checkpoint_state)
    change(state[part])
    path = tmp_path / "broken.pth.tar"
    torch.save(state, path)
    with pytest.raises(ModelError, match=f"{part}.*{named}"):
        load_checkpoint(path, tiny_config())


def test_file_errors(tiny_checkpoint_state, tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_checkpoint(tmp_path / "absent.pth.tar")
    path = tmp_path / "small.pth.tar"
    torch.save(tiny_checkpoint_state, path)
    with pytest.raises(ModelError, match=f"{VOX_CPK_BYTES:,}"):
        load_checkpoint(path, tiny_config(), expected_size=VOX_CPK_BYTES)
    load_checkpoint(path, tiny_config(), expected_size=path.stat().st_size)
    torch.save({**tiny_checkpoint_state, "args": argparse.Namespace(a=1)}, path)
    with pytest.raises(ModelError, match="trust_pickle=True"):
        load_checkpoint(path, tiny_config())
    load_checkpoint(path, tiny_config(), trust_pickle=True)


def test_inverse2x2():
    m = torch.tensor([[4.0, 7.0], [2.0, 6.0]])
    assert torch.allclose(inverse2x2(m), torch.tensor([[0.6, -0.7], [-0.2, 0.4]]))
    noise = torch.randn(5, 10, 2, 2, generator=torch.Generator().manual_seed(0))
    batch = torch.eye(2) + 0.3 * noise
    assert torch.allclose(inverse2x2(batch), torch.linalg.inv(batch), atol=1e-5)


def test_relative_keypoints_by_hand():
    source = Keypoints(torch.tensor([[[0.1, 0.2]]]), torch.tensor([[[[1.0, 0.0], [0.0, 2.0]]]]))
    driving = Keypoints(torch.tensor([[[0.3, -0.1]]]), torch.tensor([[[[2.0, 1.0], [0.0, 1.0]]]]))
    neutral = Keypoints(torch.tensor([[[0.2, 0.0]]]), torch.tensor([[[[1.0, 1.0], [0.0, 1.0]]]]))
    # value: 0.1 + (0.3 - 0.2), 0.2 + (-0.1 - 0.0)
    # jacobian: [[2,1],[0,1]] @ inv([[1,1],[0,1]]) = [[2,1],[0,1]] @ [[1,-1],[0,1]] = [[2,-1],[0,1]]
    #           [[2,-1],[0,1]] @ [[1,0],[0,2]] = [[2,-2],[0,2]]
    new = relative_keypoints(source, driving, neutral)
    assert torch.allclose(new.value, torch.tensor([[[0.2, 0.1]]]))
    assert torch.allclose(new.jacobian, torch.tensor([[[[2.0, -2.0], [0.0, 2.0]]]]))
    # Movement scale 2: 0.1 + 2 * 0.1, 0.2 + 2 * -0.1.
    scaled = relative_keypoints(source, driving, neutral, movement_scale=2.0)
    assert torch.allclose(scaled.value, torch.tensor([[[0.3, 0.0]]]))
    # Standing still at the neutral pose leaves the portrait as it is.
    still = relative_keypoints(source, neutral, neutral)
    assert torch.allclose(still.value, source.value)
    assert torch.allclose(still.jacobian, source.jacobian)


def test_movement_scale_and_helpers_by_hand():
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], np.float32)
    assert movement_scale(2 * unit, unit) == pytest.approx(2.0)
    grid = make_coordinate_grid(3, 2, torch.zeros(()))
    assert torch.equal(grid[:, :, 0], torch.tensor([[-1.0, 1.0]] * 3))
    assert torch.equal(grid[:, 1, 1], torch.tensor([-1.0, 0.0, 1.0]))
    down = AntiAliasInterpolation2d(3, 0.25)
    assert down.weight.shape == (3, 1, 13, 13)
    assert torch.allclose(down.weight.sum(dim=(2, 3)), torch.ones(3, 1))
    flat = down(torch.full((1, 3, 64, 64), 0.5))
    assert flat.shape == (1, 3, 16, 16) and torch.allclose(flat[..., 4:12, 4:12], torch.tensor(0.5))


def frames_of(kp: tuple[np.ndarray, np.ndarray], count: int = 3):
    """Driver keypoints moved and turned a little differently each frame."""
    value, jacobian = kp
    for i in range(count):
        turn = np.array([[1.0 + 0.05 * i, 0.1], [-0.05 * i, 0.9]], np.float32)
        yield value + 0.03 * (i + 1), jacobian @ turn


def uncached(generator: torch.nn.Module, source: np.ndarray, kp_source, driving, neutral,
             scale: float) -> np.ndarray:
    """Today's per-frame computation: the whole generator, the portrait encoded anew."""
    source_kp, driving, neutral = (Keypoints(*(torch.from_numpy(a) for a in kp))
                                   for kp in (kp_source, driving, neutral))
    with torch.no_grad():
        moved = relative_keypoints(source_kp, driving, neutral, scale)
        return generator(torch.from_numpy(source), moved, source_kp).numpy()


@pytest.mark.slow
def test_cached_source_matches_per_frame_torch(vox):
    """The portrait encoded once gives the frames of encoding it every frame, frame after frame."""
    runner = TorchRunner(*vox, device="cpu")
    rng = np.random.default_rng(1)
    source = rng.random((1, 3, 256, 256), dtype=np.float32)
    kp_source = runner.set_source(source)
    neutral = runner.keypoints(rng.random((1, 3, 256, 256), dtype=np.float32))
    scale = np.full(1, 1.2, np.float32)
    outputs = []
    for driving in frames_of(neutral):
        out = runner.animate(*driving, *neutral, scale)
        np.testing.assert_allclose(out, uncached(vox[1], source, kp_source, driving, neutral, 1.2),
                                   atol=1e-5)
        outputs.append(out)
    assert np.abs(outputs[0] - outputs[-1]).max() > 1e-3  # the frames do differ


@pytest.mark.slow
def test_onnx_matches_torch(vox, vox_checkpoint):
    portrait = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    engine = FommAvatar(portrait, vox_checkpoint, backend="onnx", device="cpu", expected_size=None)
    onnx = OnnxRunner(onnx_paths(vox_checkpoint), device="cpu")
    assert onnx.providers == ["CPUExecutionProvider"] and onnx.precision == "fp32"
    reference = TorchRunner(*vox, device="cpu")

    rng = np.random.default_rng(1)
    image = rng.random((1, 3, 256, 256), dtype=np.float32)
    kp_torch, kp_onnx = reference.keypoints(image), onnx.set_source(image)
    for a, b in zip(kp_torch, kp_onnx, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
    assert not np.allclose(kp_torch[1], np.eye(2), atol=1e-3)  # the Jacobians are non-trivial
    neutral = reference.keypoints(rng.random((1, 3, 256, 256), dtype=np.float32))
    scale = np.full(1, 1.2, np.float32)
    first = None
    for driving in frames_of(neutral):
        expected = uncached(vox[1], image, kp_torch, driving, neutral, 1.2)
        out = onnx.animate(*driving, *neutral, scale)
        np.testing.assert_allclose(out, expected, atol=1e-4)
        first = out.copy() if first is None else first
    # The portrait's encoding, bound once on the device, is unchanged by the frames after it.
    again = onnx.animate(*next(frames_of(neutral)), *neutral, scale)
    np.testing.assert_array_equal(again, first)

    frame = np.random.default_rng(2).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    torch_engine = FommAvatar.from_runner(portrait, reference)
    for x0 in (100, 104, 98):
        rendered = engine.render(frame, face_box(x0, 60, 90)).image
        expected = torch_engine.render(frame, face_box(x0, 60, 90)).image
        assert np.abs(rendered.astype(int) - expected).max() <= 1


@pytest.mark.slow
def test_half_precision_graph(vox, vox_checkpoint):
    """The fp16 animator (for CUDA) reads and writes float32 and stays near the fp32 frames
    (marked slow with test_onnx_matches_torch, whose export it reads)."""
    graphs = onnx_paths(vox_checkpoint)
    assert graphs.animator_fp16.stat().st_size < 0.6 * graphs.animator.stat().st_size
    half, full = (OnnxRunner(graphs, "cpu", precision) for precision in ("fp16", "fp32"))
    image = np.random.default_rng(3).random((1, 3, 256, 256), dtype=np.float32)
    kp = half.set_source(image)
    full.set_source(image)
    driving = next(frames_of(kp))
    a = half.animate(*driving, *kp, np.ones(1, np.float32))
    b = full.animate(*driving, *kp, np.ones(1, np.float32))
    assert a.dtype == np.float32 and a.shape == (1, 3, 256, 256)
    assert np.abs(a - b).max() < 1e-2


def test_export_refuses_a_graph_that_ignores_inputs(tmp_path):
    """One tensor passed for two inputs is read as one input by torch.export: caught, no file."""

    class Difference(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a - b

    x = torch.ones(2)
    with pytest.raises(RuntimeError, match="ignores its inputs"):
        export_graph(Difference().eval(), (x, x), tmp_path / "d.onnx", ["a", "b"], ["d"])
    assert list(tmp_path.iterdir()) == []
    export_graph(Difference().eval(), (x, x.clone()), tmp_path / "d.onnx", ["a", "b"], ["d"])
    assert [p.name for p in tmp_path.iterdir()] == ["d.onnx"]


def test_animate_needs_a_source(vox):
    kp = (np.zeros((1, 10, 2), np.float32), np.tile(np.eye(2, dtype=np.float32), (1, 10, 1, 1)))
    with pytest.raises(RuntimeError, match="set_source"):
        TorchRunner(*vox, device="cpu").animate(*kp, *kp, np.ones(1, np.float32))


def test_engine_render_calibrate_and_hold():
    torch.manual_seed(3)
    engine = FommAvatar.from_runner(
        np.full((300, 200, 3), 128, np.uint8), TorchRunner(*build_modules(tiny_config())),
        portrait_face=face_box(50, 80, 100, 200, 300))
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    no_face = FaceLandmarks(None, 0, 320, 240)

    assert engine.size == 256
    held = engine.render(frame, no_face)
    assert held.held and held.image.shape == (256, 256, 3)
    with pytest.raises(NoFaceError):
        engine.calibrate(frame, no_face)

    first = engine.render(frame, face_box(100, 60, 90))  # calibrates on the first face
    assert not first.held and first.image.shape == (256, 256, 3) and first.image.dtype == np.uint8
    again = engine.render(frame, no_face)
    assert again.held and np.array_equal(again.image, first.image)
    engine.calibrate(frame, face_box(100, 60, 90))
    assert np.array_equal(engine.render(frame, face_box(100, 60, 90)).image, first.image)


def test_auto_on_a_gpu_install_without_cuda(vox_checkpoint, gpu_install_without_cuda, capsys):
    """onnxruntime-gpu and no usable CUDA: one line saying why, then onnxruntime on the CPU."""
    portrait = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    engine = FommAvatar(portrait, vox_checkpoint, expected_size=None)
    assert engine.runtime == "onnxruntime on cpu, fp32"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fingerprint-live: onnxruntime-gpu is "
                                                   "installed but CUDA is not usable (")
    assert err.endswith("; running on the CPU.\n")
    assert not engine.render(portrait, face_box(100, 60, 90)).held


@pytest.mark.slow
def test_animate_command_with_fomm(vox_checkpoint, tmp_path, capsys):
    """`animate --engine fomm` as a user runs it: every driver frame in the MP4, the runtime
    said."""
    out = tmp_path / "fomm.mp4"
    driver = clip("liveportrait/driving/d1.mp4")  # 16 frames
    assert main(["animate", "--driver", str(driver), "-o", str(out), "--engine", "fomm",
                 "--checkpoint", str(vox_checkpoint), "--any-size", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "FOMM avatar: onnxruntime on cpu, fp32" in err
    assert re.search(r"16 frames at 30\.00 fps \(made at [\d.]+ fps\)", err)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (256, 256)
        assert sum(1 for _ in container.decode(stream)) == 16
