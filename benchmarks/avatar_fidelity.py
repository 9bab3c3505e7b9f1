"""How much of the driver's face the default avatar carries, as a receiver's MediaPipe sees it.

Each clip's driver landmarks (cached) drive ``DefaultAvatar.render`` at 256x256; MediaPipe then
runs again on the rendered frames, as it would on the far side of a call. Per frame, driver and
avatar are compared on ``expression.measures`` (head coordinates, so pose and size drop out):
mouth opening, eye opening (mean of both eyes) and brow height, as Pearson r per clip. Blinks are
runs of frames with the eye opening below 0.75 of the clip's median (``expression.blinks``); a
driver blink is visible when the avatar's own eye opening is below 0.75 of its median within one
frame of it. Avatar blinks with no driver blink are counted as extra.

The clips were picked from ``../shared/data`` for blinks, smiles, surprise, talking and head
turns within +-30 deg yaw, and none of them is used to tune the avatar (its tests use other
clips). The driver's neutral stands in for the enrollment's median face: the median of another
recording of the same person where the data has one (``NEUTRAL_FROM``), else of the clip itself
(``--neutral first`` takes the first frame instead, as before enrollments had a neutral).

    PYTHONPATH=. python benchmarks/avatar_fidelity.py [--sheet benchmarks/avatar_contact_sheet.png]

It prints JSON (per portrait: per clip figures and medians over clips) and writes a contact sheet:
per row a driver frame (a blink, a smile, surprise, talking, a turn) and its avatar on two
portraits.
"""

from __future__ import annotations

import argparse
import json
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fingerprint_live.avatar.crop import FaceCropper
from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.expression import measures
from fingerprint_live.features import head_angles, head_frame, neutral_shape
from fingerprint_live.landmarks import FaceLandmarks
from fingerprint_live.media import iter_video
from fingerprint_live.offline.avatar_fidelity import compare, eye_opening, render_seen, summary
from fingerprint_live.offline.clip_landmarks import extract_clip

DATA = Path(__file__).parents[2] / "shared" / "data"
SIZE = 256
#: Driver clips and what they show.
CLIPS = {
    "sadtalker/WDA_AlexandriaOcasioCortez_000.mp4": "talking, blinks",
    "more/OpenTalker+DPE/data/s.mp4": "talking, blinks",
    "spectre/MEAD/W040_level_3_happy_029.mp4": "smiles, talking, blinks",
    "eamm/test/video/happy.mp4": "smiles, raised brows",
    "styletalk/samples/style_clips/video/surprisegirl_clip2.mp4": "surprise",
    "dreamtalk/data/style_clip/video/W009_front_surprised_level3_001.mp4": "surprise, talking",
    "more/michaildoukas+headGAN/assets/driving.mp4": "brows, blinks, frowns",
    "liveportrait/driving/d3.mp4": "turns to 22 deg, expressions",
    "styletalk/samples/style_clips/video/happyenglish_clip2.mp4": "turns to 24 deg, smiles, blinks",
    "more/bytedance+LatentSync/assets/demo3_video.mp4": "turns to 22 deg, talking, blinks",
}
#: Clips held all through one expression, with the recording their neutral comes from.
NEUTRAL_FROM = {
    "dreamtalk/data/style_clip/video/W009_front_surprised_level3_001.mp4":
        "dreamtalk/data/style_clip/video/W009_front_neutral_level1_001.mp4",
}
#: Portraits: the shipped default, a grey Yale still, and a frame of a clip not driven here.
PORTRAITS = {
    "astronaut": None,
    "yale_subject02": "yalefaces/subject02.normal",
    "mead_W015": "spectre/MEAD/W015_level_1_neutral_030.mp4",
}
#: Contact-sheet rows: (label, clip, how to pick its frame) on the first and third portrait.
SHEET = [
    ("blink", "more/OpenTalker+DPE/data/s.mp4", "eyes_min"),
    ("smile", "spectre/MEAD/W040_level_3_happy_029.mp4", "smile_max"),
    ("surprise", "dreamtalk/data/style_clip/video/W009_front_surprised_level3_001.mp4",
     "brows_max"),
    ("talking", "sadtalker/WDA_AlexandriaOcasioCortez_000.mp4", "mouth_max"),
    ("turn", "liveportrait/driving/d3.mp4", "yaw_max"),
]
SHEET_PORTRAITS = ("astronaut", "mead_W015")
TILE = 160


