"""The avatar-failure study, reproduced with the shipped detector (avatar_failure.npz).

1. ``lrnet/demo/input/ff_real.mp4`` and its face swap ``ff_fake.mp4``: the per-clip anomaly rate.
2. LivePortrait's expressive driving clips drive the default avatar (astronaut portrait, 256 px,
   as ``fingerprint_live.offline.avatar_render`` renders them); the anomaly rate of the avatar
   output per clip, and per bin of the driver's head pose (|yaw|, |pitch|, |roll|). They turn
   the head less than their note says (25 deg yaw at most), so the real clips of the manifest
   that turn the most (``STRONG_TURNS``, up to 68 deg) are rendered and binned the same way.
3. The clips above turn the head less than the avatar can follow, so the break is found by a
   sweep: the default avatar only sees the driver's landmarks, so rotating a frontal driver's
   3-D landmarks about the head centre (sign alternating frame by frame) is what a driver who
   turns further would send it. Anomaly rate per measured angle; ``--sheet`` writes one frame
   per angle as a PNG to look at.

A frame is anomalous when no face is found in it or its LOF score is below the threshold.
Frames where the driver has no face are left out of the avatar part (the avatar then holds its
last frame; that is the verifier's NO_FACE, not a glitch). "flagged" is the share of frames at
which the live 2-second window (``fingerprint_live.glitch.FailureWindow``, every frame checked)
would raise the flag. Prints a Markdown report.

    python benchmarks/avatar_failure_study.py > /tmp/study.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.features import head_angles, head_frame
from fingerprint_live.glitch import FailureWindow, GlitchDetector
from fingerprint_live.landmarks import FaceLandmarks, LandmarkExtractor
from fingerprint_live.media import iter_video
from fingerprint_live.offline.avatar_render import RENDER_SIZE, rendered_clip
from fingerprint_live.offline.clip_landmarks import ClipLandmarks, extract_clip

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIR = ("lrnet/demo/input/ff_real.mp4", "lrnet/demo/input/ff_fake.mp4")
BINS_DEG = (0, 10, 20, 30, 40, 60, 90)
#: Real clips of the manifest with the strongest head turns (measured |yaw| up to 68 deg).
STRONG_TURNS = ("more/VHAP/asset/monocular_person_0004.mp4__gtpanel_crop.mp4",
                "styletalk/samples/style_clips/video/nice_clip1.mp4",
                "styletalk/samples/style_clips/video/furious_talk1_clip2.mp4",
                "more/metrical-tracker/input/wojtek/video.mp4")
#: The sweep's driver: frontal talking, little head motion; every SWEEP_STEP-th frame is used.
SWEEP_CLIP, SWEEP_FRAMES, SWEEP_STEP = "liveportrait/driving/d6.mp4", 200, 8
SWEEP_DEG = {"yaw": range(20, 80, 5), "pitch": range(10, 65, 5), "roll": range(20, 80, 5)}


def anomalies(detector: GlitchDetector, clip: ClipLandmarks) -> np.ndarray:
    """Per frame: True where no face was found or the face's score is below the threshold."""
    out = ~clip.found
    if clip.found.any():
        out[clip.found] = detector.scores(clip.points[clip.found]) < detector.lof.offset
    return out


def flagged_share(times: np.ndarray, failed: np.ndarray) -> float:
    """Share of frames at which the live window would flag, checking every frame."""
    window, flags = FailureWindow(), []
    for t, f in zip(times, failed, strict=True):
        window.add(float(t), bool(f))
        flags.append(window.flagged)
    return float(np.mean(flags)) if flags else 0.0


def pose_deg(points: np.ndarray) -> np.ndarray:
    """The driver's |roll|, |yaw|, |pitch| per frame ``(N, 468, 3)`` in degrees."""
    _, rot, _ = head_frame(points.astype(np.float64))
    return np.abs(np.degrees(head_angles(rot)))