def portrait_image(name: str) -> np.ndarray:
    source = PORTRAITS[name]
    if source is None:
        return load_portrait()
    if source.endswith(".mp4"):
        return next(iter_video(DATA / source)).image
    return load_portrait(DATA / source)


def pick(points: np.ndarray, how: str) -> int:
    """The frame index that shows the sheet row's expression most strongly."""
    if how == "yaw_max":
        return int(np.argmax(np.abs(head_angles(head_frame(points)[1])[:, 1])))
    if how == "smile_max":  # mouth width over eye distance
        width = np.linalg.norm(points[:, 61] - points[:, 291], axis=1)
        return int(np.argmax(width / np.linalg.norm(points[:, 33] - points[:, 263], axis=1)))
    m = measures(points)
    return {"eyes_min": lambda: int(np.argmin(eye_opening(m))),
            "brows_max": lambda: int(np.argmax(m[:, 3])),
            "mouth_max": lambda: int(np.argmax(m[:, 0]))}[how]()


def neutral_of(rel: str, driver: np.ndarray) -> np.ndarray:
    """The driver's neutral face shape, as an enrollment would give it."""
    if rel in NEUTRAL_FROM:
        other = extract_clip(DATA / NEUTRAL_FROM[rel])
        driver = other.points[other.found]
    return neutral_shape(driver)


def render(portrait: np.ndarray, driver: np.ndarray, neutral: np.ndarray | None,
           keep: set[int]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Avatar landmarks seen again ``(N, 468, 3)`` (NaN where lost) and the kept frames.

    ``neutral``: the driver's neutral face shape, or None to take the first frame.
    """
    engine = DefaultAvatar(portrait, SIZE)
    if neutral is not None:
        engine.set_neutral(neutral)
    return render_seen(engine, driver, keep)


def driver_tile(path: Path, points: np.ndarray, frame_index: int) -> np.ndarray:
    """The driver's frame, cropped around the face (``points``) like the avatar's portrait."""
    frame = next(islice(iter_video(path), frame_index, None)).image
    face = FaceLandmarks(points, 1, frame.shape[1], frame.shape[0])
    return FaceCropper(scale=2.0, smoothing=0.0).crop(frame, face, TILE)


def label(image: np.ndarray, text: str) -> np.ndarray:
    tile = cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_AREA)
    cv2.putText(tile, text, (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
    cv2.putText(tile, text, (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    return tile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", type=Path, help="write the contact sheet PNG here")
    parser.add_argument("--neutral", choices=("median", "first"), default="median")
    parser.add_argument("--portraits", nargs="+", choices=list(PORTRAITS), default=list(PORTRAITS))
    args = parser.parse_args()
    drivers, frame_of = {}, {}
    for rel in CLIPS:
        landmarks = extract_clip(DATA / rel)
        drivers[rel] = landmarks.points[landmarks.found]  # the avatar holds through lost faces
        frame_of[rel] = np.flatnonzero(landmarks.found)
    picks = {rel: pick(drivers[rel], how) for _, rel, how in SHEET}
    result, tiles = {"size": SIZE, "neutral": args.neutral, "clips": CLIPS}, {}
    for name in args.portraits:
        portrait, per_clip = portrait_image(name), {}
        for rel, driver in drivers.items():
            keep = {picks[rel]} if rel in picks and name in SHEET_PORTRAITS else set()
            neutral = neutral_of(rel, driver) if args.neutral == "median" else None
            avatar, kept = render(portrait, driver, neutral, keep)
            per_clip[rel] = compare(driver, avatar)
            for image in kept.values():
                tiles[(name, rel)] = image
        result[name] = {"median": summary(list(per_clip.values())), "clips": per_clip}
    print(json.dumps(result, indent=2))
    if args.sheet is not None:
        rows = []
        for text, rel, _ in SHEET:
            i = picks[rel]
            tile = driver_tile(DATA / rel, drivers[rel][i], int(frame_of[rel][i]))
            row = [label(tile, f"driver: {text}")]
            row += [label(tiles[(name, rel)], name) for name in SHEET_PORTRAITS
                    if (name, rel) in tiles]
            rows.append(np.hstack(row))
        sheet = Image.fromarray(np.vstack(rows)).quantize(256, dither=Image.Dither.NONE)
        sheet.save(args.sheet, optimize=True)


if __name__ == "__main__":
    main()