def rotation(axis: str, deg: float) -> np.ndarray:
    """Rotation matrix of ``deg`` about the head's roll (z), yaw (y) or pitch (x) axis."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return {"yaw": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "pitch": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "roll": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def sweep(detector: GlitchDetector, data: Path, sheet: Path | None) -> None:
    """Part 3: the avatar driven by rotated landmarks; anomaly rate per angle."""
    driver = extract_clip(data / SWEEP_CLIP)
    images = [f.image for i, f in enumerate(iter_video(data / SWEEP_CLIP))
              if i < SWEEP_FRAMES and i % SWEEP_STEP == 0]
    points = driver.points[:SWEEP_FRAMES:SWEEP_STEP]
    keep = ~np.isnan(points).any(axis=(1, 2))
    images, points = [im for im, k in zip(images, keep, strict=True) if k], points[keep]
    portrait, tiles = load_portrait(), []
    print(f"Driver {SWEEP_CLIP}, {len(points)} frames (every {SWEEP_STEP}th of the first "
          f"{SWEEP_FRAMES}); measured = the rotated landmarks' pose as the live warning "
          "computes it (mean abs).\n")
    for axis, angles in SWEEP_DEG.items():
        print(f"| added {axis} (deg) | measured abs {axis} (deg) | no face in avatar "
              "| outlier faces | anomaly rate |")
        print("| --- | --- | --- | --- | --- |")
        for deg in angles:
            avatar = DefaultAvatar(portrait, RENDER_SIZE)
            measured, bad, lost = [], [], 0
            with LandmarkExtractor() as extractor:
                for i, (image, p) in enumerate(zip(images, points, strict=True)):
                    centre = p.mean(axis=0)
                    turned = ((p - centre) @ rotation(axis, deg * (-1) ** i).T + centre)
                    face = FaceLandmarks(turned.astype(np.float32), 1, image.shape[1],
                                         image.shape[0])
                    if i == 0:
                        avatar.calibrate(image, FaceLandmarks(p, 1, face.width, face.height))
                    out = avatar.render(image, face).image
                    seen = extractor.process(out)
                    lost += not seen.found
                    bad.append(detector.failed(seen))
                    measured.append(pose_deg(turned[None])[0])
                    if i == 0 and sheet is not None:
                        tiles.append(_label(out, f"{axis} {deg}"))
            col = {"roll": 0, "yaw": 1, "pitch": 2}[axis]
            print(f"| {deg} | {np.mean(measured, axis=0)[col]:.0f} | {lost} "
                  f"| {sum(bad) - lost} | {np.mean(bad):.0%} |")
        print()
    if sheet is not None:
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 12)
        rows = [np.hstack(tiles[i:i + 12]) for i in range(0, len(tiles), 12)]
        cv2.imwrite(str(sheet), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 0, 0), 2)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--sheet", type=Path, default=None, help="PNG of the sweep's first frames")
    args = ap.parse_args()
    detector = GlitchDetector.load(args.model)
    print(f"Threshold (LOF score) {detector.lof.offset:.4f}, k={detector.lof.k}, "
          f"{len(detector.lof.points)} training points.\n")

    print("## 1. FaceForensics++ real clip and its face swap\n")
    print("| clip | frames | no face | outlier faces | anomaly rate | window flagged |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rel in PAIR:
        clip = extract_clip(args.data / rel)
        bad = anomalies(detector, clip)
        print(f"| {rel} | {len(clip)} | {(~clip.found).sum()} | {(bad & clip.found).sum()} "
              f"| {bad.mean():.1%} | {flagged_share(clip.times, bad):.1%} |")

    print("\n## 2. LivePortrait driving clips through the default avatar\n")
    print("| clip | frames (driver face) | no face in avatar | outlier faces | anomaly rate "
          "| window flagged | driver max abs yaw / pitch / roll (deg) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    clips = sorted((args.data / "liveportrait" / "driving").glob("d*.mp4"),
                   key=lambda p: int(p.stem[1:])) + [args.data / rel for rel in STRONG_TURNS]
    all_bad, all_pose = [], []
    for path in clips:
        driver, avatar = extract_clip(path), rendered_clip(path)
        keep = driver.found
        bad = anomalies(detector, avatar)[keep]
        pose = pose_deg(driver.points[keep])
        all_bad.append(bad)
        all_pose.append(pose)
        seen = avatar.found[keep]
        peak = " / ".join(f"{v:.0f}" for v in pose.max(axis=0)[[1, 2, 0]]) if len(pose) else "-"
        print(f"| {path.relative_to(args.data)} | {keep.sum()} | {(~seen).sum()} "
              f"| {(bad & seen).sum()} | {bad.mean():.1%} "
              f"| {flagged_share(avatar.times[keep], bad):.1%} | {peak} |")
    bad, pose = np.concatenate(all_bad), np.concatenate(all_pose)
    print(f"\nAll clips: {len(bad)} frames, anomaly rate {bad.mean():.1%}.\n")
    for axis, name in ((1, "yaw"), (2, "pitch"), (0, "roll")):
        print(f"| driver abs {name} (deg) | frames | anomaly rate |")
        print("| --- | --- | --- |")
        for lo, hi in zip(BINS_DEG[:-1], BINS_DEG[1:], strict=True):
            inside = (pose[:, axis] >= lo) & (pose[:, axis] < hi)
            if inside.any():
                print(f"| {lo}-{hi} | {inside.sum()} | {bad[inside].mean():.1%} |")
        print()
    print("## 3. Head-pose sweep: rotated driver landmarks through the default avatar\n")
    sweep(detector, args.data, args.sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
